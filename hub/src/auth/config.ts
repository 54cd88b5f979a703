/**
 * `trustedIssuers`: the external identity providers whose access tokens the API accepts, next to the hub's own
 * issuer. The schema, and the rules across entries that the schema cannot express.
 */
import { Type, type Static } from '@sinclair/typebox';
import { SecretRef } from '@pulsebridge/runtime';
import { ROLES } from '../identity/identity-store.ts';

/**
 * Signature algorithms an issuer may be trusted with. Only asymmetric ones: an HMAC key would be a secret
 * shared with the issuer, and a public key used as an HMAC secret is the classic confusion attack; `none` is
 * never a choice.
 */
export const ASYMMETRIC_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'] as const;
export type AsymmetricAlgorithm = (typeof ASYMMETRIC_ALGORITHMS)[number];
export const DEFAULT_ALGORITHMS: AsymmetricAlgorithm[] = ['RS256', 'ES256', 'PS256', 'EdDSA'];

const Algorithm = Type.Union(
  ASYMMETRIC_ALGORITHMS.map((alg) => Type.Literal(alg)),
  { description: 'A JWS algorithm with a public verification key' },
);
const RoleName = Type.Union(
  ROLES.map((role) => Type.Literal(role)),
  { description: 'One of the hub roles' },
);
/** Gym ids start with a letter or digit; `*` (every gym) is only for platform_admin and only by claim. */
const GymId = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$', maxLength: 64 });
const HttpUrl = (description: string) => Type.String({ pattern: '^https?://[^\\s]+$', description });

export const RoleMapping = Type.Object(
  {
    claim: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'Claim holding the gym roles, each "<gym>:<role>" (e.g. "gym-a:coach"), as a string (space-separated) or a list; read on every token',
      }),
    ),
    separator: Type.String({ minLength: 1, maxLength: 1, default: ':', description: 'Between gym and role in the claim values' }),
    allowPlatformAdmin: Type.Boolean({
      default: false,
      description: 'Whether the claim may grant "*:platform_admin"; off, such values are ignored, so the issuer cannot make platform admins',
    }),
    default: Type.Optional(
      Type.Object(
        { gym: GymId, role: RoleName },
        { additionalProperties: false, description: 'Membership stored for a just-in-time account when it is created (not platform_admin)' },
      ),
    ),
  },
  { additionalProperties: false, default: {} },
);
export type RoleMapping = Static<typeof RoleMapping>;

export const ClaimMapping = Type.Object(
  {
    email: Type.String({ minLength: 1, default: 'email', description: 'Claim holding the email of a just-in-time account (required to create one)' }),
    name: Type.String({ minLength: 1, default: 'name', description: 'Claim holding its display name (else the email)' }),
    roles: RoleMapping,
  },
  { additionalProperties: false, default: {} },
);
export type ClaimMapping = Static<typeof ClaimMapping>;

export const DEFAULT_SIGN_IN_SCOPES = 'openid email profile';

/** People of the issuer may also sign in at the hub's sign-in page, through the issuer's own login. */
export const UpstreamSignIn = Type.Object(
  {
    clientId: Type.String({
      minLength: 1,
      description: "The hub's client id at the issuer (a confidential client with redirect URI <identity.issuer>/interaction/federated/callback)",
    }),
    clientSecret: SecretRef,
    label: Type.String({ minLength: 1, maxLength: 100, description: 'The button says "Sign in with <label>"' }),
    scopes: Type.String({ minLength: 1, default: DEFAULT_SIGN_IN_SCOPES, description: 'Space-separated; must include openid' }),
  },
  { additionalProperties: false },
);
export type UpstreamSignIn = Static<typeof UpstreamSignIn>;

