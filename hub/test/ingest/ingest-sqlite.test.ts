/**
 * Ingest against the real embedded SeriesStore (SQLite) and a state database on disk: the same paths the hub
 * runs by default, restart included.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { Dedupe } from '../../src/ingest/dedupe.ts';
import { Ingest } from '../../src/ingest/ingest.ts';
import { MemoryLiveBus } from '../../src/live/live-bus.ts';
import { SqliteSeriesStore } from '../../src/storage/series/sqlite-series-store.ts';
import { FakeTransport } from './fakes.ts';
import { MemoryAgentRegistry } from '../memory-stores.ts';
import { HUB_TIME, waitFor } from './ingest-harness.ts';

const dir = mkdtempSync(join(tmpdir(), 'pb-ingest-sqlite-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const log = pino({ level: 'silent' });
const AGENT = 'gym-a-1';

async function startHub(): Promise<{ transport: FakeTransport; store: SqliteSeriesStore; ingest: Ingest; close(): Promise<void> }> {
  const store = new SqliteSeriesStore({ path: join(dir, 'series.db'), log });
  await store.start();
  const db = new Database(join(dir, 'state.db'));
  const transport = new FakeTransport();
  const ingest = new Ingest({
    transport,
    registry: new MemoryAgentRegistry({ [AGENT]: 'gym-a' }),
    store,
    live: new MemoryLiveBus(),
    dedupe: new Dedupe({ db }),
    log,
    now: () => HUB_TIME,
  });
  ingest.start();
  return {
    transport,
    store,
    ingest,
    async close() {
      await ingest.stop();
      await store.stop();
      db.close();
    },
  };
}

test('with the SQLite store: stored, acked, deduplicated across a restart, and refused ids isolated', async () => {
  const first = await startHub();
  for (let i = 0; i < 20; i++) first.transport.deliverReadings({ agent: AGENT, first: i * 50, count: 50 });
  // A backslash passes the wire schema but no store keeps it.
  first.transport.deliverReadings({ agent: AGENT, stream: 'odd', first: 0, count: 5, sensor: 'ble:a\\b' });
  await waitFor('every batch answered', () => first.transport.acks().length === 21);
  assert.equal(first.transport.acks().filter((a) => a.result === 'stored').length, 20);
  assert.deepEqual(
    first.transport
      .acks()
      .filter((a) => a.result === 'rejected')
      .map((a) => [a.stream, a.first, a.last]),
    [['odd', 0, 4]],
  );
  assert.equal(await first.store.count({ agent: AGENT, gym: 'gym-a' }), 1000);
  await first.close();

  const second = await startHub();
  second.transport.deliverReadings({ agent: AGENT, first: 500, count: 50 });
  second.transport.deliverReadings({ agent: AGENT, first: 975, count: 50 });
  await waitFor('the acks after the restart', () => second.transport.acks().length === 2);
  assert.deepEqual(
    second.transport.acks().map((a) => a.result),
    ['duplicate', 'stored'],
  );
  assert.equal(await second.store.count({ agent: AGENT }), 1025, 'the overlap is stored once');
  await second.close();
});
