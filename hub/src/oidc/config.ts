/**
 * The `identity` section of the hub's configuration: the OpenID Connect provider's issuer, token lifetimes and
 * the OAuth clients it knows. The schema, and the rules across its fields that the schema cannot express.
 */
import { Type, type Static } from '@sinclair/typebox';
import { SecretRef } from '@pulsebridge/runtime';
import { TrustedIssuers, trustedIssuersConfigProblems } from '../auth/config.ts';
import { API_SCOPES } from '../auth/principal.ts';
import { ROLES } from '../identity/identity-store.ts';

export const CLIENT_KINDS = ['public', 'confidential', 'device', 'service'] as const;
export type ClientKind = (typeof CLIENT_KINDS)[number];

/** The scopes of OpenID Connect itself, next to the API's own (API_SCOPES). */
export const OIDC_SCOPES = ['openid', 'profile', 'email', 'offline_access'] as const;

const ClientId = Type.String({ pattern: '^[A-Za-z0-9._-]{1,128}$' });
/** Absolute URI: https app links, loopback http, or a private-use scheme such as `app.pulsebridge:/oauth/callback`. */
const RedirectUri = Type.String({ pattern: '^[A-Za-z][A-Za-z0-9+.-]*:\\S+$', maxLength: 2048 });

export const GymRoleSection = Type.Object(
  {
    gym: Type.String({ minLength: 1, description: "A gym id, or '*' with role platform_admin" }),
    role: Type.Union(
      ROLES.map((role) => Type.Literal(role)),
      { description: 'The role the service acts with in that gym' },
    ),
  },
  { additionalProperties: false },
);

export const IdentityClient = Type.Object(
  {
    clientId: ClientId,
    name: Type.String({ minLength: 1, maxLength: 200, description: 'Shown on the consent and device pages' }),
    kind: Type.Union(
      CLIENT_KINDS.map((kind) => Type.Literal(kind)),
      {
        description:
          'public: a mobile or single-page app (authorization code + PKCE, no secret); confidential: a server-side web app with a secret; device: a screen without a keyboard (device flow); service: another service acting for itself (client credentials)',
      },
    ),
    redirectUris: Type.Array(RedirectUri, { default: [], description: 'Where codes may be sent: a private-use scheme, an https app link, or loopback http' }),
    postLogoutRedirectUris: Type.Array(RedirectUri, { default: [] }),
    firstParty: Type.Boolean({ default: false, description: "The company's own apps: no consent page" }),
    clientSecret: Type.Optional(SecretRef),
    scopes: Type.Array(Type.String({ pattern: '^[A-Za-z0-9_:.-]+$' }), {
      default: [],
      description: 'The scopes the client may ask for; default: openid, profile, email, offline_access and every API scope (service: the API scopes)',
    }),
    roles: Type.Array(GymRoleSection, { default: [], description: 'service clients: the gym roles its tokens carry' }),
  },
  { additionalProperties: false },
);
export type IdentityClient = Static<typeof IdentityClient>;

export const IdentityTtl = Type.Object(
  {
    accessTokenSeconds: Type.Integer({ minimum: 30, default: 600, description: 'Access tokens (JWT); they cannot be revoked, so keep it short' }),
    refreshTokenSeconds: Type.Integer({
      minimum: 60,
      default: 30 * 24 * 3600,
      description: 'Sliding: every refresh rotates the refresh token and the new one lives this long again',
    }),
    grantSeconds: Type.Integer({
      minimum: 60,
      default: 365 * 24 * 3600,
      description: 'The absolute limit of one sign-in: no refresh works after it, whatever the sliding lifetime',
    }),
    deviceCodeSeconds: Type.Integer({ minimum: 60, default: 600 }),
    sessionSeconds: Type.Integer({ minimum: 60, default: 14 * 24 * 3600, description: 'The browser session at the sign-in pages' }),
    interactionSeconds: Type.Integer({ minimum: 60, default: 3600, description: 'How long one sign-in page stays usable' }),
    idTokenSeconds: Type.Integer({ minimum: 30, default: 3600 }),
    inviteSeconds: Type.Integer({ minimum: 60, default: 7 * 24 * 3600, description: 'How long a gym invite link works (single use)' }),
    passwordResetSeconds: Type.Integer({ minimum: 60, default: 3600, description: 'How long a password-reset link works (single use)' }),
  },
  { additionalProperties: false, default: {} },
);
export type IdentityTtl = Static<typeof IdentityTtl>;

