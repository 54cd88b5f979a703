/**
 * Retention of the SQLite series store (sqlite-retention.ts): raw readings past rawDays folded into rollups
 * and deleted in bounded chunks, rollups past their keepDays deleted, rollup reads exact across the line.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { until } from '@pulsebridge/runtime';
import { pino } from 'pino';
import { DAY_MS, type SeriesRetention } from '../../src/storage/series/sqlite-retention.ts';
import { SqliteSeriesStore } from '../../src/storage/series/sqlite-series-store.ts';
import type { RollupPoint, SeriesSelector, SeriesWrite } from '../../src/storage/series/series-store.ts';

const log = pino({ level: 'silent' });
const T0 = Date.UTC(2025, 0, 1);
const HOUR = 3_600_000;
const MINUTE = 60_000;

/** Readings every `everyMs` from `from` for `count` readings, values varying so min/max/mean mean something. */
function readings(sensor: string, from: number, count: number, everyMs: number, agent = 'a1'): SeriesWrite {
  return {
    gym: 'g1',
    agent,
    series: [{ sensor, metric: 'power', ts: Array.from({ length: count }, (_, i) => from + i * everyMs), values: Array.from({ length: count }, (_, i) => 100 + ((i * 37) % 250)) }],
  };
}

interface Fixture {
  store: SqliteSeriesStore;
  clock: { now: number };
}

