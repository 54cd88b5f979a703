/**
 * The readings write queue through Ingest: validate, dedupe, grouped store writes, live publishing and acks
 * only after the write is durable; and every kind of bad batch.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { encodeBatch, type AckMessage } from '@pulsebridge/protocol';
import Database from 'better-sqlite3';
import { Packr } from 'msgpackr';
import { Dedupe } from '../../src/ingest/dedupe.ts';
import { Ingest } from '../../src/ingest/ingest.ts';
import { MemoryLiveBus } from '../../src/live/live-bus.ts';
import { FakeTransport, captureLogger, makeBatch } from './fakes.ts';
import { MemoryAgentRegistry, MemorySeriesStore } from '../memory-stores.ts';
import { storedRanges } from './dedupe-state.ts';
import { BAD, GOOD, HUB_TIME, ackOf, setupIngest, waitFor, type IngestSetup } from './ingest-harness.ts';

const dir = mkdtempSync(join(tmpdir(), 'pb-ingest-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const packr = new Packr({ useRecords: false, variableMapSize: true });

/** Rejected batches summed over every reason. */
async function rejectedInAll(s: IngestSetup): Promise<number> {
  const metric = s.metrics.getSingleMetric('pb_hub_ingest_rejected_total');
  const { values } = await metric!.get();
  return values.reduce((sum, v) => sum + v.value, 0);
}

