import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import { PulsebridgeError } from '@pulsebridge/runtime';
import { IdentityStoreError, type User } from '../../src/identity/identity-store.ts';
import {
  FileMailer,
  acceptInvite,
  completePasswordReset,
  createInvite,
  hashOneTimeSecret,
  newOneTimeSecret,
  requestPasswordReset,
  type Mail,
  type Mailer,
} from '../../src/identity/one-time-links.ts';
import { verifyPassword } from '../../src/identity/passwords.ts';
import { SqliteIdentityStore } from '../../src/identity/sqlite-identity-store.ts';

const NOW = Date.UTC(2026, 0, 1, 12);
const HOUR = 3_600_000;
const GOOD_PASSWORD = 'correct horse battery';

let dir: string;
let store: SqliteIdentityStore;
let coach: User;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pb-one-time-links-'));
  store = new SqliteIdentityStore({ path: join(dir, 'identity.db'), clock: () => NOW });
  await store.start();
  coach = await store.createUser({ email: 'coach@example.org', displayName: 'Coach' });
});

afterEach(async () => {
  await store.stop();
  rmSync(dir, { recursive: true, force: true });
});

class MemoryMailer implements Mailer {
  readonly sent: Mail[] = [];
  async send(mail: Mail): Promise<void> {
    this.sent.push(mail);
  }
}

const invite = (email = 'new@example.org', role: 'athlete' | 'coach' = 'athlete') => createInvite(store, { email, gym: 'gym-a', role, invitedBy: coach.id, ttlMs: HOUR, now: NOW });

const passwordOf = async (userId: string, plain: string): Promise<boolean> => verifyPassword((await store.getPassword(userId))!.hash, plain);

async function auditText(): Promise<string> {
  return JSON.stringify((await store.listAudit({ limit: 1000 })).events);
}

test('one-time secrets are 32 random bytes in base64url, and the store keeps their SHA-256 in hex', () => {
  const a = newOneTimeSecret();
  assert.match(a, /^[A-Za-z0-9_-]{43}$/);
  assert.equal(Buffer.from(a, 'base64url').length, 32);
  assert.notEqual(newOneTimeSecret(), a);
  assert.match(hashOneTimeSecret(a), /^[0-9a-f]{64}$/);
});

test('an accepted invite creates the user with an argon2id password and the membership, and is audited without the token', async () => {
  const token = await invite();
  const accepted = await acceptInvite(store, token, { displayName: 'Nora New', password: GOOD_PASSWORD }, NOW + 1000);
  assert.ok(accepted);
  assert.deepEqual({ ...accepted, userId: typeof accepted.userId }, { userId: 'string', gym: 'gym-a', role: 'athlete', newUser: true });
  const user = await store.getUser(accepted.userId);
  assert.deepEqual([user?.email, user?.displayName], ['new@example.org', 'Nora New']);
  assert.match((await store.getPassword(accepted.userId))!.hash, /^\$argon2id\$/);
  assert.equal(await passwordOf(accepted.userId, GOOD_PASSWORD), true);
  assert.deepEqual(
    (await store.listMembershipsOfUser(accepted.userId)).map((m) => [m.gym, m.role]),
    [['gym-a', 'athlete']],
  );
  const events = (await store.listAudit({ limit: 100 })).events.reverse();
  assert.deepEqual(
    events.map((e) => [e.type, e.gym]),
    [
      ['invite.created', 'gym-a'],
      ['invite.accepted', 'gym-a'],
    ],
  );
  assert.ok(!(await auditText()).includes(token));
  assert.ok(!(await auditText()).includes(hashOneTimeSecret(token)));
});

test('an invite to an existing email adds the membership to that account and keeps its password', async () => {
  const existing = await store.createUser({ email: 'Athlete@Example.org', displayName: 'Existing' });
  await store.setPassword(existing.id, { hash: '$argon2id$existing', paramsVersion: 1 });
  const before = await store.getPassword(existing.id);
  const token = await invite('athlete@example.org', 'coach');
  const accepted = await acceptInvite(store, token, { displayName: 'Ignored', password: GOOD_PASSWORD }, NOW);
  assert.deepEqual(accepted, { userId: existing.id, gym: 'gym-a', role: 'coach', newUser: false });
  assert.deepEqual(await store.getPassword(existing.id), before);
  assert.equal((await store.getUser(existing.id))?.displayName, 'Existing');
  assert.deepEqual(
    (await store.listMembershipsOfUser(existing.id)).map((m) => [m.gym, m.role]),
    [['gym-a', 'coach']],
  );
});

