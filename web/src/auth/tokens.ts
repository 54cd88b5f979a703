/**
 * What both sign-in flows share: the hub's OpenID provider (discovered at <origin>/oidc), and a token set kept
 * in a Storage that refreshes its access token shortly before it expires. The app keeps its set in
 * sessionStorage (a reload stays signed in, closing the tab forgets it); the board keeps its in localStorage
 * (a wall screen stays signed in for weeks through its rotating refresh token).
 */
import * as oauth from 'oauth4webapi';
import type { TokenSource } from '../lib/api.ts';

/**
 * The API scopes the app asks for: all of them, since one app serves athletes, coaches and admins; what a token
 * opens is still bounded by its holder's roles in each gym.
 */
export const APP_SCOPES = ['me:read', 'me:write', 'gym:read', 'gym:write', 'members:write', 'agents:read', 'agents:write', 'readings:read', 'readings:write', 'audit:read'];
/** A wall screen left signed in for weeks reads its gym and boards, nothing more. */
export const BOARD_SCOPES = ['me:read', 'gym:read'];
/** Refresh this long before the access token expires, so no request carries an expiring token. */
const REFRESH_AHEAD_MS = 60_000;

export interface Provider {
  as: oauth.AuthorizationServer;
  client: oauth.Client;
  /** Plain http is allowed only for a loopback development hub; oauth4webapi refuses it otherwise. */
  options: { [oauth.allowInsecureRequests]?: boolean };
}

export async function discover(origin: string, clientId: string): Promise<Provider> {
  const issuer = new URL(`${origin}/oidc`);
  const options = issuer.protocol === 'http:' ? { [oauth.allowInsecureRequests]: true } : {};
  const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { ...options, algorithm: 'oidc' }));
  return { as, client: { client_id: clientId }, options };
}

export interface StoredTokens {
  accessToken: string;
  refreshToken?: string;
  /** Epoch ms. */
  expiresAt: number;
  idToken?: string;
  /** The user id (the id token's subject); absent for a device's tokens. */
  subject?: string;
}

export function tokensOf(response: oauth.TokenEndpointResponse, now = Date.now()): StoredTokens {
  const claims = oauth.getValidatedIdTokenClaims(response);
  return {
    accessToken: response.access_token,
    ...(response.refresh_token === undefined ? {} : { refreshToken: response.refresh_token }),
    expiresAt: now + (response.expires_in ?? 60) * 1000,
    ...(response.id_token === undefined ? {} : { idToken: response.id_token }),
    ...(claims?.sub === undefined ? {} : { subject: claims.sub }),
  };
}

/** A token set in `storage` under `key`, refreshed when needed: the `TokenSource` the Api client reads. */
export class StoredTokenSource implements TokenSource {
  private refreshing: Promise<string | undefined> | undefined;

  constructor(
    private readonly storage: Storage,
    private readonly key: string,
    private readonly provider: () => Promise<Provider>,
    private readonly onRefused: () => void,
  ) {}

  read(): StoredTokens | undefined {
    const raw = this.storage.getItem(this.key);
    if (raw === null) return undefined;
    try {
      return JSON.parse(raw) as StoredTokens;
    } catch {
      return undefined;
    }
  }

  save(tokens: StoredTokens): void {
    // A refresh answers no id token: keep the subject and id token of the sign-in.
    const before = this.read();
    this.storage.setItem(this.key, JSON.stringify({ ...(before?.subject === undefined ? {} : { subject: before.subject, idToken: before.idToken }), ...tokens }));
  }

  clear(): void {
    this.storage.removeItem(this.key);
  }

  async accessToken(): Promise<string | undefined> {
    const tokens = this.read();
    if (tokens === undefined) return undefined;
    if (tokens.expiresAt - REFRESH_AHEAD_MS > Date.now()) return tokens.accessToken;
    if (tokens.refreshToken === undefined) return undefined;
    // One refresh at a time: refresh tokens rotate, and a second use of the old one revokes the whole grant.
    this.refreshing ??= this.refresh(tokens.refreshToken).finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  refused(): void {
    this.clear();
    this.onRefused();
  }

  private async refresh(refreshToken: string): Promise<string | undefined> {
    const { as, client, options } = await this.provider();
    try {
      const response = await oauth.refreshTokenGrantRequest(as, client, oauth.None(), refreshToken, options);
      const tokens = tokensOf(await oauth.processRefreshTokenResponse(as, client, response));
      this.save(tokens);
      return tokens.accessToken;
    } catch (err) {
      // The grant ended (revoked, expired, user disabled): signed out. A network failure keeps the tokens.
      if (err instanceof oauth.ResponseBodyError) {
        this.refused();
        return undefined;
      }
      throw err;
    }
  }
}
