/**
 * Where verification keys come from: the hub's own key set (from the identity store, through a function the hub
 * passes; imported as node:crypto KeyObjects for fast-jwt) and each federated issuer's JWKS (its jwks_uri, found
 * once through discovery; a jose key resolver). Both fetch again on an unknown kid only at a bounded rate, so
 * made-up kids cannot hammer the store or the issuer.
 */
import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { createRemoteJWKSet, errors, type CryptoKey, type FlattenedJWSInput, type JSONWebKeySet, type JWK, type JWSHeaderParameters, type RemoteJWKSet } from 'jose';
import { errorMessage } from '@pulsebridge/runtime';
import type { TrustedIssuer } from './config.ts';
import { TokenRefused, quoted } from './refusal.ts';

/** A jose key resolver: called with the token's header once its algorithm has passed the allowlist. */
export type KeyResolver = (header: JWSHeaderParameters, token: FlattenedJWSInput) => Promise<CryptoKey>;

/** One of the hub's public keys, imported once per key-set load. */
export interface OwnKey {
  kid: string;
  jwk: JWK;
  publicKey: KeyObject;
}

interface LoadedKeys {
  byKid: ReadonlyMap<string, OwnKey>;
  loadedAt: number;
}

export interface OwnKeysOptions {
  load: () => Promise<JSONWebKeySet>;
  now: () => number;
  /** An unknown kid reloads the set at most once per this interval. */
  refreshMinMs: number;
  /** The set is reloaded when older than this, so a key removed from the store stops verifying. */
  maxAgeMs: number;
}

/** The hub's own signing keys, by kid, reloaded on an unknown kid (throttled) and when the set grows old. */
export class OwnKeys {
  private loaded: LoadedKeys | undefined;
  private loading: Promise<LoadedKeys> | undefined;
  private lastAttemptAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly options: OwnKeysOptions) {}

  /** Whether `kid` is one of the hub's keys, as last loaded (loads them the first time). */
  async knows(kid: string): Promise<boolean> {
    return (await this.current()).byKid.has(kid);
  }

  /** The key named `kid`; a kid not in the set reloads it first, at most once per `refreshMinMs`. */
  async find(kid: string): Promise<OwnKey | undefined> {
    const key = (await this.current()).byKid.get(kid);
    if (key !== undefined || this.options.now() - this.lastAttemptAt < this.options.refreshMinMs) return key;
    return (await this.reload()).byKid.get(kid);
  }

  private async current(): Promise<LoadedKeys> {
    const loaded = this.loaded;
    const now = this.options.now();
    const recentlyTried = now - this.lastAttemptAt < this.options.refreshMinMs;
    if (loaded !== undefined && (now - loaded.loadedAt < this.options.maxAgeMs || recentlyTried)) return loaded;
    if (loaded === undefined && recentlyTried && this.loading === undefined) {
      throw new TokenRefused('issuer_unavailable', "the hub's signing keys could not be read recently; not trying again yet");
    }
    // An old set still verifies while a reload fails: the store being down should not refuse every token.
    return this.reload().catch((err: unknown) => {
      if (loaded !== undefined) return loaded;
      throw err;
    });
  }

  private reload(): Promise<LoadedKeys> {
    this.loading ??= this.fetch().finally(() => (this.loading = undefined));
    return this.loading;
  }

  private async fetch(): Promise<LoadedKeys> {
    this.lastAttemptAt = this.options.now();
    let jwks: JSONWebKeySet;
    try {
      jwks = await this.options.load();
    } catch (err) {
      throw new TokenRefused('issuer_unavailable', `the hub's signing keys could not be read: ${errorMessage(err)}`, { cause: err });
    }
    const byKid = new Map<string, OwnKey>();
    for (const jwk of jwks.keys) {
      if (typeof jwk.kid !== 'string' || byKid.has(jwk.kid)) continue;
      const publicKey = importPublicJwk(jwk);
      // A key node:crypto cannot import verifies nothing: its kid is refused as unknown, the others still verify.
      if (publicKey !== undefined) byKid.set(jwk.kid, { kid: jwk.kid, jwk, publicKey });
    }
    this.loaded = { byKid, loadedAt: this.options.now() };
    return this.loaded;
  }
}

