/** The operations table of the caller's own athlete profile (personal data kept with identity in the SQL store) and max heart rate. */
import type { Operation } from './operation.ts';

export const PROFILE_OPERATIONS = {} as const satisfies Record<string, Operation>;
