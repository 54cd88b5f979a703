/** The clock and the outbox together: stored readings come out of load() in true time. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import type { Clock } from '../../src/clock/clock.ts';
import { Outbox } from '../../src/outbox/outbox.ts';
import { ManualTime, T0, garbleDatabase, openOutbox, tempDir } from '../outbox/fixtures.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** Appends one reading stamped by the clock, like a source does; returns its stamp. */
function stamp(outbox: Outbox, clock: Clock, sensor: string): number {
  const ts = clock.now();
  outbox.append({ sensor, metric: 'heart_rate', ts, value: 100 });
  return ts;
}

/** sensor → time of its readings, after load() corrected them. */
function loadTimes(outbox: Outbox): { times: Map<string, number[]>; clockUnsynced: boolean } {
  const loaded = outbox.load(outbox.pending(1_000, 'oldest').map((c) => c.id));
  return { times: new Map(loaded.series.map((s) => [s.sensor, s.ts])), clockUnsynced: loaded.clockUnsynced };
}

/** The agent starting in `bootId` on `time`'s clocks, with its outbox on `path`; the test's end stops it. */
function boot(t: TestContext, path: string, time: ManualTime, bootId?: string): { clock: Clock; outbox: Outbox } {
  const clock = time.clock(bootId);
  return { clock, outbox: openOutbox(t, { path, clock }) };
}

test('a forward jump (NTP) corrects readings stamped before it, in the same flush too', (t) => {
  const dir = tempDir(t);
  const time = new ManualTime(T0 - HOUR);
  const { clock, outbox } = boot(t, join(dir, 'outbox.db'), time);
  const early = stamp(outbox, clock, 'early');
  outbox.flush();
  time.advance(1_000);
  const beforeJump = stamp(outbox, clock, 'before-jump');
  time.advance(1_000);
  time.setWall(T0 + 2_000);
  const afterJump = stamp(outbox, clock, 'after-jump');
  outbox.flush();
  const chunks = outbox.pending(10, 'oldest');
  assert.deepEqual(
    chunks.map((c) => [c.first, c.last]),
    [
      [0, 0],
      [1, 1],
      [2, 2],
    ],
    'one chunk per clock epoch, contiguous',
  );
  const { times, clockUnsynced } = loadTimes(outbox);
  assert.equal(clockUnsynced, false, 'the jump told the true time');
  assert.deepEqual(times.get('early'), [early + HOUR]);
  assert.deepEqual(times.get('before-jump'), [beforeJump + HOUR]);
  assert.deepEqual(times.get('after-jump'), [afterJump]);
  assert.deepEqual([times.get('early')![0], times.get('before-jump')![0], times.get('after-jump')![0]], [T0, T0 + 1_000, T0 + 2_000]);
});

test('a backward jump moves earlier readings back', (t) => {
  const dir = tempDir(t);
  const time = new ManualTime(T0 + DAY);
  const { clock, outbox } = boot(t, join(dir, 'outbox.db'), time);
  stamp(outbox, clock, 'before');
  outbox.flush();
  time.advance(500);
  time.setWall(T0 + 500);
  stamp(outbox, clock, 'after');
  outbox.flush();
  const { times } = loadTimes(outbox);
  assert.deepEqual(times.get('before'), [T0]);
  assert.deepEqual(times.get('after'), [T0 + 500]);
});

test('readings stay uncorrected and flagged until true time is known, then a hub sync corrects them, across a restart of the same boot', (t) => {
  const path = join(tempDir(t), 'outbox.db');
  // Booted offline two days behind.
  const time = new ManualTime(T0 - 2 * DAY);
  const { clock: clock1, outbox: outbox1 } = boot(t, path, time, 'boot-a');
  const first = stamp(outbox1, clock1, 'first');
  outbox1.flush();
  let loaded = loadTimes(outbox1);
  assert.equal(loaded.clockUnsynced, true);
  assert.deepEqual(loaded.times.get('first'), [first], 'sent as stamped while unknown');
  outbox1.stop();

  // The agent restarts in the same boot (monotonic time went on), then reaches the hub.
  time.advance(60_000);
  const { clock: clock2, outbox: outbox2 } = boot(t, path, time, 'boot-a');
  const second = stamp(outbox2, clock2, 'second');
  outbox2.flush();
  assert.equal(loadTimes(outbox2).clockUnsynced, true);
  const sentAt = clock2.mono();
  time.advance(100);
  clock2.syncFromHub(T0 + 60_000 + 50, sentAt);
  loaded = loadTimes(outbox2);
  assert.equal(loaded.clockUnsynced, false);
  assert.deepEqual(loaded.times.get('first'), [first + 2 * DAY]);
  assert.deepEqual(loaded.times.get('second'), [second + 2 * DAY]);
  assert.equal(loaded.times.get('first')![0], T0);
  outbox2.stop();

  // And again after one more restart: the hub's answer was stored with the boot.
  time.advance(60_000);
  const { clock: clock3, outbox: outbox3 } = boot(t, path, time, 'boot-a');
  assert.equal(clock3.synced, true);
  const third = stamp(outbox3, clock3, 'third');
  outbox3.flush();
  loaded = loadTimes(outbox3);
  assert.equal(loaded.clockUnsynced, false);
  assert.deepEqual(loaded.times.get('first'), [T0]);
  assert.deepEqual(loaded.times.get('third'), [third + 2 * DAY]);
});

