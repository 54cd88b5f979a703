import assert from 'node:assert/strict';
import { test } from 'node:test';
import { reconnectBackoff } from '../../src/uplink/session.ts';

test('reconnect delays: the ceiling doubles per attempt from reconnectMinMs up to reconnectMaxMs, and reset starts over', () => {
  // random() = 0 draws the ceiling itself.
  const highest = reconnectBackoff({ reconnectMinMs: 500, reconnectMaxMs: 30_000 }, () => 0);
  const delays = Array.from({ length: 9 }, () => highest.next());
  assert.deepEqual(delays, [500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]);
  assert.equal(highest.attempts, 9);
  highest.reset();
  assert.equal(highest.next(), 500);
});

test('reconnect delays are spread over the whole range between reconnectMinMs and the ceiling', () => {
  const backoff = reconnectBackoff({ reconnectMinMs: 500, reconnectMaxMs: 30_000 });
  for (let i = 0; i < 6; i++) backoff.next();
  const seen = Array.from({ length: 200 }, () => backoff.next());
  assert.ok(seen.every((d) => d >= 500 && d <= 30_000));
  assert.ok(new Set(seen).size > 100, 'jittered, not one fixed value');
  assert.ok(Math.min(...seen) < 10_000 && Math.max(...seen) > 20_000);
});

test('a reconnect delay is never below reconnectMinMs, whatever the draw', () => {
  const backoff = reconnectBackoff({ reconnectMinMs: 500, reconnectMaxMs: 2_000 }, () => 0.999);
  assert.deepEqual([backoff.next(), backoff.next(), backoff.next()], [500, 500, 500]);
});
