/**
 * The series limit through ingest, against the real SQLite store: readings of a new series past
 * maxSeriesPerAgent are refused and counted, the rest of the batch is stored, published live and acked.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { encodeBatch, type SeriesReadings } from '@pulsebridge/protocol';
import Database from 'better-sqlite3';
import { Registry } from 'prom-client';
import { Dedupe } from '../../src/ingest/dedupe.ts';
import { Ingest } from '../../src/ingest/ingest.ts';
import { MemoryLiveBus, type LiveReadings } from '../../src/live/live-bus.ts';
import { SqliteSeriesStore } from '../../src/storage/series/sqlite-series-store.ts';
import { FakeTransport, captureLogger } from './fakes.ts';
import { MemoryAgentRegistry } from '../memory-stores.ts';
import { HUB_TIME, ackOf, metricValue, waitFor } from './ingest-harness.ts';

const dir = mkdtempSync(join(tmpdir(), 'pb-series-limit-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const AGENT = 'gym-a-1';
const OTHER = 'gym-a-2';

/** `count` readings of each sensor, a second apart from `offset` seconds, a minute before the hub's clock. */
function sensors(names: readonly string[], count: number, offset = 0): SeriesReadings[] {
  return names.map((sensor) => ({
    sensor,
    metric: 'power',
    ts: Array.from({ length: count }, (_, i) => HUB_TIME - 60_000 + (offset + i) * 1_000),
    values: Array.from({ length: count }, (_, i) => 100 + i),
  }));
}

function batch(agent: string, first: number, series: SeriesReadings[]): Buffer {
  const readings = series.reduce((n, s) => n + s.ts.length, 0);
  return encodeBatch({ agent, stream: 's1', first, last: first + readings - 1, floor: 0, clockUnsynced: false, series });
}

test('a new series past maxSeriesPerAgent is refused and counted; the rest of its batch is stored, published live and acked', async () => {
  const store = new SqliteSeriesStore({ path: join(dir, 'series.db'), log: captureLogger().log, maxSeriesPerAgent: 3 });
  await store.start();
  const db = new Database(':memory:');
  const transport = new FakeTransport();
  const live: LiveReadings[] = [];
  const liveBus = new MemoryLiveBus();
  liveBus.subscribe({}, (r) => live.push(r));
  const metrics = new Registry();
  const { log, lines } = captureLogger();
  const registry = new MemoryAgentRegistry({ [AGENT]: 'gym-a', [OTHER]: 'gym-a' });
  const ingest = new Ingest({ transport, registry, store, live: liveBus, dedupe: new Dedupe({ db }), log, metrics, now: () => HUB_TIME });
  ingest.start();
  try {
    // Five sensors of 4 readings: the first three fit, the last two are new series past the limit.
    transport.deliver(AGENT, 'readings', batch(AGENT, 0, sensors(['ant:pwr:1', 'ant:pwr:2', 'ant:pwr:3', 'ant:pwr:4', 'ant:pwr:5'], 4)));
    await waitFor('the first ack', () => transport.acks().length === 1);
    assert.deepEqual(transport.acks(AGENT), [ackOf('s1', 0, 19, 'stored')]);
    assert.equal(await store.count({ agent: AGENT }), 12);
    assert.deepEqual(
      (await store.listSeries({ agent: AGENT }, { limit: 10 })).map((s) => s.sensor),
      ['ant:pwr:1', 'ant:pwr:2', 'ant:pwr:3'],
    );
    assert.equal(await metricValue(metrics, 'pb_hub_ingest_readings_refused_total', { reason: 'series_limit' }), 8);
    assert.equal(await metricValue(metrics, 'pb_hub_ingest_readings_total'), 12, 'refused readings are not counted as stored');
    assert.deepEqual(
      live.flatMap((l) => l.series.map((s) => s.sensor)),
      ['ant:pwr:1', 'ant:pwr:2', 'ant:pwr:3'],
      'live subscribers see only what was stored',
    );
    const warned = lines().filter((l) => typeof l['msg'] === 'string' && (l['msg'] as string).includes('maxSeriesPerAgent'));
    assert.equal(warned.length, 1, 'the refusals of one agent are logged once per interval');
    assert.equal(warned[0]!['agent'], AGENT);

    // Known series keep being stored; another agent has a limit of its own.
    transport.deliver(AGENT, 'readings', batch(AGENT, 20, sensors(['ant:pwr:3', 'ant:pwr:6'], 2, 10)));
    transport.deliver(OTHER, 'readings', batch(OTHER, 0, sensors(['ant:pwr:4', 'ant:pwr:5'], 2)));
    await waitFor('three acks', () => transport.acks().length === 3);
    assert.deepEqual(transport.acks(AGENT)[1], ackOf('s1', 20, 23, 'stored'));
    assert.deepEqual(transport.acks(OTHER), [ackOf('s1', 0, 3, 'stored')]);
    assert.equal(await store.count({ agent: AGENT }), 14);
    assert.equal(await store.count({ agent: OTHER }), 4);
    assert.equal(await metricValue(metrics, 'pb_hub_ingest_readings_refused_total', { reason: 'series_limit' }), 10);
    assert.equal(await metricValue(metrics, 'pb_hub_ingest_batches_total', { result: 'stored' }), 3);
  } finally {
    await ingest.stop();
    await store.stop();
    db.close();
  }
});
