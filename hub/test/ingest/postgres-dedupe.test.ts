/**
 * PostgresDedupe against a real PostgreSQL (PG_URL, started by scripts/test-services.sh): the DedupeStore
 * contract, and what hub replicas sharing the ranges rely on. Each fixture gets a schema of its own.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { DedupeLimits } from '../../src/ingest/dedupe-store.ts';
import { PostgresDedupe } from '../../src/ingest/postgres-dedupe.ts';
import { dedupeContract } from './dedupe-contract.ts';
import { testPostgres } from '../postgres-test.ts';

const postgres = testPostgres('pb_dedupe_test');
const PG_URL = postgres.url;
const NO_PG = postgres.skip;

async function started(schema: string, limits: DedupeLimits = {}, load = true): Promise<PostgresDedupe> {
  const dedupe = new PostgresDedupe({ url: PG_URL!, schema, poolSize: 2, ...limits });
  await dedupe.start();
  if (load) dedupe.load();
  return dedupe;
}

dedupeContract(
  'postgres',
  async (limits) => {
    const schema = postgres.freshSchema();
    const stores = [await started(schema, limits)];
    const open = async (load: boolean): Promise<PostgresDedupe> => {
      const store = await started(schema, limits, load);
      stores.push(store);
      return store;
    };
    return {
      dedupe: stores[0]!,
      reopen: () => open(true),
      unloaded: () => open(false),
      storedRanges: async (agent, stream) =>
        (
          await postgres
            .admin()
            .query<{ first: string; last: string }>(`SELECT first, last FROM ${schema}.ingest_dedupe_ranges WHERE agent = $1 AND stream = $2 ORDER BY first`, [agent, stream])
        ).rows.map((r) => [Number(r.first), Number(r.last)]),
      storedStreams: async (agent) =>
        (await postgres.admin().query<{ stream: string }>(`SELECT stream FROM ${schema}.ingest_dedupe_streams WHERE agent = $1 ORDER BY used DESC`, [agent])).rows.map(
          (r) => r.stream,
        ),
      async breakStorage() {
        await postgres.admin().query(`DROP TABLE ${schema}.ingest_dedupe_streams CASCADE`);
      },
      async cleanup() {
        await Promise.all(stores.map((s) => s.stop()));
        await postgres.dropSchema(schema);
      },
    };
  },
  { skip: NO_PG },
);

describe('PostgresDedupe replicas', { skip: NO_PG }, () => {
  test('a batch recorded by one replica is a duplicate on every other, at once', async () => {
    const schema = postgres.freshSchema();
    const replicas = await Promise.all([started(schema), started(schema), started(schema)]);
    try {
      await replicas[0]!.record([{ agent: 'a1', stream: 's1', first: 0, last: 9, floor: 0 }]);
      for (const r of replicas) assert.equal(await r.isDuplicate('a1', 's1', 0, 9), true);
    } finally {
      await Promise.all(replicas.map((r) => r.stop()));
      await postgres.dropSchema(schema);
    }
  });

  test("replicas recording one agent's batches concurrently, in any order, leave exactly the merged ranges", async () => {
    const schema = postgres.freshSchema();
    const replicas = await Promise.all([started(schema), started(schema), started(schema)]);
    try {
      // 60 batches of 10, every other one of them out of order, spread over the replicas as a shared subscription would.
      const batches = Array.from({ length: 60 }, (_, i) => ({ agent: 'a1', stream: 's1', first: i * 10, last: i * 10 + 9, floor: 0 }));
      const order = batches.map((b, i) => (i % 2 === 0 ? b : batches[batches.length - i]!));
      await Promise.all(order.map((b, i) => replicas[i % 3]!.record([b, { ...b, agent: 'a2' }])));
      const { rows } = await postgres
        .admin()
        .query<{ agent: string; first: string; last: string }>(`SELECT agent, first, last FROM ${schema}.ingest_dedupe_ranges ORDER BY agent, first`);
      assert.deepEqual(
        rows.map((r) => [r.agent, Number(r.first), Number(r.last)]),
        [
          ['a1', 0, 599],
          ['a2', 0, 599],
        ],
      );
    } finally {
      await Promise.all(replicas.map((r) => r.stop()));
      await postgres.dropSchema(schema);
    }
  });

  test('replicas starting at once on an empty schema migrate once', async () => {
    const schema = postgres.freshSchema();
    const replicas = await Promise.all(Array.from({ length: 4 }, () => started(schema)));
    try {
      const { rows } = await postgres.admin().query(`SELECT component, version FROM ${schema}.state_migrations`);
      assert.deepEqual(rows, [{ component: 'ingest dedupe', version: 1 }]);
    } finally {
      await Promise.all(replicas.map((r) => r.stop()));
      await postgres.dropSchema(schema);
    }
  });
});
