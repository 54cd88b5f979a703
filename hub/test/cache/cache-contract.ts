/**
 * What every Cache adapter must do, run against each (cache.test.ts). Two caches stand for two hub replicas:
 * for the in-process cache both are the same cache (one process), for Redis two caches on two connections.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { until } from '@pulsebridge/runtime';
import { cached, type Cache } from '../../src/cache/cache.ts';

export interface CachePair {
  a: Cache;
  b: Cache;
  close(): Promise<void>;
}

export function cacheContract(name: string, options: { skip?: string | false; pair(): Promise<CachePair> }): void {
  const skip = options.skip ?? false;
  const withPair = async (work: (pair: CachePair) => Promise<void>): Promise<void> => {
    const pair = await options.pair();
    try {
      await work(pair);
    } finally {
      await pair.close();
    }
  };

  test(`${name}: a value set through one replica is read through the other; an unknown key is a miss`, { skip }, () =>
    withPair(async ({ a, b }) => {
      await a.set('session:s1:r1', '{"x":1}', 60_000);
      assert.equal(await b.get('session:s1:r1'), '{"x":1}');
      assert.equal(await b.get('session:s1:r2'), undefined);
      await b.set('session:s1:r1', 'newer', 60_000);
      assert.equal(await a.get('session:s1:r1'), 'newer', 'a set replaces the value');
      await a.set('empty', '', 60_000);
      assert.equal(await b.get('empty'), '', 'an empty string is a value, not a miss');
    }),
  );

  test(`${name}: an entry is gone once its TTL has passed, and others keep theirs`, { skip }, () =>
    withPair(async ({ a, b }) => {
      await a.set('short', 'v', 30);
      await a.set('long', 'v', 60_000);
      await until('the short entry to expire', async () => (await b.get('short')) === undefined, 5_000, 10);
      assert.equal(await b.get('long'), 'v');
    }),
  );

  test(`${name}: deletePrefix through one replica drops exactly the entries under the prefix, for every replica`, { skip }, () =>
    withPair(async ({ a, b }) => {
      const keys = ['session:s1', 'session:s1:r1:1s', 'session:s1:r2:10s', 'session:s10:r1', 'session:s2:r1', 'other:session:s1'];
      for (const key of keys) await a.set(key, key, 60_000);
      await b.deletePrefix('session:s1:');
      const left = [];
      for (const key of keys) if ((await a.get(key)) !== undefined) left.push(key);
      assert.deepEqual(left, ['session:s1', 'session:s10:r1', 'session:s2:r1', 'other:session:s1']);
    }),
  );

  test(`${name}: deletePrefix takes glob characters in the prefix literally`, { skip }, () =>
    withPair(async ({ a, b }) => {
      for (const key of ['a*b:1', 'axb:1', 'a?c:1', 'abc:1', 'a[b]:1', 'ab:1', 'a\\b:1', 'ab\\:1']) await a.set(key, 'v', 60_000);
      await b.deletePrefix('a*b');
      await b.deletePrefix('a?c');
      await b.deletePrefix('a[b]');
      await b.deletePrefix('a\\b');
      const left = [];
      for (const key of ['a*b:1', 'axb:1', 'a?c:1', 'abc:1', 'a[b]:1', 'ab:1', 'a\\b:1', 'ab\\:1']) if ((await a.get(key)) !== undefined) left.push(key);
      assert.deepEqual(left, ['axb:1', 'abc:1', 'ab:1', 'ab\\:1']);
    }),
  );

  test(`${name}: deletePrefix drops many entries (more than one scan step)`, { skip }, () =>
    withPair(async ({ a, b }) => {
      await Promise.all(Array.from({ length: 1_200 }, (_, i) => a.set(`bulk:${i}`, 'v', 60_000)));
      await a.set('bulky', 'v', 60_000);
      await b.deletePrefix('bulk:');
      const left = (await Promise.all(Array.from({ length: 1_200 }, (_, i) => a.get(`bulk:${i}`)))).filter((v) => v !== undefined);
      assert.equal(left.length, 0);
      assert.equal(await a.get('bulky'), 'v');
    }),
  );

  test(`${name}: cached() computes once, then serves what one replica computed to the other`, { skip }, () =>
    withPair(async ({ a, b }) => {
      let computed = 0;
      const compute = async () => ({ n: ++computed });
      assert.deepEqual(await cached(a, 'results:s1:r1', 60_000, compute), { n: 1 });
      assert.deepEqual(await cached(b, 'results:s1:r1', 60_000, compute), { n: 1 });
      assert.equal(computed, 1);
    }),
  );
}
