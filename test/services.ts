/**
 * One way for a test to say that a service it needs is missing. Locally the test is skipped with the reason.
 * In CI (CI=true), scripts/test-services.sh has installed and started every such service, so a missing one
 * is a broken setup: the reason fails the run instead of hiding as a skip.
 *
 *   test('...', { skip: missingService(SOCAT_MISSING) }, ...)
 *
 * Not for skips that are not about a service (e.g. tests that keep away from a real Bluetooth adapter).
 */
import { test } from 'node:test';

const failedAlready = new Set<string>();

export function inCi(env: NodeJS.ProcessEnv = process.env): boolean {
  return env['CI'] === 'true' || env['CI'] === '1';
}

/** `reason` when the service is missing, false when it is there: the value for a test's `skip` option. */
export function missingService(reason: string | false): string | false {
  if (reason && inCi() && !failedAlready.has(reason)) {
    failedAlready.add(reason);
    test(`a service the test script installs is there (CI): ${reason}`, () => {
      throw new Error(`${reason}; CI=true, where scripts/test-services.sh provides it, so this fails instead of skipping`);
    });
  }
  return reason;
}
