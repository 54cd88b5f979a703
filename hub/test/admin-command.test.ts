/** `pulsebridge-hub admin create`: the first platform admin of a new hub. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ALL_GYMS } from '../src/identity/identity-store.ts';
import { SqliteIdentityStore } from '../src/identity/sqlite-identity-store.ts';
import { verifyPassword } from '../src/identity/passwords.ts';
import { main } from '../src/main.ts';
import { capturingIo } from './cli-io.ts';

const dir = mkdtempSync(join(tmpdir(), 'pb-admin-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const io = capturingIo;

async function withStore<T>(dataDir: string, use: (store: SqliteIdentityStore) => Promise<T>): Promise<T> {
  const store = new SqliteIdentityStore({ path: join(dataDir, 'identity.db') });
  await store.start();
  try {
    return await use(store);
  } finally {
    await store.stop();
  }
}

test('admin create makes a platform admin whose printed password verifies, once', async () => {
  const dataDir = join(dir, 'first');
  const run = io({ PB_HUB_HUB__DATA_DIR: dataDir });
  assert.equal(await main(['admin', 'create', '--email', 'Owner@Gym.example', '--json'], run), 0, run.err);
  const printed = JSON.parse(run.out) as { id: string; email: string; password: string };
  assert.equal(printed.email, 'Owner@Gym.example');
  assert.ok(printed.password.length >= 20);
  await withStore(dataDir, async (store) => {
    const user = await store.findUserByEmail('owner@gym.example');
    assert.equal(user?.id, printed.id);
    assert.deepEqual(
      (await store.listMembershipsOfUser(printed.id)).map((m) => [m.gym, m.role]),
      [[ALL_GYMS, 'platform_admin']],
    );
    assert.ok(await verifyPassword((await store.getPassword(printed.id))!.hash, printed.password));
    const audit = await store.listAudit({ limit: 10 });
    assert.deepEqual(
      audit.events.map((e) => e.type),
      ['platform_admin.created'],
    );
    assert.ok(!JSON.stringify(audit).includes(printed.password), 'the audit log never holds the password');
  });

  const again = io({ PB_HUB_HUB__DATA_DIR: dataDir });
  assert.equal(await main(['admin', 'create', '--email', 'owner@gym.example'], again), 1);
  assert.match(again.err, /exists already.*--reset/);
});

test('admin create --reset gives an existing user the role and the password from a file', async () => {
  const dataDir = join(dir, 'reset');
  assert.equal(await main(['admin', 'create', '--email', 'a@gym.example'], io({ PB_HUB_HUB__DATA_DIR: dataDir })), 0);
  const passwordFile = join(dir, 'password.txt');
  writeFileSync(passwordFile, 'correct horse battery staple\n');
  const reset = io({ PB_HUB_HUB__DATA_DIR: dataDir });
  assert.equal(await main(['admin', 'create', '--email', 'a@gym.example', '--password-file', passwordFile, '--reset'], reset), 0, reset.err);
  assert.ok(!reset.out.includes('correct horse'), 'a password the operator chose is not echoed');
  await withStore(dataDir, async (store) => {
    const user = (await store.findUserByEmail('a@gym.example'))!;
    assert.ok(await verifyPassword((await store.getPassword(user.id))!.hash, 'correct horse battery staple'));
    assert.equal((await store.listMembershipsOfUser(user.id)).length, 1, 'the role is not added twice');
  });
});

test('admin create refuses bad input with usage errors and creates nothing', async () => {
  const dataDir = join(dir, 'bad');
  const short = join(dir, 'short.txt');
  writeFileSync(short, 'short\n');
  const cases: [string[], number, RegExp][] = [
    [['admin', 'create'], 2, /needs --email/],
    [['admin', 'remove', '--email', 'x@y'], 2, /unknown admin command/],
    [['admin', 'create', '--email', 'not-an-email'], 2, /not an email address/],
    [['admin', 'create', '--email', 'x@gym.example', '--password-file', short], 2, /at least 10 characters/],
    [['admin', 'create', '--email', 'x@gym.example', '--password-file', join(dir, 'missing.txt')], 2, /cannot read the password file/],
    [['agent', 'list', '--email', 'x@gym.example'], 2, /--email belongs to admin create/],
  ];
  for (const [argv, status, message] of cases) {
    const run = io({ PB_HUB_HUB__DATA_DIR: dataDir });
    assert.equal(await main(argv, run), status, argv.join(' '));
    assert.match(run.err, message, argv.join(' '));
  }
  await withStore(dataDir, async (store) => assert.equal(await store.findUserByEmail('x@gym.example'), undefined));
});

test('keys rotate adds a signing key that signs from then on, and keeps the old one published', async () => {
  const dataDir = join(dir, 'keys');
  const first = io({ PB_HUB_HUB__DATA_DIR: dataDir });
  assert.equal(await main(['keys', 'rotate', '--json'], first), 0, first.err);
  const second = io({ PB_HUB_HUB__DATA_DIR: dataDir });
  assert.equal(await main(['keys', 'rotate', '--json'], second), 0, second.err);
  const [a, b] = [JSON.parse(first.out) as { kid: string }, JSON.parse(second.out) as { kid: string }];
  assert.notEqual(a.kid, b.kid);
  await withStore(dataDir, async (store) => {
    const keys = await store.listSigningKeys();
    assert.deepEqual(
      keys.map((k) => [k.kid, k.retiredAt === undefined]),
      [
        [b.kid, true],
        [a.kid, false],
      ],
      'the newest signs; the older one is retired, not deleted',
    );
  });
  const bad = io({ PB_HUB_HUB__DATA_DIR: dataDir });
  assert.equal(await main(['keys', 'spin'], bad), 2);
  assert.match(bad.err, /unknown keys command/);
});
