import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LRUCache } from 'lru-cache';

// The series stores rely on exactly this of lru-cache: a bound by count, least recently used forgotten first.
test('the cache never holds more than max entries and forgets the least recently used first', () => {
  const cache = new LRUCache<string, number>({ max: 3 });
  for (const [key, value] of [
    ['a', 1],
    ['b', 2],
    ['c', 3],
  ] as const)
    cache.set(key, value);
  assert.equal(cache.get('a'), 1, 'reading a makes it the most recent');
  cache.set('d', 4);
  assert.equal(cache.size, 3);
  assert.equal(cache.get('b'), undefined, 'b was the least recently used');
  assert.deepEqual([cache.get('a'), cache.get('c'), cache.get('d')], [1, 3, 4]);
  cache.set('c', 30);
  cache.set('e', 5);
  assert.equal(cache.get('a'), undefined, 'rewriting c made a the oldest');
  assert.equal(cache.get('c'), 30);
  for (let i = 0; i < 10_000; i++) cache.set(`k${i}`, i);
  assert.equal(cache.size, 3);
  cache.clear();
  assert.equal(cache.size, 0);
});
