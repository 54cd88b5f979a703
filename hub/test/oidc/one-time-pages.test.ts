/**
 * Sign-up by invite (the API makes it, the mail carries it, the page redeems it once) and password reset by a
 * one-time link, over real HTTP with the file mailer. No password, link token or code appears in the logs.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import { until } from '@pulsebridge/runtime';
import { SignInThrottle } from '../../src/auth/rate-limits.ts';
import { FileMailer, createInvite } from '../../src/identity/one-time-links.ts';
import { startApi, type RunningApi } from '../api/harness.ts';
import { FixedTokens, principal } from '../api/principals.ts';
import { Browser, PASSWORD, signInForCode, startHarness, type Harness } from './harness.ts';

const NEW_PASSWORD = 'a brand new password for ada';
const NEWCOMER_PASSWORD = 'newcomer password 1234';
let harness: Harness;
let api: RunningApi;
let mailDir: string;
const logLines: string[] = [];
const secrets = new Set<string>([PASSWORD, NEW_PASSWORD, NEWCOMER_PASSWORD]);

before(async () => {
  mailDir = mkdtempSync(join(tmpdir(), 'pb-mail-'));
  const log = pino({ level: 'debug' }, { write: (line: string) => void logLines.push(line) });
  const mailer = new FileMailer(mailDir, log);
  harness = await startHarness({ log, mailer });
  api = await startApi({
    verifier: new FixedTokens({ 'admin-of-a': principal([{ gym: 'gym-a', role: 'gym_admin' }], { subject: 'admin-of-a' }) }),
    identity: harness.store,
    mailer,
    publicBaseUrl: harness.base,
    now: Date.now,
  });
});
after(async () => {
  await api.close();
  await harness.close();
  rmSync(mailDir, { recursive: true, force: true });
  const apiLines = api.logs.map((line) => JSON.stringify(line));
  for (const line of [...logLines, ...apiLines]) for (const secret of secrets) assert.ok(!line.includes(secret), `a log line holds a secret: ${line}`);
  assert.ok(
    logLines.some((line) => line.includes('written to')),
    'the mailer says where each mail went',
  );
});

function mails(): string[] {
  return readdirSync(mailDir)
    .sort()
    .map((name) => readFileSync(join(mailDir, name), 'utf8'));
}

/** The link in the newest mail to `to`, once it is written. */
async function linkMailedTo(to: string, count: number): Promise<URL> {
  await until(`mail number ${count} to ${to}`, () => mails().filter((mail) => mail.startsWith(`To: ${to}\n`)).length >= count, 5_000);
  const mail = mails().filter((text) => text.startsWith(`To: ${to}\n`))[count - 1]!;
  const link = /^(http\S+)$/m.exec(mail)?.[1];
  assert.ok(link, mail);
  secrets.add(new URL(link).searchParams.get('token')!);
  return new URL(link);
}

const alert = (page: string): string | undefined => /role="alert">([^<]*)</.exec(page)?.[1];

async function postForm(path: string, form: Record<string, string>): Promise<{ status: number; page: string }> {
  const response = await new Browser(harness.base).request(path, { form });
  return { status: response.status, page: await response.text() };
}

test('a gym admin invites an athlete through the API; the mailed link opens the sign-up page once; the new athlete signs in', async () => {
  const refused = await fetch(`${api.url}/api/v1/invites`, {
    method: 'POST',
    headers: { Authorization: 'Bearer admin-of-a', 'Content-Type': 'application/json' },
    body: JSON.stringify({ email: 'nia@example.com', gym: 'gym-b', role: 'athlete' }),
  });
  assert.equal(refused.status, 403, 'not in a gym the admin does not run');
  const created = await fetch(`${api.url}/api/v1/invites`, {
    method: 'POST',
    headers: { Authorization: 'Bearer admin-of-a', 'Content-Type': 'application/json' },
    body: JSON.stringify({ email: 'nia@example.com', gym: 'gym-a', role: 'athlete' }),
  });
  assert.equal(created.status, 201);
  const invite = (await created.json()) as { inviteUrl: string; expiresAt: string; mailed: boolean };
  assert.equal(invite.mailed, true);
  assert.ok(Date.parse(invite.expiresAt) > Date.now());
  const link = await linkMailedTo('nia@example.com', 1);
  assert.equal(link.href, invite.inviteUrl);
  assert.equal(link.pathname, '/interaction/signup');

  const form = await new Browser(harness.base).request(`${link.pathname}${link.search}`);
  assert.equal(form.status, 200);
  const page = await form.text();
  assert.match(page, /<title>Create your account/);
  for (const name of ['displayName', 'password', 'password2']) assert.match(page, new RegExp(`<label for="field-${name}">`));
  const token = link.searchParams.get('token')!;

  const mismatch = await postForm('/interaction/signup', { token, displayName: 'Nia', password: NEWCOMER_PASSWORD, password2: `${NEWCOMER_PASSWORD}x` });
  assert.equal(mismatch.status, 400);
  assert.match(alert(mismatch.page)!, /not the same/);
  const weak = await postForm('/interaction/signup', { token, displayName: 'Nia', password: 'short', password2: 'short' });
  assert.equal(weak.status, 400);
  assert.equal(alert(weak.page), 'A password needs at least 10 characters.');

  const done = await postForm('/interaction/signup', { token, displayName: 'Nia Newcomer', password: NEWCOMER_PASSWORD, password2: NEWCOMER_PASSWORD });
  assert.equal(done.status, 200, done.page);
  assert.match(done.page, /Your account <strong>nia@example.com<\/strong> is ready/);
  assert.match(done.page, /open the Pulsebridge app to sign in/i);

  const again = await postForm('/interaction/signup', { token, displayName: 'Nia Again', password: NEWCOMER_PASSWORD, password2: NEWCOMER_PASSWORD });
  assert.equal(again.status, 410);
  assert.equal(alert(again.page), 'This invite has expired or was used already. Ask your gym for a new one.');

  const nia = await harness.store.findUserByEmail('nia@example.com');
  assert.ok(nia);
  assert.deepEqual(
    (await harness.store.listMembershipsOfUser(nia.id)).map((m) => `${m.gym}:${m.role}`),
    ['gym-a:athlete'],
  );
  const { code } = await signInForCode(harness, new Browser(harness.base), { email: 'nia@example.com', password: NEWCOMER_PASSWORD, noConsent: true });
  assert.ok(code);
});

