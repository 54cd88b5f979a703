import assert from 'node:assert/strict';
import { mock, test } from 'node:test';
import { Backoff } from '../../runtime/src/backoff.ts';
import type { DeviceCode } from '../src/board/device-sign-in.ts';
import { signInLoop } from '../src/board/sign-in-loop.ts';

const flush = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
};

test('a code that expires unconfirmed is replaced by a new one; confirming the new one signs in', async () => {
  mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
  try {
    const shown: string[] = [];
    const polls: { signal: AbortSignal; confirm: () => void }[] = [];
    let issued = 0;
    const signIn = {
      start: async (): Promise<DeviceCode> => ({ userCode: `CODE-${++issued}`, verificationUri: 'https://hub/device', expiresAt: Date.now() + 600_000 }),
      // Like an auth module that would poll forever: only the loop's expiry stops it.
      poll: (signal?: AbortSignal) =>
        new Promise<void>((resolve, reject) => {
          polls.push({ signal: signal!, confirm: resolve });
          signal!.addEventListener('abort', () => reject(new Error('aborted')));
        }),
    };
    let signedIn = false;
    void signInLoop(signIn, { onCode: (c) => shown.push(c.userCode), onFailed: () => assert.fail('no failure expected') }, new AbortController().signal).then(
      () => (signedIn = true),
    );
    await flush();
    assert.deepEqual(shown, ['CODE-1']);
    mock.timers.tick(599_999);
    await flush();
    assert.deepEqual(shown, ['CODE-1']);
    mock.timers.tick(1);
    await flush();
    assert.equal(polls[0]!.signal.aborted, true);
    assert.deepEqual(shown, ['CODE-1', 'CODE-2']);
    polls[1]!.confirm();
    await flush();
    assert.equal(signedIn, true);
  } finally {
    mock.timers.reset();
  }
});

test('no code from the hub: it says so and tries again after the backoff; aborting stops the loop', async () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  try {
    let starts = 0;
    const failures: unknown[] = [];
    const controller = new AbortController();
    const signIn = {
      start: async (): Promise<DeviceCode> => {
        starts++;
        throw new Error('hub down');
      },
      poll: async () => {},
    };
    const done = signInLoop(
      signIn,
      { onCode: () => assert.fail('no code'), onFailed: (e) => failures.push(e), backoff: new Backoff({ initialMs: 2_000, maxMs: 30_000, jitter: 0 }) },
      controller.signal,
    );
    await flush();
    assert.equal(starts, 1);
    assert.equal(failures.length, 1);
    mock.timers.tick(1_999);
    await flush();
    assert.equal(starts, 1);
    mock.timers.tick(1);
    await flush();
    assert.equal(starts, 2);
    controller.abort();
    await done;
    mock.timers.tick(60_000);
    await flush();
    assert.equal(starts, 2);
  } finally {
    mock.timers.reset();
  }
});
