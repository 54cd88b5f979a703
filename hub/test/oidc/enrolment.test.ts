/**
 * Issue 8, test 1 with enrolment: a coach without TOTP signs in on the mobile app, is made to set it up (QR code
 * page, a code from the secret), sees the recovery codes once, and gets tokens; the next sign-in asks for a code
 * and refuses the same code within its step. An athlete may skip. Nothing secret reaches the logs.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as OTPAuth from 'otpauth';
import { pino } from 'pino';
import { TOTP_SETTINGS } from '../../src/identity/second-factor.ts';
import { hashPassword, PASSWORD_PARAMS } from '../../src/identity/passwords.ts';
import type { User } from '../../src/identity/identity-store.ts';
import { Browser, MOBILE, MOBILE_REDIRECT, PASSWORD, authorizeUrl, formAction, pkcePair, signInForCode, startHarness, token, type Harness, openSignInPage } from './harness.ts';

// The hub's clock, moved a step per sign-in so each sign-in has a fresh TOTP step.
let clock = Date.now();
let harness: Harness;
let coach: User;
const logLines: string[] = [];
/** Every secret the tests handle: none may appear in a log line. */
const secrets = new Set<string>([PASSWORD]);

const codeAt = (secret: string, at: number): string => new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(secret), ...TOTP_SETTINGS }).generate({ timestamp: at });

before(async () => {
  const log = pino({ level: 'debug' }, { write: (line: string) => void logLines.push(line) });
  harness = await startHarness({ now: () => clock, log });
  coach = await harness.store.createUser({ email: 'cora@example.com', displayName: 'Cora Coach' });
  await harness.store.setPassword(coach.id, { hash: await hashPassword(PASSWORD), paramsVersion: PASSWORD_PARAMS.version });
  await harness.store.addMembership({ userId: coach.id, gym: 'gym-a', role: 'coach' });
});
after(async () => {
  await harness.close();
  for (const line of logLines) for (const secret of secrets) assert.ok(!line.includes(secret), `a log line holds a secret: ${line}`);
});

/** Authorize with PKCE and post the password: the page that follows, with the verifier for the code exchange. */
async function afterPassword(browser: Browser, email: string): Promise<{ page: Response; verifier: string }> {
  const { verifier, challenge } = pkcePair();
  const start = await browser.follow(
    authorizeUrl(harness.base, {
      client_id: MOBILE,
      redirect_uri: MOBILE_REDIRECT,
      scope: 'openid offline_access readings:read',
      prompt: 'consent',
      code_challenge: challenge,
      code_challenge_method: 'S256',
    }),
    MOBILE_REDIRECT,
  );
  assert.ok(start instanceof Response);
  const page = await browser.follow(formAction(await start.text(), 'login'), MOBILE_REDIRECT, { form: { email, password: PASSWORD } });
  assert.ok(page instanceof Response, 'a page after the password');
  return { page, verifier };
}

