import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import * as OTPAuth from 'otpauth';
import { PulsebridgeError } from '@pulsebridge/runtime';
import type { User } from '../../src/identity/identity-store.ts';
import {
  RECOVERY_CODE_COUNT,
  beginTotpEnrolment,
  confirmTotpEnrolment,
  hasConfirmedTotp,
  removeTotpFactor,
  useRecoveryCode,
  verifyTotp,
} from '../../src/identity/second-factor.ts';
import { SqliteIdentityStore } from '../../src/identity/sqlite-identity-store.ts';

// 15 s into a 30 s step, so ±1 step is exactly ±30 s.
const NOW = Date.UTC(2026, 0, 1, 12, 0, 15);
const STEP_MS = 30_000;

let dir: string;
let store: SqliteIdentityStore;
let ada: User;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pb-second-factor-'));
  store = new SqliteIdentityStore({ path: join(dir, 'identity.db'), clock: () => NOW });
  await store.start();
  ada = await store.createUser({ email: 'ada@example.org', displayName: 'Ada' });
});

afterEach(async () => {
  await store.stop();
  rmSync(dir, { recursive: true, force: true });
});

function codeAt(secret: string, timestamp: number): string {
  return OTPAuth.TOTP.generate({ secret: OTPAuth.Secret.fromBase32(secret), algorithm: 'SHA1', digits: 6, period: 30, timestamp });
}

/** A code that is not valid for any step in the window around `at`. */
function wrongCodeAt(secret: string, at: number): string {
  const valid = new Set([-1, 0, 1].map((d) => codeAt(secret, at + d * STEP_MS)));
  for (let n = 0; ; n++) {
    const candidate = String(n).padStart(6, '0');
    if (!valid.has(candidate)) return candidate;
  }
}

async function auditTypes(): Promise<string[]> {
  return (await store.listAudit({ limit: 100 })).events.map((e) => e.type).reverse();
}

async function enrolled(): Promise<{ secret: string; recoveryCodes: string[] }> {
  const { secret } = await beginTotpEnrolment(store, ada, 'Pulsebridge');
  const recoveryCodes = await confirmTotpEnrolment(store, ada.id, codeAt(secret, NOW), NOW);
  assert.ok(recoveryCodes);
  return { secret, recoveryCodes };
}