describe('Readings write queue', () => {
  test('stores, publishes live, then acks each batch; the gym comes from the registry', async () => {
    const s = setupIngest();
    s.store.hold();
    s.transport.deliverReadings({ agent: GOOD, first: 0, count: 10 });
    s.transport.deliverReadings({ agent: GOOD, first: 10, count: 5 });
    await waitFor('the store write', () => s.store.writeCalls.length === 1);
    assert.deepEqual(s.transport.acks(), [], 'nothing is acked while the write is pending');
    assert.equal(s.live.length, 0, 'nothing is live before it is stored');
    s.store.release();
    await waitFor('two acks', () => s.transport.acks().length === 2);

    assert.deepEqual(s.transport.acks(GOOD), [ackOf('s1', 0, 9, 'stored'), ackOf('s1', 10, 14, 'stored')]);
    assert.deepEqual(s.store.writeCalls, [{ batches: 2, readings: 15, failed: false }]);
    assert.equal(await s.store.count({ agent: GOOD, gym: 'gym-a' }), 15);
    assert.deepEqual(
      s.live.map((l) => [l.gym, l.agent, l.series[0]?.ts.length]),
      [
        ['gym-a', GOOD, 10],
        ['gym-a', GOOD, 5],
      ],
    );
    const raw = await s.store.readRaw({ sensor: 'ble:hr-1', metric: 'heart_rate', from: 0, to: Number.MAX_SAFE_INTEGER }, 100);
    assert.deepEqual(raw[0], { ts: 1_700_000_000_000, value: 60 }, 'values survive the wire round trip');
    assert.deepEqual(
      s.registry.touches.map((t) => t.id),
      [GOOD, GOOD],
    );
    assert.equal(await s.metric('pb_hub_ingest_batches_total', { result: 'stored' }), 2);
    assert.equal(await s.metric('pb_hub_ingest_readings_total'), 15);
    assert.equal(await s.metric('pb_hub_ingest_queue_readings'), 0);
    assert.match(await s.metrics.metrics(), /^pb_hub_ingest_write_seconds_count 1$/m);
    await s.close();
  });

  test('a batch sent again is acked as duplicate and not written again, nor is a covered sub-range', async () => {
    const s = setupIngest();
    s.transport.deliverReadings({ agent: GOOD, first: 0, count: 20 });
    await waitFor('the first ack', () => s.transport.acks().length === 1);
    s.transport.deliverReadings({ agent: GOOD, first: 0, count: 20 });
    s.transport.deliverReadings({ agent: GOOD, first: 5, count: 10 });
    await waitFor('the duplicate acks', () => s.transport.acks().length === 3);
    assert.deepEqual(s.transport.acks().slice(1), [ackOf('s1', 0, 19, 'duplicate'), ackOf('s1', 5, 14, 'duplicate')]);
    assert.equal(s.store.writeCalls.length, 1);
    assert.equal(s.store.readingsWritten, 20);
    assert.equal(s.live.length, 1, 'duplicates are not published live again');
    assert.equal(await s.metric('pb_hub_ingest_batches_total', { result: 'duplicate' }), 2);
    // Same sequence numbers on another stream or agent are new data.
    s.transport.deliverReadings({ agent: GOOD, stream: 's2', first: 0, count: 20 });
    await waitFor('the other stream’s ack', () => s.transport.acks().length === 4);
    assert.deepEqual(s.transport.acks()[3], ackOf('s2', 0, 19, 'stored'));
    await s.close();
  });

  test('a batch sent again while its first copy waits for the store is written once and acked once', async () => {
    const s = setupIngest();
    s.store.hold();
    s.transport.deliverReadings({ agent: GOOD, first: 0, count: 10 });
    await waitFor('the store write', () => s.store.writeCalls.length === 1);
    s.transport.deliverReadings({ agent: GOOD, first: 0, count: 10 });
    await s.metricReaches('pb_hub_ingest_batches_total', { result: 'in_progress' }, 1);
    s.store.release();
    await waitFor('the ack', () => s.transport.acks().length === 1);
    // stop() waits for every pending write and ack: a second ack would be there by now.
    await s.ingest.stop();
    assert.equal(s.transport.acks().length, 1);
    assert.equal(s.store.readingsWritten, 10);
    await s.close();
  });

  test('a re-sent range partly overlapping stored ones is written again, and the store keeps one copy', async () => {
    const s = setupIngest();
    s.transport.deliverReadings({ agent: GOOD, first: 0, count: 10 });
    await waitFor('the first ack', () => s.transport.acks().length === 1);
    s.transport.deliverReadings({ agent: GOOD, first: 5, count: 10 });
    await waitFor('the second ack', () => s.transport.acks().length === 2);
    assert.deepEqual(s.transport.acks()[1], ackOf('s1', 5, 14, 'stored'));
    assert.equal(await s.store.count({ agent: GOOD }), 15);
    assert.deepEqual(storedRanges(s.db, GOOD, 's1'), [[0, 14]]);
    await s.close();
  });

  test('dedupe survives a hub restart on the same state database', async () => {
    const dbPath = join(dir, 'restart.db');
    const store = new MemorySeriesStore();
    const first = setupIngest({ dbPath, store });
    first.transport.deliverReadings({ agent: GOOD, first: 0, count: 50 });
    first.transport.deliverReadings({ agent: GOOD, first: 100, count: 50 });
    await waitFor('the acks before the restart', () => first.transport.acks().length === 2);
    await first.close();

    const second = setupIngest({ dbPath, store });
    second.transport.deliverReadings({ agent: GOOD, first: 100, count: 50 });
    second.transport.deliverReadings({ agent: GOOD, first: 50, count: 50 });
    await waitFor('the acks after the restart', () => second.transport.acks().length === 2);
    assert.deepEqual(second.transport.acks(), [ackOf('s1', 100, 149, 'duplicate'), ackOf('s1', 50, 99, 'stored')]);
    assert.equal(store.readingsWritten, 150, 'the duplicate was not written again');
    assert.deepEqual(storedRanges(second.db, GOOD, 's1'), [[0, 149]]);
    await second.close();
  });

  test('out-of-order batches and the floor: gaps stay new data, ranges under the floor are forgotten', async () => {
    const s = setupIngest();
    s.transport.deliverReadings({ agent: GOOD, first: 20, count: 10 });
    s.transport.deliverReadings({ agent: GOOD, first: 0, count: 10 });
    await waitFor('two acks', () => s.transport.acks().length === 2);
    assert.deepEqual(storedRanges(s.db, GOOD, 's1'), [
      [0, 9],
      [20, 29],
    ]);
    s.transport.deliverReadings({ agent: GOOD, first: 10, count: 10, floor: 10 });
    await waitFor('the gap’s ack', () => s.transport.acks().length === 3);
    assert.deepEqual(s.transport.acks()[2], ackOf('s1', 10, 19, 'stored'));
    assert.deepEqual(storedRanges(s.db, GOOD, 's1'), [[0, 29]], 'merged; the floor cuts through the range so it stays');
    s.transport.deliverReadings({ agent: GOOD, first: 40, count: 10, floor: 35 });
    await waitFor('the ack above the floor', () => s.transport.acks().length === 4);
    assert.deepEqual(storedRanges(s.db, GOOD, 's1'), [[40, 49]]);
    await s.close();
  });

  test('a failed store write is not acked, is retried without crashing, and is acked once it succeeds', async () => {
    const s = setupIngest({ retryDelayMs: 10, maxRetryDelayMs: 40 });
    s.store.failWritesWith = new Error('disk full');
    s.transport.deliverReadings({ agent: GOOD, first: 0, count: 10 });
    await waitFor('three failed writes', async () => (await s.metric('pb_hub_ingest_store_failures_total')) >= 3);
    assert.deepEqual(s.transport.acks(), []);
    assert.equal(s.live.length, 0);
    assert.equal(s.dedupe.isDuplicate(GOOD, 's1', 0, 9), false, 'not recorded as stored');
    // The agent's ack timeout fires and it resends; the copy waiting for retry answers it.
    s.transport.deliverReadings({ agent: GOOD, first: 0, count: 10 });
    s.transport.deliverReadings({ agent: GOOD, first: 10, count: 10 });
    await s.metricReaches('pb_hub_ingest_batches_total', { result: 'in_progress' }, 1);
    assert.equal(await s.metric('pb_hub_ingest_queue_readings'), 20, 'both batches wait for the store');
    s.store.failWritesWith = undefined;
    await waitFor('the acks after recovery', () => s.transport.acks().length === 2);
    assert.deepEqual(s.transport.acks(), [ackOf('s1', 0, 9, 'stored'), ackOf('s1', 10, 19, 'stored')]);
    assert.equal(s.store.readingsWritten, 20);
    const failures = await s.metric('pb_hub_ingest_store_failures_total');
    const retries = s.store.writeCalls.filter((c) => c.failed).length;
    assert.equal(retries, failures);
    assert.ok(s.logLines().some((l) => l.msg === 'store write failed; batches kept unacknowledged for retry' && (l.err as { message?: string })?.message === 'disk full'));
    await s.close();
  });

  test('a full queue does not ack new batches; they are stored when resent after it drains', async () => {
    const s = setupIngest({ maxQueuedReadings: 15 });
    s.store.hold();
    s.transport.deliverReadings({ agent: GOOD, first: 0, count: 10 });
    s.transport.deliverReadings({ agent: GOOD, first: 10, count: 5 });
    s.transport.deliverReadings({ agent: BAD, first: 0, count: 5 });
    await s.metricReaches('pb_hub_ingest_batches_total', { result: 'dropped_backpressure' }, 1);
    assert.equal(await s.metric('pb_hub_ingest_queue_readings'), 15);
    s.store.release();
    await waitFor('the acks of what was queued', () => s.transport.acks().length === 2);
    assert.deepEqual(s.transport.acks(BAD), [], 'the batch refused for backpressure was not acked');
    s.transport.deliverReadings({ agent: BAD, first: 0, count: 5 });
    await waitFor('the resent batch’s ack', () => s.transport.acks(BAD).length === 1);
    assert.deepEqual(s.transport.acks(BAD), [ackOf('s1', 0, 4, 'stored')]);
    await s.close();
  });

  test('groups many small batches into few store writes, each within maxWriteReadings', async () => {
    const s = setupIngest({ maxWriteDelayMs: 30, maxWriteReadings: 1000 });
    for (let i = 0; i < 300; i++) s.transport.deliverReadings({ agent: GOOD, first: i * 5, count: 5 });
    await waitFor('300 acks', () => s.transport.acks().length === 300, 5000);
    assert.ok(s.store.writeCalls.length <= 3, `${s.store.writeCalls.length} writes for 300 batches`);
    assert.ok(s.store.writeCalls.length >= 2, 'maxWriteReadings splits 1500 readings');
    assert.ok(s.store.writeCalls.every((c) => c.readings <= 1000));
    assert.equal(await s.store.count({ agent: GOOD }), 1500);
    assert.deepEqual(storedRanges(s.db, GOOD, 's1'), [[0, 1499]]);
    await s.close();
  });

  test('one write in flight at a time; batches arriving meanwhile share the next write', async () => {
    const s = setupIngest({ maxWriteDelayMs: 0 });
    s.store.hold();
    s.transport.deliverReadings({ agent: GOOD, first: 0, count: 1 });
    await waitFor('the first write', () => s.store.writeCalls.length === 1);
    for (let i = 1; i <= 20; i++) s.transport.deliverReadings({ agent: GOOD, first: i, count: 1 });
    await s.metricReaches('pb_hub_ingest_queue_readings', {}, 21);
    assert.equal(s.store.writeCalls.length, 1, 'no second write while the first is pending');
    s.store.release();
    await waitFor('all acks', () => s.transport.acks().length === 21);
    assert.deepEqual(
      s.store.writeCalls.map((c) => c.batches),
      [1, 20],
    );
    await s.close();
  });

  test('a registry failure defers the batch: no ack, nothing stored', async () => {
    const s = setupIngest();
    s.registry.getError = new Error('registry down');
    s.transport.deliverReadings({ agent: GOOD, first: 0, count: 10 });
    await s.metricReaches('pb_hub_ingest_batches_total', { result: 'deferred' }, 1);
    assert.deepEqual(s.transport.acks(), []);
    assert.equal(s.store.writeCalls.length, 0);
    s.registry.getError = undefined;
    s.transport.deliverReadings({ agent: GOOD, first: 0, count: 10 });
    await waitFor('the ack after the registry is back', () => s.transport.acks().length === 1);
    await s.close();
  });

  test('a transport that cannot publish acks does not break ingest', async () => {
    const s = setupIngest();
    s.transport.publishError = new Error('client gone');
    s.transport.deliverReadings({ agent: GOOD, first: 0, count: 10 });
    await s.metricReaches('pb_hub_ingest_batches_total', { result: 'stored' }, 1);
    s.transport.publishError = undefined;
    // The agent never saw its ack and resends: dedupe answers.
    s.transport.deliverReadings({ agent: GOOD, first: 0, count: 10 });
    await waitFor('the duplicate ack', () => s.transport.acks().length === 1);
    assert.deepEqual(s.transport.acks(), [ackOf('s1', 0, 9, 'duplicate')]);
    await s.close();
  });

  test('a live subscriber that throws does not stop the acks', async () => {
    const transport = new FakeTransport();
    const liveBus = new MemoryLiveBus();
    liveBus.subscribe({}, () => {
      throw new Error('subscriber bug');
    });
    const db = new Database(':memory:');
    const ingest = new Ingest({
      transport,
      registry: new MemoryAgentRegistry({ [GOOD]: 'gym-a' }),
      store: new MemorySeriesStore(),
      live: liveBus,
      dedupe: new Dedupe({ db }),
      log: captureLogger().log,
      now: () => HUB_TIME,
    });
    ingest.start();
    transport.deliver(GOOD, 'readings', makeBatch({ agent: GOOD, first: 0, count: 3 }));
    await waitFor('the ack', () => transport.acks().length === 1);
    assert.equal(transport.acks()[0]?.result, 'stored');
    await ingest.stop();
    db.close();
  });
});

