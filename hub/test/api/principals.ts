/**
 * Principals for API tests, and a verifier that maps fixed test tokens to them. The real verifier (JWTs,
 * hub/src/auth/access-tokens.ts) has its own tests; these keep the route tests about routes.
 */
import { API_SCOPES, TokenRefused, type GymRole, type Principal } from '../../src/auth/principal.ts';
import type { TokenVerifier } from '../../src/api/auth.ts';
import { ALL_GYMS } from '../../src/identity/identity-store.ts';

export const ALL_SCOPES: ReadonlySet<string> = new Set(Object.keys(API_SCOPES));

export function principal(roles: GymRole[], options: { subject?: string; scopes?: Iterable<string> } = {}): Principal {
  return {
    kind: 'user',
    subject: options.subject ?? `user-${roles.map((r) => `${r.gym}-${r.role}`).join('-')}`,
    issuer: 'https://hub.test/oidc',
    clientId: 'test-client',
    scopes: new Set(options.scopes ?? ALL_SCOPES),
    roles,
    tokenId: undefined,
  };
}

export const PLATFORM_ADMIN = principal([{ gym: ALL_GYMS, role: 'platform_admin' }], { subject: 'platform-admin' });

export class FixedTokens implements TokenVerifier {
  private readonly principals: Map<string, Principal>;

  constructor(principals: Record<string, Principal>) {
    this.principals = new Map(Object.entries(principals));
  }

  set(token: string, principal: Principal): void {
    this.principals.set(token, principal);
  }

  async verify(token: string): Promise<Principal> {
    const found = this.principals.get(token);
    if (!found) throw new TokenRefused('unknown_token', 'not a token of this test');
    return found;
  }
}
