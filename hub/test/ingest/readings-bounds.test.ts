/**
 * What a bad agent can send and what it must not cost the others: sequence numbers beyond any outbox,
 * readings stamped far from the hub's clock, payloads built to make a decoder throw.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MAX_DATE_MS, encodeBatch, encodeJsonMessage, type SeriesReadings } from '@pulsebridge/protocol';
import { Packr } from 'msgpackr';
import { readingTimeProblem, readingsInWindow } from '../../src/ingest/time-window.ts';
import { makeBatch } from './fakes.ts';
import { BAD, GOOD, HUB_TIME, ackOf, setupIngest, waitFor } from './ingest-harness.ts';

describe('Sequence numbers', () => {
  test('a batch with sequence 2^53 written in the same group does not make the hub forget the ranges of the others', async () => {
    const s = setupIngest({ maxWriteDelayMs: 50 });
    s.store.hold();
    s.transport.deliverReadings({ agent: GOOD, first: 0, count: 3 });
    const huge = 2 ** 53;
    s.transport.deliver(
      BAD,
      'readings',
      encodeBatch({
        agent: BAD,
        stream: 's1',
        first: huge,
        last: huge,
        floor: 0,
        clockUnsynced: false,
        series: [{ sensor: 'ble:hr-9', metric: 'heart_rate', ts: [HUB_TIME - 1_000], values: [70] }],
      }),
    );
    await waitFor('the grouped write', () => s.store.writeCalls.length >= 1);
    s.store.release();
    await waitFor('the good batch acked', () => s.transport.acks(GOOD).length === 1);
    assert.deepEqual(s.transport.acks(GOOD), [ackOf('s1', 0, 2, 'stored')]);
    s.transport.deliver(GOOD, 'readings', makeBatch({ agent: GOOD, first: 0, count: 3 }));
    await waitFor('the resend answered', () => s.transport.acks(GOOD).length === 2);
    assert.deepEqual(s.transport.acks(GOOD)[1], ackOf('s1', 0, 2, 'duplicate'), 'the resend is known as stored');
    await s.close();
  });
});

const DAY = 86_400_000;
const MINUTE = 60_000;
const WINDOW = { maxReadingAgeMs: 8 * DAY, maxReadingLeadMs: 5 * MINUTE };

const stamped = (ts: number[], over: { first?: number; clockUnsynced?: boolean; agent?: string } = {}): Buffer =>
  encodeBatch({
    agent: over.agent ?? GOOD,
    stream: 't1',
    first: over.first ?? 0,
    last: (over.first ?? 0) + ts.length - 1,
    floor: 0,
    clockUnsynced: over.clockUnsynced ?? false,
    ...(over.clockUnsynced ? { boot: 'boot-1' } : {}),
    series: [{ sensor: 'ble:hr-1', metric: 'heart_rate', ts, values: ts.map((_, i) => 60 + i) }],
  });

describe('Reading time window', () => {
  test('readingTimeProblem: both bounds are inside, a millisecond beyond is too old or too far ahead', () => {
    const now = HUB_TIME;
    assert.equal(readingTimeProblem(now, now, WINDOW), undefined);
    assert.equal(readingTimeProblem(now - 8 * DAY, now, WINDOW), undefined);
    assert.equal(readingTimeProblem(now - 8 * DAY - 1, now, WINDOW), 'too_old');
    assert.equal(readingTimeProblem(now + 5 * MINUTE, now, WINDOW), undefined);
    assert.equal(readingTimeProblem(now + 5 * MINUTE + 1, now, WINDOW), 'too_far_ahead');
    assert.equal(readingTimeProblem(0, now, WINDOW), 'too_old');
    assert.equal(readingTimeProblem(MAX_DATE_MS, now, WINDOW), 'too_far_ahead');
  });

  test('readingsInWindow keeps order and pairs of time and value, drops emptied series, and leaves an all-good list untouched', () => {
    const series: SeriesReadings[] = [
      { sensor: 'a', metric: 'heart_rate', ts: [0, HUB_TIME - 1, HUB_TIME, HUB_TIME + DAY, HUB_TIME + 2], values: [1, 2, 3, 4, 5] },
      { sensor: 'b', metric: 'heart_rate', ts: [1, 2], values: [6, 7] },
      { sensor: 'c', metric: 'heart_rate', ts: [HUB_TIME], values: [8] },
    ];
    const { series: kept, refused } = readingsInWindow(series, HUB_TIME, WINDOW);
    assert.deepEqual(kept, [
      { sensor: 'a', metric: 'heart_rate', ts: [HUB_TIME - 1, HUB_TIME, HUB_TIME + 2], values: [2, 3, 5] },
      { sensor: 'c', metric: 'heart_rate', ts: [HUB_TIME], values: [8] },
    ]);
    assert.deepEqual(refused, { too_old: 3, too_far_ahead: 1 });
    assert.deepEqual(series[0]?.ts.length, 5, 'the input is not changed');
    const good = readingsInWindow([series[2]!], HUB_TIME, WINDOW);
    assert.equal(good.series[0], series[2]);
    assert.deepEqual(good.refused, { too_old: 0, too_far_ahead: 0 });
  });

  test('readings stamped 1970, past the outbox age, minutes ahead or in year 3000 are refused and counted by reason; the rest of the batch is stored and acked', async () => {
    const s = setupIngest();
    const year3000 = Date.UTC(3000, 0, 1);
    const times = [0, HUB_TIME - 9 * DAY, HUB_TIME - 7 * DAY, HUB_TIME - 1_000, HUB_TIME + 4 * MINUTE, HUB_TIME + 6 * MINUTE, year3000, MAX_DATE_MS];
    s.transport.deliver(GOOD, 'readings', stamped(times));
    await waitFor('the ack', () => s.transport.acks(GOOD).length === 1);
    assert.deepEqual(s.transport.acks(GOOD), [ackOf('t1', 0, 7, 'stored')], 'the whole range is acked: resending cannot make the refused readings right');
    const raw = await s.store.readRaw({ sensor: 'ble:hr-1', metric: 'heart_rate', from: 0, to: MAX_DATE_MS }, 100);
    assert.deepEqual(
      raw.map((r) => r.ts),
      [HUB_TIME - 7 * DAY, HUB_TIME - 1_000, HUB_TIME + 4 * MINUTE],
    );
    assert.equal(await s.metric('pb_hub_ingest_readings_refused_total', { reason: 'too_old' }), 2);
    assert.equal(await s.metric('pb_hub_ingest_readings_refused_total', { reason: 'too_far_ahead' }), 3);
    assert.equal(await s.metric('pb_hub_ingest_readings_total'), 3);
    assert.equal(await s.metric('pb_hub_ingest_batches_total', { result: 'rejected' }), 0, 'the batch itself is not rejected');
    assert.equal(s.live[0]?.series[0]?.ts.length, 3, 'only the stored readings go live');
    const logged = s.logLines().filter((l) => l.agent === GOOD && String(l.msg).includes('time window'));
    assert.equal(logged.length, 1);
    assert.deepEqual(logged[0]?.refused, { too_old: 2, too_far_ahead: 3 });
    await s.close();
  });

  test('a batch with every reading out of the window is acked as stored and known as a duplicate when sent again', async () => {
    const s = setupIngest();
    s.transport.deliver(GOOD, 'readings', stamped([1, 2, 3]));
    await waitFor('the ack', () => s.transport.acks(GOOD).length === 1);
    assert.deepEqual(s.transport.acks(GOOD), [ackOf('t1', 0, 2, 'stored')]);
    assert.equal(await s.store.count({ agent: GOOD }), 0);
    s.transport.deliver(GOOD, 'readings', stamped([1, 2, 3]));
    await waitFor('the second ack', () => s.transport.acks(GOOD).length === 2);
    assert.deepEqual(s.transport.acks(GOOD)[1], ackOf('t1', 0, 2, 'duplicate'));
    assert.equal(await s.metric('pb_hub_ingest_readings_refused_total', { reason: 'too_old' }), 3, 'a duplicate is not counted twice');
    await s.close();
  });

  test('the window is configurable', async () => {
    const s = setupIngest({ maxReadingAgeMs: 1_000, maxReadingLeadMs: 0 });
    s.transport.deliver(GOOD, 'readings', stamped([HUB_TIME - 1_001, HUB_TIME - 1_000, HUB_TIME, HUB_TIME + 1]));
    await waitFor('the ack', () => s.transport.acks(GOOD).length === 1);
    assert.equal(await s.store.count({ agent: GOOD }), 2);
    assert.equal(await s.metric('pb_hub_ingest_readings_refused_total', { reason: 'too_old' }), 1);
    assert.equal(await s.metric('pb_hub_ingest_readings_refused_total', { reason: 'too_far_ahead' }), 1);
    await s.close();
  });

  test('readings flagged clock-unsynced are not judged by the window, only by what a Date can hold', async () => {
    const s = setupIngest();
    s.transport.deliver(GOOD, 'readings', stamped([1_000, HUB_TIME + DAY], { clockUnsynced: true }));
    await waitFor('the ack', () => s.transport.acks(GOOD).length === 1);
    assert.equal(s.transport.acks(GOOD)[0]?.result, 'stored');
    assert.equal(await s.metric('pb_hub_ingest_readings_refused_total', { reason: 'too_old' }), 0);
    const packr = new Packr({ useRecords: false });
    s.transport.deliver(GOOD, 'readings', packr.pack([1, GOOD, 't1', 5, 5, 0, 1, MAX_DATE_MS + 1, [['ble:hr-1', [[1, [0], [60]]]]]]));
    await waitFor('the rejected ack', () => s.transport.acks(GOOD).length === 2);
    assert.equal(s.transport.acks(GOOD)[1]?.result, 'rejected');
    assert.equal(await s.metric('pb_hub_ingest_rejected_total', { reason: 'out_of_range' }), 1);
    await s.close();
  });
});

/** A small seeded generator: the same payloads on every run, so a failure can be replayed. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('Untrusted payloads through ingest', () => {
  test('a status, inventory or event nested 30 000 levels deep in an unknown property is recorded without it, so storing it cannot throw', async () => {
    const s = setupIngest();
    const deep = '['.repeat(30_000) + ']'.repeat(30_000);
    s.transport.deliver(GOOD, 'status', Buffer.from(`{"state":"online","extra":${deep},"sources":{"ble":{"state":"running","x":${deep}}}}`));
    s.transport.deliver(GOOD, 'inventory', Buffer.from(`{"sensors":[{"id":"ble:hr-1","kind":"hr","source":"ble","metrics":["heart_rate"],"x":${deep}}],"y":${deep}}`));
    s.transport.deliver(GOOD, 'events', Buffer.from(`{"at":1,"type":"t","x":${deep}}`));
    await waitFor('status and inventory recorded', () => s.registry.statuses.length === 1 && s.registry.inventories.length === 1);
    assert.deepEqual(s.registry.statuses[0]?.status, { state: 'online', sources: { ble: { state: 'running' } } });
    assert.doesNotThrow(() => JSON.stringify(s.registry.statuses[0]), 'the SQLite registry stores JSON.stringify of it');
    assert.doesNotThrow(() => JSON.stringify(s.registry.inventories[0]));
    await s.metricReaches('pb_hub_ingest_messages_total', { kind: 'events', result: 'ok' }, 1);
    assert.deepEqual(
      s.logLines().filter((l) => Number(l.level) >= 40),
      [],
      'nothing logged as a problem',
    );
    await s.close();
  });

  test('fuzz: random and mutated payloads of every kind are each counted as a refusal or handled, never a decoder failure or a stack trace; a good agent loses nothing', async () => {
    const s = setupIngest({ maxWriteDelayMs: 1 });
    const random = prng(2026);
    const int = (n: number): number => Math.floor(random() * n);
    const packr = new Packr({ useRecords: false });
    const templates: Record<'readings' | 'status' | 'inventory' | 'events', Buffer> = {
      readings: stamped([HUB_TIME - 3_000, HUB_TIME - 2_000, HUB_TIME - 1_000], { agent: BAD }),
      status: encodeJsonMessage('status', { state: 'online', mono: 5, outbox: { readings: 1, bytes: 2, oldestAgeMs: 3, dropped: 0 }, sources: { ble: { state: 'running' } } }),
      inventory: encodeJsonMessage('inventory', { sensors: [{ id: 'ble:hr-1', kind: 'hr', source: 'ble', metrics: ['heart_rate'] }] }),
      events: encodeJsonMessage('events', { at: HUB_TIME, type: 'source_failed', detail: 'x' }),
    };
    const kinds = Object.keys(templates) as (keyof typeof templates)[];
    const atoms: unknown[] = [2n ** 63n - 1n, -(2n ** 63n), 2 ** 53, -1, 1.5, '', null, true, new Date(0), [], {}];
    const delivered: Record<string, number> = { readings: 0, status: 0, inventory: 0, events: 0 };
    const N = 1_200;
    let goodFirst = 0;
    for (let i = 0; i < N; i++) {
      const kind = kinds[i % kinds.length]!;
      const template = templates[kind];
      let payload: Buffer;
      switch (int(4)) {
        case 0:
          payload = Buffer.from(template);
          for (let flips = 1 + int(4); flips > 0; flips--) payload[int(payload.length)] = int(256);
          break;
        case 1:
          payload = template.subarray(0, int(template.length));
          break;
        case 2:
          payload = packr.pack(Array.from({ length: 1 + int(10) }, () => atoms[int(atoms.length)]));
          break;
        default:
          payload = Buffer.concat([Buffer.alloc(int(3) * 20_000, kind === 'readings' ? 0x91 : 0x5b), template]);
      }
      s.transport.deliver(BAD, kind, payload);
      delivered[kind]!++;
      if (i % 40 === 0) {
        s.transport.deliverReadings({ agent: GOOD, stream: 'g', first: goodFirst, count: 5 });
        goodFirst += 5;
      }
    }
    const answered = async (): Promise<number> => {
      const batches = await Promise.all(['stored', 'duplicate', 'rejected', 'in_progress'].map((result) => s.metric('pb_hub_ingest_batches_total', { result })));
      return batches.reduce((a, b) => a + b, 0);
    };
    await waitFor('every readings payload answered', async () => (await answered()) === delivered['readings']! + goodFirst / 5, 20_000);
    await waitFor('every good batch acked', () => s.transport.acks(GOOD).length === goodFirst / 5, 20_000);
    assert.ok(s.transport.acks(GOOD).every((a) => a.result === 'stored'));
    assert.equal(await s.store.count({ agent: GOOD }), goodFirst);
    assert.equal(await s.metric('pb_hub_ingest_rejected_total', { reason: 'decode_failure' }), 0);
    for (const kind of ['status', 'inventory', 'events']) {
      const { values } = await s.metrics.getSingleMetric('pb_hub_ingest_messages_total')!.get();
      const counted = values.filter((v) => v.labels['kind'] === kind).reduce((sum, v) => sum + v.value, 0);
      assert.equal(counted, delivered[kind], `${kind} messages each counted once`);
      assert.equal(values.find((v) => v.labels['kind'] === kind && v.labels['result'] === 'decode_failure')?.value ?? 0, 0, kind);
    }
    const problems = s.logLines().filter((l) => Number(l.level) >= 50 || (l.err as { stack?: unknown } | undefined)?.stack !== undefined);
    assert.deepEqual(problems, [], 'no error logged and no stack trace');
    await s.close();
  });
});
