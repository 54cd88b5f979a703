/**
 * Bearer access token → Principal. Two kinds of issuer: the hub's own OpenID provider (RFC 9068 JWT access
 * tokens, `typ: at+jwt`, keys from the identity store, verified with fast-jwt: see own-tokens.ts) and the
 * configured federated issuers (keys from their JWKS, verified with jose). Every token passes the same checks
 * (algorithm allowlist, kid, signature, iss, aud, exp and nbf with the tolerance) and must name its subject; then
 * its account gives the roles.
 *
 * The token is routed by its unverified `iss` only to choose which keys and rules apply: nothing of it is
 * trusted before the signature has been verified with that issuer's keys.
 */
import { LRUCache } from 'lru-cache';
import { errors, jwtVerify, type JSONWebKeySet, type JWTVerifyOptions } from 'jose';
import { DEFAULT_ALGORITHMS, type TrustedIssuer, type TrustedIssuers } from './config.ts';
import { Accounts, mergeRoles, rolesFromClaim, type AccountStore } from './accounts.ts';
import { FederatedKeys, OwnKeys, type KeyResolver } from './keys.ts';
import { OwnTokens, type Claims, type OwnAlgorithm } from './own-tokens.ts';
import type { GymRole, Principal } from './principal.ts';
import { TokenRefused, quoted, type TokenRefusedReason } from './refusal.ts';

export { TokenRefused, TOKEN_REFUSED_REASONS, type TokenRefusedReason } from './refusal.ts';
export type { AccountStore } from './accounts.ts';

/** The `iss` of the hub's own tokens, given the identity issuer's base URL (the provider is mounted at /oidc). */
export function hubTokenIssuer(identityIssuer: string): string {
  return `${identityIssuer.replace(/\/$/, '')}/oidc`;
}

/** The `aud` (resource indicator) of the hub's API in its own tokens. */
export function hubApiAudience(identityIssuer: string): string {
  return `${identityIssuer.replace(/\/$/, '')}/api`;
}

/** Longer than any access token the hub or a sane issuer makes; parsing stops there. */
export const MAX_TOKEN_LENGTH = 16_384;

export interface AccessTokenVerifierOptions {
  /** The identity section's issuer, the hub's public base URL (e.g. https://hub.example.com). */
  identityIssuer: string;
  /** The public JWKS of the identity store's signing keys (current and retired-but-still-valid). */
  localJwks: () => Promise<JSONWebKeySet>;
  trustedIssuers: TrustedIssuers;
  store: AccountStore;
  /** The roles of a service authenticated by client credentials; default: none. */
  serviceRoles?: (clientId: string) => readonly GymRole[];
  /** The algorithms the hub's own tokens may use. */
  ownAlgorithms?: readonly OwnAlgorithm[];
  ownClockToleranceSeconds?: number;
  /**
   * How long a user's disabled flag and memberships are reused (default 10 s): a removed membership or a
   * disabled account takes effect within this, and a warm verification costs no store query.
   */
  accountCacheTtlMs?: number;
  accountCacheMaxEntries?: number;
  /** An unknown kid on a hub token reloads the hub's key set at most this often (default 5 s). */
  localJwksRefreshMinMs?: number;
  /** The hub's key set is reloaded when older than this (default 5 min). */
  localJwksMaxAgeMs?: number;
  /** Discovery and JWKS requests to federated issuers give up after this (default 5 s). */
  fetchTimeoutMs?: number;
  /**
   * Tokens whose signature and claims were verified are remembered (by their exact text) for this long, at
   * most until they expire (default 60 s; 0 turns it off): a client sends one token with many requests, and
   * the signature check is most of a verification's cost. expiry is checked again on every use; a key removed
   * from a key set stops verifying remembered tokens within this time.
   */
  verifiedTokenTtlMs?: number;
  verifiedTokenMaxEntries?: number;
  /** Milliseconds since the epoch; tests move it. */
  now?: () => number;
}

interface VerifiedToken {
  route: Route;
  claims: Claims;
}

type Route = { kind: 'own' } | { kind: 'federated'; issuer: TrustedIssuer; keys: FederatedKeys };

export class AccessTokenVerifier {
  private readonly ownIssuer: string;
  private readonly ownKeys: OwnKeys;
  private readonly ownTokens: OwnTokens;
  private readonly ownClockToleranceSeconds: number;
  private readonly federated = new Map<string, Route & { kind: 'federated' }>();
  /** Every algorithm some issuer accepts: anything else is refused before an issuer is even looked up. */
  private readonly anyAllowed: ReadonlySet<string>;
  private readonly accounts: Accounts;
  private readonly now: () => number;
  private readonly verifiedTokens: LRUCache<string, VerifiedToken> | undefined;

