/** Handlers of classes-operations.ts. */
import type { Domain } from '../domain/domain.ts';
import type { CLASSES_OPERATIONS } from './classes-operations.ts';
import type { RouteModule } from './route-module.ts';

export function classesRoutes(_domain: Domain): RouteModule<typeof CLASSES_OPERATIONS> {
  return { handlers: {} };
}
