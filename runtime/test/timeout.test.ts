import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PulsebridgeError, TimeoutError, errorMessage } from '../src/errors.ts';
import { settlesWithin, withTimeout } from '../src/timeout.ts';
import { until } from '../src/wait.ts';

const never = new Promise<never>(() => undefined);

describe('withTimeout', () => {
  it('passes a value or an error through when the promise settles in time', async () => {
    assert.equal(await withTimeout(Promise.resolve(7), 1_000, 'seven'), 7);
    await assert.rejects(withTimeout(Promise.reject(new Error('boom')), 1_000, 'boom'), /boom/);
  });

  it('rejects with a TimeoutError that names what it waited for, after calling onTimeout', async () => {
    let cancelled = false;
    const err = await withTimeout(never, 5, 'the broker', { onTimeout: () => (cancelled = true) }).catch((e: unknown) => e);
    assert.ok(err instanceof TimeoutError);
    assert.ok(err instanceof PulsebridgeError);
    assert.equal(err.code, 'timeout');
    assert.equal(err.message, 'timed out after 5 ms waiting for the broker');
    assert.equal(cancelled, true);
  });

  it('rejects with the caller’s own error class when asked', async () => {
    class LinkError extends PulsebridgeError<'timeout' | 'closed'> {}
    const err = await withTimeout(never, 5, 'a link', { error: (t) => new LinkError('timeout', t.message) }).catch((e: unknown) => e);
    assert.ok(err instanceof LinkError);
    assert.equal(err.name, 'LinkError');
    assert.equal(err.message, 'timed out after 5 ms waiting for a link');
  });
});

describe('settlesWithin', () => {
  it('tells whether the promise settled in time and rethrows its error', async () => {
    assert.equal(await settlesWithin(Promise.resolve(), 1_000), true);
    assert.equal(await settlesWithin(never, 5), false);
    await assert.rejects(settlesWithin(Promise.reject(new Error('stop failed')), 1_000), /stop failed/);
  });
});

describe('until', () => {
  it('resolves once a condition, sync or async, holds', async () => {
    let calls = 0;
    await until('the third call', () => ++calls >= 3, 1_000, 1);
    assert.equal(calls, 3);
    await until('an async yes', async () => true, 1_000);
  });

  it('fails with a TimeoutError naming the condition', async () => {
    await assert.rejects(
      until('a miracle', () => false, 20, 5),
      (err: unknown) => err instanceof TimeoutError && err.message === 'timed out after 20 ms waiting for a miracle',
    );
  });
});

describe('errorMessage', () => {
  it('reads the message of errors and stringifies anything else', () => {
    assert.equal(errorMessage(new Error('x')), 'x');
    assert.equal(errorMessage('plain'), 'plain');
    assert.equal(errorMessage(42), '42');
  });
});
