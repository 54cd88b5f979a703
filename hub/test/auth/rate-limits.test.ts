import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, mock, test } from 'node:test';
import Koa from 'koa';
import pg from 'pg';
import { Value } from '@sinclair/typebox/value';
import { until } from '@pulsebridge/runtime';
import { SignInThrottle, throttleByAddress, type ThrottleDecision, type ThrottleKey } from '../../src/auth/rate-limits.ts';
import { RateLimitsConfig, rateLimitConfigProblems } from '../../src/auth/rate-limits-config.ts';
import { missingService } from '../../../test/services.ts';
import { NO_REDIS, adminClient, closeTestConnections, dropKeys, killConnection, openTestConnection, testKeyPrefix } from '../redis/redis-services.ts';

const LIMITS = {
  account: { freeFailures: 2, initialDelayMs: 1_000, maxDelayMs: 4_000, lockAfterFailures: 6, lockMs: 60_000, forgetAfterMs: 3_600_000 },
  address: { maxFailures: 20, windowMs: 3_600_000, blockMs: 600_000 },
};
const VICTIM: ThrottleKey = { account: 'Coach@Gym.example', address: '198.51.100.7' };

afterEach(() => mock.timers.reset());

/** Stands for the sign-in page: refuses without checking when throttled, else checks the password. */
async function signIn(throttle: SignInThrottle, key: ThrottleKey, password: string): Promise<'throttled' | 'wrong' | 'in'> {
  if (!(await throttle.check(key)).allowed) return 'throttled';
  if (password !== 'right horse battery') {
    await throttle.failed(key);
    return 'wrong';
  }
  await throttle.succeeded(key);
  return 'in';
}

test('brute force on one account is slowed with a growing wait, then locked; the rightful user gets in once the lock expires', async () => {
  mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_700_000_000_000 });
  const throttle = await SignInThrottle.open({ limits: LIMITS });
  // Two typos are free.
  for (let i = 0; i < 2; i++) assert.equal(await signIn(throttle, VICTIM, 'guess'), 'wrong');
  assert.deepEqual(await throttle.check(VICTIM), { allowed: true });

  const waits: number[] = [];
  for (let failure = 3; failure < 6; failure++) {
    const next = await throttle.failed(VICTIM);
    assert.equal(next.allowed, false, `after failure ${failure}`);
    if (next.allowed) return;
    assert.equal(next.reason, 'slowed');
    waits.push(next.retryAfterMs);
    // Trying before the wait is over is refused without a password check.
    mock.timers.tick(next.retryAfterMs - 1);
    assert.equal(await signIn(throttle, VICTIM, 'right horse battery'), 'throttled');
    mock.timers.tick(1);
    assert.deepEqual(await throttle.check(VICTIM), { allowed: true });
  }
  assert.deepEqual(waits, [1_000, 2_000, 4_000]);

  const locked = await throttle.failed(VICTIM);
  assert.deepEqual(locked, { allowed: false, retryAfterMs: 60_000, reason: 'locked' });
  mock.timers.tick(59_999);
  assert.equal(await signIn(throttle, VICTIM, 'right horse battery'), 'throttled', 'even the right password waits for the lock');
  mock.timers.tick(1);
  assert.equal(await signIn(throttle, VICTIM, 'right horse battery'), 'in');
  // The success cleared the run: the next typo is free again.
  assert.equal(await signIn(throttle, VICTIM, 'typo'), 'wrong');
  assert.deepEqual(await throttle.check(VICTIM), { allowed: true });
});

test('after the lock expires, one more failure locks again at once', async () => {
  mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_700_000_000_000 });
  const throttle = await SignInThrottle.open({ limits: { ...LIMITS, account: { ...LIMITS.account, freeFailures: 5 } } });
  for (let i = 0; i < 6; i++) await throttle.failed(VICTIM);
  mock.timers.tick(60_000);
  assert.deepEqual(await throttle.check(VICTIM), { allowed: true });
  assert.deepEqual(await throttle.failed(VICTIM), { allowed: false, retryAfterMs: 60_000, reason: 'locked' });
});

test('a lock holds the account for that address only; the account from elsewhere and others from there still try', async () => {
  const throttle = await SignInThrottle.open({ limits: LIMITS });
  for (let i = 0; i < 6; i++) await throttle.failed(VICTIM);
  assert.equal((await throttle.check(VICTIM)).allowed, false);
  assert.equal((await throttle.check({ account: 'coach@gym.example', address: '198.51.100.7' })).allowed, false, 'the account compares without case');
  assert.deepEqual(await throttle.check({ account: VICTIM.account, address: '203.0.113.9' }), { allowed: true });
  assert.deepEqual(await throttle.check({ account: 'athlete@gym.example', address: VICTIM.address }), { allowed: true });
});

