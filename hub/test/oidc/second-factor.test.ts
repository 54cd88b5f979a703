import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as OTPAuth from 'otpauth';
import { beginTotpEnrolment, confirmTotpEnrolment, TOTP_SETTINGS } from '../../src/identity/second-factor.ts';
import { Browser, MOBILE_REDIRECT, PASSWORD, formAction, signInForCode, startHarness, type Harness, openSignInPage } from './harness.ts';

// The hub's clock, moved on a step per sign-in so every sign-in has a fresh TOTP step.
let clock = Date.now();
let harness: Harness;
let secret: string;
let recoveryCodes: string[];

const codeAt = (at: number): string => new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(secret), ...TOTP_SETTINGS }).generate({ timestamp: at });

before(async () => {
  harness = await startHarness({ now: () => clock });
  const enrolment = await beginTotpEnrolment(harness.store, harness.user, 'Pulsebridge');
  secret = enrolment.secret;
  const codes = await confirmTotpEnrolment(harness.store, harness.user.id, codeAt(clock), clock);
  assert.ok(codes);
  recoveryCodes = codes;
});
after(() => harness.close());

test('a user with TOTP gets the code page after the password and reaches the app with the right code', async () => {
  clock += 30_000;
  const { code } = await signInForCode(harness, new Browser(harness.base), { noConsent: true, secondFactorCode: codeAt(clock) });
  assert.ok(code);
  const success = (await harness.store.listAudit({ limit: 20 })).events.find((event) => event.type === 'sign_in.succeeded');
  assert.deepEqual(success?.detail.methods, ['pwd', 'otp']);
});

test('a wrong code and a code reused within its step are refused; a recovery code is accepted once', async () => {
  clock += 30_000;
  const used = codeAt(clock);
  await signInForCode(harness, new Browser(harness.base), { noConsent: true, secondFactorCode: used });
  await assert.rejects(signInForCode(harness, new Browser(harness.base), { noConsent: true, secondFactorCode: used }), /refused \(401\): That code is not right/);
  await assert.rejects(signInForCode(harness, new Browser(harness.base), { noConsent: true, secondFactorCode: '000000' === used ? '111111' : '000000' }), /refused \(401\)/);
  const recovery = recoveryCodes[0]!;
  await signInForCode(harness, new Browser(harness.base), { noConsent: true, secondFactorCode: recovery.toLowerCase() });
  await assert.rejects(signInForCode(harness, new Browser(harness.base), { noConsent: true, secondFactorCode: recovery }), /refused \(401\)/);
});

test('the code page is reached only through the password, and too many wrong codes send the user back to it', async () => {
  const browser = new Browser(harness.base);
  const signInPage = await openSignInPage(harness, browser);
  const signIn = signInPage;
  const uid = /\/interaction\/([^/"]+)\/login/.exec(signIn)?.[1];
  const early = await browser.request(`/interaction/${uid}/second-factor`, { form: { code: codeAt(clock) } });
  assert.equal(early.status, 303, 'no password yet: back to the sign-in form');
  const codePage = await browser.follow(formAction(signIn, 'login'), MOBILE_REDIRECT, { form: { email: 'ada@example.com', password: PASSWORD } });
  assert.ok(codePage instanceof Response);
  const page = await codePage.text();
  assert.match(page, /autocomplete="one-time-code"/);
  let last: Response | undefined;
  for (let attempt = 0; attempt < 5; attempt++) last = await browser.request(formAction(page, 'second-factor'), { form: { code: '12345x' } });
  assert.match(await last!.text(), /Too many wrong codes. Sign in again./);
});
