/**
 * The API's agent list through the cache: read once per ttl, and dropped by every change made through the API,
 * on every replica that shares the cache.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { MemoryCache } from '../../src/cache/cache.ts';
import { CachedAgentList } from '../../src/registry/cached-agent-list.ts';
import { SqliteAgentRegistry } from '../../src/registry/sqlite-agent-registry.ts';

const cheap = { N: 1024, r: 8, p: 1 };

async function registryWithListCount(): Promise<{ registry: SqliteAgentRegistry; lists: () => number; close: () => Promise<void> }> {
  const db = new Database(':memory:');
  const registry = new SqliteAgentRegistry({ db, log: pino({ level: 'silent' }), scryptCost: cheap });
  await registry.start();
  let lists = 0;
  const list = registry.list.bind(registry);
  registry.list = () => {
    lists++;
    return list();
  };
  return {
    registry,
    lists: () => lists,
    close: async () => {
      await registry.stop();
      db.close();
    },
  };
}

const ids = (records: { id: string }[]): string[] => records.map((r) => r.id).sort();

test('the list is read from the registry once while cached; each change through it shows at once', async () => {
  const { registry, lists, close } = await registryWithListCount();
  try {
    const api = new CachedAgentList(registry, new MemoryCache(), 60_000);
    await api.create('box-1', 'gym-a');
    assert.deepEqual(ids(await api.list()), ['box-1']);
    assert.deepEqual(ids(await api.list()), ['box-1']);
    assert.equal(lists(), 1);
    const { enrollment } = await api.createForEnrollment('box-2', 'gym-a');
    assert.deepEqual(ids(await api.list()), ['box-1', 'box-2']);
    assert.equal((await api.list()).find((a) => a.id === 'box-2')?.enrolled, false);
    await api.redeemEnrollment(enrollment.code, Date.now());
    assert.equal((await api.list()).find((a) => a.id === 'box-2')?.enrolled, true);
    await api.disable('box-1');
    assert.equal((await api.list()).find((a) => a.id === 'box-1')?.disabled, true);
    await api.enable('box-1');
    assert.notEqual((await api.list()).find((a) => a.id === 'box-1')?.disabled, true);
    await api.remove('box-1');
    assert.deepEqual(ids(await api.list()), ['box-2']);
    // A status written by ingest (its own registry, not through the list) waits for the ttl: the list stays as read.
    registry.setOnline('box-2', true);
    assert.equal((await api.list()).find((a) => a.id === 'box-2')?.online, false);
  } finally {
    await close();
  }
});

test('two replicas sharing one cache: a change made on one drops the list the other reads', async () => {
  const { registry, close } = await registryWithListCount();
  try {
    const shared = new MemoryCache();
    const replicaA = new CachedAgentList(registry, shared, 60_000);
    const replicaB = new CachedAgentList(registry, shared, 60_000);
    assert.deepEqual(ids(await replicaB.list()), []);
    await replicaA.create('box-1', 'gym-a');
    assert.deepEqual(ids(await replicaB.list()), ['box-1']);
  } finally {
    await close();
  }
});

test('a change that fails still drops the list, and its error reaches the caller', async () => {
  const { registry, lists, close } = await registryWithListCount();
  try {
    const api = new CachedAgentList(registry, new MemoryCache(), 60_000);
    await api.create('box-1', 'gym-a');
    await api.list();
    await assert.rejects(api.create('box-1', 'gym-a'));
    await api.list();
    assert.equal(lists(), 2);
  } finally {
    await close();
  }
});