  constructor(private readonly options: AccessTokenVerifierOptions) {
    this.now = options.now ?? Date.now;
    this.ownIssuer = hubTokenIssuer(options.identityIssuer);
    const ownAlgorithms = [...(options.ownAlgorithms ?? DEFAULT_ALGORITHMS.filter((alg): alg is OwnAlgorithm => alg !== 'Ed25519'))];
    this.ownClockToleranceSeconds = options.ownClockToleranceSeconds ?? 30;
    this.ownTokens = new OwnTokens({
      issuer: this.ownIssuer,
      audience: hubApiAudience(options.identityIssuer),
      algorithms: ownAlgorithms,
      typ: 'at+jwt',
      clockToleranceSeconds: this.ownClockToleranceSeconds,
    });
    this.ownKeys = new OwnKeys({
      load: options.localJwks,
      now: this.now,
      refreshMinMs: options.localJwksRefreshMinMs ?? 5_000,
      maxAgeMs: options.localJwksMaxAgeMs ?? 300_000,
    });
    const allowed = new Set<string>(ownAlgorithms);
    for (const issuer of options.trustedIssuers) {
      const keys = new FederatedKeys(issuer, { now: this.now, fetchTimeoutMs: options.fetchTimeoutMs ?? 5_000, discoveryRetryMs: 5_000 });
      this.federated.set(issuer.issuer, { kind: 'federated', issuer, keys });
      for (const alg of issuer.algorithms) allowed.add(alg);
    }
    this.anyAllowed = allowed;
    const verifiedTtl = options.verifiedTokenTtlMs ?? 60_000;
    this.verifiedTokens =
      verifiedTtl > 0 ? new LRUCache({ max: options.verifiedTokenMaxEntries ?? 10_000, ttl: verifiedTtl, ttlResolution: 0, perf: { now: this.now } }) : undefined;
    this.accounts = new Accounts({
      store: options.store,
      ttlMs: options.accountCacheTtlMs ?? 10_000,
      maxEntries: options.accountCacheMaxEntries ?? 10_000,
      now: this.now,
    });
  }

  /**
   * Forgets the cached account of a user who was just erased, so this replica refuses their tokens at once
   * ('unknown_subject'); other replicas do within accountCacheTtlMs, as for a disabled account.
   */
  forgetUser(userId: string): void {
    this.accounts.forget(userId);
  }

  /** The principal the token proves; TokenRefused when it proves nothing (store failures propagate as they are). */
  async verify(token: string): Promise<Principal> {
    const remembered = this.verifiedTokens?.get(token);
    if (remembered !== undefined && typeof remembered.claims.exp === 'number') {
      // Only expiry can change for the same verified text: checked again, with the same tolerance.
      const tolerance = remembered.route.kind === 'own' ? this.ownClockToleranceSeconds : remembered.route.issuer.clockToleranceSeconds;
      if (remembered.claims.exp * 1000 + tolerance * 1000 <= this.now()) throw new TokenRefused('expired', 'the token has expired');
      return this.principalOf(remembered);
    }
    const verified = await this.verifyAnew(token);
    this.verifiedTokens?.set(token, verified);
    return this.principalOf(verified);
  }

  private principalOf({ route, claims }: VerifiedToken): Promise<Principal> {
    return route.kind === 'own' ? this.ownPrincipal(claims) : this.federatedPrincipal(route.issuer, claims);
  }

  private async verifyAnew(token: string): Promise<VerifiedToken> {
    const { alg, kid, iss } = peek(token);
    if (typeof alg !== 'string' || !this.anyAllowed.has(alg)) throw new TokenRefused('alg_not_allowed', `algorithm ${quoted(alg)} is not accepted`);
    if (typeof kid !== 'string' || kid === '') throw new TokenRefused('unknown_kid', 'the token names no key (kid)');
    const route = await this.route(iss, kid);
    if (route.kind === 'own') {
      const key = await this.ownKeys.find(kid);
      if (key === undefined) throw new TokenRefused('unknown_kid', 'no key of the hub has the token kid');
      return { route, claims: this.ownTokens.verify(token, alg, key, this.now()) };
    }
    const { issuer, keys } = route;
    const claims = await verified(token, keys.resolve, {
      issuer: issuer.issuer,
      audience: issuer.audience,
      algorithms: issuer.algorithms,
      clockTolerance: issuer.clockToleranceSeconds,
      requiredClaims: ['sub', 'exp'],
      currentDate: new Date(this.now()),
      ...(issuer.type === undefined ? {} : { typ: issuer.type }),
    });
    return { route, claims };
  }

  /**
   * The issuer whose keys and rules apply. A token naming no configured issuer is untrusted, unless it names
   * one of the hub's own keys: then it is checked as a hub token, so a hub-signed token with another `iss` is
   * refused as wrong_issuer (after its signature, so a forged one is bad_signature).
   */
  private async route(iss: unknown, kid: string): Promise<Route> {
    if (iss === this.ownIssuer) return { kind: 'own' };
    const federated = typeof iss === 'string' ? this.federated.get(iss) : undefined;
    if (federated !== undefined) return federated;
    if (await this.ownKeys.knows(kid)) return { kind: 'own' };
    throw new TokenRefused('untrusted_issuer', `issuer ${quoted(iss)} is not trusted`);
  }

