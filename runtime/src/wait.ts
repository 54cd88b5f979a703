/**
 * The one polling loop: wait until a condition holds, or fail naming what was waited for. Used where no
 * event tells us (a file appears, a remote counter moves) — by tests, scripts and the demo alike.
 */
import { TimeoutError } from './errors.ts';

export async function until(what: string, condition: () => boolean | Promise<boolean>, timeoutMs: number, stepMs = 10): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await condition())) {
    if (performance.now() > deadline) throw new TimeoutError(what, timeoutMs);
    await new Promise((resolve) => setTimeout(resolve, stepMs));
  }
}