function importPublicJwk(jwk: JWK): KeyObject | undefined {
  try {
    return createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' });
  } catch {
    return undefined;
  }
}

export interface FederatedKeysOptions {
  now: () => number;
  /** Discovery and JWKS requests give up after this. */
  fetchTimeoutMs: number;
  /** After a failed discovery, tokens of the issuer are refused without asking it again for this long. */
  discoveryRetryMs: number;
}

/** Plain http only to this machine, as the configuration requires of configured URLs. */
function isLoopbackOrHttps(url: URL): boolean {
  return url.protocol === 'https:' || (url.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname));
}

/** One federated issuer's keys: its jwks_uri (configured, or from discovery once) behind jose's remote JWKS cache. */
export class FederatedKeys {
  private remote: RemoteJWKSet | undefined;
  private discovering: Promise<RemoteJWKSet> | undefined;
  private failedAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly issuer: TrustedIssuer,
    private readonly options: FederatedKeysOptions,
  ) {
    if (issuer.jwksUri !== undefined) this.remote = this.remoteSet(new URL(issuer.jwksUri));
  }

  readonly resolve: KeyResolver = async (header, token) => {
    const remote = this.remote ?? (await this.discover());
    try {
      return await remote(header, token);
    } catch (err) {
      // Key-selection errors are the token's; anything else (timeout, HTTP status, bad JSON) is the issuer's.
      if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys || err instanceof errors.JOSENotSupported) throw err;
      throw new TokenRefused('issuer_unavailable', `the keys of issuer ${this.issuer.name} could not be fetched: ${errorMessage(err)}`, { cause: err });
    }
  };

  private remoteSet(url: URL): RemoteJWKSet {
    return createRemoteJWKSet(url, {
      timeoutDuration: this.options.fetchTimeoutMs,
      cooldownDuration: this.issuer.jwksCooldownSeconds * 1000,
      cacheMaxAge: this.issuer.jwksMaxAgeSeconds * 1000,
    });
  }

  private discover(): Promise<RemoteJWKSet> {
    if (this.options.now() - this.failedAt < this.options.discoveryRetryMs) {
      return Promise.reject(new TokenRefused('issuer_unavailable', `the discovery document of issuer ${this.issuer.name} failed recently; not asking again yet`));
    }
    this.discovering ??= this.fetchDiscovery()
      .then((url) => (this.remote = this.remoteSet(url)))
      .catch((err: unknown) => {
        this.failedAt = this.options.now();
        throw new TokenRefused('issuer_unavailable', `the discovery document of issuer ${this.issuer.name} is unusable: ${errorMessage(err)}`, { cause: err });
      })
      .finally(() => (this.discovering = undefined));
    return this.discovering;
  }

  private async fetchDiscovery(): Promise<URL> {
    const where = `${this.issuer.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
    const response = await fetch(where, { signal: AbortSignal.timeout(this.options.fetchTimeoutMs), headers: { accept: 'application/json' }, redirect: 'error' });
    if (!response.ok) throw new Error(`${where} answered ${response.status}`);
    const document = (await response.json()) as { issuer?: unknown; jwks_uri?: unknown };
    // OpenID Connect Discovery §4.3: a document naming another issuer must not be used.
    if (document.issuer !== this.issuer.issuer) throw new Error(`${where} names issuer ${quoted(document.issuer)}`);
    if (typeof document.jwks_uri !== 'string') throw new Error(`${where} has no jwks_uri`);
    const url = new URL(document.jwks_uri);
    if (!isLoopbackOrHttps(url)) throw new Error(`${where} gives a jwks_uri that is not https`);
    return url;
  }
}