export const TrustedIssuer = Type.Object(
  {
    name: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$', description: 'Short name for logs and audit events' }),
    issuer: HttpUrl('Exactly the `iss` of its tokens (and of its discovery document)'),
    audience: Type.Union([Type.String({ minLength: 1 }), Type.Array(Type.String({ minLength: 1 }), { minItems: 1 })], {
      description: 'The `aud` value(s) that mean this API; a token must carry one of them',
    }),
    algorithms: Type.Array(Algorithm, { minItems: 1, uniqueItems: true, default: DEFAULT_ALGORITHMS, description: 'The only signature algorithms accepted' }),
    jwksUri: Type.Optional(HttpUrl("Its key set; default: `jwks_uri` of the issuer's discovery document, fetched once")),
    type: Type.Optional(Type.String({ minLength: 1, description: 'The `typ` header its access tokens must carry (e.g. "at+jwt"); default: not checked' })),
    jwksCooldownSeconds: Type.Integer({ minimum: 0, default: 30, description: 'After a fetch, an unknown kid triggers no new fetch for this long' }),
    jwksMaxAgeSeconds: Type.Integer({ minimum: 1, default: 600, description: 'Keys are fetched again when older than this' }),
    clockToleranceSeconds: Type.Integer({ minimum: 0, maximum: 300, default: 30, description: 'Allowed clock skew for exp and nbf' }),
    claims: ClaimMapping,
    signIn: Type.Optional(UpstreamSignIn),
  },
  { additionalProperties: false },
);
export type TrustedIssuer = Static<typeof TrustedIssuer>;

export const TrustedIssuers = Type.Array(TrustedIssuer, { default: [], description: 'External issuers whose access tokens the API accepts' });
export type TrustedIssuers = Static<typeof TrustedIssuers>;

/** Plain http only to this machine: keys fetched over the network must come over TLS. */
function isLoopbackOrHttps(url: string): boolean {
  try {
    const parsed = new URL(url);
    if (parsed.protocol === 'https:') return true;
    return parsed.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(parsed.hostname);
  } catch {
    return false;
  }
}

/**
 * Rules the schema cannot express: unique names and issuers, none equal to the hub's own issuer, TLS for
 * everything fetched, and a default membership that cannot be platform_admin.
 */
export function trustedIssuersConfigProblems(list: TrustedIssuers, path: string, ownIssuer?: string): string[] {
  const problems: string[] = [];
  const names = new Set<string>();
  const issuers = new Set<string>();
  list.forEach((entry, index) => {
    const at = `${path}/${index}`;
    if (names.has(entry.name)) problems.push(`${at}/name: "${entry.name}" is used by another trusted issuer`);
    names.add(entry.name);
    if (issuers.has(entry.issuer)) problems.push(`${at}/issuer: ${entry.issuer} is listed twice`);
    issuers.add(entry.issuer);
    if (ownIssuer !== undefined && entry.issuer === ownIssuer) problems.push(`${at}/issuer: that is the hub's own issuer, which is always trusted`);
    if (!isLoopbackOrHttps(entry.issuer)) problems.push(`${at}/issuer: must be an https URL (http only for localhost)`);
    if (entry.jwksUri !== undefined && !isLoopbackOrHttps(entry.jwksUri)) problems.push(`${at}/jwksUri: must be an https URL (http only for localhost)`);
    if (entry.claims.roles.default?.role === 'platform_admin') problems.push(`${at}/claims/roles/default/role: a just-in-time account cannot be made platform_admin`);
    if (entry.signIn !== undefined && !entry.signIn.scopes.split(' ').includes('openid')) problems.push(`${at}/signIn/scopes: must include openid`);
  });
  return problems;
}

/** Every upstream sign-in client secret with its path, for the loader to try (and `--print-config` to mask). */
export function trustedIssuerSecretRefs(list: TrustedIssuers, path: string): { path: string; ref: SecretRef }[] {
  return list.flatMap((entry, index) => (entry.signIn === undefined ? [] : [{ path: `${path}/${index}/signIn/clientSecret`, ref: entry.signIn.clientSecret }]));
}
