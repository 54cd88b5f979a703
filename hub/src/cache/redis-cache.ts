/**
 * The cache port on Redis, shared by every replica. Keys are `<redis.keyPrefix>cache:<key>`, each stored with
 * its TTL (PX), so Redis expires entries itself; its `maxmemory` bounds the whole (cache.maxBytes is the
 * in-process cache's bound).
 *
 * deletePrefix scans for the prefix (SCAN MATCH, in steps) and UNLINKs what it finds, so a deletion made
 * through any replica is seen by all. Chosen over generation keys (a counter per prefix folded into every
 * key): invalidations are rare (a session deleted, an account erased) while reads are hot, and generations
 * would cost every read one more round trip for the counters of every prefix a key could fall under. SCAN
 * walks the whole keyspace in steps that do not block Redis, bounded by the entries alive (all expire).
 *
 * A Redis that is unreachable makes the cache a miss and a set a no-op at once (no waiting for a reconnect);
 * deletePrefix then fails, since the caller must know the entries were not dropped.
 */
import { escapeGlob, type RedisConnection } from '../redis/redis-connection.ts';
import type { Cache } from './cache.ts';

/** Keys asked for per SCAN step (a hint to Redis), and deleted per UNLINK. */
const SCAN_COUNT = 500;

export class RedisCache implements Cache {
  private readonly connection: RedisConnection;
  private readonly prefix: string;
  private hits = 0;
  private misses = 0;
  /** Reads and writes skipped because Redis could not be reached. */
  private unavailable = 0;

  constructor(options: { connection: RedisConnection }) {
    this.connection = options.connection;
    this.prefix = `${options.connection.keyPrefix}cache:`;
  }

  async get(key: string): Promise<string | undefined> {
    if (!this.connection.available) {
      this.unavailable++;
      this.misses++;
      return undefined;
    }
    const value = await this.connection.commands.get(this.prefix + key);
    if (value === null) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    return value;
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    if (!this.connection.available) {
      this.unavailable++;
      return;
    }
    await this.connection.commands.set(this.prefix + key, value, 'PX', Math.max(1, Math.ceil(ttlMs)));
  }

  async deletePrefix(prefix: string): Promise<void> {
    if (!this.connection.available) throw new Error(`Redis is out of reach: cache entries under ${prefix} were not dropped`);
    const redis = this.connection.commands;
    const match = `${escapeGlob(this.prefix + prefix)}*`;
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', match, 'COUNT', SCAN_COUNT);
      cursor = next;
      if (keys.length > 0) await redis.unlink(...keys);
    } while (cursor !== '0');
  }

  /** Counts for the metrics (the same names as the in-process cache's, but bytes: those are Redis's own). */
  get stats(): { hits: number; misses: number; unavailable: number } {
    return { hits: this.hits, misses: this.misses, unavailable: this.unavailable };
  }
}
