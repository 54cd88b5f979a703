/** Handlers of profile-operations.ts. */
import type { Domain } from '../domain/domain.ts';
import type { PROFILE_OPERATIONS } from './profile-operations.ts';
import type { RouteModule } from './route-module.ts';

export function profileRoutes(_domain: Domain): RouteModule<typeof PROFILE_OPERATIONS> {
  return { handlers: {} };
}
