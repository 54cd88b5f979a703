/**
 * The one way to bound a wait. `withTimeout` rejects with a TimeoutError that names what was waited for;
 * `settlesWithin` is for callers that log and move on (a stop that must not hang).
 */
import { TimeoutError } from './errors.ts';

export interface WithTimeoutOptions {
  /** Called once when the time runs out, before the rejection, e.g. to cancel the work. */
  onTimeout?: () => void;
  /** Makes the timeout reject with this error instead of a TimeoutError. */
  error?: (timeout: TimeoutError) => Error;
}

/** Resolves or rejects as `promise` does, or rejects after `ms` with a TimeoutError naming `what`. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string, options: WithTimeoutOptions = {}): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      options.onTimeout?.();
      const err = new TimeoutError(what, ms);
      reject(options.error ? options.error(err) : err);
    }, ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * True when `promise` settles within `ms`, false when it does not (it then runs on unobserved); rejects
 * with the promise's own error.
 */
export async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  try {
    await withTimeout(promise, ms, 'settle');
    return true;
  } catch (err) {
    if (err instanceof TimeoutError) return false;
    throw err;
  }
}
