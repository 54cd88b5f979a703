import assert from 'node:assert/strict';
import { test } from 'node:test';
import { planBatch, type PlanInput, type PlanLimits, type PlannableChunk } from '../../src/uplink/batch-planner.ts';

const NOW = 1_700_000_000_000;
const limits: PlanLimits = { maxBatchReadings: 1_000, maxBatchBytes: 10_000, liveAgeMs: 5_000, liveBatchDelayMs: 1_000 };

/** Chunks of `size` readings, contiguous unless `gapBefore` lists an id; ages in ms per chunk. */
function chunks(ages: number[], size = 100, gapBefore: number[] = [], bytes = 500): PlannableChunk[] {
  let seq = 1;
  return ages.map((age, i) => {
    const id = i + 1;
    if (gapBefore.includes(id)) seq += 7;
    const chunk = { id, first: seq, last: seq + size - 1, createdAt: NOW - age, bytes };
    seq += size;
    return chunk;
  });
}

function input(list: PlannableChunk[], over: Partial<PlanInput<PlannableChunk>> = {}): PlanInput<PlannableChunk> {
  return { oldest: list, newest: [...list].reverse(), now: NOW, lastLane: undefined, backlogSlotFree: true, ...over };
}

const ids = (plan: ReturnType<typeof planBatch>): number[] => (plan.kind === 'send' ? plan.chunks.map((c) => c.id) : []);

test('nothing pending: the plan is idle', () => {
  assert.deepEqual(planBatch(input([]), limits), { kind: 'idle' });
});

test('backlog: the oldest contiguous run, up to the limits', () => {
  const old = 60_000;
  assert.deepEqual(ids(planBatch(input(chunks([old, old, old, old])), limits)), [1, 2, 3, 4]);
  // A gap in sequence numbers (a chunk in flight, or already acknowledged) ends the run.
  assert.deepEqual(ids(planBatch(input(chunks([old, old, old, old], 100, [3])), limits)), [1, 2]);
  assert.deepEqual(ids(planBatch(input(chunks(Array(20).fill(old))), limits)), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  assert.deepEqual(ids(planBatch(input(chunks([old, old, old], 100, [], 4_000)), limits)), [1, 2]);
  // A single chunk larger than the limits still goes, alone, or it would block the queue.
  assert.deepEqual(ids(planBatch(input(chunks([old, old], 5_000)), limits)), [1]);
  const plan = planBatch(input(chunks([old])), limits);
  assert.equal(plan.kind === 'send' && plan.lane, 'backlog');
});

test('live only: waits to merge small chunks, then sends them together', () => {
  const young = chunks([700, 450, 200]);
  assert.deepEqual(planBatch(input(young), limits), { kind: 'wait', ms: 300 });
  const due = chunks([1_000, 750, 500, 250]);
  const plan = planBatch(input(due), limits);
  assert.equal(plan.kind, 'send');
  assert.equal(plan.kind === 'send' && plan.lane, 'live');
  assert.deepEqual(ids(plan), [1, 2, 3, 4]);
});

test('live only: a run that reached the limits goes without waiting', () => {
  const plan = planBatch(input(chunks([300, 200, 100], 600)), limits);
  assert.equal(plan.kind, 'send');
  assert.deepEqual(ids(plan), [3]);
});

test('backlog and live alternate, live first', () => {
  const list = chunks([90_000, 90_000, 90_000, 1_500, 1_200]);
  const first = planBatch(input(list), limits);
  assert.equal(first.kind === 'send' && first.lane, 'live');
  assert.deepEqual(ids(first), [4, 5]);
  const second = planBatch(input(list, { lastLane: 'live' }), limits);
  assert.equal(second.kind === 'send' && second.lane, 'backlog');
  assert.deepEqual(ids(second), [1, 2, 3, 4, 5], 'the backlog run may carry on into younger chunks it touches');
  const third = planBatch(input(list, { lastLane: 'backlog' }), limits);
  assert.equal(third.kind === 'send' && third.lane, 'live');
});

test('live data not yet due does not hold up the backlog', () => {
  const list = chunks([90_000, 90_000, 300]);
  const plan = planBatch(input(list), limits);
  assert.equal(plan.kind === 'send' && plan.lane, 'backlog');
});

test('the slot kept for live data is not given to the backlog', () => {
  const notDue = chunks([90_000, 90_000, 300]);
  assert.deepEqual(planBatch(input(notDue, { backlogSlotFree: false }), limits), { kind: 'wait', ms: 700 });
  const due = chunks([90_000, 90_000, 1_300]);
  const plan = planBatch(input(due, { backlogSlotFree: false, lastLane: 'live' }), limits);
  assert.equal(plan.kind === 'send' && plan.lane, 'live');
  // Without any live data the backlog may use every slot.
  const old = planBatch(input(chunks([90_000, 90_000]), { backlogSlotFree: false }), limits);
  assert.equal(old.kind === 'send' && old.lane, 'backlog');
});

test('chunks stamped in the future (clock set back) are sent, not waited for', () => {
  const plan = planBatch(input(chunks([-3_600_000, -3_600_000])), limits);
  assert.equal(plan.kind, 'send');
  assert.deepEqual(ids(plan), [1, 2]);
});

test('a run ends where the clock state changes: true-time chunks and each unsynced boot go in batches of their own', () => {
  const old = 60_000;
  const list = chunks([old, old, old, old, old, old]);
  const states: (string | undefined)[] = [undefined, undefined, 'boot-x', 'boot-x', 'boot-y', undefined];
  list.forEach((chunk, i) => (chunk.unsyncedBoot = states[i]));
  const batches: number[][] = [];
  for (let rest = list; rest.length > 0;) {
    const plan = planBatch(input(rest), limits);
    batches.push(ids(plan));
    rest = rest.filter((c) => !ids(plan).includes(c.id));
  }
  assert.deepEqual(batches, [[1, 2], [3, 4], [5], [6]]);
});

test('the live run stops at a change of clock state too', () => {
  const list = chunks([60_000, 2_000, 1_500, 1_200]);
  list[1]!.unsyncedBoot = 'boot-x';
  list[2]!.unsyncedBoot = 'boot-x';
  const plan = planBatch(input(list, { lastLane: 'backlog' }), limits);
  assert.equal(plan.kind === 'send' && plan.lane, 'live');
  assert.deepEqual(ids(plan), [4]);
});
