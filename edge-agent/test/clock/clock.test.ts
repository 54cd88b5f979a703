import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Clock, type ClockEpoch, type ClockJump, type ClockStore, type ClockSynced, type StoredBoot, type TrueOffset } from '../../src/clock/clock.ts';
import { ManualTime, T0, silentLog } from '../outbox/fixtures.ts';

/** A ClockStore in memory, as the outbox keeps it in SQLite. */
class MemoryStore implements ClockStore {
  readonly epochs: ClockEpoch[] = [];
  readonly offsets = new Map<string, TrueOffset>();

  loadBoot(boot: string): StoredBoot {
    return { epochs: this.epochs.filter((e) => e.boot === boot).sort((a, b) => a.id - b.id), offset: this.offsets.get(boot) };
  }

  saveEpoch(epoch: ClockEpoch): void {
    if (!this.epochs.some((e) => e.boot === epoch.boot && e.id === epoch.id)) this.epochs.push(epoch);
  }

  saveOffset(boot: string, offset: TrueOffset): void {
    this.offsets.set(boot, offset);
  }
}

function record(clock: Clock): { jumps: ClockJump[]; syncs: ClockSynced[] } {
  const seen = { jumps: [] as ClockJump[], syncs: [] as ClockSynced[] };
  clock.on('jump', (j) => seen.jumps.push(j));
  clock.on('synced', (s) => seen.syncs.push(s));
  return seen;
}

test('now() is the wall clock; drift within the threshold stays in one epoch', () => {
  const time = new ManualTime();
  const clock = time.clock();
  const seen = record(clock);
  assert.equal(clock.now(), T0);
  const first = clock.epoch;
  assert.deepEqual(first, { boot: 'boot-a', id: time.mono, wallMinusMono: T0 - time.mono });
  time.advance(10_000);
  time.setWall(time.wall + 999);
  assert.equal(clock.now(), T0 + 10_999);
  assert.equal(clock.epoch, first);
  assert.equal(seen.jumps.length, 0);
  assert.equal(clock.synced, false);
  assert.equal(clock.correctionFor(first), undefined);
});

/** `afterMs` pass, then somebody moves the wall clock by `deltaMs`; returns the epoch the clock is in after. */
function stepWall(time: ManualTime, clock: Clock, afterMs: number, deltaMs: number): ClockEpoch {
  time.advance(afterMs);
  time.setWall(time.wall + deltaMs);
  clock.now();
  return clock.epoch;
}

test('a forward jump starts an epoch and corrects the earlier one', () => {
  const time = new ManualTime();
  const clock = time.clock();
  const seen = record(clock);
  clock.now();
  const before = clock.epoch;
  const after = stepWall(time, clock, 5_000, 3_600_000);
  assert.notEqual(after, before);
  assert.equal(after.id, time.mono);
  assert.deepEqual(seen.jumps, [{ fromEpoch: before.id, toEpoch: after.id, deltaMs: 3_600_000 }]);
  assert.equal(clock.synced, true, 'the clock after a jump is taken as set right');
  assert.deepEqual(clock.offset, { trueMinusMono: after.wallMinusMono, source: 'jump' });
  assert.equal(clock.correctionFor(before), 3_600_000);
  assert.equal(clock.correctionFor(after), 0);
  assert.equal(clock.correctionFor({ boot: 'another-boot', wallMinusMono: 0 }), undefined);
});

test('a backward jump corrects earlier readings backwards; the latest jump wins', () => {
  const time = new ManualTime();
  const clock = time.clock();
  const seen = record(clock);
  const e1 = clock.epoch;
  const e2 = stepWall(time, clock, 1_000, -86_400_000);
  const e3 = stepWall(time, clock, 1_000, 2_000);
  assert.deepEqual(
    seen.jumps.map((j) => j.deltaMs),
    [-86_400_000, 2_000],
  );
  assert.equal(clock.correctionFor(e1), -86_400_000 + 2_000);
  assert.equal(clock.correctionFor(e2), 2_000);
  assert.equal(clock.correctionFor(e3), 0);
  assert.equal(clock.status().jumps, 2);
});

