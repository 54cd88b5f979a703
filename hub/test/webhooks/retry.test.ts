import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyAttempt, decideAfterAttempt, DEFAULT_RETRY_DELAYS_MS, DEFAULT_RETRY_POLICY, nextAttemptAt, parseRetryAfter, type RetryPolicy } from '../../src/webhooks/retry.ts';

const NOW = new Date('2026-12-03T12:00:00Z');
const fixed = (random: number): RetryPolicy => ({ ...DEFAULT_RETRY_POLICY, random: () => random });
const after = (ms: number) => new Date(NOW.getTime() + ms);

test('without jitter the schedule is immediately, 5 s, 30 s, 2 min, 10 min, 1 h, 6 h, then gives up', () => {
  const policy = fixed(0);
  const delays = [0, 1, 2, 3, 4, 5, 6].map((attempts) => nextAttemptAt(attempts, NOW, policy)!.getTime() - NOW.getTime());
  assert.deepEqual(delays, [0, 5_000, 30_000, 120_000, 600_000, 3_600_000, 21_600_000]);
  assert.equal(nextAttemptAt(7, NOW, policy), undefined);
  assert.equal(nextAttemptAt(100, NOW, policy), undefined);
});

test('jitter draws each delay from [80 %, 100 %] of its step', () => {
  for (const [attempts, delay] of DEFAULT_RETRY_DELAYS_MS.entries()) {
    assert.equal(nextAttemptAt(attempts, NOW, fixed(0))!.getTime(), NOW.getTime() + delay);
    assert.equal(nextAttemptAt(attempts, NOW, fixed(1))!.getTime(), NOW.getTime() + Math.round(delay * 0.8));
    assert.equal(nextAttemptAt(attempts, NOW, fixed(0.5))!.getTime(), NOW.getTime() + Math.round(delay * 0.9));
  }
});

test('jitter spreads deliveries failing at the same instant', () => {
  const times = new Set(Array.from({ length: 50 }, () => nextAttemptAt(5, NOW)!.getTime()));
  assert.ok(times.size > 40, `only ${times.size} distinct times`);
  for (const time of times) assert.ok(time >= NOW.getTime() + 2_880_000 && time <= NOW.getTime() + 3_600_000);
});

test('the schedule depends only on the attempt count, so it survives a restart', () => {
  assert.deepEqual(nextAttemptAt(3, NOW, fixed(0.25)), nextAttemptAt(3, NOW, fixed(0.25)));
});

test('2xx is delivered; network errors, timeouts, 408, 429 and 5xx are retried', () => {
  for (const status of [200, 201, 202, 204, 299]) assert.equal(classifyAttempt({ kind: 'response', status }), 'delivered');
  assert.equal(classifyAttempt({ kind: 'network_error' }), 'retry');
  assert.equal(classifyAttempt({ kind: 'timeout' }), 'retry');
  for (const status of [408, 429, 500, 502, 503, 504, 599]) assert.equal(classifyAttempt({ kind: 'response', status }), 'retry', String(status));
});

test('other 4xx and 3xx are final failures; 410 means the receiver unsubscribed', () => {
  for (const status of [400, 401, 403, 404, 405, 409, 413, 422, 301, 302, 307, 308, 100, 600]) {
    assert.equal(classifyAttempt({ kind: 'response', status }), 'failed', String(status));
  }
  assert.equal(classifyAttempt({ kind: 'response', status: 410 }), 'gone');
});

test('decideAfterAttempt follows the schedule and gives up after the seventh attempt', () => {
  const policy = fixed(0);
  assert.deepEqual(decideAfterAttempt({ kind: 'network_error' }, 1, NOW, policy), { outcome: 'retry', at: after(5_000) });
  assert.deepEqual(decideAfterAttempt({ kind: 'timeout' }, 6, NOW, policy), { outcome: 'retry', at: after(21_600_000) });
  assert.deepEqual(decideAfterAttempt({ kind: 'response', status: 503 }, 7, NOW, policy), { outcome: 'failed', reason: 'exhausted' });
  assert.deepEqual(decideAfterAttempt({ kind: 'response', status: 204 }, 3, NOW, policy), { outcome: 'delivered' });
  assert.deepEqual(decideAfterAttempt({ kind: 'response', status: 404 }, 1, NOW, policy), { outcome: 'failed', reason: 'refused' });
  assert.deepEqual(decideAfterAttempt({ kind: 'response', status: 410 }, 1, NOW, policy), { outcome: 'gone' });
});

test('a Retry-After longer than the schedule is honoured, up to the cap', () => {
  const policy = fixed(0);
  const retry = (retryAfter: string, attempts = 1) => decideAfterAttempt({ kind: 'response', status: 429, retryAfter }, attempts, NOW, policy);
  assert.deepEqual(retry('120'), { outcome: 'retry', at: after(120_000) });
  assert.deepEqual(retry('Thu, 03 Dec 2026 12:10:00 GMT'), { outcome: 'retry', at: after(600_000) });
  assert.deepEqual(retry('999999999'), { outcome: 'retry', at: after(21_600_000) });
  // Shorter than the schedule: the schedule wins.
  assert.deepEqual(retry('1', 4), { outcome: 'retry', at: after(600_000) });
  // Unreadable: the schedule.
  assert.deepEqual(retry('soon'), { outcome: 'retry', at: after(5_000) });
  // Retry-After adds no attempts beyond the schedule.
  assert.deepEqual(retry('60', 7), { outcome: 'failed', reason: 'exhausted' });
  // On a 503 too, as the spec suggests.
  assert.deepEqual(decideAfterAttempt({ kind: 'response', status: 503, retryAfter: '60' }, 1, NOW, policy), { outcome: 'retry', at: after(60_000) });
});

test('parseRetryAfter reads delta-seconds and HTTP dates and ignores anything else', () => {
  assert.equal(parseRetryAfter(undefined, NOW), undefined);
  assert.equal(parseRetryAfter('0', NOW), 0);
  assert.equal(parseRetryAfter(' 30 ', NOW), 30_000);
  assert.equal(parseRetryAfter('2026', NOW), 2_026_000);
  assert.equal(parseRetryAfter('Thu, 03 Dec 2026 12:00:30 GMT', NOW), 30_000);
  assert.equal(parseRetryAfter('Thu, 03 Dec 2026 11:00:00 GMT', NOW), 0);
  for (const value of ['', '-5', '1.5', 'soon', '2026-12-03T12:00:30Z', 'Xxx, 99 Foo 2026 12:00:30 GMT']) {
    assert.equal(parseRetryAfter(value, NOW), undefined, value);
  }
});
