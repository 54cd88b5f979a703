/** The live bus the configuration chooses (`live.bus`). */
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { RedisConnection } from '../redis/redis-connection.ts';
import { MemoryLiveBus, type LiveBus, type LiveConfig } from './live-bus.ts';
import { RedisLiveBus } from './redis-live-bus.ts';

/** `redis` is the hub's connection, open when a section chose Redis (the config check requires its URL then). */
export function createLiveBus(config: LiveConfig, deps: { redis: RedisConnection | undefined; log: Logger; metrics: Registry }): LiveBus {
  if (config.bus !== 'redis' || !deps.redis) return new MemoryLiveBus();
  const bus = new RedisLiveBus({ connection: deps.redis, log: deps.log });
  bus.register(deps.metrics);
  return bus;
}
