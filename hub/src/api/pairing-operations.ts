/** The operations table of sensor pairing: claims by id and tap-to-pair, gym-owned loaner straps, the history of bindings, the agents' allowlist. */
import type { Operation } from './operation.ts';

export const PAIRING_OPERATIONS = {} as const satisfies Record<string, Operation>;
