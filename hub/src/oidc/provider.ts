/**
 * The hub's OpenID Connect provider (oidc-provider): authorization code + PKCE for the mobile app, refresh
 * tokens rotated at every use (a rotated one used again revokes its whole grant), revocation, RP-initiated
 * logout, the device flow for gym screens and client credentials for services. Access tokens are RFC 9068 JWTs
 * for the API resource (`${issuer}/api`), so services verify them against the JWKS without calling the hub.
 * Everything it stores goes through the identity port, so it survives restarts and serves several replicas.
 */
import Provider, { errors, type ClientMetadata, type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import type { Logger } from 'pino';
import { errorMessage, resolveSecret } from '@pulsebridge/runtime';
import { API_SCOPES, type GymRole } from '../auth/principal.ts';
import type { IdentityStore } from '../identity/identity-store.ts';
import { OIDC_SCOPES, apiResource, clientScopes, oidcIssuer, providerClients, type IdentityClient, type IdentitySection } from './config.ts';
import { SIGNING_ALG, loadCookieKeys, loadSigningKeys } from './keys.ts';
import { devicePages, errorPage, logoutPages } from './pages.ts';

const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

export interface CreateOidcProviderOptions {
  config: IdentitySection;
  store: IdentityStore;
  log: Logger;
  /** Where client secrets given as `{ env }` are read. */
  env?: NodeJS.ProcessEnv;
  /** Milliseconds since the epoch; key retention is measured with it. */
  now?: () => number;
  /** Also know the web app the hub serves (`pulsebridge-web`, see webClient). */
  webApp?: boolean;
}

export interface OidcProvider {
  provider: Provider;
  /** `${issuer}/oidc` */
  issuer: string;
  /** The API's resource indicator and the `aud` of its access tokens. */
  resource: string;
  /** The kid this instance signs with. */
  signingKid: string;
  /** How long a retired key stays published: the longest lifetime of a token signed with it. */
  keyRetentionMs: number;
  /** The configured client with this id. */
  client(clientId: string): IdentityClient | undefined;
}

function clientMetadata(client: IdentityClient, env: NodeJS.ProcessEnv): ClientMetadata {
  const secret = client.clientSecret === undefined ? undefined : resolveSecret(client.clientSecret, env);
  const common = { client_id: client.clientId, client_name: client.name, scope: clientScopes(client).join(' ') };
  switch (client.kind) {
    case 'public':
      return {
        ...common,
        // native: private-use schemes and https app links are both allowed as redirects.
        application_type: 'native',
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        redirect_uris: client.redirectUris,
        post_logout_redirect_uris: client.postLogoutRedirectUris,
      };
    case 'confidential':
      return {
        ...common,
        application_type: 'web',
        client_secret: secret,
        token_endpoint_auth_method: 'client_secret_basic',
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        redirect_uris: client.redirectUris,
        post_logout_redirect_uris: client.postLogoutRedirectUris,
      };
    case 'device':
      return {
        ...common,
        application_type: 'native',
        token_endpoint_auth_method: 'none',
        grant_types: [DEVICE_CODE_GRANT, 'refresh_token'],
        response_types: [],
        redirect_uris: [],
        post_logout_redirect_uris: client.postLogoutRedirectUris,
      };
    case 'service':
      return {
        ...common,
        client_secret: secret,
        token_endpoint_auth_method: 'client_secret_basic',
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
      };
  }
}

/** The gym roles a token carries as `pb_roles`: a service's configured ones, a person's memberships. */
async function tokenRoles(store: IdentityStore, clients: Map<string, IdentityClient>, accountId: string | undefined, clientId: string | undefined): Promise<GymRole[]> {
  if (accountId === undefined) return clientId === undefined ? [] : (clients.get(clientId)?.roles ?? []).map(({ gym, role }) => ({ gym, role }));
  return (await store.listMembershipsOfUser(accountId)).map(({ gym, role }) => ({ gym, role }));
}

/** Builds the provider: loads (or creates) the signing and cookie keys from the store. */
export async function createOidcProvider(options: CreateOidcProviderOptions): Promise<OidcProvider> {
  const { config, store, log } = options;
  const env = options.env ?? process.env;
  const now = options.now ?? Date.now;
  const ttl = config.ttl;
  const issuer = oidcIssuer(config);
  const resource = apiResource(config);
  const knownClients = providerClients(config, options.webApp === true);
  const clients = new Map(knownClients.map((client) => [client.clientId, client]));
  const ownOrigin = new URL(config.issuer).origin;
  const apiScopes = new Set(Object.keys(API_SCOPES));

  const longestSignedTokenMs = Math.max(ttl.accessTokenSeconds, ttl.idTokenSeconds) * 1000;
  const signing = await loadSigningKeys(store, { retentionMs: longestSignedTokenMs, now: now() });
  const cookieKeys = await loadCookieKeys(store);

  const firstPartyGrant = async (ctx: KoaContextWithOIDC) => {
    const client = ctx.oidc.client;
    const session = ctx.oidc.session;
    if (client === undefined || session === undefined) return undefined;
    const grantId = ctx.oidc.result?.consent?.grantId ?? session.grantIdFor(client.clientId);
    const existing = grantId === undefined ? undefined : await ctx.oidc.provider.Grant.find(grantId);
    const configured = clients.get(client.clientId);
    if (configured?.firstParty !== true || session.accountId === undefined) return existing;
    // The company's own apps get what they may ask for without a consent page.
    const grant = existing ?? new ctx.oidc.provider.Grant({ clientId: client.clientId, accountId: session.accountId });
    const allowed = clientScopes(configured);
    // The API scopes are also listed in `scopes` (so clients may ask for them), hence in the OIDC part too.
    grant.addOIDCScope(allowed.join(' '));
    const api = allowed.filter((scope) => apiScopes.has(scope));
    if (api.length > 0) grant.addResourceScope(resource, api.join(' '));
    await grant.save();
    return grant;
  };

  const configuration: Configuration = {
    adapter: (name: string) => store.oidc(name),
    clients: knownClients.map((client) => clientMetadata(client, env)),
    jwks: { keys: signing.keys as NonNullable<Configuration['jwks']>['keys'] },
    cookies: { keys: cookieKeys },
    findAccount: async (_ctx, sub) => {
      const user = await store.getUser(sub);
      // A disabled user's refresh tokens stop working at once: the account is not found.
      if (user === undefined || user.disabled) return undefined;
      return { accountId: user.id, claims: () => ({ sub: user.id, email: user.email, name: user.displayName }) };
    },
    claims: { openid: ['sub'], email: ['email'], profile: ['name'] },
    // Every scope a client may ask for; the API ones reach access tokens through the API resource server.
    scopes: [...OIDC_SCOPES, ...apiScopes],
    pkce: { required: (_ctx, client) => client.clientAuthMethod === 'none' },
    rotateRefreshToken: true,
    // Refresh tokens go to clients allowed the grant, without offline_access (which would force prompt=consent on
    // the company's own apps), and live apart from the browser session: an app stays signed in.
    issueRefreshToken: (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    expiresWithSession: () => false,
    loadExistingGrant: firstPartyGrant,
    extraTokenClaims: async (_ctx, token) => ({ pb_roles: await tokenRoles(store, clients, 'accountId' in token ? token.accountId : undefined, token.clientId) }),
    ttl: {
      AccessToken: ttl.accessTokenSeconds,
      ClientCredentials: ttl.accessTokenSeconds,
      AuthorizationCode: 60,
      DeviceCode: ttl.deviceCodeSeconds,
      IdToken: ttl.idTokenSeconds,
      Interaction: ttl.interactionSeconds,
      RefreshToken: ttl.refreshTokenSeconds,
      Session: ttl.sessionSeconds,
      Grant: ttl.grantSeconds,
    },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    // Only the hub's own pages (the web app and the class board at the issuer's origin) call the token,
    // device and revocation endpoints from a browser; a browser sends Origin even on those same-origin calls.
    clientBasedCORS: (_ctx, origin) => origin === ownOrigin,
    enabledJWA: { idTokenSigningAlgValues: [SIGNING_ALG] },
    features: {
      devInteractions: { enabled: false },
      deviceFlow: { enabled: true, charset: 'base-20', mask: '****-****', ...devicePages },
      revocation: { enabled: true },
      clientCredentials: { enabled: true },
      rpInitiatedLogout: { enabled: true, ...logoutPages },
      resourceIndicators: {
        enabled: true,
        defaultResource: (_ctx, _client, oneOf) => oneOf ?? resource,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, indicator, client) => {
          if (indicator !== resource) throw new errors.InvalidTarget();
          const allowed = (client.scope ?? '').split(' ').filter((scope) => apiScopes.has(scope));
          return {
            scope: allowed.join(' '),
            audience: resource,
            accessTokenFormat: 'jwt',
            accessTokenTTL: ttl.accessTokenSeconds,
            jwt: { sign: { alg: SIGNING_ALG } },
          };
        },
      },
    },
    renderError: errorPage,
  };

  const provider = new Provider(issuer, configuration);
  provider.proxy = config.proxy;

  provider.on('server_error', (_ctx, err) => log.error({ err }, 'oidc provider error'));
  provider.on('grant.revoked', (ctx: KoaContextWithOIDC, grantId: string) => {
    const clientId = ctx.oidc.client?.clientId;
    const reason = ctx.oidc.route === 'token' ? 'refresh_token_reused' : ctx.oidc.route;
    store
      .appendAudit({ type: 'grant.revoked', actorUserId: ctx.oidc.entities.Grant?.accountId ?? ctx.oidc.session?.accountId, detail: { grantId, clientId, reason } })
      .catch((err: unknown) => log.error({ err: errorMessage(err) }, 'could not audit a revoked grant'));
  });

  return { provider, issuer, resource, signingKid: signing.signingKid, keyRetentionMs: longestSignedTokenMs, client: (clientId) => clients.get(clientId) };
}
