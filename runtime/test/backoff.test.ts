import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Backoff } from '../src/backoff.ts';

describe('Backoff', () => {
  it('doubles its ceiling per attempt up to the maximum and starts again after a reset', () => {
    const backoff = new Backoff({ initialMs: 100, maxMs: 1_000, random: () => 0 });
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6].map(() => backoff.next()),
      [100, 200, 400, 800, 1_000, 1_000],
    );
    assert.equal(backoff.attempts, 6);
    backoff.reset();
    assert.equal(backoff.next(), 100);
  });

  it('draws each delay from the jittered share of its ceiling and never below the initial delay', () => {
    const low = new Backoff({ initialMs: 100, maxMs: 10_000, jitter: 0.5, random: () => 0.999_999 });
    assert.deepEqual(
      [1, 2, 3].map(() => low.next()),
      [100, 100, 200],
    );
    const none = new Backoff({ initialMs: 100, maxMs: 10_000, jitter: 0, random: () => 0.7 });
    assert.deepEqual(
      [1, 2].map(() => none.next()),
      [100, 200],
    );
  });

  it('takes a maximum below the initial delay as the initial delay', () => {
    const backoff = new Backoff({ initialMs: 500, maxMs: 100, random: () => 0 });
    assert.deepEqual([backoff.next(), backoff.next()], [500, 500]);
  });
});
