/**
 * The provider's signing keys and cookie keys, kept in the identity store so every replica signs with the same
 * key and reads the same cookies.
 *
 * Rotation: `rotateSigningKey` adds a key and retires the others. Each replica signs with the newest unretired
 * key it found at start, so the new key signs everywhere once the replicas have restarted. A retired key stays
 * in the JWKS until every token it may have signed has expired (retiredAt + the longest lifetime of a signed
 * token + a margin), then the next start deletes it. Refresh tokens are opaque (stored), so no key outlives them.
 */
import { randomBytes } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';
import type { IdentityStore, SigningKey } from '../identity/identity-store.ts';

export const SIGNING_ALG = 'RS256';
const MODULUS_LENGTH = 2048;
/** Covers clock skew between the hub and the services verifying its tokens, and a replica restarting late. */
export const KEY_RETENTION_MARGIN_MS = 10 * 60_000;
const COOKIE_SECRET_NAME = 'oidc.cookie_keys';

export type SigningKeyStore = Pick<IdentityStore, 'addSigningKey' | 'listSigningKeys' | 'retireSigningKeysExcept' | 'deleteSigningKeysRetiredBefore'>;

async function newSigningJwk(): Promise<{ kid: string; privateJwk: JWK }> {
  const { privateKey } = await generateKeyPair(SIGNING_ALG, { modulusLength: MODULUS_LENGTH, extractable: true });
  const jwk = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint(jwk);
  return { kid, privateJwk: { ...jwk, kid, alg: SIGNING_ALG, use: 'sig' } };
}

/** Adds a new signing key and retires every other one at `now`; replicas sign with it after their next start. */
export async function rotateSigningKey(store: SigningKeyStore, now: number = Date.now()): Promise<SigningKey> {
  const { kid, privateJwk } = await newSigningJwk();
  const key = await store.addSigningKey({ kid, alg: SIGNING_ALG, privateJwk });
  await store.retireSigningKeysExcept(kid, now);
  return key;
}

export interface LoadedSigningKeys {
  /** Private JWKs for oidc-provider's `jwks`: the signing key first (it picks the first that fits), then the retired ones. */
  keys: JWK[];
  signingKid: string;
}

/**
 * The keys this replica uses: deletes those retired more than `retentionMs` ago, creates the first key when
 * there is none, and puts the newest unretired key first. Two replicas starting on an empty store may both
 * create one; both then sign with the newer and publish both.
 */
export async function loadSigningKeys(store: SigningKeyStore, options: { retentionMs: number; now?: number }): Promise<LoadedSigningKeys> {
  const now = options.now ?? Date.now();
  await store.deleteSigningKeysRetiredBefore(now - options.retentionMs - KEY_RETENTION_MARGIN_MS);
  let stored = await store.listSigningKeys();
  if (!stored.some((key) => key.retiredAt === undefined)) {
    const { kid, privateJwk } = await newSigningJwk();
    await store.addSigningKey({ kid, alg: SIGNING_ALG, privateJwk });
    stored = await store.listSigningKeys();
  }
  const signing = stored.find((key) => key.retiredAt === undefined);
  if (signing === undefined) throw new Error('the identity store lost the signing key just added');
  const ordered = [signing, ...stored.filter((key) => key !== signing)];
  return { keys: ordered.map((key) => ({ ...(key.privateJwk as JWK), kid: key.kid, alg: key.alg })), signingKid: signing.kid };
}

/** The public half of a private JWK, as a JWKS publishes it. */
export function publicJwk(jwk: JWK): JWK {
  const { kty, n, e, crv, x, y, kid, alg, use } = jwk;
  return Object.fromEntries(Object.entries({ kty, n, e, crv, x, y, kid, alg, use }).filter(([, value]) => value !== undefined)) as JWK;
}

/**
 * The public JWKS of every key in the store still within its retention: what any replica publishes, so services
 * that fetch it from a replica that has not restarted since a rotation still find the new key. The hub's own
 * verifier loads its keys with it too (`localJwks`).
 */
export async function publishedJwks(store: Pick<IdentityStore, 'listSigningKeys'>, options: { retentionMs: number; now?: number }): Promise<{ keys: JWK[] }> {
  const oldestKept = (options.now ?? Date.now()) - options.retentionMs - KEY_RETENTION_MARGIN_MS;
  const keys = (await store.listSigningKeys()).filter((key) => key.retiredAt === undefined || key.retiredAt >= oldestKept);
  return { keys: keys.map((key) => publicJwk({ ...(key.privateJwk as JWK), kid: key.kid, alg: key.alg })) };
}

/** oidc-provider's cookie signing keys, one shared secret made by the first replica. */
export async function loadCookieKeys(store: Pick<IdentityStore, 'getOrCreateSecret'>): Promise<string[]> {
  return [await store.getOrCreateSecret(COOKIE_SECRET_NAME, () => randomBytes(32).toString('base64url'))];
}
