/**
 * The `redis` section: the one Redis connection a hub replica keeps, shared by the live bus (`live.bus`), the
 * cache (`cache.store`) and the sign-in throttle (`rateLimits.store`) when they choose Redis.
 */
import { Type, type Static } from '@sinclair/typebox';
import { SecretRef } from '@pulsebridge/runtime';

export const RedisConfig = Type.Object(
  {
    url: Type.Optional(SecretRef),
    keyPrefix: Type.String({
      default: 'pb:',
      maxLength: 64,
      description: 'Put before every key and channel name, so several installations (or tests) can share one Redis',
    }),
  },
  { additionalProperties: false, default: {}, description: 'Used when live.bus, cache.store or rateLimits.store is redis' },
);
export type RedisConfig = Static<typeof RedisConfig>;

/** The settings that may choose Redis, by their path (`/live/bus`), with the store each one chose. */
export type RedisUsers = Readonly<Record<string, string>>;

export function redisNeeded(users: RedisUsers): boolean {
  return Object.values(users).includes('redis');
}

/** Rules the schema cannot express; `path` is where the section sits, e.g. `/redis`. */
export function redisConfigProblems(config: RedisConfig, path: string, users: RedisUsers): string[] {
  const using = Object.entries(users)
    .filter(([, store]) => store === 'redis')
    .map(([setting]) => setting);
  if (using.length > 0 && config.url === undefined)
    return [`${path}/url: is required when ${using.join(', ')} ${using.length === 1 ? 'is' : 'are'} redis (redis://[user:password@]host:port[/db])`];
  return [];
}
