import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import type { UnsyncedBoot } from '../src/storage/series/unsynced.ts';
import { UnsyncedTally } from '../src/unsynced/unsynced-tally.ts';

const log = pino({ level: 'silent' });
const boot = (agent: string, readings: number): UnsyncedBoot => ({ gym: 'g', agent, boot: 'b', readings, firstStamp: 0, lastStamp: 0, sensors: [] });

test('UnsyncedTally sums the readings held per agent and in total', async () => {
  const tally = new UnsyncedTally({ store: { listUnsynced: async () => [boot('a1', 3), { ...boot('a1', 2), boot: 'c' }, boot('a2', 4)] }, log });
  assert.equal(tally.total, 0);
  await tally.refresh();
  assert.deepEqual([tally.total, tally.of('a1'), tally.of('a2'), tally.of('a3')], [9, 5, 4, 0]);
});

test('UnsyncedTally: a refresh asked during a read is answered by one more read that starts after it', async () => {
  let reads = 0;
  let held = 1;
  const gates: (() => void)[] = [];
  const store = {
    listUnsynced: async () => {
      reads++;
      const seen = held;
      await new Promise<void>((resolve) => gates.push(resolve));
      return [boot('a1', seen)];
    },
  };
  const tally = new UnsyncedTally({ store, log });
  const first = tally.refresh();
  held = 2;
  const second = tally.refresh();
  const third = tally.refresh();
  gates.shift()!();
  // The second read starts only once the first is done.
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(reads, 2);
  gates.shift()!();
  await Promise.all([first, second, third]);
  assert.equal(reads, 2, 'calls during one read share one more read');
  assert.equal(tally.total, 2, 'the counts are those of the read that started after the change');
});

test('UnsyncedTally keeps the last counts when a read fails, and never rejects', async () => {
  let fail = false;
  const tally = new UnsyncedTally({
    store: {
      listUnsynced: async () => {
        if (fail) throw new Error('store down');
        return [boot('a1', 7)];
      },
    },
    log,
  });
  await tally.refresh();
  fail = true;
  await tally.refresh();
  assert.equal(tally.total, 7);
});