  private async ownPrincipal(claims: Claims): Promise<Principal> {
    const subject = claims.sub as string;
    const clientId = typeof claims.client_id === 'string' ? claims.client_id : undefined;
    // oidc-provider puts the client id in `sub` when no user is involved (client credentials grant).
    if (clientId !== undefined && subject === clientId) {
      return principal('service', subject, this.ownIssuer, claims, [...(this.options.serviceRoles?.(clientId) ?? [])]);
    }
    const account = await this.accounts.account(subject);
    if (account.user === undefined) throw new TokenRefused('unknown_subject', `no user ${quoted(subject)}`);
    if (account.user.disabled) throw new TokenRefused('subject_disabled', `user ${subject} is disabled`);
    return principal('user', subject, this.ownIssuer, claims, account.roles);
  }

  private async federatedPrincipal(issuer: TrustedIssuer, claims: Claims): Promise<Principal> {
    const userId = await this.accounts.federatedUserId(issuer, claims.sub as string, claims);
    const account = await this.accounts.account(userId);
    if (account.user === undefined) throw new TokenRefused('unknown_subject', `issuer ${issuer.name}: the account linked to ${quoted(claims.sub)} is gone`);
    if (account.user.disabled) throw new TokenRefused('subject_disabled', `user ${userId} (issuer ${issuer.name}) is disabled`);
    return principal('user', userId, issuer.issuer, claims, mergeRoles(account.roles, rolesFromClaim(issuer, claims)));
  }
}

function principal(kind: Principal['kind'], subject: string, issuer: string, claims: Claims, roles: readonly GymRole[]): Principal {
  const clientId = typeof claims.client_id === 'string' ? claims.client_id : typeof claims['azp'] === 'string' ? claims['azp'] : undefined;
  return {
    kind,
    subject,
    issuer,
    clientId,
    scopes: new Set(typeof claims.scope === 'string' ? claims.scope.split(' ').filter((s) => s !== '') : []),
    roles,
    tokenId: typeof claims.jti === 'string' ? claims.jti : undefined,
  };
}

/** The header fields and issuer needed to route the token, from its unverified parts. */
function peek(token: string): { alg: unknown; kid: unknown; iss: unknown } {
  if (token.length > MAX_TOKEN_LENGTH) throw new TokenRefused('malformed', `the token is longer than ${MAX_TOKEN_LENGTH} characters`);
  // A plain parse, not jose's decoders: this runs for every token and nothing here is trusted (each verifier
  // parses the token again, strictly, and checks the signature over exactly these bytes).
  const parts = token.split('.');
  const header = parts.length === 3 ? jsonObject(parts[0]!) : undefined;
  const payload = header === undefined ? undefined : jsonObject(parts[1]!);
  if (header === undefined || payload === undefined) throw new TokenRefused('malformed', 'the token is not a JWS-compact JWT');
  return { alg: header['alg'], kid: header['kid'], iss: payload['iss'] };
}

function jsonObject(segment: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

async function verified(token: string, keys: KeyResolver, options: JWTVerifyOptions): Promise<Claims> {
  try {
    const { payload } = await jwtVerify<Claims>(token, keys, options);
    if (typeof payload.sub !== 'string' || payload.sub === '') throw new TokenRefused('malformed', 'the "sub" claim is empty');
    return payload;
  } catch (err) {
    throw err instanceof TokenRefused ? err : refusal(err);
  }
}

const CLAIM_REASONS: Record<string, TokenRefusedReason> = { iss: 'wrong_issuer', aud: 'wrong_audience', nbf: 'not_yet_valid', typ: 'wrong_type' };

/** jose's error, as the reason the API logs. */
function refusal(err: unknown): TokenRefused {
  const because = (reason: TokenRefusedReason, message: string): TokenRefused => new TokenRefused(reason, message, { cause: err });
  if (err instanceof errors.JWTExpired) return because('expired', 'the token has expired');
  if (err instanceof errors.JWTClaimValidationFailed) {
    const reason = err.reason === 'check_failed' || err.claim === 'iss' || err.claim === 'aud' ? CLAIM_REASONS[err.claim] : undefined;
    return because(reason ?? 'malformed', `the token was refused: ${err.message}`);
  }
  if (err instanceof errors.JOSEAlgNotAllowed || err instanceof errors.JOSENotSupported) return because('alg_not_allowed', 'the token algorithm is not accepted');
  if (err instanceof errors.JWKSNoMatchingKey) return because('unknown_kid', 'no key of the issuer has the token kid');
  if (err instanceof errors.JWKSInvalid) return because('issuer_unavailable', 'the issuer key set is not a valid JWKS');
  if (err instanceof errors.JWSSignatureVerificationFailed) return because('bad_signature', 'the token signature does not verify');
  return because('malformed', `the token is not valid: ${err instanceof Error ? err.message : String(err)}`);
}
