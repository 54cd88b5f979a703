import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { until } from '@pulsebridge/runtime';
import { MemoryCache, cached } from '../../src/cache/cache.ts';
import { RedisCache } from '../../src/cache/redis-cache.ts';
import { NO_REDIS, adminClient, closeTestConnections, dropKeys, killConnection, openTestConnection, testKeyPrefix } from '../redis/redis-services.ts';
import { cacheContract } from './cache-contract.ts';

after(closeTestConnections);

cacheContract('in-process cache', {
  pair: async () => {
    const cache = new MemoryCache();
    return { a: cache, b: cache, close: async () => {} };
  },
});

cacheContract('Redis cache', {
  skip: NO_REDIS,
  pair: async () => {
    const keyPrefix = testKeyPrefix();
    const [a, b] = await Promise.all([openTestConnection(keyPrefix), openTestConnection(keyPrefix)]);
    return {
      a: new RedisCache({ connection: a }),
      b: new RedisCache({ connection: b }),
      close: async () => {
        const admin = adminClient();
        await dropKeys(admin, keyPrefix);
        admin.disconnect();
      },
    };
  },
});

test('in-process cache: entries beyond maxBytes push the least recently used out', async () => {
  const cache = new MemoryCache({ maxBytes: 2_000 });
  await cache.set('old', 'x'.repeat(400), 60_000);
  await cache.set('used', 'x'.repeat(400), 60_000);
  await cache.get('used');
  await cache.set('new', 'x'.repeat(400), 60_000);
  assert.equal(await cache.get('old'), undefined);
  assert.notEqual(await cache.get('used'), undefined);
  assert.ok(cache.stats.bytes <= 2_000);
});

test('Redis cache: keys live under <keyPrefix>cache: with their TTL, and hits and misses are counted', { skip: NO_REDIS }, async () => {
  const keyPrefix = testKeyPrefix();
  const cache = new RedisCache({ connection: await openTestConnection(keyPrefix) });
  const admin = adminClient();
  try {
    await cache.set('session:s1', 'v', 60_000);
    const ttl = await admin.pttl(`${keyPrefix}cache:session:s1`);
    assert.ok(ttl > 55_000 && ttl <= 60_000, `ttl ${ttl}`);
    await cache.get('session:s1');
    await cache.get('session:s2');
    assert.deepEqual(cache.stats, { hits: 1, misses: 1, unavailable: 0 });
  } finally {
    await dropKeys(admin, keyPrefix);
    admin.disconnect();
  }
});

test('Redis cache: with Redis out of reach a read is a miss and a write is skipped at once, cached() still answers, and deletePrefix fails', { skip: NO_REDIS }, async () => {
  const keyPrefix = testKeyPrefix();
  const connection = await openTestConnection(keyPrefix, { reconnect: { initialMs: 60_000, maxMs: 60_000 } });
  const cache = new RedisCache({ connection });
  const admin = adminClient();
  try {
    await cache.set('k', 'v', 60_000);
    await killConnection(admin, connection.commands);
    await until('the connection to be lost', () => !connection.available, 5_000, 5);
    assert.equal(await cache.get('k'), undefined);
    await cache.set('k2', 'v', 60_000);
    assert.deepEqual(await cached(cache, 'k3', 60_000, async () => 'computed'), 'computed');
    assert.equal(cache.stats.unavailable, 4);
    // The caller must learn that entries it meant to drop may still be there.
    await assert.rejects(cache.deletePrefix('k'), /Redis is out of reach: cache entries under k were not dropped/);
    assert.equal(await admin.exists(`${keyPrefix}cache:k2`), 0);
  } finally {
    await dropKeys(admin, keyPrefix);
    admin.disconnect();
  }
});