export const DEFAULT_CLIENTS: IdentityClient[] = [
  {
    clientId: 'pulsebridge-mobile',
    name: 'Pulsebridge',
    kind: 'public',
    redirectUris: ['app.pulsebridge:/oauth/callback'],
    postLogoutRedirectUris: ['app.pulsebridge:/oauth/signed-out'],
    firstParty: true,
    scopes: [],
    roles: [],
  },
  {
    clientId: 'pulsebridge-board',
    name: 'Pulsebridge gym board',
    kind: 'device',
    redirectUris: [],
    postLogoutRedirectUris: [],
    firstParty: true,
    scopes: [],
    roles: [],
  },
];

export const WEB_CLIENT_ID = 'pulsebridge-web';

/**
 * The web app the hub serves (/app): a first-party public client whose redirect URI is the hub's own
 * <issuer>/app/callback, so it follows the issuer instead of being configured. A configured client of the same
 * id replaces it.
 */
export function webClient(section: Pick<IdentitySection, 'issuer'>): IdentityClient {
  const base = section.issuer.replace(/\/+$/, '');
  return {
    clientId: WEB_CLIENT_ID,
    name: 'Pulsebridge web',
    kind: 'public',
    redirectUris: [`${base}/app/callback`],
    postLogoutRedirectUris: [`${base}/app/`],
    firstParty: true,
    // Every API scope: one app serves athletes, coaches and admins, and each request is still bounded by the
    // signed-in user's roles in the gym it touches.
    scopes: ['openid', 'offline_access', ...Object.keys(API_SCOPES)],
    roles: [],
  };
}

/** The clients the provider knows: the configured ones, and the web app's unless configured or turned off. */
export function providerClients(section: Pick<IdentitySection, 'issuer' | 'clients'>, web = true): IdentityClient[] {
  if (!web || section.clients.some((client) => client.clientId === WEB_CLIENT_ID)) return section.clients;
  return [...section.clients, webClient(section)];
}

/** The web app signs in at <issuer>/app/callback: that must be a redirect URI the provider accepts. */
export function webClientProblems(section: Pick<IdentitySection, 'issuer'>, enabled: boolean, path: string): string[] {
  if (!enabled) return [];
  const uri = webClient(section).redirectUris[0]!;
  let why: string | undefined;
  try {
    why = redirectUriProblem(uri);
  } catch {
    why = 'is not an absolute URI';
  }
  return why === undefined ? [] : [`${path}: the web app signs in at ${uri}, which ${why}; set identity.issuer to the hub's https URL (or web.enabled: false)`];
}

/** Roles that must set up TOTP at their next password sign-in; the others are offered it and may skip. */
export const DEFAULT_SECOND_FACTOR_ROLES: (typeof ROLES)[number][] = ['gym_admin', 'coach', 'platform_admin'];

export const SecondFactorPolicy = Type.Object(
  {
    requiredForRoles: Type.Array(Type.Union(ROLES.map((role) => Type.Literal(role))), {
      default: DEFAULT_SECOND_FACTOR_ROLES,
      description: 'A user holding any of these roles in any gym must set up two-step sign-in (TOTP) after the password; others may skip it',
    }),
  },
  { additionalProperties: false, default: {} },
);
export type SecondFactorPolicy = Static<typeof SecondFactorPolicy>;