test('a coach is made to enrol TOTP at sign-in, sees the recovery codes once, then gets tokens that refresh and rotate; a reused refresh token revokes the family', async () => {
  const browser = new Browser(harness.base);
  const { page, verifier } = await afterPassword(browser, coach.email);
  assert.equal(page.status, 200);
  const enrol = await page.text();
  assert.match(enrol, /<title>Set up two-step sign-in/);
  assert.match(enrol, /<svg role="img" aria-labelledby="qr-label"/);
  assert.match(enrol, /<label for="field-code">/);
  assert.doesNotMatch(enrol, /enrol\/skip/, 'no "Not now" for a coach');
  const secret = /<code class="secret">([A-Z2-7 ]+)<\/code>/.exec(enrol)?.[1]?.replace(/ /g, '');
  assert.ok(secret, 'the secret for typing by hand');
  secrets.add(secret);

  // Skipping is refused for a coach, even by a hand-made post.
  const skipped = await browser.request(`${formAction(enrol, 'enrol').replace(/\/enrol$/, '')}/enrol/skip`, { form: {} });
  assert.equal(skipped.status, 403);
  assert.match(await skipped.text(), /cannot be skipped/);

  const wrong = await browser.request(formAction(enrol, 'enrol'), { form: { code: codeAt(secret, clock) === '123456' ? '654321' : '123456' } });
  assert.equal(wrong.status, 401);
  assert.match(await wrong.text(), /That code is not right/);

  const enrolCode = codeAt(secret, clock);
  secrets.add(enrolCode);
  const confirmed = await browser.request(formAction(enrol, 'enrol'), { form: { code: enrolCode } });
  assert.equal(confirmed.status, 200);
  const codesPage = await confirmed.text();
  const recoveryCodes = [...codesPage.matchAll(/<li><code>([A-Z2-7]{4}-[A-Z2-7]{4})<\/code><\/li>/g)].map((match) => match[1]!);
  assert.equal(recoveryCodes.length, 10);
  for (const code of recoveryCodes) secrets.add(code);

  const done = await browser.follow(formAction(codesPage, 'enrol/done'), MOBILE_REDIRECT, { form: {} });
  assert.ok(done instanceof URL, 'back at the app');
  const code = done.searchParams.get('code');
  assert.ok(code);
  secrets.add(code);
  const tokens = await token(harness.base, { grant_type: 'authorization_code', client_id: MOBILE, code, code_verifier: verifier, redirect_uri: MOBILE_REDIRECT });
  assert.equal(tokens.status, 200, JSON.stringify(tokens.body));
  const refreshToken = String(tokens.body.refresh_token);
  secrets.add(refreshToken);
  secrets.add(String(tokens.body.access_token));

  const refreshed = await token(harness.base, { grant_type: 'refresh_token', client_id: MOBILE, refresh_token: refreshToken });
  assert.equal(refreshed.status, 200, JSON.stringify(refreshed.body));
  const rotated = String(refreshed.body.refresh_token);
  assert.notEqual(rotated, refreshToken, 'the refresh token rotates');
  secrets.add(rotated);
  const reused = await token(harness.base, { grant_type: 'refresh_token', client_id: MOBILE, refresh_token: refreshToken });
  assert.equal(reused.body.error, 'invalid_grant');
  const newer = await token(harness.base, { grant_type: 'refresh_token', client_id: MOBILE, refresh_token: rotated });
  assert.equal(newer.body.error, 'invalid_grant', 'the whole family is revoked');

  const events = (await harness.store.listAudit({ userId: coach.id, limit: 100 })).events;
  assert.ok(events.some((event) => event.type === 'totp.enrolled'));
  const success = events.find((event) => event.type === 'sign_in.succeeded');
  assert.deepEqual(success?.detail.methods, ['pwd', 'otp']);
  for (const event of events) for (const secretText of secrets) assert.ok(!JSON.stringify(event).includes(secretText), `the audit holds a secret: ${event.type}`);

  // The next sign-in asks for a code; the same code again within its step is refused.
  clock += 30_000;
  const next = codeAt(secret, clock);
  secrets.add(next);
  const signedIn = await signInForCode(harness, new Browser(harness.base), { email: coach.email, secondFactorCode: next, noConsent: true });
  assert.ok(signedIn.code);
  secrets.add(signedIn.code);
  await assert.rejects(
    signInForCode(harness, new Browser(harness.base), { email: coach.email, secondFactorCode: next, noConsent: true }),
    /refused \(401\): That code is not right/,
  );
  // And a recovery code works once in place of the app.
  await signInForCode(harness, new Browser(harness.base), { email: coach.email, secondFactorCode: recoveryCodes[0]!, noConsent: true });
});

test('an athlete is offered two-step sign-in and may skip it with "Not now"; the offer comes again next time', async () => {
  const browser = new Browser(harness.base);
  const { page, verifier } = await afterPassword(browser, harness.user.email);
  const offer = await page.text();
  assert.match(offer, /<title>Set up two-step sign-in/);
  assert.match(offer, />Not now</);
  const done = await browser.follow(formAction(offer, 'enrol/skip'), MOBILE_REDIRECT, { form: {} });
  assert.ok(done instanceof URL);
  const tokens = await token(harness.base, {
    grant_type: 'authorization_code',
    client_id: MOBILE,
    code: done.searchParams.get('code')!,
    code_verifier: verifier,
    redirect_uri: MOBILE_REDIRECT,
  });
  assert.equal(tokens.status, 200);
  assert.equal((await harness.store.getTotp(harness.user.id))?.confirmed, false);
  const events = (await harness.store.listAudit({ userId: harness.user.id, limit: 50 })).events;
  assert.ok(events.some((event) => event.type === 'totp.enrolment_skipped'));
  assert.deepEqual(events.find((event) => event.type === 'sign_in.succeeded')?.detail.methods, ['pwd']);

  const again = await afterPassword(new Browser(harness.base), harness.user.email);
  assert.match(await again.page.text(), />Not now</);
});

test('the enrolment and the code pages are not reachable without a password first: a code posted to a fresh sign-in goes back to its form', async () => {
  const browser = new Browser(harness.base);
  const signInPage = await openSignInPage(harness, browser);
  const base = formAction(signInPage, 'login').replace(/\/login$/, '');
  for (const step of ['enrol', 'enrol/skip', 'enrol/done']) {
    const response = await browser.request(`${base}/${step}`, { form: { code: '123456' } });
    assert.equal(response.status, 303, step);
    assert.equal(response.headers.get('location'), base, step);
  }
});
