/**
 * Throttling of sign-in, token and enrollment attempts, built on rate-limiter-flexible so that the counts can
 * live in PostgreSQL or Redis and hold across hub replicas.
 *
 * Two limits, both counting failures only:
 * - one account from one address: after `freeFailures` the caller must wait a growing delay before the next
 *   try, and after `lockAfterFailures` the account is locked for that address for `lockMs`. Locking the pair,
 *   not the account, keeps a guesser elsewhere from locking the rightful user out. A success clears the pair.
 * - one address whatever the account: a looser cap that stops spraying one password over many accounts.
 */
import { createHash } from 'node:crypto';
import type { Middleware } from 'koa';
import pg from 'pg';
import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterPostgres, RateLimiterRedis, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { resolveSecret } from '@pulsebridge/runtime';
import { addressKey } from '../broker/login-throttle.ts';
import { PROBLEM_CONTENT_TYPE, problemBody } from '../api/problem.ts';
import type { RateLimitsConfig } from './rate-limits-config.ts';

export interface ThrottleKey {
  /** The account tried (an email or user id), when the request names one. Compared without regard to case. */
  account?: string;
  /** The client address; an IPv6 address counts by its /64. */
  address: string;
}

export type ThrottleDecision =
  | { allowed: true }
  /** `reason` is for logs and the audit: the caller only learns when to come back. */
  | { allowed: false; retryAfterMs: number; reason: 'slowed' | 'locked' | 'address' };

export interface SignInThrottleOptions {
  limits: Pick<RateLimitsConfig, 'account' | 'address'>;
  /** A shared store: every throttle on the same database sees the same counts. Default: this process's memory. */
  postgres?: pg.Pool;
  /** Or Redis: the hub's connection, and the key prefix (`redis.keyPrefix`) the counts are kept under. */
  redis?: ThrottleRedis;
}

export interface ThrottleRedis {
  client: Redis;
  keyPrefix: string;
}

const ALLOWED: ThrottleDecision = { allowed: true };
const TABLE_PREFIX = 'pb_rl_';

/** Hashed, so the store holds no email addresses and every key fits its 255-character column. */
function storeKey(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\0')).digest('base64url');
}

/** Whole seconds for a Retry-After header: at least 1, so a client never retries at once. */
export function retryAfterSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}

const LIMITERS = ['account_failures', 'account_wait', 'address_failures'] as const;
/** Any constant shared by every replica: it names the advisory lock that serialises creating the tables. */
const CREATE_TABLES_LOCK = 0x70625f726c;

/**
 * Creates the store's tables, one replica at a time. The library's own CREATE TABLE IF NOT EXISTS, run by two
 * connections at once, can fail on PostgreSQL with "type ... already exists" (42710), which it does not treat as
 * done (it only forgives 23505); hubs starting together failed so in a test. The columns are the library's
 * (rate-limiter-flexible RateLimiterPostgres), which then starts with `tableCreated`.
 */
async function createTables(pool: pg.Pool): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [CREATE_TABLES_LOCK]);
    for (const name of LIMITERS) {
      await client.query(`CREATE TABLE IF NOT EXISTS "${TABLE_PREFIX}${name}" (key varchar(255) PRIMARY KEY, points integer NOT NULL DEFAULT 0, expire bigint)`);
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}

function limiter(
  name: (typeof LIMITERS)[number],
  points: number,
  durationMs: number,
  blockMs: number,
  store: Pick<SignInThrottleOptions, 'postgres' | 'redis'>,
): RateLimiterAbstract {
  // The library counts in seconds but accepts fractions, which keeps the configuration in milliseconds.
  const options = { keyPrefix: `${TABLE_PREFIX}${name}`, points, duration: durationMs / 1000, blockDuration: blockMs / 1000 };
  // If the shared store fails, each replica still limits on its own rather than letting every attempt through.
  if (store.redis) {
    return new RateLimiterRedis({
      ...options,
      keyPrefix: `${store.redis.keyPrefix}rl:${name}`,
      storeClient: store.redis.client,
      // While Redis is unreachable the memory limiter answers at once, instead of the request waiting on a reconnect.
      rejectIfRedisNotReady: true,
      insuranceLimiter: new RateLimiterMemory(options),
    });
  }
  if (store.postgres) return new RateLimiterPostgres({ ...options, storeClient: store.postgres, tableCreated: true, insuranceLimiter: new RateLimiterMemory(options) });
  return new RateLimiterMemory(options);
}

export class SignInThrottle {
  private constructor(
    private readonly limits: SignInThrottleOptions['limits'],
    /** Consecutive failures of an account from an address. */
    private readonly pairFailures: RateLimiterAbstract,
    /** A pending wait or lock of an account for an address: present until it ends. */
    private readonly pairWait: RateLimiterAbstract,
    private readonly addressFailures: RateLimiterAbstract,
    private readonly ownedPool: pg.Pool | undefined,
  ) {}

  /** Creates the store's tables when missing (safe from several replicas at once). */
  static async open(options: SignInThrottleOptions, ownedPool?: pg.Pool): Promise<SignInThrottle> {
    const { account, address } = options.limits;
    if (options.postgres) await createTables(options.postgres);
    const pairFailures = limiter('account_failures', account.lockAfterFailures, account.forgetAfterMs, 0, options);
    const pairWait = limiter('account_wait', 1, account.lockMs, 0, options);
    const addressFailures = limiter('address_failures', address.maxFailures, address.windowMs, address.blockMs, options);
    return new SignInThrottle(options.limits, pairFailures, pairWait, addressFailures, ownedPool);
  }