test('an expired invite gets the same one message as a used one', async () => {
  const token = await createInvite(harness.store, { email: 'late@example.com', gym: 'gym-a', role: 'coach', invitedBy: 'admin-of-a', ttlMs: 1_000, now: Date.now() - 60_000 });
  secrets.add(token);
  const expired = await postForm('/interaction/signup', { token, displayName: 'Late', password: NEWCOMER_PASSWORD, password2: NEWCOMER_PASSWORD });
  assert.equal(expired.status, 410);
  assert.equal(alert(expired.page), 'This invite has expired or was used already. Ask your gym for a new one.');
  const garbage = await postForm('/interaction/signup', { token: 'not-a-token', displayName: 'X', password: NEWCOMER_PASSWORD, password2: NEWCOMER_PASSWORD });
  assert.equal(garbage.status, 410);
  assert.equal(await harness.store.findUserByEmail('late@example.com'), undefined);
});

test('password reset: the sign-in page links to it, the same answer for any email, the mailed link sets a new password once, the old one stops working', async () => {
  const signIn = await new Browser(harness.base).follow(
    `${harness.base}/oidc/auth?client_id=pulsebridge-mobile&response_type=code&redirect_uri=app.pulsebridge:/oauth/callback&scope=openid&code_challenge=${'a'.repeat(43)}&code_challenge_method=S256`,
    'app.pulsebridge:',
  );
  assert.ok(signIn instanceof Response);
  assert.match(await signIn.text(), /<a href="\/interaction\/forgot">Forgot your password\?<\/a>/);
  assert.match(await (await new Browser(harness.base).request('/interaction/forgot')).text(), /<label for="field-email">Email<\/label>/);

  const unknown = await postForm('/interaction/forgot', { email: 'nobody@example.com' });
  const known = await postForm('/interaction/forgot', { email: 'ada@example.com' });
  assert.equal(unknown.status, 200);
  assert.equal(known.status, 200);
  assert.equal(unknown.page.replace('nobody@example.com', 'X'), known.page.replace('ada@example.com', 'X'), 'the same answer whether the account exists');
  const link = await linkMailedTo('ada@example.com', 1);
  assert.equal(link.pathname, '/interaction/reset');
  assert.equal(mails().filter((mail) => mail.startsWith('To: nobody@example.com')).length, 0);

  const form = await new Browser(harness.base).request(`${link.pathname}${link.search}`);
  assert.match(await form.text(), /<title>Choose a new password/);
  const token = link.searchParams.get('token')!;
  const weak = await postForm('/interaction/reset', { token, password: 'short', password2: 'short' });
  assert.equal(weak.status, 400);
  assert.equal(alert(weak.page), 'A password needs at least 10 characters.');
  const changed = await postForm('/interaction/reset', { token, password: NEW_PASSWORD, password2: NEW_PASSWORD });
  assert.equal(changed.status, 200);
  assert.match(changed.page, /Your password is changed/);
  const reused = await postForm('/interaction/reset', { token, password: 'yet another password', password2: 'yet another password' });
  assert.equal(reused.status, 410);
  assert.equal(alert(reused.page), 'This link has expired or was used already.');

  await assert.rejects(signInForCode(harness, new Browser(harness.base), { noConsent: true }), /refused \(401\): Wrong email or password/);
  const { code } = await signInForCode(harness, new Browser(harness.base), { password: NEW_PASSWORD, noConsent: true });
  assert.ok(code);
});

test('repeated reset requests and failed invites from one address are slowed with 429 and Retry-After', async () => {
  const throttle = await SignInThrottle.open({
    limits: {
      account: { freeFailures: 1, initialDelayMs: 60_000, maxDelayMs: 60_000, lockAfterFailures: 10, lockMs: 600_000, forgetAfterMs: 86_400_000 },
      address: { maxFailures: 3, windowMs: 60_000, blockMs: 60_000 },
    },
  });
  const throttled = await startHarness({ throttle, mailer: new FileMailer(mailDir) });
  try {
    const forgot = async (): Promise<Response> => new Browser(throttled.base).request('/interaction/forgot', { form: { email: 'ada@example.com' } });
    assert.equal((await forgot()).status, 200);
    assert.equal((await forgot()).status, 200);
    const slowed = await forgot();
    assert.equal(slowed.status, 429);
    assert.ok(Number(slowed.headers.get('retry-after')) > 0);
    // The address keeps counting (two reset requests so far): two failed invites bring it over its cap of three.
    const invite = async (): Promise<Response> =>
      new Browser(throttled.base).request('/interaction/signup', { form: { token: 'x'.repeat(43), displayName: 'X', password: NEWCOMER_PASSWORD, password2: NEWCOMER_PASSWORD } });
    assert.equal((await invite()).status, 410);
    assert.equal((await invite()).status, 410);
    const refused = await invite();
    assert.equal(refused.status, 429);
    assert.match(await refused.text(), /Too many attempts/);
  } finally {
    await throttled.close();
    await throttle.close();
  }
});