describe('Readings write queue: bad input', () => {
  const T0 = 1_700_000_000_000;
  const wire = (fields: { version?: unknown; agent?: unknown; first?: number; last?: number; t0?: unknown; sensors?: unknown }): Buffer =>
    packr.pack([
      fields.version ?? 1,
      fields.agent ?? BAD,
      'bad',
      fields.first ?? 0,
      fields.last ?? 2,
      0,
      0,
      fields.t0 ?? T0,
      fields.sensors ?? [['hr', [[1, [0, 1000, 0], [100, 1, 1]]]]],
    ]);

  const cases: { name: string; payload: () => Buffer; reason: string; acked: AckMessage | undefined; agent?: string }[] = [
    { name: 'garbage bytes', payload: () => Buffer.from([0xc1, 0xff, 0x00, 0x13]), reason: 'malformed', acked: undefined },
    { name: 'not an array', payload: () => packr.pack({ agent: BAD }), reason: 'malformed', acked: undefined },
    { name: 'wrong version', payload: () => wire({ version: 2 }), reason: 'unsupported_version', acked: ackOf('bad', 0, 2, 'rejected') },
    { name: 'count mismatch', payload: () => wire({ last: 5 }), reason: 'count_mismatch', acked: ackOf('bad', 0, 5, 'rejected') },
    { name: 'unknown metric code', payload: () => wire({ sensors: [['hr', [[999, [0, 1000, 0], [1, 1, 1]]]]] }), reason: 'unknown_metric', acked: ackOf('bad', 0, 2, 'rejected') },
    { name: 'value out of range', payload: () => wire({ sensors: [['hr', [[1, [0, 1000, 0], [100, 400, 0]]]]] }), reason: 'out_of_range', acked: ackOf('bad', 0, 2, 'rejected') },
    { name: 'schema violation', payload: () => wire({ t0: 'yesterday' }), reason: 'invalid', acked: ackOf('bad', 0, 2, 'rejected') },
    {
      name: 'agent mismatch',
      payload: () => makeBatch({ agent: GOOD, stream: 'bad', first: 0, count: 3 }),
      reason: 'agent_mismatch',
      acked: ackOf('bad', 0, 2, 'rejected'),
    },
    {
      name: 'oversized',
      payload: () => makeBatch({ agent: BAD, stream: 'bad', first: 7, count: 3000 }),
      reason: 'too_large',
      acked: ackOf('bad', 7, 3006, 'rejected'),
    },
    { name: 'unknown agent', payload: () => makeBatch({ agent: 'ghost', stream: 'bad', first: 0, count: 3 }), reason: 'unknown_agent', acked: undefined, agent: 'ghost' },
  ];

  for (const c of cases) {
    test(`${c.name} is rejected with reason ${c.reason}${c.acked ? ' and a rejected ack' : ', without an ack'}; nothing is written`, async () => {
      const s = setupIngest({ maxBatchBytes: 4096 });
      const sender = c.agent ?? BAD;
      s.transport.deliver(sender, 'readings', c.payload());
      await s.metricReaches('pb_hub_ingest_batches_total', { result: 'rejected' }, 1);
      const acks = s.transport.acks(sender);
      if (c.acked) {
        assert.equal(acks.length, 1);
        const { reason, ...ack } = acks[0]!;
        assert.deepEqual(ack, c.acked);
        assert.ok(reason?.startsWith(`${c.reason}: `), `ack reason "${reason}"`);
        assert.ok(reason !== undefined && reason.length <= 256);
      } else {
        assert.deepEqual(acks, []);
      }
      assert.equal(await s.metric('pb_hub_ingest_rejected_total', { reason: c.reason }), 1);
      assert.equal(await rejectedInAll(s), 1, 'counted under no other reason');
      assert.equal(s.store.writeCalls.length, 0);
      assert.equal(s.live.length, 0);
      await s.close();
    });
  }

  test('a batch the store refuses is found by splitting the group, rejected, and holds up nobody', async () => {
    const s = setupIngest({ maxWriteDelayMs: 30 });
    s.store.refuseSensor = 'ble:refused-by-store';
    for (let i = 0; i < 32; i++) {
      if (i === 11) s.transport.deliverReadings({ agent: BAD, stream: 'x', first: 0, count: 4, sensor: 'ble:refused-by-store' });
      s.transport.deliverReadings({ agent: GOOD, first: i * 3, count: 3 });
    }
    await waitFor('every batch answered', () => s.transport.acks().length === 33);
    assert.ok(s.transport.acks(GOOD).every((a) => a.result === 'stored'));
    const [refused] = s.transport.acks(BAD);
    assert.equal(refused?.result, 'rejected');
    assert.deepEqual([refused?.stream, refused?.first, refused?.last], ['x', 0, 3]);
    assert.match(refused?.reason ?? '', /^store_refused: /);
    assert.equal(await s.store.count({ agent: GOOD }), 96);
    assert.equal(await s.metric('pb_hub_ingest_rejected_total', { reason: 'store_refused' }), 1);
    assert.equal(await s.metric('pb_hub_ingest_store_failures_total'), 0, 'a refusal is not a store failure');
    assert.equal(await s.metric('pb_hub_ingest_queue_readings'), 0);
    assert.ok(s.store.writeCalls.length <= 12, `${JSON.stringify(s.store.writeCalls)} writes to isolate one batch among 33`);
    assert.equal(s.dedupe.isDuplicate(BAD, 'x', 0, 3), false);
    await s.close();
  });

  test('a well-behaved agent interleaved with every kind of bad batch loses nothing', async () => {
    const s = setupIngest({ maxBatchBytes: 4096, maxWriteDelayMs: 1 });
    let first = 0;
    for (let round = 0; round < 5; round++) {
      for (const c of cases) {
        s.transport.deliver(c.agent ?? BAD, 'readings', c.payload());
        s.transport.deliverReadings({ agent: GOOD, first, count: 7 });
        first += 7;
      }
      await waitFor(`round ${round} acked`, () => s.transport.acks(GOOD).length === (round + 1) * cases.length);
    }
    const goodBatches = 5 * cases.length;
    await waitFor('every good batch acked', () => s.transport.acks(GOOD).length === goodBatches);
    assert.ok(s.transport.acks(GOOD).every((a) => a.result === 'stored'));
    assert.equal(await s.store.count({ agent: GOOD }), first);
    assert.equal(await s.store.count({}), first, 'nothing from the bad batches was stored');
    assert.deepEqual(storedRanges(s.db, GOOD, 's1'), [[0, first - 1]]);
    assert.equal(await s.metric('pb_hub_ingest_batches_total', { result: 'rejected' }), 5 * cases.length);
    for (const c of cases) assert.equal(await s.metric('pb_hub_ingest_rejected_total', { reason: c.reason }), c.reason === 'malformed' ? 10 : 5, c.reason);
    await s.close();
  });

  test('rejections are logged at most once per agent and reason per interval, and counted in full', async () => {
    const s = setupIngest({ rejectLogIntervalMs: 60_000 });
    for (let i = 0; i < 50; i++) s.transport.deliver(BAD, 'readings', Buffer.from([0xc1]));
    s.transport.deliver(GOOD, 'readings', Buffer.from([0xc1]));
    await s.metricReaches('pb_hub_ingest_batches_total', { result: 'rejected' }, 51);
    const logged = s.logLines().filter((l) => l.msg === 'readings batch rejected');
    assert.deepEqual(logged.map((l) => l.agent).sort(), [GOOD, BAD].sort(), 'one line per agent: a noisy agent does not hide another');
    assert.equal(await s.metric('pb_hub_ingest_rejected_total', { reason: 'malformed' }), 51);
    await s.close();
  });

  test('a batch rejected for good is not remembered: a corrected batch with the same range is stored', async () => {
    const s = setupIngest();
    s.transport.deliver(BAD, 'readings', packr.pack([1, BAD, 's1', 0, 2, 0, 0, T0, [['hr', [[1, [0, 1000, 0], [100, 500, 0]]]]]]));
    await waitFor('the rejected ack', () => s.transport.acks(BAD).length === 1);
    s.transport.deliverReadings({ agent: BAD, first: 0, count: 3 });
    await waitFor('the stored ack', () => s.transport.acks(BAD).length === 2);
    assert.equal(s.transport.acks(BAD)[1]?.result, 'stored');
    await s.close();
  });
});

