/** Handlers of social-operations.ts. */
import type { Domain } from '../domain/domain.ts';
import type { SOCIAL_OPERATIONS } from './social-operations.ts';
import type { RouteModule } from './route-module.ts';

export function socialRoutes(_domain: Domain): RouteModule<typeof SOCIAL_OPERATIONS> {
  return { handlers: {} };
}
