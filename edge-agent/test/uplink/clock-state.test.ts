/**
 * The uplink and the agent's clock: readings whose true time is unknown wait, after each connect, for the
 * hub's time answer, and a batch never mixes clock states.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Reading } from '@pulsebridge/protocol';
import { until } from '@pulsebridge/runtime';
import { rig, type Rig } from './fixtures.ts';

const HOUR = 3_600_000;
const BOOT = 'boot-a';

/** A heart-rate reading stamped now by the fake clock (3 h behind when the test sets its offset so). */
const stampedNow =
  (rigged: Rig) =>
  (i: number): Reading => ({ sensor: `hr-${i % 4}`, metric: 'heart_rate', ts: rigged.clock.now(), value: 100 });

/** Applying a time answer tells the clock, and the outbox, the true time of BOOT: 3 h ahead of its wall clock. */
function correctOnSync(rigged: Rig): void {
  rigged.clock.onSync = () => {
    rigged.clock.synced = true;
    rigged.outbox.corrections.set(BOOT, HOUR * 3);
  };
}

test('after a connect, readings of unknown time wait for the time answer: the first batch is already corrected', async (t) => {
  const rigged = await rig(t);
  const { hub, outbox, clock } = rigged;
  clock.offset = -3 * HOUR;
  correctOnSync(rigged);
  hub.timeAnswerDelayMs = 300;
  const startedAt = Date.now();
  // A backlog and a live chunk, both stamped by this boot's wall clock before anyone knew it is 3 h behind.
  outbox.stampedBy(outbox.addChunk(200, 60_000, stampedNow(rigged)), BOOT);
  outbox.stampedBy(outbox.addChunk(20, 0, stampedNow(rigged)), BOOT);
  const uplink = rigged.uplink({ clockSyncWaitMs: 10_000, liveBatchDelayMs: 0 });
  uplink.start();
  await until('the outbox to drain', () => outbox.chunks.length === 0, 10_000);

  assert.equal(clock.syncs.length, 1, 'the status published on connect was answered once');
  assert.ok(hub.batches.length >= 1);
  for (const batch of hub.batches) {
    assert.equal(batch.clockUnsynced, false, `batch ${batch.first}..${batch.last} went out before the time answer`);
    assert.equal(batch.boot, undefined);
    for (const s of batch.series)
      for (const ts of s.ts) assert.ok(ts >= startedAt - 1_000 && ts <= Date.now() + 1_000, `stored time ${new Date(ts).toISOString()} is not true time`);
  }
  assert.equal(uplink.health().clockSyncWaitsExpired, 0);
});

test('without a time answer, readings of unknown time go flagged with their boot once the wait is over; known times go at once', async (t) => {
  const rigged = await rig(t);
  const { hub, outbox } = rigged;
  const WAIT_MS = 800;
  outbox.stampedBy(outbox.addChunk(10, 60_000), BOOT);
  outbox.addChunk(10, 60_000);
  const arrivals: number[] = [];
  hub.policy = () => {
    arrivals.push(Date.now());
    return 'stored';
  };
  const uplink = rigged.uplink({ clockSyncWaitMs: WAIT_MS });
  uplink.start();
  await until('connection', () => uplink.state === 'connected', 5_000);
  const connectedAt = Date.now();
  await until('the outbox to drain', () => outbox.chunks.length === 0, 10_000);

  assert.deepEqual(
    hub.batches.map((b) => [b.first, b.last, b.clockUnsynced, b.boot]),
    [
      [11, 20, false, undefined],
      [1, 10, true, BOOT],
    ],
    'the chunk of known time went first; the other, alone and naming its boot, after the wait',
  );
  assert.ok(arrivals[0]! - connectedAt < WAIT_MS, 'known times did not wait');
  // The wait began when the session became ready, a moment before this test saw it connected.
  assert.ok(arrivals[1]! - connectedAt >= WAIT_MS - 100, `flagged readings went ${arrivals[1]! - connectedAt} ms after the connect`);
  assert.equal(uplink.health().clockSyncWaitsExpired, 1);
  assert.match(await rigged.metrics.metrics(), /^pb_agent_uplink_clock_sync_waits_expired_total 1$/m);
});

test('a clock that already knows true time holds nothing: readings of an earlier, never synced boot go at once', async (t) => {
  const rigged = await rig(t);
  const { hub, outbox, clock } = rigged;
  clock.synced = true;
  outbox.stampedBy(outbox.addChunk(10, 60_000), 'boot-earlier');
  const uplink = rigged.uplink({ clockSyncWaitMs: 60_000 });
  uplink.start();
  await until('the outbox to drain', () => outbox.chunks.length === 0, 5_000);
  assert.deepEqual(
    hub.batches.map((b) => [b.clockUnsynced, b.boot]),
    [[true, 'boot-earlier']],
  );
  assert.equal(uplink.health().clockSyncWaitsExpired, 0);
});

test('every reconnect waits for its own time answer', async (t) => {
  const rigged = await rig(t);
  const { broker, hub, outbox } = rigged;
  const uplink = rigged.uplink({ clockSyncWaitMs: 600 });
  uplink.start();
  await until('the first wait to expire', () => uplink.health().clockSyncWaitsExpired === 1, 5_000);
  broker.dropConnections();
  await until('a reconnect', () => uplink.health().connects === 2, 5_000);
  const reconnectedAt = Date.now();
  outbox.stampedBy(outbox.addChunk(10, 60_000), BOOT);
  await until('the outbox to drain', () => outbox.chunks.length === 0, 5_000);
  assert.ok(Date.now() - reconnectedAt >= 400, 'the flagged chunk waited after the reconnect too');
  assert.equal(uplink.health().clockSyncWaitsExpired, 2);
  assert.deepEqual(
    hub.batches.map((b) => b.boot),
    [BOOT],
  );
});

test('a batch never mixes clock states: true-time chunks, and each unsynced boot, travel apart', async (t) => {
  const rigged = await rig(t);
  const { hub, outbox, clock } = rigged;
  clock.synced = true;
  outbox.addChunk(10, 60_000);
  outbox.addChunk(10, 60_000);
  outbox.stampedBy(outbox.addChunk(10, 60_000), 'boot-x');
  outbox.stampedBy(outbox.addChunk(10, 60_000), 'boot-x');
  outbox.stampedBy(outbox.addChunk(10, 60_000), 'boot-y');
  outbox.addChunk(10, 60_000);
  const uplink = rigged.uplink({ window: 1 });
  uplink.start();
  await until('the outbox to drain', () => outbox.chunks.length === 0, 5_000);
  assert.deepEqual(
    hub.batches.map((b) => [b.first, b.last, b.clockUnsynced, b.boot]),
    [
      [1, 20, false, undefined],
      [21, 40, true, 'boot-x'],
      [41, 50, true, 'boot-y'],
      [51, 60, false, undefined],
    ],
  );
});