test('an invite is single use and refused once expired', async () => {
  const token = await invite();
  assert.ok(await acceptInvite(store, token, { displayName: 'Nora', password: GOOD_PASSWORD }, NOW));
  assert.equal(await acceptInvite(store, token, { displayName: 'Nora', password: GOOD_PASSWORD }, NOW), undefined, 'reused');

  const late = await invite('late@example.org');
  assert.equal(await acceptInvite(store, late, { displayName: 'Late', password: GOOD_PASSWORD }, NOW + HOUR), undefined, 'expired at its ttl');
  assert.equal(await store.findUserByEmail('late@example.org'), undefined);
  assert.equal(await acceptInvite(store, newOneTimeSecret(), { displayName: 'X', password: GOOD_PASSWORD }, NOW), undefined, 'unknown token');
  assert.equal(await acceptInvite(store, 'short', { displayName: 'X', password: GOOD_PASSWORD }, NOW), undefined, 'not a token');
});

test('a too-short password is refused before the invite is spent, so the invite still works with a good one', async () => {
  const token = await invite();
  await assert.rejects(
    acceptInvite(store, token, { displayName: 'Nora', password: 'short' }, NOW),
    (err: unknown) => err instanceof PulsebridgeError && err.code === 'password_too_short',
  );
  await assert.rejects(
    acceptInvite(store, token, { displayName: '', password: GOOD_PASSWORD }, NOW),
    (err: unknown) => err instanceof IdentityStoreError && err.param === 'displayName',
  );
  assert.equal(await store.findUserByEmail('new@example.org'), undefined);
  assert.ok(await acceptInvite(store, token, { displayName: 'Nora', password: GOOD_PASSWORD }, NOW));
});

test('invites are refused for a gym_admin or platform_admin role, a bad email, a missing gym or a non-positive ttl', async () => {
  const base = { email: 'x@example.org', gym: 'gym-a', role: 'athlete' as const, invitedBy: coach.id, ttlMs: HOUR };
  const refused = (request: Parameters<typeof createInvite>[1], param: string) =>
    assert.rejects(createInvite(store, request), (err: unknown) => err instanceof IdentityStoreError && err.code === 'invalid_input' && err.param === param);
  await refused({ ...base, role: 'gym_admin' as 'coach' }, 'role');
  await refused({ ...base, role: 'platform_admin' as 'coach' }, 'role');
  await refused({ ...base, email: 'nobody' }, 'email');
  await refused({ ...base, gym: '' }, 'gym');
  await refused({ ...base, ttlMs: 0 }, 'ttlMs');
  assert.deepEqual((await store.listAudit({ limit: 10 })).events, []);
});

test('a password reset mails a link to an existing account; the token in it sets the new password once', async () => {
  const mailer = new MemoryMailer();
  await store.setPassword(coach.id, { hash: '$argon2id$old', paramsVersion: 1 });
  await requestPasswordReset(store, mailer, { email: 'COACH@example.org', resetUrl: (t) => `https://hub.example/reset/${t}`, ttlMs: HOUR, now: NOW });
  assert.equal(mailer.sent.length, 1);
  const mail = mailer.sent[0]!;
  assert.equal(mail.to, 'coach@example.org');
  const token = /https:\/\/hub\.example\/reset\/([A-Za-z0-9_-]{43})/.exec(mail.text)?.[1];
  assert.ok(token, mail.text);
  assert.ok(!mail.subject.includes(token));

  await assert.rejects(completePasswordReset(store, token, 'too short', NOW), (err: unknown) => err instanceof PulsebridgeError && err.code === 'password_too_short');
  assert.equal(await completePasswordReset(store, token, 'a brand new passphrase', NOW + 1000), coach.id, 'the refused password did not spend the token');
  assert.equal(await passwordOf(coach.id, 'a brand new passphrase'), true);
  assert.equal(await completePasswordReset(store, token, 'yet another passphrase', NOW + 2000), undefined, 'reused');
  assert.equal(await passwordOf(coach.id, 'a brand new passphrase'), true);

  const types = (await store.listAudit({ limit: 100 })).events.map((e) => e.type).reverse();
  assert.deepEqual(types, ['password_reset.requested', 'password_reset.completed']);
  assert.ok(!(await auditText()).includes(token));
});

