import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ReconnectBackoff } from '../../src/uplink/reconnect-backoff.ts';

test('the ceiling doubles per attempt up to the maximum', () => {
  const highest = new ReconnectBackoff({ minMs: 500, maxMs: 30_000, random: () => 1 });
  const delays = Array.from({ length: 9 }, () => highest.next());
  assert.deepEqual(delays, [500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]);
  assert.equal(highest.attempts, 9);
  highest.reset();
  assert.equal(highest.next(), 500);
});

test('delays are spread between the minimum and the ceiling', () => {
  const backoff = new ReconnectBackoff({ minMs: 500, maxMs: 30_000 });
  for (let i = 0; i < 6; i++) backoff.next();
  const seen = Array.from({ length: 200 }, () => backoff.next());
  assert.ok(seen.every((d) => d >= 500 && d <= 30_000));
  assert.ok(new Set(seen).size > 100, 'jittered, not one fixed value');
  assert.ok(Math.min(...seen) < 10_000 && Math.max(...seen) > 20_000);
});

test('never below the minimum, even with a maximum under it', () => {
  const backoff = new ReconnectBackoff({ minMs: 500, maxMs: 100, random: () => 0.5 });
  assert.equal(backoff.next(), 500);
  assert.equal(backoff.next(), 500);
});
