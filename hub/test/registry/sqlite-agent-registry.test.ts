import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { RegistryError, SqliteAgentRegistry, isGymId, type SqliteAgentRegistryOptions } from '../../src/registry/sqlite-agent-registry.ts';

const log = pino({ level: 'silent' });
const cheap = { N: 1024, r: 8, p: 1 };

function registry(db: Database.Database, options: Partial<SqliteAgentRegistryOptions> = {}): SqliteAgentRegistry {
  return new SqliteAgentRegistry({ db, log, scryptCost: cheap, ...options });
}

describe('SqliteAgentRegistry', () => {
  test('create returns a 32-byte base64url secret that authenticates; the database holds only a salted scrypt hash', async () => {
    const db = new Database(':memory:');
    const r = registry(db);
    const { agent, secret } = await r.create('box-1', 'gym-a');
    assert.equal(agent.id, 'box-1');
    assert.equal(agent.gym, 'gym-a');
    assert.equal(agent.online, false);
    assert.match(secret, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(Buffer.from(secret, 'base64url').length, 32);
    const stored = db.prepare('SELECT secret_hash FROM agents WHERE id = ?').pluck().get('box-1') as string;
    assert.ok(!stored.includes(secret));
    assert.match(stored, /^scrypt\$1024\$8\$1\$[A-Za-z0-9_-]+\$[A-Za-z0-9_-]+$/);
    const again = await r.create('box-2', 'gym-a');
    assert.notEqual(again.secret, secret);
    const otherHash = db.prepare('SELECT secret_hash FROM agents WHERE id = ?').pluck().get('box-2') as string;
    assert.notEqual(otherHash.split('$')[4], stored.split('$')[4], 'every hash has its own salt');
    assert.equal((await r.authenticate('box-1', secret))?.id, 'box-1');
    assert.equal((await r.authenticate('box-1', secret))?.gym, 'gym-a', 'cached success returns the record too');
  });

  test('wrong secrets, unknown agents and absurd inputs do not authenticate', async () => {
    const db = new Database(':memory:');
    const r = registry(db, { authCacheMs: 60_000 });
    const a = await r.create('box-1', 'gym-a');
    const b = await r.create('box-2', 'gym-a');
    assert.ok(await r.authenticate('box-1', a.secret), 'warm the cache');
    assert.equal(await r.authenticate('box-1', b.secret), undefined, "another agent's secret");
    assert.equal(await r.authenticate('box-1', a.secret.slice(0, -1)), undefined);
    assert.equal(await r.authenticate('box-1', `${a.secret}x`), undefined);
    assert.equal(await r.authenticate('box-1', ''), undefined);
    assert.equal(await r.authenticate('box-1', 'x'.repeat(10_000)), undefined);
    assert.equal(await r.authenticate('nobody', a.secret), undefined);
    assert.equal(await r.authenticate('../etc', a.secret), undefined);
    assert.equal(await r.authenticate('', a.secret), undefined);
  });

  test('invalid agent and gym ids are refused with a typed error', async () => {
    const r = registry(new Database(':memory:'));
    for (const id of ['', '-leading-dash', 'has space', 'slash/in', 'plus+', 'hash#', 'x'.repeat(65), 'ünï']) {
      await assert.rejects(r.create(id, 'gym-a'), (err: unknown) => err instanceof RegistryError && err.code === 'invalid_id', id);
    }
    for (const gym of ['', ' ', 'a/b', 'x'.repeat(65), '.hidden']) {
      await assert.rejects(r.create('box-1', gym), (err: unknown) => err instanceof RegistryError && err.code === 'invalid_gym', gym);
    }
    assert.deepEqual(await r.list(), []);
    assert.ok(isGymId('gym.berlin-1_a'));
  });

  test('creating an existing agent fails with code exists and keeps the first secret valid', async () => {
    const r = registry(new Database(':memory:'));
    const first = await r.create('box-1', 'gym-a');
    await assert.rejects(r.create('box-1', 'gym-b'), { name: 'RegistryError', code: 'exists' });
    assert.equal((await r.authenticate('box-1', first.secret))?.gym, 'gym-a');
  });

  test('remove deletes the agent and its cached authentication at once', async () => {
    const r = registry(new Database(':memory:'), { authCacheMs: 60_000 });
    const { secret } = await r.create('box-1', 'gym-a');
    assert.ok(await r.authenticate('box-1', secret));
    assert.equal(await r.remove('box-1'), true);
    assert.equal(await r.remove('box-1'), false);
    assert.equal(await r.get('box-1'), undefined);
    assert.equal(await r.authenticate('box-1', secret), undefined);
    const recreated = await r.create('box-1', 'gym-a');
    assert.equal(await r.authenticate('box-1', secret), undefined, 'the old secret does not open the new agent');
    assert.ok(await r.authenticate('box-1', recreated.secret));
  });

  test('list returns every agent ordered by id, with status, inventory and online state', async () => {
    const r = registry(new Database(':memory:'));
    await r.create('b-box', 'gym-a');
    await r.create('a-box', 'gym-b');
    r.touch('a-box', 1_000);
    r.setOnline('a-box', true);
    await r.recordStatus('a-box', { state: 'online', version: '1.2.3' }, 1_000);
    await r.recordInventory('a-box', [{ id: 'ble:1', kind: 'heart_rate', source: 'ble', metrics: ['heart_rate'] }]);
    await r.recordStatus('ghost', { state: 'online' }, 1_000); // unknown agents are ignored, not created
    const list = await r.list();
    assert.deepEqual(
      list.map((a) => a.id),
      ['a-box', 'b-box'],
    );
    assert.equal(list[0]!.online, true);
    assert.equal(list[0]!.status?.version, '1.2.3');
    assert.equal(list[0]!.inventory?.[0]?.id, 'ble:1');
    assert.equal(list[0]!.lastSeen, 1_000);
    assert.equal(list[1]!.online, false);
    assert.equal(list[1]!.lastSeen, undefined);
    await r.recordStatus('a-box', { state: 'offline' }, 2_000);
    assert.equal((await r.get('a-box'))?.online, true, 'a status is recorded; whether the agent is online is what setOnline() says');
    assert.equal((await r.get('a-box'))?.status?.state, 'offline');
    r.setOnline('a-box', false);
    assert.equal((await r.get('a-box'))?.online, false);
    assert.equal((await r.get('a-box'))?.lastSeen, 1_000, 'a status is not presence: only touch() records when the agent was seen');
  });

  test('touch is kept in memory, never goes backwards, and is flushed to the database', async (t) => {
    t.mock.timers.enable({ apis: ['setInterval'] });
    const db = new Database(':memory:');
    const r = registry(db, { flushIntervalMs: 1_000 });
    await r.start();
    await r.create('box-1', 'gym-a');
    r.touch('box-1', 5_000);
    r.touch('box-1', 4_000);
    r.touch('ghost', 1); // unknown: harmless
    assert.equal((await r.get('box-1'))?.lastSeen, 5_000);
    assert.equal(db.prepare('SELECT last_seen FROM agents').pluck().get(), null, 'not written yet');
    t.mock.timers.tick(1_000);
    assert.equal(db.prepare('SELECT last_seen FROM agents').pluck().get(), 5_000, 'the periodic flush wrote it without stop()');
    r.touch('box-1', 3_000);
    t.mock.timers.tick(1_000);
    assert.equal(db.prepare('SELECT last_seen FROM agents').pluck().get(), 5_000, 'an older time does not overwrite a newer one');
    await r.stop();
  });

  test('everything persists across reopening the database file, last-seen included via stop()', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pb-registry-'));
    try {
      const file = join(dir, 'hub.db');
      let db = new Database(file);
      db.pragma('journal_mode = WAL');
      let r = registry(db, { flushIntervalMs: 60_000 });
      await r.start();
      const { secret } = await r.create('box-1', 'gym-a');
      await r.recordStatus('box-1', { state: 'online' }, 100);
      r.touch('box-1', 9_000);
      await r.stop();
      db.close();

      db = new Database(file);
      r = registry(db);
      const agent = await r.get('box-1');
      assert.equal(agent?.gym, 'gym-a');
      assert.equal(agent?.lastSeen, 9_000);
      assert.equal(agent?.status?.state, 'online');
      assert.equal((await r.authenticate('box-1', secret))?.id, 'box-1');
      assert.equal(await r.authenticate('box-1', 'wrong'), undefined);
      db.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("online is the hub's own view, never persisted: a registry reopened after a crash shows the agent offline", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pb-registry-'));
    try {
      const file = join(dir, 'hub.db');
      const crashed = new Database(file);
      crashed.pragma('journal_mode = WAL');
      const before = registry(crashed);
      await before.start();
      await before.create('box-1', 'gym-a');
      await before.recordStatus('box-1', { state: 'online', version: '1.2.3' }, 100);
      before.setOnline('box-1', true);
      assert.equal((await before.get('box-1'))?.online, true);
      // No stop(): the process died with the agent connected and its retained status saying online.

      const reopened = registry(new Database(file));
      const agent = await reopened.get('box-1');
      assert.equal(agent?.online, false, 'nothing is online until it connects to this run of the hub');
      assert.equal(agent?.status?.version, '1.2.3', 'what the agent last reported is still shown');
      reopened.setOnline('box-1', true);
      assert.equal((await reopened.get('box-1'))?.online, true);
      reopened.setOnline('box-1', false);
      assert.equal((await reopened.get('box-1'))?.online, false);
      crashed.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('last-seen reaches the database within 5 s by default, so a crash loses at most that much', async (t) => {
    t.mock.timers.enable({ apis: ['setInterval'] });
    const dir = mkdtempSync(join(tmpdir(), 'pb-registry-'));
    try {
      const file = join(dir, 'hub.db');
      const crashed = new Database(file);
      crashed.pragma('journal_mode = WAL');
      const r = registry(crashed);
      await r.start();
      await r.create('box-1', 'gym-a');
      r.touch('box-1', 7_000);
      t.mock.timers.tick(5_000);
      r.touch('box-1', 8_000);
      // No stop(): the last touch is lost, the one before survives.
      const reopened = registry(new Database(file));
      assert.equal((await reopened.get('box-1'))?.lastSeen, 7_000);
      crashed.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('removing an agent forgets that it was online', async () => {
    const r = registry(new Database(':memory:'));
    await r.create('box-1', 'gym-a');
    r.setOnline('box-1', true);
    await r.remove('box-1');
    await r.create('box-1', 'gym-a');
    assert.equal((await r.get('box-1'))?.online, false);
  });

  test('an unknown agent costs a scrypt run like a wrong secret does', async () => {
    // Default cost, so the difference between hashing and not hashing is far above timer noise.
    const r = new SqliteAgentRegistry({ db: new Database(':memory:'), log, authCacheMs: 0 });
    const { secret } = await r.create('box-1', 'gym-a');
    await r.authenticate('nobody', secret); // builds the decoy hash once
    const time = async (id: string): Promise<number> => {
      const started = performance.now();
      await r.authenticate(id, 'not-the-secret');
      return performance.now() - started;
    };
    // The fastest of several alternating runs: load on the machine only ever adds time, so minimums compare the work.
    let wrong = Infinity;
    let unknown = Infinity;
    for (let i = 0; i < 5; i++) {
      wrong = Math.min(wrong, await time('box-1'));
      unknown = Math.min(unknown, await time('nobody'));
    }
    assert.ok(wrong > 5, `a wrong secret costs a real scrypt run (${wrong.toFixed(1)} ms)`);
    assert.ok(unknown > wrong / 3, `unknown ${unknown.toFixed(1)} ms vs wrong ${wrong.toFixed(1)} ms`);
  });
});

describe('SqliteAgentRegistry enrollment', () => {
  const T0 = Date.UTC(2026, 0, 1);

  test('an agent created for enrollment holds no credentials until its code is redeemed; the database keeps no code in the clear', async () => {
    const db = new Database(':memory:');
    const r = registry(db, { now: () => T0 });
    const { agent, enrollment } = await r.createForEnrollment('box-1', 'gym-a');
    assert.equal(agent.enrolled, false);
    assert.match(enrollment.code, /^[A-HJ-NP-Z2-9]{5}-[A-HJ-NP-Z2-9]{5}$/);
    assert.equal(enrollment.expiresAt, T0 + 15 * 60_000, 'valid 15 minutes by default');
    const dump = JSON.stringify(db.prepare('SELECT * FROM agent_enrollment_codes').all());
    assert.ok(!dump.includes(enrollment.code) && !dump.includes(enrollment.code.replace('-', '')), dump);
    assert.equal((await r.get('box-1'))?.enrolled, false);

    const redeemed = await r.redeemEnrollment(` ${enrollment.code.toLowerCase().replace('-', ' ')} `, T0 + 1_000);
    assert.ok(redeemed, 'case, spaces and grouping do not matter');
    assert.equal(redeemed.agent.id, 'box-1');
    assert.equal(redeemed.agent.gym, 'gym-a');
    assert.equal(redeemed.agent.enrolled, true);
    assert.equal((await r.authenticate('box-1', redeemed.secret))?.id, 'box-1');
  });

  test('a code is refused once used, once expired, and when it is malformed or unknown', async () => {
    const r = registry(new Database(':memory:'), { now: () => T0, enrollmentTtlMs: 60_000 });
    const first = await r.createForEnrollment('box-1', 'gym-a');
    assert.equal(first.enrollment.expiresAt, T0 + 60_000, 'the configured lifetime');
    const used = await r.redeemEnrollment(first.enrollment.code, T0 + 1);
    assert.ok(used);
    assert.equal(await r.redeemEnrollment(first.enrollment.code, T0 + 2), undefined, 'used');
    assert.equal((await r.authenticate('box-1', used.secret))?.id, 'box-1', 'a refused reuse leaves the issued secret alone');

    const second = await r.createForEnrollment('box-2', 'gym-a', { ttlMs: 5_000 });
    assert.equal(await r.redeemEnrollment(second.enrollment.code, T0 + 5_000), undefined, 'expired at its expiry');
    assert.equal((await r.get('box-2'))?.enrolled, false);

    for (const bad of ['', 'ABCDE', 'ABCDE-FGHJK-LMNPQ', 'ABCDE-FGHI1', 'x'.repeat(10_000), 'ABCDE-FGHJK']) {
      assert.equal(await r.redeemEnrollment(bad, T0), undefined, bad);
    }
  });

  test('two concurrent redemptions of one code issue exactly one secret', async () => {
    const r = registry(new Database(':memory:'), { now: () => T0 });
    const { enrollment } = await r.createForEnrollment('box-1', 'gym-a');
    const results = await Promise.all([r.redeemEnrollment(enrollment.code, T0), r.redeemEnrollment(enrollment.code, T0), r.redeemEnrollment(enrollment.code, T0)]);
    const winners = results.filter((x) => x !== undefined);
    assert.equal(winners.length, 1);
    assert.ok(await r.authenticate('box-1', winners[0]!.secret));
  });

  test('a new code revokes the earlier unused ones; with revokeSecret the current secret stops working at once', async () => {
    const r = registry(new Database(':memory:'), { now: () => T0, authCacheMs: 60_000 });
    const { secret } = await r.create('box-1', 'gym-a');
    const earlier = await r.issueEnrollment('box-1');
    const later = await r.issueEnrollment('box-1');
    assert.ok(earlier && later);
    assert.equal(await r.redeemEnrollment(earlier.code, T0), undefined, 'the earlier code');
    assert.ok(await r.authenticate('box-1', secret), 'a plain new code leaves the secret valid (and cached)');
    const reset = await r.issueEnrollment('box-1', { revokeSecret: true });
    assert.ok(reset);
    assert.equal(await r.authenticate('box-1', secret), undefined, 'revoked despite the cached success');
    assert.equal(await r.redeemEnrollment(later.code, T0), undefined, 'the code before the reset');
    assert.ok(await r.redeemEnrollment(reset.code, T0));
    assert.equal(await r.issueEnrollment('nobody'), undefined);
  });

  test('a disabled agent is refused even with a cached success, redeems no code, and is accepted again once enabled', async () => {
    const r = registry(new Database(':memory:'), { now: () => T0, authCacheMs: 60_000 });
    const { secret } = await r.create('box-1', 'gym-a');
    assert.ok(await r.authenticate('box-1', secret));
    assert.equal(await r.disable('box-1'), true);
    assert.equal(await r.authenticate('box-1', secret), undefined);
    assert.equal((await r.get('box-1'))?.disabled, true);
    const code = await r.issueEnrollment('box-1');
    assert.equal(await r.redeemEnrollment(code!.code, T0), undefined, 'disabled');
    assert.equal(await r.enable('box-1'), true);
    assert.ok(await r.authenticate('box-1', secret));
    assert.equal(await r.disable('nobody'), false);
    assert.equal(await r.enable('nobody'), false);
  });

  test('rotateSecret invalidates the old secret at once, cached or not', async () => {
    const r = registry(new Database(':memory:'), { authCacheMs: 60_000 });
    const { secret } = await r.create('box-1', 'gym-a');
    assert.ok(await r.authenticate('box-1', secret));
    const rotated = await r.rotateSecret('box-1');
    assert.ok(rotated && rotated !== secret);
    assert.equal(await r.authenticate('box-1', secret), undefined);
    assert.ok(await r.authenticate('box-1', rotated));
    assert.equal(await r.rotateSecret('nobody'), undefined);
  });

  test('an existing id is refused for enrollment too, and removing an agent drops its codes', async () => {
    const db = new Database(':memory:');
    const r = registry(db, { now: () => T0 });
    const { enrollment } = await r.createForEnrollment('box-1', 'gym-a');
    await assert.rejects(r.createForEnrollment('box-1', 'gym-b'), (err: unknown) => err instanceof RegistryError && err.code === 'exists');
    await assert.rejects(r.createForEnrollment('../x', 'gym-a'), (err: unknown) => err instanceof RegistryError && err.code === 'invalid_id');
    assert.equal(await r.remove('box-1'), true);
    assert.equal(db.prepare('SELECT COUNT(*) FROM agent_enrollment_codes').pluck().get(), 0);
    await r.create('box-1', 'gym-a');
    assert.equal(await r.redeemEnrollment(enrollment.code, T0), undefined, "a removed agent's code does not enroll its successor");
  });

  test('a hub.db of the first schema is migrated on open and keeps its agents, their secrets and state', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pb-registry-migrate-'));
    try {
      const file = join(dir, 'hub.db');
      // A secret and its hash as create() makes them, written into the first schema as hubs before enrollment had it.
      const probe = new Database(':memory:');
      const { secret } = await registry(probe).create('box-old', 'gym-a');
      const hash = probe.prepare('SELECT secret_hash FROM agents').pluck().get() as string;
      const old = new Database(file);
      old.exec(`CREATE TABLE agents (id TEXT PRIMARY KEY, gym TEXT NOT NULL, secret_hash TEXT NOT NULL, created_at INTEGER NOT NULL,
        last_seen INTEGER, status TEXT, status_at INTEGER, inventory TEXT) STRICT; CREATE INDEX agents_by_gym ON agents (gym);`);
      old.prepare('INSERT INTO agents (id, gym, secret_hash, created_at, last_seen) VALUES (?, ?, ?, ?, ?)').run('box-old', 'gym-a', hash, 5, 77);
      old.close();

      const migrated = registry(new Database(file), { now: () => T0 });
      assert.equal((await migrated.authenticate('box-old', secret))?.id, 'box-old');
      assert.equal((await migrated.get('box-old'))?.lastSeen, 77);
      const again = registry(new Database(file), { now: () => T0 });
      assert.equal((await again.get('box-old'))?.createdAt, 5, 'migrating twice changes nothing');
      const { enrollment } = await again.createForEnrollment('box-new', 'gym-a');
      assert.ok(await again.redeemEnrollment(enrollment.code, T0));
      assert.deepEqual(
        (await again.list()).map((a) => [a.id, a.disabled, a.enrolled]),
        [
          ['box-new', false, true],
          ['box-old', false, true],
        ],
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