test('an expired reset token is refused and leaves the password as it was', async () => {
  const mailer = new MemoryMailer();
  await store.setPassword(coach.id, { hash: '$argon2id$old', paramsVersion: 1 });
  await requestPasswordReset(store, mailer, { email: 'coach@example.org', resetUrl: (t) => `https://hub.example/reset/${t}`, ttlMs: HOUR, now: NOW });
  const token = /reset\/(\S+)/.exec(mailer.sent[0]!.text)![1]!;
  assert.equal(await completePasswordReset(store, token, 'a brand new passphrase', NOW + HOUR), undefined);
  assert.equal((await store.getPassword(coach.id))?.hash, '$argon2id$old');
});

test('a reset for an unknown or disabled email sends nothing and answers exactly as for a known one', async () => {
  const mailer = new MemoryMailer();
  const request = (email: string) => requestPasswordReset(store, mailer, { email, resetUrl: (t) => `https://hub.example/reset/${t}`, ttlMs: HOUR, now: NOW });
  const known = await request('coach@example.org');
  const unknown = await request('nobody@example.org');
  const disabledUser = await store.createUser({ email: 'gone@example.org', displayName: 'Gone' });
  await store.setUserDisabled(disabledUser.id, true);
  const disabled = await request('gone@example.org');
  assert.deepEqual([known, unknown, disabled], [undefined, undefined, undefined]);
  assert.deepEqual(
    mailer.sent.map((m) => m.to),
    ['coach@example.org'],
  );
});

test('FileMailer writes each mail to its own 0600 file and logs the path but never the link or its token', async () => {
  const lines: string[] = [];
  const mailDir = join(dir, 'mail');
  const mailer = new FileMailer(mailDir, { info: (fields, message) => lines.push(JSON.stringify({ ...fields, message })) });
  let token = '';
  await requestPasswordReset(store, mailer, {
    email: 'coach@example.org',
    resetUrl: (t) => {
      token = t;
      return `https://hub.example/reset/${t}`;
    },
    ttlMs: HOUR,
    now: NOW,
  });
  await mailer.send({ to: 'coach@example.org', subject: 'second', text: 'another' });
  const files = readdirSync(mailDir);
  assert.equal(files.length, 2);
  const withLink = files.map((f) => join(mailDir, f)).find((p) => readFileSync(p, 'utf8').includes(token))!;
  assert.ok(withLink);
  assert.equal(statSync(withLink).mode & 0o777, 0o600);
  assert.equal(statSync(mailDir).mode & 0o777, 0o700);
  assert.match(readFileSync(withLink, 'utf8'), /^To: coach@example\.org\nSubject: Reset your Pulsebridge password\n\n/);
  assert.equal(lines.length, 2);
  assert.ok(lines[0]!.includes(withLink), 'the log says where the mail is');
  for (const line of lines) {
    assert.ok(!line.includes(token), 'no token in the log');
    assert.ok(!line.includes('https://hub.example/reset'), 'no link in the log');
  }
  const path = await mailer.write({ to: 'x@example.org', subject: 's', text: 't' });
  assert.equal(readFileSync(path, 'utf8'), 'To: x@example.org\nSubject: s\n\nt\n');
});

test('FileMailer.forget removes the mails that name a person, to them or about them, in any case, and keeps the others', async () => {
  const mailDir = join(dir, 'forget');
  const mailer = new FileMailer(mailDir);
  assert.equal(await mailer.forget(['nobody@example.org']), 0, 'no folder yet: nothing to remove');
  await mailer.send({ to: 'Erin@Example.org', subject: 'Reset', text: 'a link' });
  await mailer.send({ to: 'cy@example.org', subject: 'Invite', text: 'Erin Erased invited you' });
  await mailer.send({ to: 'cy@example.org', subject: 'Other', text: 'nothing about her' });
  assert.equal(await mailer.forget(['erin@example.org', 'erin erased']), 2);
  const left = readdirSync(mailDir).map((f) => readFileSync(join(mailDir, f), 'utf8'));
  assert.deepEqual(left, ['To: cy@example.org\nSubject: Other\n\nnothing about her\n']);
});