test('encodeBatch-made batches decode through ingest with several sensors and metrics intact', async () => {
  const s = setupIngest();
  const T = HUB_TIME - 60_000;
  const payload = encodeBatch({
    agent: GOOD,
    stream: 'mix',
    first: 0,
    last: 5,
    floor: 0,
    clockUnsynced: false,
    series: [
      { sensor: 'ant:pwr:1', metric: 'power', ts: [T + 1000, T + 2000, T + 3000], values: [250, -5, 300] },
      { sensor: 'ant:pwr:1', metric: 'cadence', ts: [T + 1000, T + 2000], values: [90.5, 91] },
      { sensor: 'gps:1', metric: 'latitude', ts: [T + 1500], values: [47.3769123] },
    ],
  });
  s.transport.deliver(GOOD, 'readings', payload);
  await waitFor('the ack', () => s.transport.acks().length === 1);
  assert.deepEqual(await s.store.readRaw({ sensor: 'ant:pwr:1', metric: 'cadence', from: T, to: T + 10_000 }, 10), [
    { ts: T + 1000, value: 90.5 },
    { ts: T + 2000, value: 91 },
  ]);
  assert.deepEqual(await s.store.readRaw({ sensor: 'gps:1', metric: 'latitude', from: T, to: T + 10_000 }, 10), [{ ts: T + 1500, value: 47.3769123 }]);
  assert.equal(await s.store.count({ sensor: 'ant:pwr:1' }), 5);
  await s.close();
});
