/**
 * The cache port, for hot reads that are costly to compute (results, streams). Values are strings (JSON), so
 * a shared adapter (Redis) can hold them as they are. Entries are keyed by what they were computed from (a
 * session's id and revision, say), so a change makes a new key and never serves a stale value; `delete`
 * drops the entries of something that is gone.
 *
 * The in-process adapter is the embedded default: bounded by bytes, least recently used out first. The Redis
 * adapter (redis-cache.ts) is shared by every replica; `cache.store` chooses.
 */
import { Type, type Static } from '@sinclair/typebox';
import { LRUCache } from 'lru-cache';

export interface Cache {
  get(key: string): Promise<string | undefined>;
  /** Keeps the value for at most `ttlMs`. */
  set(key: string, value: string, ttlMs: number): Promise<void>;
  /** Drops every entry whose key starts with `prefix`. */
  deletePrefix(prefix: string): Promise<void>;
}

/** Entries of the in-process cache together take at most this many bytes (UTF-16 code units x 2). */
export const DEFAULT_MEMORY_CACHE_BYTES = 64 * 1024 * 1024;

export const CacheConfig = Type.Object(
  {
    store: Type.Union([Type.Literal('memory'), Type.Literal('redis')], {
      default: 'memory',
      description: 'memory: each replica caches alone. redis: one cache for every replica (through redis.url), deletions seen by all',
    }),
    maxBytes: Type.Integer({
      minimum: 1024,
      default: DEFAULT_MEMORY_CACHE_BYTES,
      description: "Bound of the in-process cache (store memory); Redis's own maxmemory bounds store redis",
    }),
  },
  { additionalProperties: false, default: {} },
);
export type CacheConfig = Static<typeof CacheConfig>;

export class MemoryCache implements Cache {
  private readonly entries: LRUCache<string, string>;
  private hits = 0;
  private misses = 0;

  constructor(options: { maxBytes?: number } = {}) {
    this.entries = new LRUCache<string, string>({
      maxSize: options.maxBytes ?? DEFAULT_MEMORY_CACHE_BYTES,
      sizeCalculation: (value, key) => (value.length + key.length) * 2,
      ttlAutopurge: false,
    });
  }

  async get(key: string): Promise<string | undefined> {
    const value = this.entries.get(key);
    if (value === undefined) this.misses++;
    else this.hits++;
    return value;
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    this.entries.set(key, value, { ttl: ttlMs });
  }

  async deletePrefix(prefix: string): Promise<void> {
    for (const key of [...this.entries.keys()]) if (key.startsWith(prefix)) this.entries.delete(key);
  }

  /** Counts for the metrics. */
  get stats(): { hits: number; misses: number; entries: number; bytes: number } {
    return { hits: this.hits, misses: this.misses, entries: this.entries.size, bytes: this.entries.calculatedSize };
  }
}

/**
 * The cached value of `key`, or `compute()`'s, stored for `ttlMs`. A cache that fails is a miss: the value is
 * computed, never refused because of the cache.
 */
export async function cached<T>(cache: Cache, key: string, ttlMs: number, compute: () => Promise<T>): Promise<T> {
  try {
    const hit = await cache.get(key);
    if (hit !== undefined) return JSON.parse(hit) as T;
  } catch {
    // A miss.
  }
  const value = await compute();
  try {
    await cache.set(key, JSON.stringify(value), ttlMs);
  } catch {
    // Served uncached.
  }
  return value;
}
