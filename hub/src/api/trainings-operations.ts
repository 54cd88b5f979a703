/** The operations table of workout templates: steps with targets by heart-rate zone, power or pace, and repeats. */
import type { Operation } from './operation.ts';

export const TRAININGS_OPERATIONS = {} as const satisfies Record<string, Operation>;