test('one address spraying many accounts is refused once over its cap, for every account and for address-only endpoints', async () => {
  mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_700_000_000_000 });
  const throttle = await SignInThrottle.open({ limits: { ...LIMITS, address: { maxFailures: 5, windowMs: 60_000, blockMs: 300_000 } } });
  const sprayer = '2001:db8:1:2:aaaa::1';
  for (let i = 0; i < 5; i++) assert.equal(await signIn(throttle, { account: `user${i}@gym.example`, address: sprayer }, 'Summer2024'), 'wrong');
  const over = await throttle.failed({ account: 'user5@gym.example', address: sprayer });
  assert.deepEqual(over, { allowed: false, retryAfterMs: 300_000, reason: 'address' });
  // Same /64, another account: still refused.
  assert.equal((await throttle.check({ account: 'fresh@gym.example', address: '2001:db8:1:2:bbbb::9' })).allowed, false);
  assert.equal((await throttle.check({ address: sprayer })).allowed, false);
  assert.deepEqual(await throttle.check({ address: '2001:db8:1:3::1' }), { allowed: true });
  mock.timers.tick(300_000);
  assert.deepEqual(await throttle.check({ address: sprayer }), { allowed: true });
});

test('throttleByAddress counts refused answers and then answers 429 problem+json with Retry-After, without running the endpoint', async () => {
  const throttle = await SignInThrottle.open({ limits: { ...LIMITS, address: { maxFailures: 2, windowMs: 60_000, blockMs: 120_000 } } });
  let reached = 0;
  const app = new Koa();
  app.use(throttleByAddress({ throttle }));
  app.use(async (ctx) => {
    reached++;
    if (ctx.get('X-Code') === 'good') ctx.body = { ok: true };
    else ctx.throw(400, 'invalid_grant');
  });
  const server = createServer(app.callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/oidc/token`;
  try {
    const post = (code: string) => fetch(url, { method: 'POST', headers: { 'X-Code': code } });
    assert.equal((await post('good')).status, 200);
    for (let i = 0; i < 3; i++) assert.equal((await post('bad')).status, 400);
    const refused = await post('good');
    assert.equal(refused.status, 429);
    assert.equal(refused.headers.get('retry-after'), '120');
    assert.match(refused.headers.get('content-type') ?? '', /^application\/problem\+json/);
    const problem = (await refused.json()) as { type: string; status: number; instance: string };
    assert.equal(problem.status, 429);
    assert.equal(problem.type, '/api/v1/docs#problem-too_many_requests');
    assert.equal(problem.instance, '/oidc/token');
    assert.equal(reached, 4, 'the refused request never reached the endpoint');
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

test('the configuration defaults are documented values, and inconsistent limits are reported with their paths', () => {
  const defaults = Value.Default(RateLimitsConfig, {}) as RateLimitsConfig;
  assert.equal(defaults.store, 'memory');
  assert.equal(defaults.account.lockAfterFailures, 10);
  assert.deepEqual(rateLimitConfigProblems(defaults, '/rateLimits'), []);
  const bad: RateLimitsConfig = {
    ...defaults,
    account: { ...defaults.account, freeFailures: 10, lockAfterFailures: 10, initialDelayMs: 5_000, maxDelayMs: 1_000, forgetAfterMs: 1_000 },
    store: 'postgres',
  };
  assert.deepEqual(rateLimitConfigProblems(bad, '/rateLimits'), [
    '/rateLimits/account/maxDelayMs: must be at least initialDelayMs (5000)',
    '/rateLimits/account/lockAfterFailures: must be above freeFailures (10), or the lock comes before any slowing down',
    '/rateLimits/account/forgetAfterMs: must be at least lockMs (900000), or a lock would forget why it was set',
    '/rateLimits/postgres/url: is required when store is postgres',
  ]);
});

const PG_URL = process.env['PG_URL'];
const NO_PG = missingService(PG_URL ? false : 'PG_URL not set (run the tests through scripts/test-services.sh to start PostgreSQL)');

test('two throttles on one PostgreSQL see each other’s failures, and a short lock expires for both', { skip: NO_PG }, async () => {
  const schema = `pb_rl_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Pool({ connectionString: PG_URL, max: 1 });
  await admin.query(`CREATE SCHEMA ${schema}`);
  const pools = [0, 1].map(() => new pg.Pool({ connectionString: PG_URL, max: 2, options: `-c search_path=${schema}` }));
  try {
    const limits = { ...LIMITS, account: { ...LIMITS.account, freeFailures: 1, initialDelayMs: 100, maxDelayMs: 100, lockAfterFailures: 3, lockMs: 400 } };
    const [first, second] = await Promise.all(pools.map((pool) => SignInThrottle.open({ limits, postgres: pool })));
    assert.ok(first && second);
    // Replicas alternate: each sees the run the other counted.
    await first.failed(VICTIM);
    const slowed = await second.failed(VICTIM);
    assert.equal(slowed.allowed, false);
    assert.equal((await first.check(VICTIM)).allowed, false, 'the wait set through one replica holds on the other');
    await until('the wait is over', async () => (await first.check(VICTIM)).allowed, 5_000, 20);
    const reason = (decision: ThrottleDecision) => (decision.allowed ? 'allowed' : decision.reason);
    assert.equal(reason(await first.failed(VICTIM)), 'locked');
    assert.equal(reason(await second.check(VICTIM)), 'locked');
    await until('the lock expires', async () => (await second.check(VICTIM)).allowed, 5_000, 20);
    await second.succeeded(VICTIM);
    assert.deepEqual(await first.check(VICTIM), { allowed: true });
    const counted = await admin.query(`SELECT count(*)::int AS n FROM ${schema}.pb_rl_account_failures`);
    assert.equal(counted.rows[0].n, 0, 'the success cleared the shared count');
  } finally {
    await Promise.all(pools.map((pool) => pool.end()));
    await admin.query(`DROP SCHEMA ${schema} CASCADE`);
    await admin.end();
  }
});

test('replicas opening the throttle at once on an empty database all start (the tables are created one replica at a time)', { skip: NO_PG }, async () => {
  const admin = new pg.Pool({ connectionString: PG_URL, max: 1 });
  try {
    // Each round a fresh schema, so every round races to create the tables.
    for (let round = 0; round < 8; round++) {
      const schema = `pb_rl_race_${process.pid}_${randomBytes(4).toString('hex')}`;
      await admin.query(`CREATE SCHEMA ${schema}`);
      const pools = [0, 1, 2, 3].map(() => new pg.Pool({ connectionString: PG_URL, max: 2, options: `-c search_path=${schema}` }));
      try {
        const opened = await Promise.allSettled(pools.map((pool) => SignInThrottle.open({ limits: LIMITS, postgres: pool })));
        assert.deepEqual(
          opened.map((result) => (result.status === 'fulfilled' ? 'open' : String(result.reason))),
          ['open', 'open', 'open', 'open'],
          `round ${round}`,
        );
      } finally {
        await Promise.all(pools.map((pool) => pool.end()));
        await admin.query(`DROP SCHEMA ${schema} CASCADE`);
      }
    }
  } finally {
    await admin.end();
  }
});

test('from a configuration with store postgres the throttle opens its own pool, counts there, and closes it', { skip: NO_PG }, async () => {
  const schema = `pb_rl_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Pool({ connectionString: PG_URL, max: 1 });
  await admin.query(`CREATE SCHEMA ${schema}`);
  // The URL carries the search path, as an operator's URL may carry any connection option.
  const url = `${PG_URL}${PG_URL!.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
  try {
    const config = Value.Default(RateLimitsConfig, { store: 'postgres', postgres: { url: { env: 'RL_URL' } } }) as RateLimitsConfig;
    assert.deepEqual(rateLimitConfigProblems(config, '/rateLimits'), []);
    const throttle = await SignInThrottle.fromConfig(config, { RL_URL: url });
    await throttle.failed({ address: '192.0.2.1' });
    await throttle.close();
    const rows = await admin.query(`SELECT points FROM ${schema}.pb_rl_address_failures`);
    assert.deepEqual(rows.rows, [{ points: 1 }]);
  } finally {
    await admin.query(`DROP SCHEMA ${schema} CASCADE`);
    await admin.end();
  }
});

test('two throttles on one Redis see each other’s failures, and a short lock expires for both', { skip: NO_REDIS }, async () => {
  const keyPrefix = testKeyPrefix();
  const [one, two] = await Promise.all([openTestConnection(keyPrefix), openTestConnection(keyPrefix)]);
  const admin = adminClient();
  try {
    // Whole seconds: the Redis store counts in seconds (rateLimitConfigProblems requires them).
    const limits = { ...LIMITS, account: { ...LIMITS.account, freeFailures: 1, initialDelayMs: 1_000, maxDelayMs: 1_000, lockAfterFailures: 3, lockMs: 1_000 } };
    assert.deepEqual(rateLimitConfigProblems({ ...limits, store: 'redis', postgres: {} }, '/rateLimits'), []);
    const first = await SignInThrottle.open({ limits, redis: { client: one.commands, keyPrefix } });
    const second = await SignInThrottle.open({ limits, redis: { client: two.commands, keyPrefix } });
    await first.failed(VICTIM);
    const slowed = await second.failed(VICTIM);
    assert.equal(slowed.allowed, false);
    assert.equal((await first.check(VICTIM)).allowed, false, 'the wait set through one replica holds on the other');
    await until('the wait is over', async () => (await first.check(VICTIM)).allowed, 5_000, 20);
    const reason = (decision: ThrottleDecision) => (decision.allowed ? 'allowed' : decision.reason);
    assert.equal(reason(await first.failed(VICTIM)), 'locked');
    assert.equal(reason(await second.check(VICTIM)), 'locked');
    await until('the lock expires', async () => (await second.check(VICTIM)).allowed, 5_000, 20);
    await second.succeeded(VICTIM);
    assert.deepEqual(await first.check(VICTIM), { allowed: true });
    assert.deepEqual(await admin.keys(`${keyPrefix}rl:account_failures:*`), [], 'the success cleared the shared count');
  } finally {
    await dropKeys(admin, keyPrefix);
    admin.disconnect();
    await closeTestConnections();
  }
});

test('from a configuration with store redis the throttle counts on the hub’s Redis connection, under <redis.keyPrefix>rl:', { skip: NO_REDIS }, async () => {
  const keyPrefix = testKeyPrefix();
  const connection = await openTestConnection(keyPrefix);
  const admin = adminClient();
  try {
    const config = Value.Default(RateLimitsConfig, { store: 'redis' }) as RateLimitsConfig;
    assert.deepEqual(rateLimitConfigProblems(config, '/rateLimits'), []);
    const throttle = await SignInThrottle.fromConfig(config, {}, { client: connection.commands, keyPrefix });
    await throttle.failed({ address: '192.0.2.1' });
    await throttle.close();
    const keys = await admin.keys(`${keyPrefix}rl:address_failures:*`);
    assert.equal(keys.length, 1);
    assert.equal(await admin.get(keys[0]!), '1');
    assert.equal(connection.available, true, 'closing the throttle leaves the hub’s connection open');
  } finally {
    await dropKeys(admin, keyPrefix);
    admin.disconnect();
    await closeTestConnections();
  }
});

test('with Redis out of reach the throttle answers at once and still limits, each replica on its own', { skip: NO_REDIS }, async () => {
  const keyPrefix = testKeyPrefix();
  const connection = await openTestConnection(keyPrefix, { reconnect: { initialMs: 60_000, maxMs: 60_000 } });
  const admin = adminClient();
  try {
    const throttle = await SignInThrottle.open({
      limits: { ...LIMITS, address: { maxFailures: 2, windowMs: 60_000, blockMs: 120_000 } },
      redis: { client: connection.commands, keyPrefix },
    });
    await killConnection(admin, connection.commands);
    await until('the connection to be lost', () => !connection.available, 5_000, 5);
    const address = { address: '203.0.113.9' };
    for (let i = 0; i < 3; i++) await throttle.failed(address);
    const refused = await throttle.check(address);
    assert.equal(refused.allowed, false);
    if (!refused.allowed) assert.equal(refused.reason, 'address');
  } finally {
    await dropKeys(admin, keyPrefix);
    admin.disconnect();
    await closeTestConnections();
  }
});

test('with store redis every duration must be whole seconds, since the Redis store rounds down and keeps a sub-second one for ever', () => {
  const config = Value.Default(RateLimitsConfig, { store: 'redis', account: { initialDelayMs: 500, lockMs: 1_500 }, address: { windowMs: 60_000 } }) as RateLimitsConfig;
  assert.deepEqual(rateLimitConfigProblems(config, '/rateLimits'), [
    '/rateLimits/account/initialDelayMs: must be whole seconds (a multiple of 1000) when store is redis',
    '/rateLimits/account/lockMs: must be whole seconds (a multiple of 1000) when store is redis',
  ]);
  assert.deepEqual(rateLimitConfigProblems({ ...config, store: 'memory' }, '/rateLimits'), [], 'the other stores count in milliseconds');
});
