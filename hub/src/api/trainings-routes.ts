/** Handlers of trainings-operations.ts. */
import type { Domain } from '../domain/domain.ts';
import type { TRAININGS_OPERATIONS } from './trainings-operations.ts';
import type { RouteModule } from './route-module.ts';

export function trainingsRoutes(_domain: Domain): RouteModule<typeof TRAININGS_OPERATIONS> {
  return { handlers: {} };
}
