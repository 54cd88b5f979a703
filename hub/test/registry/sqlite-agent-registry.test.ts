/**
 * SqliteAgentRegistry: the AgentRegistry contract (agent-registry-contract.ts) on a state database file, and what
 * only the embedded adapter does: presence kept per process, last-seen flushed on a timer, older hub.db files
 * migrated in place.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { DEFAULT_SCRYPT_COST, SqliteAgentRegistry, type SqliteAgentRegistryOptions } from '../../src/registry/sqlite-agent-registry.ts';
import { agentRegistryContract, type RegistryOptions } from './agent-registry-contract.ts';

const log = pino({ level: 'silent' });
const cheap = { N: 1024, r: 8, p: 1 };
const T0 = Date.UTC(2026, 0, 1);

function registry(db: Database.Database, options: Partial<SqliteAgentRegistryOptions> = {}): SqliteAgentRegistry {
  return new SqliteAgentRegistry({ db, log, scryptCost: cheap, ...options });
}

function fromContract(options: RegistryOptions): Partial<SqliteAgentRegistryOptions> {
  return {
    ...(options.now ? { now: options.now } : {}),
    ...(options.authCacheMs === undefined ? {} : { authCacheMs: options.authCacheMs }),
    ...(options.enrollmentTtlMs === undefined ? {} : { enrollmentTtlMs: options.enrollmentTtlMs }),
    scryptCost: options.scrypt === 'default' ? DEFAULT_SCRYPT_COST : cheap,
    // The contract flushes explicitly.
    flushIntervalMs: 0,
  };
}

agentRegistryContract('sqlite', async (options) => {
  const dir = mkdtempSync(join(tmpdir(), 'pb-registry-'));
  const file = join(dir, 'hub.db');
  let db = new Database(file);
  db.pragma('journal_mode = WAL');
  let current = registry(db, fromContract(options));
  await current.start();
  return {
    registry: current,
    async reopen(again = options) {
      await current.stop();
      db.close();
      db = new Database(file);
      current = registry(db, fromContract(again));
      await current.start();
      return current;
    },
    storedSecretHash: async (id) => (db.prepare('SELECT secret_hash FROM agents WHERE id = ?').get(id) as { secret_hash: string | null } | undefined)?.secret_hash,
    storedCodes: async () => db.prepare('SELECT * FROM agent_enrollment_codes').all(),
    storedLastSeen: async (id) => db.prepare('SELECT last_seen FROM agents WHERE id = ?').pluck().get(id) as number | null,
    async cleanup() {
      await current.stop();
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

describe('SqliteAgentRegistry', () => {
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
});

describe('SqliteAgentRegistry migrations', () => {
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