test('enrolment gives a SHA-1, 6-digit, 30 s otpauth URI for the user and issuer, and a self-contained SVG QR code', async () => {
  const enrolment = await beginTotpEnrolment(store, ada, 'Pulsebridge Gym');
  assert.match(enrolment.secret, /^[A-Z2-7]{32}$/);
  const uri = OTPAuth.URI.parse(enrolment.otpauthUri);
  assert.ok(uri instanceof OTPAuth.TOTP);
  assert.equal(uri.issuer, 'Pulsebridge Gym');
  assert.equal(uri.label, 'ada@example.org');
  assert.equal(uri.algorithm, 'SHA1');
  assert.equal(uri.digits, 6);
  assert.equal(uri.period, 30);
  assert.equal(uri.secret.base32, enrolment.secret);
  assert.match(enrolment.qrSvg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"[^>]*>.*<\/svg>\s*$/s);
  assert.doesNotMatch(enrolment.qrSvg, /href|<image|<script|url\(/i, 'no external or active content');
  assert.deepEqual(await store.getTotp(ada.id), { userId: ada.id, secret: enrolment.secret, confirmed: false, createdAt: NOW, lastUsedStep: undefined });
  assert.equal(await hasConfirmedTotp(store, ada.id), false);
});

test('confirming with a current code confirms the factor and returns ten distinct recovery codes, stored only as hashes', async () => {
  const { secret, recoveryCodes } = await enrolled();
  assert.equal(recoveryCodes.length, RECOVERY_CODE_COUNT);
  assert.equal(new Set(recoveryCodes).size, RECOVERY_CODE_COUNT);
  for (const code of recoveryCodes) assert.match(code, /^[A-Z2-7]{4}-[A-Z2-7]{4}$/);
  assert.equal(await hasConfirmedTotp(store, ada.id), true);
  assert.equal(await store.countRecoveryCodes(ada.id), RECOVERY_CODE_COUNT);
  assert.deepEqual(await auditTypes(), ['totp.enrolment_started', 'totp.enrolled']);

  const audit = JSON.stringify((await store.listAudit({ limit: 100 })).events);
  assert.ok(!audit.includes(secret), 'the secret is not in the audit log');
  for (const code of recoveryCodes) assert.ok(!audit.includes(code) && !audit.includes(code.replace('-', '')), 'no recovery code in the audit log');
});

test('confirming with a wrong code, a malformed code, or without an enrolment returns false and audits the failure', async () => {
  assert.equal(await confirmTotpEnrolment(store, ada.id, '123456', NOW), false, 'no enrolment');
  const { secret } = await beginTotpEnrolment(store, ada, 'Pulsebridge');
  assert.equal(await confirmTotpEnrolment(store, ada.id, wrongCodeAt(secret, NOW), NOW), false);
  assert.equal(await confirmTotpEnrolment(store, ada.id, 'abcdef', NOW), false);
  assert.equal(await confirmTotpEnrolment(store, ada.id, codeAt(secret, NOW - 2 * STEP_MS), NOW), false, 'two steps old');
  assert.equal(await hasConfirmedTotp(store, ada.id), false);
  assert.equal(await store.countRecoveryCodes(ada.id), 0);
  const failures = (await store.listAudit({ limit: 100 })).events.filter((e) => e.type === 'totp.failed').map((e) => e.detail['reason']);
  assert.deepEqual(failures.reverse(), ['no_factor', 'wrong_code', 'wrong_code', 'wrong_code']);
});

test('verifyTotp accepts the current step and one on either side, and refuses two steps away and wrong codes', async () => {
  const { secret } = await enrolled();
  assert.equal(await verifyTotp(store, ada.id, codeAt(secret, NOW + STEP_MS), NOW + STEP_MS), true, 'the next step');
  const later = NOW + 10 * STEP_MS;
  assert.equal(await verifyTotp(store, ada.id, codeAt(secret, later - STEP_MS), later), true, 'one step behind');
  assert.equal(await verifyTotp(store, ada.id, codeAt(secret, later + STEP_MS), later), true, 'one step ahead');
  const muchLater = NOW + 100 * STEP_MS;
  assert.equal(await verifyTotp(store, ada.id, codeAt(secret, muchLater - 2 * STEP_MS), muchLater), false, 'two steps behind');
  assert.equal(await verifyTotp(store, ada.id, codeAt(secret, muchLater + 2 * STEP_MS), muchLater), false, 'two steps ahead');
  assert.equal(await verifyTotp(store, ada.id, wrongCodeAt(secret, muchLater), muchLater), false);
  assert.equal(await verifyTotp(store, ada.id, '', muchLater), false);
  assert.equal(await verifyTotp(store, ada.id, `${codeAt(secret, muchLater)}0`, muchLater), false, 'seven digits');
  const spaced = codeAt(secret, muchLater).replace(/^(\d{3})/, '$1 ');
  assert.equal(await verifyTotp(store, ada.id, spaced, muchLater), true, 'a space as apps show it is fine');
});

test('a code used once is refused again within its step, and so is an older step after a newer one was used', async () => {
  const { secret } = await enrolled();
  const t = NOW + 5 * STEP_MS;
  const code = codeAt(secret, t);
  assert.equal(await verifyTotp(store, ada.id, code, t), true);
  assert.equal(await verifyTotp(store, ada.id, code, t + 1000), false, 'the same code again within its step');
  assert.equal(await verifyTotp(store, ada.id, code, t + STEP_MS), false, 'still inside the window one step later');
  assert.equal(await verifyTotp(store, ada.id, codeAt(secret, t - STEP_MS), t), false, 'an older step after a newer one');
  assert.equal(await verifyTotp(store, ada.id, codeAt(secret, t + STEP_MS), t + STEP_MS), true, 'the next step works');
  const reasons = (await store.listAudit({ limit: 100 })).events.filter((e) => e.type === 'totp.failed').map((e) => e.detail['reason']);
  assert.deepEqual(reasons.reverse(), ['replayed', 'replayed', 'replayed']);
});

test('the code that confirmed the enrolment cannot then be used to sign in', async () => {
  const { secret } = await beginTotpEnrolment(store, ada, 'Pulsebridge');
  const code = codeAt(secret, NOW);
  assert.ok(await confirmTotpEnrolment(store, ada.id, code, NOW));
  assert.equal(await verifyTotp(store, ada.id, code, NOW), false);
});

test('an unconfirmed factor does not verify, and enrolling again while a factor is confirmed is refused', async () => {
  const { secret } = await beginTotpEnrolment(store, ada, 'Pulsebridge');
  assert.equal(await verifyTotp(store, ada.id, codeAt(secret, NOW), NOW), false);
  assert.ok(await confirmTotpEnrolment(store, ada.id, codeAt(secret, NOW + STEP_MS), NOW + STEP_MS));
  await assert.rejects(beginTotpEnrolment(store, ada, 'Pulsebridge'), (err: unknown) => err instanceof PulsebridgeError && err.code === 'totp_already_enrolled');
  assert.equal((await store.getTotp(ada.id))?.secret, secret, 'the confirmed factor is untouched');
});

test('recovery codes work once each, in any case and without the dash; wrong ones are refused and audited', async () => {
  const { recoveryCodes } = await enrolled();
  const [first, second] = recoveryCodes as [string, string];
  assert.equal(await useRecoveryCode(store, ada.id, first), true);
  assert.equal(await useRecoveryCode(store, ada.id, first), false, 'used already');
  assert.equal(await useRecoveryCode(store, ada.id, ` ${second.toLowerCase().replace('-', '')} `), true);
  assert.equal(await useRecoveryCode(store, ada.id, 'AAAA-AAAA'), false);
  assert.equal(await useRecoveryCode(store, ada.id, 'not a code at all'), false);
  assert.equal(await store.countRecoveryCodes(ada.id), RECOVERY_CODE_COUNT - 2);
  const events = (await store.listAudit({ limit: 100 })).events.filter((e) => e.type.startsWith('recovery_code.')).reverse();
  assert.deepEqual(
    events.map((e) => [e.type, e.detail['remaining']]),
    [
      ['recovery_code.used', 9],
      ['recovery_code.failed', undefined],
      ['recovery_code.used', 8],
      ['recovery_code.failed', undefined],
      ['recovery_code.failed', undefined],
    ],
  );
});

test('removing the factor removes its recovery codes, is audited with who did it, and allows a new enrolment', async () => {
  const { recoveryCodes } = await enrolled();
  assert.equal(await removeTotpFactor(store, ada.id, 'admin-1'), true);
  assert.equal(await removeTotpFactor(store, ada.id), false);
  assert.equal(await hasConfirmedTotp(store, ada.id), false);
  assert.equal(await useRecoveryCode(store, ada.id, recoveryCodes[0]!), false);
  const removed = (await store.listAudit({ limit: 100 })).events.find((e) => e.type === 'totp.removed');
  assert.deepEqual([removed?.actorUserId, removed?.detail], ['admin-1', { userId: ada.id }]);
  const again = await beginTotpEnrolment(store, ada, 'Pulsebridge');
  assert.notEqual(again.secret, '');
});
