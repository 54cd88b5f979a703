/** The shell's routing: matching /app paths against the areas' routes, and the navigation a role may see. */
import { hasRole, type Me } from '../lib/context.tsx';
import type { PageRoute } from '../lib/routes.ts';

/** The `:param` values when `path` matches the route's pattern, else undefined. */
export function matchPath(pattern: string, path: string): Record<string, string> | undefined {
  const want = pattern.split('/').filter(Boolean);
  const got = path.split('/').filter(Boolean);
  if (want.length !== got.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const segment = want[i]!;
    const value = got[i]!;
    if (segment.startsWith(':')) params[segment.slice(1)] = decodeURIComponent(value);
    else if (segment !== value) return undefined;
  }
  return params;
}

export type Resolved = { kind: 'page'; route: PageRoute; params: Record<string, string> } | { kind: 'forbidden'; route: PageRoute } | { kind: 'not-found' };

export function resolve(routes: readonly PageRoute[], path: string, me: Me, gym: string): Resolved {
  for (const route of routes) {
    const params = matchPath(route.path, path);
    if (params === undefined) continue;
    if (route.roles.length > 0 && !hasRole(me, gym, route.roles)) return { kind: 'forbidden', route };
    return { kind: 'page', route, params };
  }
  return { kind: 'not-found' };
}

/** The routes listed in the navigation that the user's roles in `gym` open. */
export function navigation(routes: readonly PageRoute[], me: Me, gym: string): PageRoute[] {
  return routes.filter((route) => route.nav && (route.roles.length === 0 || hasRole(me, gym, route.roles)));
}
