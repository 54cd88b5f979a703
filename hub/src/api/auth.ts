/**
 * The API's access gate: one middleware turns the bearer token into a Principal and checks the operation's
 * scope and roles; `resolveGym` then settles the gym the request may touch before the handler runs. Routes
 * declare what they need in the operations table (operations.ts) and never see tokens.
 */
import type { Logger } from 'pino';
import { PulsebridgeError } from '@pulsebridge/runtime';
import { gymsWithRoles, type Principal } from '../auth/principal.ts';
import { TokenRefused } from '../auth/refusal.ts';
import { IdentityStoreError } from '../identity/identity-store.ts';
import type { ApiContext } from './context.ts';
import type { Access } from './access.ts';
import { ApiError, invalidParameter } from './problem.ts';

/** Turns an access token into the principal it proves, or throws TokenRefused (auth/access-tokens.ts). */
export interface TokenVerifier {
  verify(token: string): Promise<Principal>;
  /** Forgets what it remembers of an erased user, so their tokens are refused from now on (AccessTokenVerifier.forgetUser). */
  forgetUser?(userId: string): void;
}

/** The API was built with settings it cannot work with (a programming or configuration mistake). */
export class ApiConfigError extends PulsebridgeError<'api_config'> {
  constructor(message: string) {
    super('api_config', message);
  }
}

const BEARER = /^Bearer[ \t]+([^\s]+)[ \t]*$/i;

export interface AccessGateOptions {
  verifier: TokenVerifier;
  log: Logger;
}

type Protected = Exclude<Access, { public: true }>;

/**
 * Authenticates the request for `access` (undefined: a path under /api no operation serves, which still needs
 * a valid token so that unknown paths reveal nothing) and sets `ctx.state.principal` and `ctx.state.gyms`.
 */
export function accessGate(options: AccessGateOptions): (ctx: ApiContext, access: Protected | undefined) => Promise<void> {
  const { verifier, log } = options;
  return async (ctx, access) => {
    const token = presentedToken(ctx, access?.tokenInQuery === true);
    let principal: Principal;
    try {
      principal = await verifier.verify(token);
    } catch (error) {
      if (error instanceof IdentityStoreError && error.code === 'unavailable') throw new ApiError('unavailable', 'accounts cannot be read right now; retry later');
      if (!(error instanceof TokenRefused)) throw error;
      // The reason is for operators; the client learns only that the token was refused.
      log.info({ reqId: ctx.state.requestId, reason: error.reason, detail: error.message }, 'access token refused');
      // Keys of a trusted issuer that cannot be fetched are no fault of the token: retrying later may work.
      if (error.reason === 'issuer_unavailable') throw new ApiError('unavailable', "the token's issuer cannot be reached to check it; retry later");
      throw unauthorized('the token is not valid', 'invalid_token');
    }
    ctx.state.principal = principal;
    if (access === undefined) return;
    if (!principal.scopes.has(access.scope)) {
      throw new ApiError('forbidden', `the token lacks the scope ${access.scope}`, {
        headers: { 'WWW-Authenticate': `Bearer realm="pulsebridge", error="insufficient_scope", scope="${access.scope}"` },
      });
    }
    const gyms = gymsWithRoles(principal, access.roles);
    const anyPerson = access.gym === 'self' && access.roles.length === 0;
    if (gyms !== 'all' && gyms.size === 0 && !anyPerson) throw new ApiError('forbidden', `this needs the role ${access.roles.join(' or ')} in a gym`);
    ctx.state.gyms = gyms;
  };
}

function presentedToken(ctx: ApiContext, acceptsQuery: boolean): string {
  const header = ctx.get('Authorization');
  if (header) {
    const token = BEARER.exec(header)?.[1];
    if (token === undefined) throw unauthorized('the Authorization header must be "Bearer <token>"', 'invalid_request');
    return token;
  }
  if (acceptsQuery) {
    const fromQuery = ctx.query['access_token'];
    if (typeof fromQuery === 'string' && fromQuery !== '') return fromQuery;
  }
  throw unauthorized('credentials are required', undefined);
}

/** RFC 6750: an error code only when credentials were presented. */
function unauthorized(detail: string, error: 'invalid_request' | 'invalid_token' | undefined): ApiError {
  const challenge = error ? `Bearer realm="pulsebridge", error="${error}"` : 'Bearer realm="pulsebridge"';
  return new ApiError('unauthorized', detail, { headers: { 'WWW-Authenticate': challenge } });
}

/**
 * The gym a `gym: 'query'` (or `'body'`) operation works on: the one asked for if the caller may see it, else the caller's
 * only gym; undefined means every gym (a platform admin who named none).
 */
export function resolveRequestedGym(ctx: ApiContext, requested: string | undefined): string | undefined {
  const gyms = allowedGyms(ctx);
  if (requested !== undefined) {
    if (gyms !== 'all' && !gyms.has(requested)) throw new ApiError('forbidden', `you have no access to gym ${requested} for this`, { param: 'gym' });
    return requested;
  }
  if (gyms === 'all') return undefined;
  if (gyms.size === 1) return gyms.values().next().value;
  throw invalidParameter('gym', `is required: you have access to several gyms (${[...gyms].sort().join(', ')})`);
}

/** For a `gym: 'agent'` operation: 404 unless the agent exists in a gym the caller may see. */
export function checkAgentGym(ctx: ApiContext, agent: string, gym: string | undefined): void {
  checkResourceGym(ctx, `agent with id ${agent}`, gym);
}

/**
 * For a `gym: 'agent'` or `{ resource }` operation: 404 unless the thing exists in a gym the caller may see, so
 * that another gym's ids are told apart from unknown ones by nothing.
 */
export function checkResourceGym(ctx: ApiContext, what: string, gym: string | undefined): string {
  const gyms = allowedGyms(ctx);
  if (gym === undefined || (gyms !== 'all' && !gyms.has(gym))) throw new ApiError('not_found', `no ${what}`);
  return gym;
}

/** For a `gym: 'self'` operation: the caller's own data needs a person, not a service acting for itself. */
export function checkSelf(ctx: ApiContext): void {
  if (ctx.state.principal?.kind !== 'user') throw new ApiError('forbidden', 'this is about your own account: it needs a person’s token, not a service’s');
}

function allowedGyms(ctx: ApiContext): ReadonlySet<string> | 'all' {
  const gyms = ctx.state.gyms;
  // The gate runs before every protected handler; reaching here without it is a wiring mistake, refused closed.
  if (gyms === undefined) throw new ApiConfigError('the access gate did not run before gym resolution');
  return gyms;
}
