/**
 * Issue test 6, through the sign-in form itself: wrong passwords are first free (typos), then slowed (429 with
 * Retry-After, the password not even checked), then the account is locked for that address, where even the
 * right password waits; once the lock has passed, the rightful user gets in. The test waits on the real clock,
 * by polling; the wait and the lock are a few seconds, longer than one attempt takes on a loaded machine (an
 * attempt opens a sign-in page and hashes a password), so an attempt cannot outlive the wait it should meet.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Value } from '@sinclair/typebox/value';
import { until } from '@pulsebridge/runtime';
import { SignInThrottle } from '../../src/auth/rate-limits.ts';
import { RateLimitsConfig } from '../../src/auth/rate-limits-config.ts';
import { Browser, PASSWORD, formAction, signInForCode, startHarness, type Harness, openSignInPage } from './harness.ts';

const WAIT_MS = 3_000;
const LOCK_MS = 4_000;
let harness: Harness;
let throttle: SignInThrottle;

before(async () => {
  const limits = Value.Default(RateLimitsConfig, {
    account: { freeFailures: 2, initialDelayMs: WAIT_MS, maxDelayMs: WAIT_MS, lockAfterFailures: 4, lockMs: LOCK_MS },
  }) as RateLimitsConfig;
  throttle = await SignInThrottle.open({ limits });
  harness = await startHarness({ throttle });
});
after(async () => {
  await harness.close();
  await throttle.close();
});

/** One password attempt through the form of a fresh sign-in; the answer's status and Retry-After. */
async function attempt(password: string): Promise<{ status: number; retryAfter: number | undefined }> {
  const browser = new Browser(harness.base);
  const answer = await browser.request(formAction(await openSignInPage(harness, browser), 'login'), { form: { email: 'ada@example.com', password } });
  await answer.text();
  const retryAfter = answer.headers.get('retry-after');
  return { status: answer.status, retryAfter: retryAfter === null ? undefined : Number(retryAfter) };
}

test('wrong passwords are slowed, then locked; the right password waits out the lock and then signs in', async () => {
  // Two typos are free.
  assert.equal((await attempt('wrong-password-1')).status, 401);
  assert.equal((await attempt('wrong-password-2')).status, 401);
  // The third failure makes the next attempt wait: refused at once with Retry-After, whatever the password.
  assert.equal((await attempt('wrong-password-3')).status, 401);
  const slowed = await attempt('wrong-password-4');
  assert.equal(slowed.status, 429);
  assert.ok(slowed.retryAfter !== undefined && slowed.retryAfter >= 1);
  // After the wait, one more failure reaches lockAfterFailures: the account is locked for this address.
  await until('the wait to pass', async () => (await throttle.check({ account: 'ada@example.com', address: '127.0.0.1' })).allowed, WAIT_MS + 5_000, 50);
  assert.equal((await attempt('wrong-password-5')).status, 401);
  const locked = await attempt(PASSWORD);
  assert.equal(locked.status, 429, 'even the right password waits while the account is locked');
  const audit = await harness.store.listAudit({ limit: 50 });
  assert.ok(audit.events.some((e) => e.type === 'sign_in.throttled' && e.detail['reason'] === 'locked'));
  // The rightful user, once the lock has passed.
  await until('the lock to pass', async () => (await throttle.check({ account: 'ada@example.com', address: '127.0.0.1' })).allowed, LOCK_MS + 5_000, 100);
  const { code } = await signInForCode(harness, new Browser(harness.base), { noConsent: true });
  assert.ok(code.length > 10);
});
