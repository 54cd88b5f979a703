/**
 * Who may call an operation (operations.ts `access`), and the role sets routes use. Kept apart from the
 * operations table so that each feature's table (equipment-operations.ts, ...) can use them without an
 * import cycle.
 */
import type { ApiScope } from '../auth/principal.ts';
import type { Role } from '../identity/identity-store.ts';

/**
 * The kinds of gym documents whose gym the gate looks up from the path's `:id` before the handler runs
 * (`gym: { resource }`); each feature's routes give the lookup for theirs (RouteModule.gymOf).
 */
export const RESOURCE_KINDS = ['equipment_type', 'equipment', 'group', 'training', 'class', 'gym_sensor', 'webhook', 'class_run'] as const;
export type ResourceKind = (typeof RESOURCE_KINDS)[number];

/**
 * Who may call an operation. Public operations (probes, scrapers, the API description) need nothing. Every
 * other one needs an access token whose principal holds one of `roles` in the gym of the data and whose token
 * carries `scope`. The gate resolves that gym before the handler runs, so a handler only ever gets a gym the
 * caller may see:
 * - `query`: the `gym` query parameter. When absent it becomes the caller's only gym (a caller with several
 *   must name one); a platform admin without it sees every gym. A gym the caller holds none of the roles in is
 *   refused with 403.
 * - `body`: the `gym` field of the JSON body, settled like `query` (for creating something in a gym).
 * - `path`: the `:gym` path parameter, refused with 403 like `query`.
 * - `agent`: the gym of the agent named by the `:id` path parameter; an agent of another gym is answered 404,
 *   exactly like one that does not exist.
 * - `{ resource }`: the gym of the document of that kind named by `:id`, answered 404 like `agent`; the handler
 *   finds the gym in `ctx.state.gym`.
 * - `self`: the caller's own data (profile, bookings, friends, sensors): a person's token (not a service's)
 *   holding one of `roles` in any gym, or any person's with `roles` ANY_PERSON.
 * `tokenInQuery`: the token may come as `?access_token=`, because browsers' EventSource cannot set headers.
 */
export type GymSource = 'query' | 'body' | 'path' | 'agent' | 'self' | { readonly resource: ResourceKind };

export type Access =
  { readonly public: true } | { readonly public?: false; readonly roles: readonly Role[]; readonly scope: ApiScope; readonly gym: GymSource; readonly tokenInQuery?: boolean };

/** Gym staff: who looks after a gym's agents, equipment, classes and sensor data. */
export const STAFF: readonly Role[] = ['coach', 'gym_admin'];
export const ADMINS: readonly Role[] = ['gym_admin'];
/** Everyone with a role in a gym: athletes see the gym's classes and equipment, book, pair and befriend. */
export const MEMBERS: readonly Role[] = ['athlete', 'coach', 'gym_admin'];
/**
 * With `gym: 'self'`: any signed-in person, with a role in a gym or none. For what is theirs whatever gyms they
 * belong to: their sessions and files, their data archive, deleting their account (someone who left every gym
 * still owns their data).
 */
export const ANY_PERSON: readonly Role[] = [];
export const PUBLIC = { public: true } as const;

/** How the OpenAPI document names a gym source. */
export function gymSourceName(gym: GymSource): string {
  return typeof gym === 'string' ? gym : `resource:${gym.resource}`;
}