test('the periodic check finds a jump nobody asked about, on its next tick and not before', (t) => {
  t.mock.timers.enable({ apis: ['setInterval'] });
  const time = new ManualTime();
  const clock = new Clock({ log: silentLog, wall: () => time.wall, mono: () => time.mono, bootId: 'b', checkIntervalMs: 5 });
  const seen = record(clock);
  clock.start();
  t.after(() => clock.stop());
  time.setWall(time.wall + 10_000);
  t.mock.timers.tick(4);
  assert.equal(seen.jumps.length, 0);
  t.mock.timers.tick(1);
  assert.equal(seen.jumps.length, 1);
  assert.equal(seen.jumps[0]!.deltaMs, 10_000);
});

test('hub sync: a clock within tolerance is confirmed without correction', () => {
  const time = new ManualTime();
  const clock = time.clock();
  const seen = record(clock);
  const sentAt = clock.mono();
  time.advance(200);
  // The hub is 150 ms ahead: below max(threshold, rtt).
  clock.syncFromHub(time.wall - 100 + 150, sentAt);
  assert.equal(clock.synced, true);
  assert.deepEqual(seen.syncs, [{ correctionMs: 0, rttMs: 200 }]);
  assert.equal(clock.correctionFor(clock.epoch), 0);
  assert.equal(clock.offset?.source, 'hub');
});

test('hub sync: a wrong clock gets the hub time at the middle of the round trip', () => {
  const time = new ManualTime(T0 - 3 * 86_400_000);
  const clock = time.clock();
  const seen = record(clock);
  const epoch = clock.epoch;
  const sentAt = clock.mono();
  time.advance(400);
  const trueNow = T0 + 400;
  // The hub stamped its answer halfway, 200 ms before it arrived.
  clock.syncFromHub(trueNow - 200, sentAt);
  assert.deepEqual(seen.syncs, [{ correctionMs: 3 * 86_400_000, rttMs: 400 }]);
  assert.equal(clock.correctionFor(epoch), 3 * 86_400_000);
  assert.equal(clock.now() + clock.correctionFor(clock.epoch)!, trueNow);
});

test('hub sync: a later answer within its round trip of the earlier one keeps the offset; one beyond it replaces it', () => {
  const time = new ManualTime(T0 - 3 * 3_600_000);
  const clock = time.clock();
  const persisted: TrueOffset[] = [];
  const store = new MemoryStore();
  clock.attach({ ...store, loadBoot: (boot) => store.loadBoot(boot), saveEpoch: (e) => store.saveEpoch(e), saveOffset: (_boot, offset) => persisted.push(offset) });
  const epoch = clock.epoch;
  let sentAt = clock.mono();
  time.advance(80);
  clock.syncFromHub(T0 + 40, sentAt);
  assert.equal(clock.correctionFor(epoch), 3 * 3_600_000);
  // The next status is answered 26 ms off (network noise): within the uncertainty, nothing changes.
  time.advance(10_000);
  sentAt = clock.mono();
  time.advance(90);
  clock.syncFromHub(T0 + 10_170 - 45 - 26, sentAt);
  assert.equal(clock.correctionFor(epoch), 3 * 3_600_000);
  assert.equal(persisted.length, 1, 'the unchanged offset is not written again');
  // An answer 5 s off is news (the hub's own clock was set): it replaces the offset.
  sentAt = clock.mono();
  time.advance(90);
  clock.syncFromHub(T0 + 10_260 - 45 + 5_000, sentAt);
  assert.equal(clock.correctionFor(epoch), 3 * 3_600_000 + 5_000);
  assert.equal(persisted.length, 2);
});

test('hub sync: answers that cannot be trusted are ignored', () => {
  const time = new ManualTime();
  const clock = new Clock({ log: silentLog, wall: () => time.wall, mono: () => time.mono, bootId: 'b', maxSyncRttMs: 5_000 });
  const seen = record(clock);
  clock.syncFromHub(Number.NaN, time.mono);
  clock.syncFromHub(T0, Number.POSITIVE_INFINITY);
  clock.syncFromHub(T0 + 999_999, time.mono + 1_000); // sent "in the future": another boot's monotonic clock
  clock.syncFromHub(T0 + 999_999, time.mono - 6_000); // round trip too long to be precise
  assert.equal(clock.synced, false);
  assert.equal(seen.syncs.length, 0);
});