test('readings of an earlier boot that never learned true time stay flagged after this boot syncs', (t) => {
  const path = join(tempDir(t), 'outbox.db');
  const oldBoot = new ManualTime(T0 - 5 * DAY);
  const { clock: clockA, outbox: outboxA } = boot(t, path, oldBoot, 'boot-a');
  const lost = stamp(outboxA, clockA, 'old-boot');
  outboxA.stop();

  const newBoot = new ManualTime(T0, 3_000);
  const { clock: clockB, outbox: outboxB } = boot(t, path, newBoot, 'boot-b');
  clockB.syncFromHub(T0 + HOUR, clockB.mono());
  const fresh = stamp(outboxB, clockB, 'new-boot');
  outboxB.flush();
  const [oldChunk, newChunk] = outboxB.pending(10, 'oldest');
  const old = outboxB.load([oldChunk!.id]);
  assert.equal(old.clockUnsynced, true);
  assert.deepEqual(old.series[0]!.ts, [lost]);
  const current = outboxB.load([newChunk!.id]);
  assert.equal(current.clockUnsynced, false);
  assert.deepEqual(current.series[0]!.ts, [fresh + HOUR]);
  assert.equal(old.boot, 'boot-a', 'the flagged readings name the boot whose clock stamped them');
  assert.equal(current.boot, undefined);
});

test('pending chunks name the boot of unknown time; one load never mixes clock states', (t) => {
  const path = join(tempDir(t), 'outbox.db');
  const { clock: clockA, outbox: outboxA } = boot(t, path, new ManualTime(T0 - 5 * DAY), 'boot-a');
  stamp(outboxA, clockA, 'a');
  outboxA.stop();
  const { clock: clockB, outbox: outboxB } = boot(t, path, new ManualTime(T0 - HOUR, 3_000), 'boot-b');
  stamp(outboxB, clockB, 'b-unknown');
  outboxB.flush();
  assert.deepEqual(
    outboxB.pending(10, 'oldest').map((c) => c.unsyncedBoot),
    ['boot-a', 'boot-b'],
  );
  const [chunkA, chunkB] = outboxB.pending(10, 'oldest');
  const mixedBoots = outboxB.load([chunkA!.id, chunkB!.id]);
  assert.deepEqual(
    mixedBoots.chunks.map((c) => c.id),
    [chunkA!.id],
    'the chunk of another unsynced boot is left for another batch',
  );
  assert.deepEqual([mixedBoots.clockUnsynced, mixedBoots.boot], [true, 'boot-a']);
  assert.deepEqual(
    mixedBoots.series.map((s) => s.sensor),
    ['a'],
  );

  clockB.syncFromHub(T0, clockB.mono());
  stamp(outboxB, clockB, 'b-known');
  outboxB.flush();
  assert.deepEqual(
    outboxB.pending(10, 'newest').map((c) => c.unsyncedBoot),
    [undefined, undefined, 'boot-a'],
    "boot-b's chunks lose the mark once its true time is known",
  );
  const chunkIds = outboxB.pending(10, 'oldest').map((c) => c.id);
  const fromSynced = outboxB.load(chunkIds.slice(1));
  assert.deepEqual([fromSynced.chunks.length, fromSynced.clockUnsynced, fromSynced.boot], [2, false, undefined]);
  const fromUnsynced = outboxB.load(chunkIds);
  assert.deepEqual([fromUnsynced.chunks.length, fromUnsynced.boot], [1, 'boot-a'], 'an unsynced chunk and corrected ones never share a load');
});

test('after a damaged file is replaced, the clock state is written to the fresh one', (t) => {
  const path = join(tempDir(t), 'outbox.db');
  const time = new ManualTime(T0 - HOUR);
  const { clock, outbox } = boot(t, path, time);
  stamp(outbox, clock, 'lost');
  outbox.flush();
  clock.syncFromHub(T0, clock.mono());
  garbleDatabase(path);
  time.advance(1_000);
  stamp(outbox, clock, 'kept');
  outbox.flush();
  assert.equal(outbox.stats().corruptRecoveries, 1);
  outbox.stop();

  const { outbox: reopened } = boot(t, path, time);
  const { times, clockUnsynced } = loadTimes(reopened);
  assert.equal(clockUnsynced, false);
  assert.deepEqual([...times.keys()], ['kept']);
  assert.deepEqual(times.get('kept'), [T0 + 1_000]);
});
