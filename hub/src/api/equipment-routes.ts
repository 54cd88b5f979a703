/** Handlers of equipment-operations.ts. */
import type { Domain } from '../domain/domain.ts';
import type { EQUIPMENT_OPERATIONS } from './equipment-operations.ts';
import type { RouteModule } from './route-module.ts';

export function equipmentRoutes(_domain: Domain): RouteModule<typeof EQUIPMENT_OPERATIONS> {
  return { handlers: {} };
}
