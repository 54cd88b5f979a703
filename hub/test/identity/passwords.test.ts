import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { PulsebridgeError } from '@pulsebridge/runtime';
import argon2 from 'argon2';
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, PASSWORD_PARAMS, hashPassword, needsUpgrade, verifyAndUpgrade, verifyPassword } from '../../src/identity/passwords.ts';
import { SqliteIdentityStore } from '../../src/identity/sqlite-identity-store.ts';

const PASSWORD = 'correct horse battery staple';

let dir: string;
let store: SqliteIdentityStore;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pb-passwords-'));
  store = new SqliteIdentityStore({ path: join(dir, 'identity.db') });
  await store.start();
});

after(async () => {
  await store.stop();
  rmSync(dir, { recursive: true, force: true });
});

let users = 0;
async function userWithHash(hash: string, paramsVersion: number): Promise<string> {
  const user = await store.createUser({ email: `user${++users}@example.test`, displayName: `User ${users}` });
  await store.setPassword(user.id, { hash, paramsVersion });
  return user.id;
}

/** The m/t/p of an encoded PHC string, in a fixed order. */
function phcParams(encoded: string): string {
  const params = new Map((encoded.split('$')[3] ?? '').split(',').map((pair) => pair.split('=') as [string, string]));
  return `m=${params.get('m')},t=${params.get('t')},p=${params.get('p')}`;
}

test('a hash is argon2id at the current parameters and verifies the password it was made from', async () => {
  const encoded = await hashPassword(PASSWORD);
  assert.match(encoded, /^\$argon2id\$v=19\$/);
  assert.equal(phcParams(encoded), `m=${PASSWORD_PARAMS.memoryCost},t=${PASSWORD_PARAMS.timeCost},p=${PASSWORD_PARAMS.parallelism}`);
  assert.equal(await verifyPassword(encoded, PASSWORD), true);
  assert.equal(needsUpgrade(encoded), false);
});

test('two hashes of one password differ (random salt) and both verify', async () => {
  const [a, b] = await Promise.all([hashPassword(PASSWORD), hashPassword(PASSWORD)]);
  assert.notEqual(a, b);
  assert.equal(await verifyPassword(a, PASSWORD), true);
  assert.equal(await verifyPassword(b, PASSWORD), true);
});

test('a wrong password does not verify, nor does one differing only in case or a trailing space', async () => {
  const encoded = await hashPassword(PASSWORD);
  for (const wrong of ['correct horse battery stapler', PASSWORD.toUpperCase(), `${PASSWORD} `, '']) {
    assert.equal(await verifyPassword(encoded, wrong), false, JSON.stringify(wrong));
  }
});

test('a malformed or foreign encoded string verifies nothing and does not throw', async () => {
  const encoded = await hashPassword(PASSWORD);
  const argon2i = await argon2.hash(PASSWORD, { type: argon2.argon2i, memoryCost: 1024, timeCost: 1, parallelism: 1 });
  const malformed = [
    '',
    'not a hash',
    encoded.slice(0, encoded.length - 10),
    encoded.replace(/\$[^$]+$/, '$!!!notbase64!!!'),
    encoded.replace(/m=\d+/, 'm=abc'),
    '$argon2id$v=19$m=19456,t=2,p=1$',
    '$2b$10$abcdefghijklmnopqrstuuKq1zZ5Qh1m9b2eWcA5p2WkOq2u8fJ6a',
    argon2i,
  ];
  for (const bad of malformed) assert.equal(await verifyPassword(bad, PASSWORD), false, bad);
  assert.equal(await verifyPassword(undefined as unknown as string, PASSWORD), false);
});

test('a password shorter than the minimum or longer than the maximum is refused before hashing, with a code saying which', async () => {
  await assert.rejects(
    hashPassword('x'.repeat(MIN_PASSWORD_LENGTH - 1)),
    (err: unknown) => err instanceof PulsebridgeError && err.code === 'password_too_short' && /at least 10 characters/.test(err.message),
  );
  await assert.rejects(
    hashPassword('x'.repeat(MAX_PASSWORD_LENGTH + 1)),
    (err: unknown) => err instanceof PulsebridgeError && err.code === 'password_too_long' && /at most 256 characters/.test(err.message),
  );
  // Counted in code points: 10 emoji are 20 UTF-16 units but 10 characters, so allowed.
  assert.equal(await verifyPassword(await hashPassword('🔑'.repeat(MIN_PASSWORD_LENGTH)), '🔑'.repeat(MIN_PASSWORD_LENGTH)), true);
  assert.match(await hashPassword('x'.repeat(MAX_PASSWORD_LENGTH)), /^\$argon2id\$/);
});

