/**
 * The device sign-in as the screen lives it: get a code, show it, wait for it to be confirmed; a new code when
 * it expires or is refused, and after the shared backoff when the hub gives none. Resolves once signed in.
 */
import { Backoff } from '../../../runtime/src/backoff.ts';
import type { DeviceCode, DeviceSignIn } from './device-sign-in.ts';

export interface SignInLoopHooks {
  onCode(code: DeviceCode): void;
  /** The hub gave no code; another try follows. */
  onFailed(error: unknown): void;
  now?: () => number;
  backoff?: Backoff;
}

export async function signInLoop(signIn: Pick<DeviceSignIn, 'start' | 'poll'>, hooks: SignInLoopHooks, signal: AbortSignal): Promise<void> {
  const now = hooks.now ?? Date.now;
  const backoff = hooks.backoff ?? new Backoff({ initialMs: 2_000, maxMs: 30_000 });
  while (!signal.aborted) {
    let code: DeviceCode;
    try {
      code = await signIn.start();
    } catch (error) {
      if (signal.aborted) return;
      hooks.onFailed(error);
      await wait(backoff.next(), signal);
      continue;
    }
    backoff.reset();
    hooks.onCode(code);
    // The poll stops at the code's expiry, whatever the auth module does, so the screen never shows a dead code.
    const attempt = new AbortController();
    const stopAttempt = (): void => attempt.abort();
    signal.addEventListener('abort', stopAttempt, { once: true });
    const expiry = setTimeout(stopAttempt, Math.max(0, code.expiresAt - now()));
    try {
      await signIn.poll(attempt.signal);
      if (!attempt.signal.aborted) return;
    } catch {
      // Expired, refused or denied: a new code.
    } finally {
      clearTimeout(expiry);
      signal.removeEventListener('abort', stopAttempt);
    }
  }
}

function wait(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}
