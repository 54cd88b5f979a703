/**
 * The API's side of bearer tokens (RFC 6750): find the token in the request, verify it, and say what went wrong
 * in a challenge the client can act on. The principal middleware calls `authenticate` and turns a
 * BearerChallenge into its problem response with the `WWW-Authenticate` header, logging `reason`.
 */
import { PulsebridgeError } from '@pulsebridge/runtime';
import type { Principal } from './principal.ts';
import { TokenRefused, type TokenRefusedReason } from './refusal.ts';

/** What authenticate reads of a request; a Koa context has both. */
export interface BearerRequest {
  get(header: string): string;
  query: Record<string, unknown>;
}

export type ChallengeReason = TokenRefusedReason | 'no_credentials' | 'malformed_header' | 'insufficient_scope';

/** A request refused for its credentials: 401 (none, or not valid) or 403 (valid but without the scope). */
export class BearerChallenge extends PulsebridgeError<'unauthorized' | 'forbidden'> {
  readonly status: 401 | 403;
  /** The `WWW-Authenticate` header value to answer with. */
  readonly challenge: string;
  /** For the log line; never shown with the token. */
  readonly reason: ChallengeReason;

  constructor(reason: ChallengeReason, detail: string, challenge: string, options?: ErrorOptions) {
    const status = reason === 'insufficient_scope' ? 403 : 401;
    super(status === 403 ? 'forbidden' : 'unauthorized', detail, options);
    this.status = status;
    this.challenge = challenge;
    this.reason = reason;
  }
}

export interface AuthenticatorOptions {
  verify: (token: string) => Promise<Principal>;
  realm?: string;
}

export interface Authenticator {
  /**
   * The principal of the request's bearer token: from the Authorization header, or, only when
   * `allowQueryToken` (EventSource clients cannot set headers), from `?access_token=`.
   */
  authenticate(request: BearerRequest, allowQueryToken?: boolean): Promise<Principal>;
  /** Throws a 403 challenge naming the missing scopes when the principal lacks any of `scopes`. */
  requireScopes(principal: Principal, scopes: readonly string[]): void;
}

const BEARER = /^Bearer[ \t]+([^\s]+)[ \t]*$/i;

/** What the client is told: only whether to get a new token, never which check failed. */
function publicDetail(reason: TokenRefusedReason): string {
  if (reason === 'expired') return 'the access token has expired';
  if (reason === 'issuer_unavailable') return 'the access token could not be checked right now';
  return 'the access token is not valid';
}

export function createAuthenticator(options: AuthenticatorOptions): Authenticator {
  const realm = options.realm ?? 'pulsebridge';
  const challenge = (params: Record<string, string> = {}): string =>
    ['Bearer', [`realm="${realm}"`, ...Object.entries(params).map(([name, value]) => `${name}="${value}"`)].join(', ')].join(' ');

  return {
    async authenticate(request, allowQueryToken = false) {
      const header = request.get('Authorization');
      let token: string | undefined;
      if (header) {
        token = BEARER.exec(header)?.[1];
        if (token === undefined) throw new BearerChallenge('malformed_header', 'the Authorization header must be "Bearer <token>"', challenge({ error: 'invalid_request' }));
        if (allowQueryToken && request.query['access_token'] !== undefined) {
          // RFC 6750 §2: a client must not send the token in more than one way.
          throw new BearerChallenge('malformed_header', 'a token in both the header and the query', challenge({ error: 'invalid_request' }));
        }
      } else if (allowQueryToken) {
        const fromQuery = request.query['access_token'];
        if (typeof fromQuery === 'string' && fromQuery !== '') token = fromQuery;
      }
      // RFC 6750 §3.1: no error code when the request carried no credentials at all.
      if (token === undefined) throw new BearerChallenge('no_credentials', 'credentials are required', challenge());
      try {
        return await options.verify(token);
      } catch (err) {
        if (!(err instanceof TokenRefused)) throw err;
        const detail = publicDetail(err.reason);
        throw new BearerChallenge(err.reason, detail, challenge({ error: 'invalid_token', error_description: detail }), { cause: err });
      }
    },

    requireScopes(principal, scopes) {
      const missing = scopes.filter((scope) => !principal.scopes.has(scope));
      if (missing.length === 0) return;
      throw new BearerChallenge('insufficient_scope', `the access token lacks the scope ${missing.join(' ')}`, challenge({ error: 'insufficient_scope', scope: scopes.join(' ') }));
    },
  };
}
