/**
 * Agent credentials, the same for every registry adapter: ids, secrets, their scrypt hashes and the check of a
 * secret against the stored hash.
 *
 * Secrets are 32 random bytes handed out once; only an scrypt hash is kept. The hash string carries its own
 * parameters so the cost can be raised later without invalidating agents in the field.
 */
import { createHash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { isAgentId } from '@pulsebridge/protocol';
import { PulsebridgeError } from '@pulsebridge/runtime';

export type RegistryErrorCode = 'invalid_id' | 'invalid_gym' | 'exists';

export class RegistryError extends PulsebridgeError<RegistryErrorCode> {}

const GYM_ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** Gym ids travel in URLs and series tags: the same short, punctuation-free shape as agent ids, plus dots. */
export function isGymId(value: string): boolean {
  return GYM_ID_RE.test(value);
}

export function checkIds(id: string, gym: string): void {
  if (!isAgentId(id)) throw new RegistryError('invalid_id', `invalid agent id "${id}": letters, digits, - and _, at most 64, starting with a letter or digit`);
  if (!isGymId(gym)) throw new RegistryError('invalid_gym', `invalid gym id "${gym}": letters, digits, ., - and _, at most 64, starting with a letter or digit`);
}

export interface ScryptCost {
  N: number;
  r: number;
  p: number;
}

/**
 * Secrets are 256 random bits, so no hash cost is needed against guessing; scrypt keeps a copied table from
 * being usable as credentials. A modest cost (~30 ms on a small core) keeps a reconnect storm of a few hundred
 * agents to seconds. Stored hashes carry their parameters, so raising this later keeps old hashes valid.
 */
export const DEFAULT_SCRYPT_COST: ScryptCost = { N: 4_096, r: 8, p: 1 };

const KEY_BYTES = 32;
const SALT_BYTES = 16;
/** A longer "secret" is not one we issued; refusing it early keeps hashing cost bounded per attempt. */
const MAX_SECRET_CHARS = 256;
const MAX_AUTH_CACHE_ENTRIES = 10_000;

function scryptAsync(secret: string, salt: Buffer, cost: ScryptCost): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    // maxmem: scrypt needs 128 * N * r bytes; the default 32 MiB cap is too tight for N above 2^15.
    scrypt(secret, salt, KEY_BYTES, { ...cost, maxmem: 256 * cost.N * cost.r + 1024 * 1024 }, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

export async function hashSecret(secret: string, cost: ScryptCost): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await scryptAsync(secret, salt, cost);
  return `scrypt$${cost.N}$${cost.r}$${cost.p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

async function verifySecret(secret: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [, n, r, p, salt, key] = parts as [string, string, string, string, string, string];
  const expected = Buffer.from(key, 'base64url');
  const actual = await scryptAsync(secret, Buffer.from(salt, 'base64url'), { N: Number(n), r: Number(r), p: Number(p) });
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

function sha256(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

export function newSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** What a secret is checked against: the agent's stored hash (null while it waits for enrollment) and flag. */
export interface StoredCredential {
  secretHash: string | null;
  disabled: boolean;
}

interface CachedSuccess {
  secretDigest: Buffer;
  secretHash: string;
  until: number;
}

/**
 * Checks secrets against the stored hashes. A success is remembered for `cacheMs`, so a reconnect storm does
 * not queue hundreds of scrypt runs; the remembered success only stands in for the scrypt run: every check
 * still reads the agent's stored credential, and the success counts only while that still holds the same hash
 * and the agent is enabled. So a rotation, a revocation, a disable or a removal, by this process or by any
 * other sharing the store, is refused at the next check: the cache can never serve stale credentials.
 */
export class SecretChecker {
  private readonly cache = new Map<string, CachedSuccess>();
  /** Hash of a random secret, so an unknown agent id costs the same scrypt run as a wrong secret. */
  private decoyHash: Promise<string> | undefined;

  constructor(
    private readonly cost: ScryptCost,
    private readonly cacheMs: number,
    private readonly now: () => number,
  ) {}

  hash(secret: string): Promise<string> {
    return hashSecret(secret, this.cost);
  }

  /**
   * The row `read` returns if the secret is right and the agent enabled. `read` is called again after a
   * scrypt run: the agent may have been removed, disabled or rotated meanwhile.
   */
  async check<Row extends StoredCredential>(id: string, secret: string, read: (id: string) => Promise<Row | undefined>): Promise<Row | undefined> {
    if (!isAgentId(id) || secret.length === 0 || secret.length > MAX_SECRET_CHARS) return undefined;
    const row = await read(id);
    if (!row || row.secretHash === null || row.disabled) {
      this.decoyHash ??= hashSecret(randomBytes(32).toString('base64url'), this.cost);
      await verifySecret(secret, await this.decoyHash);
      return undefined;
    }
    const digest = sha256(secret);
    const cached = this.cache.get(id);
    if (cached && cached.until > this.now() && cached.secretHash === row.secretHash && timingSafeEqual(cached.secretDigest, digest)) return row;
    if (!(await verifySecret(secret, row.secretHash))) return undefined;
    const current = await read(id);
    if (!current || current.secretHash !== row.secretHash || current.disabled) return undefined;
    if (this.cacheMs > 0) this.remember(id, { secretDigest: digest, secretHash: row.secretHash, until: this.now() + this.cacheMs });
    return current;
  }

  /** Drops the remembered success at once (its credential changed here); the stored-hash check covers the rest. */
  forget(id: string): void {
    this.cache.delete(id);
  }

  clear(): void {
    this.cache.clear();
  }

  private remember(id: string, entry: CachedSuccess): void {
    if (this.cache.size >= MAX_AUTH_CACHE_ENTRIES) {
      const now = this.now();
      for (const [key, value] of this.cache) if (value.until <= now) this.cache.delete(key);
      if (this.cache.size >= MAX_AUTH_CACHE_ENTRIES) this.cache.clear();
    }
    this.cache.set(id, entry);
  }
}
