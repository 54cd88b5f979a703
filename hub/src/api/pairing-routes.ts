/** Handlers of pairing-operations.ts. */
import type { Domain } from '../domain/domain.ts';
import type { PAIRING_OPERATIONS } from './pairing-operations.ts';
import type { RouteModule } from './route-module.ts';

export function pairingRoutes(_domain: Domain): RouteModule<typeof PAIRING_OPERATIONS> {
  return { handlers: {} };
}
