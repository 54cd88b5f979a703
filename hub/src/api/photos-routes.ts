/** Handlers of photos-operations.ts. */
import type { Domain } from '../domain/domain.ts';
import type { PHOTOS_OPERATIONS } from './photos-operations.ts';
import type { RouteModule } from './route-module.ts';

export function photosRoutes(_domain: Domain): RouteModule<typeof PHOTOS_OPERATIONS> {
  return { handlers: {} };
}