  /**
   * From the hub's configuration: with `store: postgres` the throttle opens (and closes) its own pool; with
   * `store: redis` it uses the hub's Redis connection (`redis`, which the hub opens when a section chooses Redis).
   */
  static async fromConfig(config: RateLimitsConfig, env: NodeJS.ProcessEnv = process.env, redis?: ThrottleRedis): Promise<SignInThrottle> {
    if (config.store === 'redis' && redis) return SignInThrottle.open({ limits: config, redis });
    if (config.store !== 'postgres' || config.postgres.url === undefined) return SignInThrottle.open({ limits: config });
    const pool = new pg.Pool({ connectionString: resolveSecret(config.postgres.url, env), max: 4 });
    // An idle connection the server drops must not crash the process; the next query gets a new one.
    pool.on('error', () => {});
    try {
      return await SignInThrottle.open({ limits: config, postgres: pool }, pool);
    } catch (error) {
      await pool.end().catch(() => {});
      throw error;
    }
  }

  async close(): Promise<void> {
    await this.ownedPool?.end();
  }

  /** Whether an attempt may be made now. A refused attempt must not be tried (nor counted as a failure). */
  async check(key: ThrottleKey): Promise<ThrottleDecision> {
    const address = addressKey(key.address);
    const [wait, failures, fromAddress] = await Promise.all([
      key.account === undefined ? null : this.pairWait.get(storeKey(key.account.toLowerCase(), address)),
      key.account === undefined ? null : this.pairFailures.get(storeKey(key.account.toLowerCase(), address)),
      this.addressFailures.get(storeKey(address)),
    ]);
    if (fromAddress && fromAddress.consumedPoints > this.limits.address.maxFailures && fromAddress.msBeforeNext > 0) {
      return { allowed: false, retryAfterMs: fromAddress.msBeforeNext, reason: 'address' };
    }
    if (wait && wait.msBeforeNext > 0) {
      const locked = (failures?.consumedPoints ?? 0) >= this.limits.account.lockAfterFailures;
      return { allowed: false, retryAfterMs: wait.msBeforeNext, reason: locked ? 'locked' : 'slowed' };
    }
    return ALLOWED;
  }

  /** Counts a failed attempt; answers what the next attempt will meet. */
  async failed(key: ThrottleKey): Promise<ThrottleDecision> {
    const address = addressKey(key.address);
    try {
      await this.addressFailures.consume(storeKey(address));
    } catch (rejection) {
      // Over the cap the library rejects with its result (and blocks the address); only a real Error is a failure.
      if (rejection instanceof Error) throw rejection;
    }
    if (key.account !== undefined) {
      const pair = storeKey(key.account.toLowerCase(), address);
      const { consumedPoints } = await this.pairFailures.penalty(pair);
      const waitMs = this.waitAfter(consumedPoints);
      if (waitMs > 0) await this.pairWait.block(pair, waitMs / 1000);
    }
    return this.check(key);
  }

  /** A successful sign-in clears its account's failures from that address (not the address's own count). */
  async succeeded(key: ThrottleKey): Promise<void> {
    if (key.account === undefined) return;
    const pair = storeKey(key.account.toLowerCase(), addressKey(key.address));
    await Promise.all([this.pairFailures.delete(pair), this.pairWait.delete(pair)]);
  }

  /**
   * The wait after `failures` consecutive failures: none while they are typos, then doubling, then the lock.
   * Not the runtime's Backoff: the count lives in the (shared) store rather than in this process, and a penalty
   * needs no jitter.
   */
  private waitAfter(failures: number): number {
    const { freeFailures, initialDelayMs, maxDelayMs, lockAfterFailures, lockMs } = this.limits.account;
    if (failures >= lockAfterFailures) return lockMs;
    if (failures <= freeFailures) return 0;
    return Math.min(maxDelayMs, initialDelayMs * 2 ** Math.min(failures - freeFailures - 1, 30));
  }
}

export interface ThrottleByAddressOptions {
  throttle: SignInThrottle;
  /** Which answers count as a failed attempt. Default: every 4xx but 429. */
  isFailure?: (status: number) => boolean;
}

const defaultIsFailure = (status: number): boolean => status >= 400 && status < 500 && status !== 429;

/**
 * For public endpoints that take a secret without naming an account (POST /oidc/token, POST /api/v1/enroll):
 * an address over its cap is answered 429 problem+json with Retry-After before the endpoint runs; each answer
 * the endpoint refuses counts against the address. Behind a reverse proxy, set the Koa app's `proxy` so that
 * `ctx.ip` is the client's and not the proxy's.
 */
export function throttleByAddress(options: ThrottleByAddressOptions): Middleware {
  const isFailure = options.isFailure ?? defaultIsFailure;
  return async (ctx, next) => {
    const key = { address: ctx.ip };
    const decision = await options.throttle.check(key);
    if (!decision.allowed) {
      const state = ctx.state as { requestId?: unknown };
      const requestId = typeof state.requestId === 'string' ? state.requestId : '';
      const body = problemBody('too_many_requests', 'too many failed attempts from your address; retry later', ctx.path, requestId);
      if (requestId === '') delete body.requestId;
      ctx.status = 429;
      ctx.set('Retry-After', String(retryAfterSeconds(decision.retryAfterMs)));
      ctx.type = PROBLEM_CONTENT_TYPE;
      ctx.body = JSON.stringify(body);
      return;
    }
    let status: number;
    try {
      await next();
      status = ctx.status;
    } catch (error) {
      const thrown = (error as { status?: unknown; statusCode?: unknown } | null) ?? {};
      status = Number(thrown.status ?? thrown.statusCode ?? 500);
      if (isFailure(status)) await options.throttle.failed(key);
      throw error;
    }
    if (isFailure(status)) await options.throttle.failed(key);
  };
}