async function withStore(retention: Partial<SeriesRetention> | undefined, use: (f: Fixture) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'pb-retention-'));
  const clock = { now: T0 };
  const full: SeriesRetention | undefined = retention && { rawDays: 2, rollups: [], roundIntervalMs: 600_000, chunkRows: 5_000, ...retention };
  const store = new SqliteSeriesStore({ path: join(dir, 'series.db'), log, now: () => clock.now, ...(full ? { retention: full } : {}) });
  await store.start();
  try {
    await use({ store, clock });
  } finally {
    await store.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const s1 = (from: number, to: number): SeriesSelector => ({ sensor: 's1', metric: 'power', from, to });

function assertSameRollups(actual: RollupPoint[], expected: RollupPoint[]): void {
  assert.equal(actual.length, expected.length, 'number of steps');
  for (let i = 0; i < expected.length; i++) {
    const [a, e] = [actual[i]!, expected[i]!];
    assert.deepEqual({ ts: a.ts, min: a.min, max: a.max, count: a.count }, { ts: e.ts, min: e.min, max: e.max, count: e.count }, `step ${i}`);
    assert.ok(Math.abs(a.mean - e.mean) < 1e-9, `step ${i}: mean ${a.mean} vs ${e.mean}`);
  }
}

describe('SQLite series retention', () => {
  test('readings past rawDays are folded into rollups and deleted; rollup reads across the line answer as before', async () => {
    await withStore(
      {
        rawDays: 2,
        rollups: [
          { everyMs: MINUTE, keepDays: 10 },
          { everyMs: HOUR, keepDays: 30 },
        ],
      },
      async ({ store, clock }) => {
        // Four days of a reading every 30 s on two series.
        await store.write([readings('s1', T0, 4 * 2_880, 30_000), readings('s2', T0, 4 * 2_880, 30_000)]);
        const whole = s1(T0, T0 + 4 * DAY_MS);
        const hourly = await store.readRollup(whole, HOUR);
        const perMinute = await store.readRollup(s1(T0, T0 + DAY_MS), MINUTE);
        const daily = await store.readRollup(whole, DAY_MS);
        clock.now = T0 + 4 * DAY_MS;

        const round = await store.runRetention();
        // Everything before now - 2 days: two days of both series.
        assert.equal(round?.foldedReadings, 2 * 2 * 2_880);
        assert.equal(await store.count({}), 2 * 2 * 2_880);
        assert.deepEqual(await store.readRaw(s1(T0, T0 + 2 * DAY_MS), 10), [], 'raw readings older than rawDays are gone');
        assert.equal((await store.readRaw(s1(T0 + 2 * DAY_MS, T0 + 4 * DAY_MS), 100_000)).length, 2 * 2_880, 'younger raw readings stay');

        assertSameRollups(await store.readRollup(whole, HOUR), hourly);
        assertSameRollups(await store.readRollup(s1(T0, T0 + DAY_MS), MINUTE), perMinute);
        assertSameRollups(await store.readRollup(whole, DAY_MS), daily);
        // A second round finds nothing more to fold.
        assert.equal((await store.runRetention())?.foldedReadings, 0);
        assertSameRollups(await store.readRollup(whole, HOUR), hourly);
      },
    );
  });

  test('a reading that arrives late for a time already folded is folded into the same buckets, which merge', async () => {
    await withStore({ rawDays: 2, rollups: [{ everyMs: HOUR }] }, async ({ store, clock }) => {
      await store.write([readings('s1', T0, 60, MINUTE)]);
      clock.now = T0 + 3 * DAY_MS;
      await store.runRetention();
      await store.write([{ gym: 'g1', agent: 'a1', series: [{ sensor: 's1', metric: 'power', ts: [T0 + 30_000], values: [999] }] }]);
      // Until the next round the late reading is raw, and the read adds it to the folded bucket already.
      const before = await store.readRollup(s1(T0, T0 + HOUR), HOUR);
      assert.equal(before[0]?.count, 61);
      assert.equal(before[0]?.max, 999);
      await store.runRetention();
      assert.equal(await store.count({}), 0);
      assertSameRollups(await store.readRollup(s1(T0, T0 + HOUR), HOUR), before);
    });
  });

  test('rollups past their keepDays are deleted; reads then use the coarser interval still kept', async () => {
    await withStore(
      {
        rawDays: 1,
        rollups: [
          { everyMs: MINUTE, keepDays: 3 },
          { everyMs: HOUR, keepDays: 10 },
        ],
      },
      async ({ store, clock }) => {
        await store.write([readings('s1', T0, 2 * 60, MINUTE)]);
        clock.now = T0 + 2 * DAY_MS;
        await store.runRetention();
        assert.equal((await store.readRollup(s1(T0, T0 + 2 * HOUR), MINUTE)).length, 120, 'minute buckets while they are kept');
        clock.now = T0 + 5 * DAY_MS;
        const round = await store.runRetention();
        assert.equal(round?.expiredBuckets, 120);
        const steps = await store.readRollup(s1(T0, T0 + 2 * HOUR), MINUTE);
        // A minute step now gets each hour's bucket at the hour's start: coarser, not lost.
        assert.deepEqual(
          steps.map((p) => [p.ts, p.count]),
          [
            [T0, 60],
            [T0 + HOUR, 60],
          ],
        );
        clock.now = T0 + 11 * DAY_MS;
        assert.equal((await store.runRetention())?.expiredBuckets, 2);
        assert.deepEqual(await store.readRollup(s1(T0, T0 + 2 * HOUR), HOUR), []);
      },
    );
  });

  test('without rollups, old readings are simply deleted', async () => {
    await withStore({ rawDays: 1 }, async ({ store, clock }) => {
      await store.write([readings('s1', T0, 100, MINUTE)]);
      clock.now = T0 + 2 * DAY_MS;
      assert.equal((await store.runRetention())?.foldedReadings, 100);
      assert.equal(await store.count({}), 0);
      assert.deepEqual(await store.readRollup(s1(T0, T0 + DAY_MS), HOUR), []);
    });
  });

  test('a round works in chunks of at most chunkRows rows, across many series, and leaves nothing behind', async () => {
    await withStore({ rawDays: 1, rollups: [{ everyMs: MINUTE }], chunkRows: 250 }, async ({ store, clock }) => {
      const batches = Array.from({ length: 40 }, (_, i) => readings(`s${i}`, T0, 100 + i * 7, 1_000));
      await store.write(batches);
      const total = batches.reduce((sum, b) => sum + b.series[0]!.ts.length, 0);
      clock.now = T0 + 2 * DAY_MS;
      const round = await store.runRetention();
      assert.equal(round?.foldedReadings, total);
      assert.ok(round!.chunks >= Math.ceil(total / 250), `${round!.chunks} chunks for ${total} rows`);
      assert.equal(await store.count({}), 0);
      const folded = await store.readRollup({ sensor: 's39', metric: 'power', from: T0, to: T0 + DAY_MS }, DAY_MS);
      assert.equal(folded[0]?.count, 100 + 39 * 7);
    });
  });

  test('writes issued during a round are stored between its chunks, long before the round ends', async () => {
    await withStore({ rawDays: 1, rollups: [{ everyMs: MINUTE }], chunkRows: 500 }, async ({ store, clock }) => {
      await store.write(Array.from({ length: 20 }, (_, i) => readings(`s${i}`, T0, 2_000, 1_000)));
      clock.now = T0 + 2 * DAY_MS;
      let roundEnded = false;
      const round = store.runRetention().then((r) => {
        roundEnded = true;
        return r;
      });
      const writesDuringRound: boolean[] = [];
      for (let i = 0; i < 5; i++) {
        await store.write([readings('fresh', clock.now - 60_000 + i * 1_000, 1, 1)]);
        writesDuringRound.push(!roundEnded);
        // The next chunk runs after I/O callbacks: the way ingest's next write gets its turn.
        await new Promise((resolve) => setImmediate(resolve));
      }
      assert.deepEqual(writesDuringRound, [true, true, true, true, true], 'a write waited for the whole round');
      const done = await round;
      assert.equal(done?.foldedReadings, 40_000);
      assert.ok(done!.chunks >= 80);
      assert.equal(await store.count({ sensor: 'fresh' }), 5);
    });
  });

  test('an erasure (deleteRange) also deletes the rollup buckets that hold any of the range', async () => {
    await withStore({ rawDays: 1, rollups: [{ everyMs: MINUTE }, { everyMs: HOUR }] }, async ({ store, clock }) => {
      await store.write([readings('s1', T0, 3 * 60, MINUTE), readings('s2', T0, 3 * 60, MINUTE)]);
      clock.now = T0 + 2 * DAY_MS;
      await store.runRetention();
      await store.deleteRange({ gym: 'g1', sensor: 's1', from: T0 + HOUR + 30_000, to: T0 + HOUR + 5 * MINUTE });
      const minutes = await store.readRollup(s1(T0 + HOUR, T0 + 2 * HOUR), MINUTE);
      assert.deepEqual(
        minutes.map((p) => p.ts).filter((ts) => ts < T0 + HOUR + 5 * MINUTE),
        [],
        'the minute buckets of the range, the partly covered first one included, are gone',
      );
      assert.equal(minutes.length, 55);
      assert.deepEqual(await store.readRollup(s1(T0 + HOUR, T0 + 2 * HOUR), HOUR), [], 'the hour bucket holding the range is gone');
      assert.equal((await store.readRollup({ sensor: 's2', metric: 'power', from: T0, to: T0 + DAY_MS }, DAY_MS))[0]?.count, 180, 'other sensors keep theirs');
    });
  });

  test('rounds run on their own timer once started', async () => {
    await withStore({ rawDays: 1, roundIntervalMs: 1_000 }, async ({ store, clock }) => {
      await store.write([readings('s1', T0, 10, MINUTE)]);
      clock.now = T0 + 2 * DAY_MS;
      await until('the timer round to delete the old readings', async () => (await store.count({})) === 0, 5_000, 20);
    });
  });

  test('without retention configured nothing is deleted and runRetention does nothing', async () => {
    await withStore(undefined, async ({ store, clock }) => {
      await store.write([readings('s1', T0, 10, MINUTE)]);
      clock.now = T0 + 400 * DAY_MS;
      assert.equal(await store.runRetention(), undefined);
      assert.equal(await store.count({}), 10);
    });
  });
});
