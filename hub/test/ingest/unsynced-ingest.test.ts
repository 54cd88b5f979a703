/**
 * Readings batches whose clock the agent could not confirm (`clockUnsynced`, naming their boot): stored apart
 * from the series, acknowledged like any other once durable, deduplicated, and never published live.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { UNKNOWN_BOOT, encodeBatch, type SeriesReadings } from '@pulsebridge/protocol';
import { Packr } from 'msgpackr';
import pino from 'pino';
import { UnsyncedTally } from '../../src/unsynced/unsynced-tally.ts';
import { MemorySeriesStore } from '../memory-stores.ts';
import { GOOD, ackOf, setupIngest, waitFor } from './ingest-harness.ts';

const T0 = 1_700_000_000_000;
const packr = new Packr({ useRecords: false, variableMapSize: true });

function readings(first: number, count: number): SeriesReadings[] {
  return [
    { sensor: 'ble:hr-1', metric: 'heart_rate', ts: Array.from({ length: count }, (_, i) => T0 + (first + i) * 1_000), values: Array.from({ length: count }, (_, i) => 60 + i) },
  ];
}

function unsyncedBatch(first: number, count: number, boot = 'boot-7', stream = 's1'): Buffer {
  return encodeBatch({ agent: GOOD, stream, first, last: first + count - 1, floor: 0, clockUnsynced: true, boot, series: readings(first, count) });
}

describe('Readings of an unconfirmed clock at ingest', () => {
  test('a flagged batch is stored apart under its boot, acked as stored, and not published live; a synced one still is', async () => {
    let told = 0;
    const s = setupIngest({ onUnsyncedStored: () => told++ });
    s.transport.deliver(GOOD, 'readings', unsyncedBatch(0, 3));
    s.transport.deliverReadings({ agent: GOOD, stream: 's2', first: 0, count: 2 });
    await waitFor('both acks', () => s.transport.acks().length === 2);
    assert.deepEqual(
      s.transport.acks().sort((a, b) => a.stream.localeCompare(b.stream)),
      [ackOf('s1', 0, 2, 'stored'), ackOf('s2', 0, 1, 'stored')],
    );
    assert.equal(s.store.points.length, 2, 'only the synced readings are in the series');
    assert.deepEqual(
      [...s.store.unsynced.values()].map((p) => [p.gym, p.agent, p.boot, p.ts]),
      [0, 1, 2].map((i) => ['gym-a', GOOD, 'boot-7', T0 + i * 1_000]),
    );
    assert.deepEqual(
      s.live.flatMap((r) => r.series.map((x) => x.ts.length)),
      [2],
      'only the synced batch went live',
    );
    assert.equal(told, 1);
    assert.equal(await s.metric('pb_hub_ingest_readings_total'), 5, 'held readings are durably stored readings too');
    await s.close();
  });

  test('a resend of a stored flagged batch is acked as a duplicate without a second write', async () => {
    const s = setupIngest();
    s.transport.deliver(GOOD, 'readings', unsyncedBatch(0, 3));
    await waitFor('the first ack', () => s.transport.acks().length === 1);
    s.transport.deliver(GOOD, 'readings', unsyncedBatch(0, 3));
    await waitFor('the second ack', () => s.transport.acks().length === 2);
    assert.deepEqual(s.transport.acks()[1], ackOf('s1', 0, 2, 'duplicate'));
    assert.equal(s.store.unsyncedWriteCalls.length, 1);
    await s.close();
  });

  test('a flagged batch from an agent that does not name boots is held under the unknown boot', async () => {
    const s = setupIngest();
    // The nine-element wire form of agents older than boot names, flag bit 0 set.
    s.transport.deliver(GOOD, 'readings', packr.pack([1, GOOD, 's1', 0, 1, 0, 1, T0, [['ble:hr-1', [[1, [0, 1000], [60, 1]]]]]]));
    await waitFor('the ack', () => s.transport.acks().length === 1);
    assert.deepEqual(s.transport.acks()[0], ackOf('s1', 0, 1, 'stored'));
    assert.deepEqual(
      [...s.store.unsynced.values()].map((p) => p.boot),
      [UNKNOWN_BOOT, UNKNOWN_BOOT],
    );
    await s.close();
  });

  test('a flagged batch whose write fails is not acked, and is stored and acked on the retry', async () => {
    const s = setupIngest();
    s.store.failWritesWith = new Error('disk unavailable');
    s.transport.deliver(GOOD, 'readings', unsyncedBatch(0, 2));
    await waitFor('a failed write', () => s.store.unsyncedWriteCalls.length >= 1);
    assert.deepEqual(s.transport.acks(), []);
    s.store.failWritesWith = undefined;
    await waitFor('the ack after the retry', () => s.transport.acks().length === 1);
    assert.deepEqual(s.transport.acks()[0], ackOf('s1', 0, 1, 'stored'));
    assert.equal(s.store.unsynced.size, 2);
    await s.close();
  });

  test('readings of one boot more than maxUnsyncedBootsPerAgent are refused and counted, acked, and the held boots still take readings', async () => {
    const store = new MemorySeriesStore();
    const tally = new UnsyncedTally({ store, log: pino({ level: 'silent' }), limits: { maxBootsPerAgent: 2, maxSensorsPerAgent: 100 } });
    const s = setupIngest({ store, unsyncedBoots: tally, onUnsyncedStored: () => void tally.refresh() });
    s.transport.deliver(GOOD, 'readings', unsyncedBatch(0, 2, 'boot-a', 'a'));
    s.transport.deliver(GOOD, 'readings', unsyncedBatch(0, 2, 'boot-b', 'b'));
    await waitFor('two acks', () => s.transport.acks().length === 2);
    s.transport.deliver(GOOD, 'readings', unsyncedBatch(0, 3, 'boot-c', 'c'));
    s.transport.deliver(GOOD, 'readings', unsyncedBatch(2, 2, 'boot-a', 'a'));
    await waitFor('four acks', () => s.transport.acks().length === 4);
    assert.deepEqual(
      s.transport.acks().map((a) => [a.stream, a.result]),
      [
        ['a', 'stored'],
        ['b', 'stored'],
        ['c', 'stored'],
        ['a', 'stored'],
      ],
      'a refused boot is acked: resending cannot change the limit, an operator can',
    );
    assert.deepEqual([...new Set([...store.unsynced.values()].map((p) => p.boot))].sort(), ['boot-a', 'boot-b']);
    assert.equal(store.unsynced.size, 6);
    assert.equal(await s.metric('pb_hub_ingest_readings_refused_total', { reason: 'unsynced_boot_limit' }), 3);
    assert.equal(await s.metric('pb_hub_ingest_readings_total'), 6, 'refused readings are not counted as stored');

    // Once an operator settles a boot, the next one is taken.
    await store.discardUnsynced(GOOD, 'boot-b');
    await tally.refresh();
    s.transport.deliver(GOOD, 'readings', unsyncedBatch(10, 1, 'boot-c', 'c'));
    await waitFor('the fifth ack', () => s.transport.acks().length === 5);
    assert.deepEqual([...new Set([...store.unsynced.values()].map((p) => p.boot))].sort(), ['boot-a', 'boot-c']);
    await s.close();
  });

  test('new sensors held apart past the agent limit are refused and counted as series_limit; held sensors and the rest are stored', async () => {
    const store = new MemorySeriesStore();
    const tally = new UnsyncedTally({ store, log: pino({ level: 'silent' }), limits: { maxBootsPerAgent: 4, maxSensorsPerAgent: 2 } });
    const s = setupIngest({ store, unsyncedBoots: tally, onUnsyncedStored: () => void tally.refresh() });
    const sensors = (boot: string, stream: string, ids: string[]): Buffer =>
      encodeBatch({
        agent: GOOD,
        stream,
        first: 0,
        last: ids.length * 2 - 1,
        floor: 0,
        clockUnsynced: true,
        boot,
        series: ids.map((sensor) => ({ sensor, metric: 'heart_rate', ts: [T0, T0 + 1_000], values: [70, 71] })),
      });
    s.transport.deliver(GOOD, 'readings', sensors('boot-a', 'a', ['hr-1', 'hr-2', 'hr-3']));
    await waitFor('the first ack', () => s.transport.acks().length === 1);
    // Another boot: hr-2 is held already, hr-4 would be a third sensor.
    s.transport.deliver(GOOD, 'readings', sensors('boot-b', 'b', ['hr-4', 'hr-2']));
    await waitFor('the second ack', () => s.transport.acks().length === 2);
    assert.deepEqual(
      s.transport.acks().map((a) => a.result),
      ['stored', 'stored'],
    );
    assert.deepEqual([...new Set([...store.unsynced.values()].map((p) => `${p.boot}/${p.sensor}`))].sort(), ['boot-a/hr-1', 'boot-a/hr-2', 'boot-b/hr-2']);
    assert.equal(await s.metric('pb_hub_ingest_readings_refused_total', { reason: 'series_limit' }), 4);
    await s.close();
  });
});