export const MailSection = Type.Object(
  {
    kind: Type.Literal('file', { default: 'file', description: 'file: each mail is written to a file in `dir` (the demo; no mail leaves the box)' }),
    dir: Type.Optional(Type.String({ minLength: 1, description: 'Default: <hub.dataDir>/mail' })),
  },
  { additionalProperties: false, default: {} },
);
export type MailSection = Static<typeof MailSection>;

export const IdentitySection = Type.Object(
  {
    issuer: Type.String({
      minLength: 1,
      default: 'http://localhost:8080',
      description: 'The public base URL of the hub, e.g. https://hub.example.com; the provider lives at <issuer>/oidc',
    }),
    proxy: Type.Boolean({ default: false, description: 'Trust X-Forwarded-Proto/-Host from a reverse proxy in front of the hub' }),
    ttl: IdentityTtl,
    clients: Type.Array(IdentityClient, { default: DEFAULT_CLIENTS }),
    trustedIssuers: TrustedIssuers,
    secondFactor: SecondFactorPolicy,
    mail: MailSection,
    signUpReturnUrl: Type.Optional(
      Type.String({ minLength: 1, description: 'Where the "open the app" link after sign-up goes (an app link); none: the page only says to open the app' }),
    ),
  },
  { additionalProperties: false, default: {} },
);
export type IdentitySection = Static<typeof IdentitySection>;

/** The scopes a client may ask for: its configured ones, else every scope that makes sense for its kind. */
export function clientScopes(client: IdentityClient): string[] {
  if (client.scopes.length > 0) return [...client.scopes];
  const api = Object.keys(API_SCOPES);
  return client.kind === 'service' ? api : [...OIDC_SCOPES, ...api];
}

/** The provider's issuer: `${issuer}/oidc`. */
export function oidcIssuer(section: Pick<IdentitySection, 'issuer'>): string {
  return `${section.issuer.replace(/\/+$/, '')}/oidc`;
}

/** The resource indicator (and `aud`) of the hub's API: `${issuer}/api`. */
export function apiResource(section: Pick<IdentitySection, 'issuer'>): string {
  return `${section.issuer.replace(/\/+$/, '')}/api`;
}

/** Every client secret with its path, for the loader to try (and `--print-config` to mask). */
export function identitySecretRefs(section: IdentitySection, path: string): { path: string; ref: SecretRef }[] {
  return section.clients.flatMap((client, index) => (client.clientSecret === undefined ? [] : [{ path: `${path}/clients/${index}/clientSecret`, ref: client.clientSecret }]));
}

const PRIVATE_USE_SCHEME = /^[a-z][a-z0-9+.-]*\.[a-z0-9+.-]+:/i;

function redirectUriProblem(uri: string): string | undefined {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return 'is not an absolute URI';
  }
  if (url.hash !== '') return 'must not have a fragment';
  if (url.protocol === 'https:') return undefined;
  if (url.protocol === 'http:') return ['127.0.0.1', '[::1]', 'localhost'].includes(url.hostname) ? undefined : 'http is allowed for loopback addresses only';
  if (['javascript:', 'data:', 'file:', 'vbscript:'].includes(url.protocol)) return `must not use the ${url.protocol.slice(0, -1)} scheme`;
  if (!PRIVATE_USE_SCHEME.test(uri)) return 'a private-use scheme must be a reverse domain name with a dot (e.g. app.pulsebridge:/oauth/callback)';
  return undefined;
}

