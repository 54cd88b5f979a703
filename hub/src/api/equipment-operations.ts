/** The operations table of equipment types with their attribute schemas, items, status and maintenance log, built-in sensors. */
import type { Operation } from './operation.ts';

export const EQUIPMENT_OPERATIONS = {} as const satisfies Record<string, Operation>;