test('a candidate longer than the maximum is refused by verify without hashing', async () => {
  const encoded = await hashPassword(PASSWORD);
  assert.equal(await verifyPassword(encoded, 'x'.repeat(1_000_000)), false);
});

test('verifyAndUpgrade rewrites a hash made with older (lower m and t) parameters in the SQLite store; the new one is current and verifies', async () => {
  const old = await argon2.hash(PASSWORD, { type: argon2.argon2id, memoryCost: 4096, timeCost: 1, parallelism: 1 });
  assert.equal(needsUpgrade(old), true);
  // Recorded as version 1 like a current hash: the parameters inside the PHC string decide an upgrade.
  const userId = await userWithHash(old, 1);

  assert.equal(await verifyAndUpgrade(store, userId, PASSWORD), true);

  const stored = await store.getPassword(userId);
  assert.ok(stored);
  assert.notEqual(stored.hash, old);
  assert.equal(stored.paramsVersion, PASSWORD_PARAMS.version);
  assert.equal(phcParams(stored.hash), `m=${PASSWORD_PARAMS.memoryCost},t=${PASSWORD_PARAMS.timeCost},p=${PASSWORD_PARAMS.parallelism}`);
  assert.equal(needsUpgrade(stored.hash), false);
  assert.equal(await verifyPassword(stored.hash, PASSWORD), true);
  assert.equal(await verifyAndUpgrade(store, userId, PASSWORD), true);
});

test('an old-parameter hash is upgraded even when the password is shorter than today’s minimum', async () => {
  const short = 'short';
  const old = await argon2.hash(short, { type: argon2.argon2id, memoryCost: 4096, timeCost: 1, parallelism: 1 });
  const userId = await userWithHash(old, 1);
  assert.equal(await verifyAndUpgrade(store, userId, short), true);
  const stored = await store.getPassword(userId);
  assert.ok(stored && stored.hash !== old && !needsUpgrade(stored.hash));
});

test('verifyAndUpgrade with a wrong password returns false and leaves an old hash as it was', async () => {
  const old = await argon2.hash(PASSWORD, { type: argon2.argon2id, memoryCost: 4096, timeCost: 1, parallelism: 1 });
  const userId = await userWithHash(old, 1);
  assert.equal(await verifyAndUpgrade(store, userId, 'not the password at all'), false);
  const stored = await store.getPassword(userId);
  assert.equal(stored?.hash, old);
  assert.equal(stored?.paramsVersion, 1);
});

test('verifyAndUpgrade does not rewrite a hash made with the current parameters', async () => {
  const current = await hashPassword(PASSWORD);
  const userId = await userWithHash(current, PASSWORD_PARAMS.version);
  const before = await store.getPassword(userId);
  assert.equal(await verifyAndUpgrade(store, userId, PASSWORD), true);
  const afterwards = await store.getPassword(userId);
  assert.equal(afterwards?.hash, current);
  assert.equal(afterwards?.updatedAt, before?.updatedAt);
});

test('verifyAndUpgrade is false for a user without a password and for an unknown user', async () => {
  const user = await store.createUser({ email: 'nopassword@example.test', displayName: 'No Password' });
  assert.equal(await verifyAndUpgrade(store, user.id, PASSWORD), false);
  assert.equal(await verifyAndUpgrade(store, '00000000-0000-4000-8000-000000000000', PASSWORD), false);
});

test('verifyAndUpgrade is false, and rewrites nothing, for a stored string that is malformed', async () => {
  const userId = await userWithHash('$argon2id$v=19$m=19456,t=2,p=1$garbage', 1);
  assert.equal(await verifyAndUpgrade(store, userId, PASSWORD), false);
  assert.equal((await store.getPassword(userId))?.hash, '$argon2id$v=19$m=19456,t=2,p=1$garbage');
});