/** The rules no schema expresses; problems formatted `${path}/field: what is wrong`. */
export function identityConfigProblems(section: IdentitySection, path: string): string[] {
  const problems: string[] = [];
  let issuer: URL | undefined;
  try {
    issuer = new URL(section.issuer);
  } catch {
    problems.push(`${path}/issuer: ${section.issuer} is not an absolute URL`);
  }
  if (issuer !== undefined) {
    if (issuer.protocol !== 'https:' && issuer.protocol !== 'http:') problems.push(`${path}/issuer: must be an http(s) URL`);
    if (issuer.search !== '' || issuer.hash !== '') problems.push(`${path}/issuer: must not have a query or a fragment`);
    if (issuer.username !== '' || issuer.password !== '') problems.push(`${path}/issuer: must not carry credentials`);
  }
  if (section.signUpReturnUrl !== undefined) {
    const why = redirectUriProblem(section.signUpReturnUrl);
    if (why) problems.push(`${path}/signUpReturnUrl: ${section.signUpReturnUrl} ${why}`);
  }
  problems.push(...trustedIssuersConfigProblems(section.trustedIssuers, `${path}/trustedIssuers`, issuer === undefined ? undefined : oidcIssuer(section)));
  const seen = new Set<string>();
  section.clients.forEach((client, index) => {
    const at = `${path}/clients/${index}`;
    if (seen.has(client.clientId)) problems.push(`${at}/clientId: ${client.clientId} is configured twice`);
    seen.add(client.clientId);
    const hasSecret = client.clientSecret !== undefined;
    if ((client.kind === 'confidential' || client.kind === 'service') && !hasSecret) problems.push(`${at}/clientSecret: a ${client.kind} client needs a secret`);
    if ((client.kind === 'public' || client.kind === 'device') && hasSecret) problems.push(`${at}/clientSecret: a ${client.kind} client cannot keep a secret; remove it`);
    if ((client.kind === 'public' || client.kind === 'confidential') && client.redirectUris.length === 0) {
      problems.push(`${at}/redirectUris: a ${client.kind} client needs at least one redirect URI`);
    }
    if ((client.kind === 'device' || client.kind === 'service') && client.redirectUris.length > 0) {
      problems.push(`${at}/redirectUris: a ${client.kind} client gets no redirect; remove them`);
    }
    if (client.kind === 'service' && client.postLogoutRedirectUris.length > 0) problems.push(`${at}/postLogoutRedirectUris: a service client does not sign people in`);
    client.redirectUris.forEach((uri, i) => {
      const why = redirectUriProblem(uri);
      if (why) problems.push(`${at}/redirectUris/${i}: ${uri} ${why}`);
      else if (client.kind === 'confidential' && !uri.startsWith('https:') && !uri.startsWith('http:'))
        problems.push(`${at}/redirectUris/${i}: a confidential (web) client redirects to http(s) only`);
    });
    client.postLogoutRedirectUris.forEach((uri, i) => {
      const why = redirectUriProblem(uri);
      if (why) problems.push(`${at}/postLogoutRedirectUris/${i}: ${uri} ${why}`);
    });
    if (client.kind !== 'service' && client.roles.length > 0) problems.push(`${at}/roles: only service clients act with roles of their own; people get theirs from memberships`);
    client.roles.forEach((held, i) => {
      if ((held.gym === '*') !== (held.role === 'platform_admin')) problems.push(`${at}/roles/${i}: gym '*' goes with role platform_admin, and only with it`);
    });
    client.scopes.forEach((scope, i) => {
      if (!(scope in API_SCOPES) && !(OIDC_SCOPES as readonly string[]).includes(scope)) problems.push(`${at}/scopes/${i}: ${scope} is neither an API scope nor an OpenID scope`);
    });
    if (client.kind === 'service' && client.scopes.some((scope) => (OIDC_SCOPES as readonly string[]).includes(scope))) {
      problems.push(`${at}/scopes: a service client has no user, so no OpenID scopes (${OIDC_SCOPES.join(', ')})`);
    }
  });
  return problems;
}

/** For the token verifier (`serviceRoles`): the gym roles of a service client's client-credentials tokens. */
export function serviceRoles(section: IdentitySection): (clientId: string) => readonly { gym: string; role: (typeof ROLES)[number] }[] {
  const byClient = new Map(section.clients.filter((client) => client.kind === 'service').map((client) => [client.clientId, client.roles]));
  return (clientId) => byClient.get(clientId) ?? [];
}