test('the hub wins over a later jump; a later hub sync wins over a jump', () => {
  const time = new ManualTime(T0 - 60_000);
  const clock = time.clock();
  const e1 = clock.epoch;
  clock.syncFromHub(T0, clock.mono());
  assert.equal(clock.correctionFor(e1), 60_000);
  // NTP finally sets the clock right: the new epoch needs no correction, the old one keeps its own.
  time.setWall(T0 + 5);
  clock.now();
  const e2 = clock.epoch;
  assert.equal(clock.offset?.source, 'hub');
  assert.equal(clock.correctionFor(e1), 60_000);
  assert.equal(clock.correctionFor(e2), -5);

  const otherTime = new ManualTime(T0 - 60_000);
  const other = otherTime.clock();
  const o1 = other.epoch;
  // Someone sets the clock, still 30 s wrong: taken as right until the hub says otherwise.
  otherTime.setWall(T0 - 30_000);
  other.now();
  assert.equal(other.offset?.source, 'jump');
  assert.equal(other.correctionFor(o1), 30_000);
  other.syncFromHub(T0, other.mono());
  assert.equal(other.offset?.source, 'hub');
  assert.equal(other.correctionFor(o1), 60_000);
  assert.equal(other.correctionFor(other.epoch), 30_000);
});

test('attach: continues the stored epoch of the same boot and adopts its offset', () => {
  const store = new MemoryStore();
  const time = new ManualTime();
  const first = time.clock();
  first.attach(store);
  first.syncFromHub(T0 + 30_000, first.mono());
  const epoch = first.epoch;
  assert.deepEqual(store.epochs, [epoch]);
  assert.deepEqual(store.offsets.get('boot-a'), { trueMinusMono: epoch.wallMinusMono + 30_000, source: 'hub' });

  time.advance(60_000);
  const second = time.clock();
  const seen = record(second);
  second.attach(store);
  assert.deepEqual(second.epoch, epoch, 'same boot, no jump: the same epoch goes on');
  assert.equal(second.synced, true);
  assert.equal(second.correctionFor(second.epoch), 30_000);
  assert.equal(seen.jumps.length, 0);
});

test('attach: a clock set while the agent was stopped is a jump', () => {
  const store = new MemoryStore();
  const time = new ManualTime(T0 - 7_200_000);
  const first = time.clock();
  first.attach(store);
  const old = first.epoch;
  time.advance(1_000);
  time.setWall(T0);
  const second = time.clock();
  const seen = record(second);
  second.attach(store);
  assert.equal(seen.jumps.length, 1);
  assert.equal(seen.jumps[0]!.fromEpoch, old.id);
  // The wall clock moved 7 200 000 ms while monotonic time moved 1 000 ms.
  assert.equal(seen.jumps[0]!.deltaMs, 7_199_000);
  assert.equal(second.correctionFor(old), 7_199_000);
  assert.deepEqual(store.offsets.get('boot-a')?.source, 'jump');
  assert.equal(store.epochs.length, 2);
});

test('attach: another boot starts unsynced; a reused boot id with a reset monotonic clock gets a fresh epoch id', () => {
  const store = new MemoryStore();
  const first = new ManualTime().clock('boot-a');
  first.attach(store);
  first.syncFromHub(T0, first.mono());
  const other = new ManualTime().clock('boot-b');
  other.attach(store);
  assert.equal(other.synced, false);

  const reused = new ManualTime(T0, 10).clock('boot-a');
  reused.attach(store);
  assert.ok(reused.epoch.id > first.epoch.id);
  assert.equal(new Set(store.epochs.filter((e) => e.boot === 'boot-a').map((e) => e.id)).size, 2);
});

test('a failing store or listener never reaches the caller of now()', () => {
  const time = new ManualTime();
  const clock = time.clock();
  const broken: ClockStore = {
    loadBoot: () => ({ epochs: [], offset: undefined }),
    saveEpoch: () => {
      throw new Error('disk gone');
    },
    saveOffset: () => {
      throw new Error('disk gone');
    },
  };
  clock.attach(broken);
  clock.on('jump', () => {
    throw new Error('listener bug');
  });
  time.setWall(time.wall + 50_000);
  assert.doesNotThrow(() => clock.now());
  assert.equal(clock.status().jumps, 1);
  assert.equal(clock.synced, true);
});

test('the boot id comes from the kernel, or is generated in the protocol BootId alphabet without one', () => {
  const clock = new Clock({ log: silentLog });
  assert.match(clock.bootId, /^([0-9a-f-]{36}|gen-[0-9a-f]{32})$/);
  assert.equal(clock.bootId, new Clock({ log: silentLog }).bootId, 'every clock of one boot agrees');
  const mono = clock.mono();
  assert.ok(Number.isInteger(mono) && mono > 0);
  assert.ok(Math.abs(clock.now() - Date.now()) < 1_000);
});
