/**
 * Configuration of the sign-in throttle (rate-limits.ts): how failed sign-ins, token requests and enrollments
 * slow down and then lock, and where the counts live so that several hub replicas share them (PostgreSQL, or
 * the hub's one Redis connection: the `redis` section).
 */
import { Type, type Static } from '@sinclair/typebox';
import { SecretRef } from '@pulsebridge/runtime';

const Ms = (defaultMs: number, description: string) => Type.Integer({ minimum: 1, default: defaultMs, description });
const Count = (defaultCount: number, description: string) => Type.Integer({ minimum: 1, default: defaultCount, description });

/** Failures of one account from one address: the guesser who knows whom they are after. */
export const AccountFailuresConfig = Type.Object(
  {
    freeFailures: Type.Integer({ minimum: 0, default: 3, description: 'Failures (typos) allowed before any wait' }),
    initialDelayMs: Ms(1_000, 'Wait after the first failure past freeFailures; doubles with each further one'),
    maxDelayMs: Ms(60_000, 'Longest wait between two tries before the lock'),
    lockAfterFailures: Count(10, 'Consecutive failures that lock the account for that address'),
    lockMs: Ms(900_000, 'How long the lock lasts; every further failure after it locks again'),
    forgetAfterMs: Ms(86_400_000, 'Failures are forgotten this long after the first one of a run, success or not'),
  },
  { additionalProperties: false, default: {} },
);

/** Failures from one address whatever the account: the sprayer who tries one password on many accounts. */
export const AddressFailuresConfig = Type.Object(
  {
    maxFailures: Count(100, 'Failures from one address (an IPv6 address counts by its /64) within windowMs'),
    windowMs: Ms(3_600_000, 'The window counted from its first failure'),
    blockMs: Ms(3_600_000, 'How long the address is refused once over maxFailures'),
  },
  { additionalProperties: false, default: {} },
);

export const RateLimitsConfig = Type.Object(
  {
    account: AccountFailuresConfig,
    address: AddressFailuresConfig,
    store: Type.Union([Type.Literal('memory'), Type.Literal('postgres'), Type.Literal('redis')], {
      default: 'memory',
      description: 'memory: each replica counts alone. postgres: the counts are shared by every replica using the same database. redis: shared through redis.url',
    }),
    postgres: Type.Object(
      {
        url: Type.Optional(SecretRef),
      },
      { additionalProperties: false, default: {}, description: 'Used when store is postgres; the tables pb_rl_* are created on start' },
    ),
  },
  { additionalProperties: false, default: {} },
);
export type RateLimitsConfig = Static<typeof RateLimitsConfig>;

/** Rules the schema cannot express; `path` is where the section sits, e.g. `/rateLimits`. */
export function rateLimitConfigProblems(config: RateLimitsConfig, path: string): string[] {
  const problems: string[] = [];
  const { account } = config;
  if (account.maxDelayMs < account.initialDelayMs) problems.push(`${path}/account/maxDelayMs: must be at least initialDelayMs (${account.initialDelayMs})`);
  if (account.lockAfterFailures <= account.freeFailures) {
    problems.push(`${path}/account/lockAfterFailures: must be above freeFailures (${account.freeFailures}), or the lock comes before any slowing down`);
  }
  if (account.forgetAfterMs < account.lockMs) problems.push(`${path}/account/forgetAfterMs: must be at least lockMs (${account.lockMs}), or a lock would forget why it was set`);
  if (config.store === 'postgres' && config.postgres.url === undefined) problems.push(`${path}/postgres/url: is required when store is postgres`);
  if (config.store === 'redis') {
    // The library's Redis store keeps its keys in whole seconds: it rounds a duration down, and one under a second
    // gets no expiry at all (a count never forgotten).
    const durations = {
      'account/initialDelayMs': account.initialDelayMs,
      'account/maxDelayMs': account.maxDelayMs,
      'account/lockMs': account.lockMs,
      'account/forgetAfterMs': account.forgetAfterMs,
      'address/windowMs': config.address.windowMs,
      'address/blockMs': config.address.blockMs,
    };
    for (const [field, ms] of Object.entries(durations)) if (ms % 1000 !== 0) problems.push(`${path}/${field}: must be whole seconds (a multiple of 1000) when store is redis`);
  }
  return problems;
}
