/** What handlers know of the caller, once the access gate has run. */
import type { Principal } from '../auth/principal.ts';
import type { ApiContext } from './context.ts';
import { ApiConfigError } from './auth.ts';

/** The principal of a protected request; the gate set it before any handler runs. */
export function principalOf(ctx: ApiContext): Principal {
  const principal = ctx.state.principal;
  if (principal === undefined) throw new ApiConfigError('a handler ran before the access gate');
  return principal;
}

/** The gym of the document named by the path (access `{ resource }`), settled by the gate. */
export function resourceGym(ctx: ApiContext): string {
  const gym = ctx.state.gym;
  if (gym === undefined) throw new ApiConfigError('a resource handler ran without the gym of its resource');
  return gym;
}
