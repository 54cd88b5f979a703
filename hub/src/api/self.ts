/** What handlers know of the caller, once the access gate has run, and the small things every feature's answers share. */
import type { Principal } from '../auth/principal.ts';
import type { IdentityStore } from '../identity/identity-store.ts';
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

/** A time as every gym-domain answer gives it: ISO 8601, UTC, with milliseconds. */
export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

/** Writes a change the caller made to a gym into the audit log, with the caller as its actor. */
export async function auditChange(ctx: ApiContext, identity: IdentityStore, type: string, gym: string, detail: Record<string, unknown>): Promise<void> {
  await identity.appendAudit({ type, gym, actorUserId: principalOf(ctx).subject, detail });
}
