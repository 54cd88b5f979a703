/** The cache the configuration chooses (`cache.store`), with its metrics. */
import type { Registry } from 'prom-client';
import { registerScraped } from '@pulsebridge/runtime';
import type { RedisConnection } from '../redis/redis-connection.ts';
import { MemoryCache, type Cache, type CacheConfig } from './cache.ts';
import { RedisCache } from './redis-cache.ts';

/** `redis` is the hub's connection, open when a section chose Redis (the config check requires its URL then). */
export function createCache(config: CacheConfig, deps: { redis: RedisConnection | undefined; metrics: Registry }): Cache {
  const cache: MemoryCache | RedisCache = config.store === 'redis' && deps.redis ? new RedisCache({ connection: deps.redis }) : new MemoryCache({ maxBytes: config.maxBytes });
  registerScraped(deps.metrics, [
    { name: 'pb_hub_cache_hits_total', help: 'Reads the results cache answered', kind: 'counter', read: () => cache.stats.hits },
    { name: 'pb_hub_cache_misses_total', help: 'Reads the results cache had to compute', kind: 'counter', read: () => cache.stats.misses },
  ]);
  // Redis reports its own memory; the in-process cache's bytes are this replica's.
  if (cache instanceof MemoryCache)
    registerScraped(deps.metrics, [{ name: 'pb_hub_cache_bytes', help: 'Bytes the results cache holds', kind: 'gauge', read: () => cache.stats.bytes }]);
  return cache;
}
