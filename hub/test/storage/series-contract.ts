// Over 500 lines on purpose: the whole contract every adapter must pass stays readable in one place.
/**
 * The one SeriesStore contract: every adapter runs this suite from its own *.test.ts and must pass all of
 * it against its real database. Each test gets a fresh, started, empty store from `make`.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { MetricId, SeriesReadings } from '@pulsebridge/protocol';
import { SeriesStoreError } from '../../src/storage/series/errors.ts';
import { compareUtf8 } from '../../src/storage/series/series-query.ts';
import type { RawPoint, RollupPoint, SeriesFilter, SeriesInfo, SeriesSelector, SeriesStore, SeriesWrite } from '../../src/storage/series/series-store.ts';

/** Bounds a contract test sets on the store it asks for; the factory passes them to the adapter's constructor. */
export interface StoreBounds {
  maxSeriesPerAgent?: number;
  seriesCacheEntries?: number;
}

export type SeriesStoreFactory = (bounds?: StoreBounds) => Promise<{ store: SeriesStore; cleanup(): Promise<void> } | { skip: string }>;

/** Aligned to every step the tests use, so expected step starts are easy to read. */
const T0 = Date.UTC(2025, 0, 1, 8, 0, 0);

function series(sensor: string, metric: MetricId, points: readonly (readonly [number, number])[]): SeriesReadings {
  return { sensor, metric, ts: points.map(([ts]) => ts), values: points.map(([, value]) => value) };
}

function raw(points: readonly (readonly [number, number])[]): RawPoint[] {
  return points.map(([ts, value]) => ({ ts, value }));
}

const byTs = (a: RawPoint, b: RawPoint): number => a.ts - b.ts || a.value - b.value;

function assertRollups(actual: RollupPoint[], expected: RollupPoint[]): void {
  assert.deepEqual(
    actual.map(({ ts, min, max, count }) => ({ ts, min, max, count })),
    expected.map(({ ts, min, max, count }) => ({ ts, min, max, count })),
  );
  for (let i = 0; i < expected.length; i++) {
    const want = expected[i]!.mean;
    const got = actual[i]!.mean;
    assert.ok(Math.abs(got - want) <= 1e-9 * Math.max(1, Math.abs(want)), `step ${expected[i]!.ts}: mean ${got}, expected ${want}`);
  }
}

/** Rollups computed the slow, obvious way: what both adapters must agree with. */
function expectedRollups(points: readonly RawPoint[], from: number, to: number, step: number): RollupPoint[] {
  const steps = new Map<number, RawPoint[]>();
  for (const p of points) {
    if (p.ts < from || p.ts >= to) continue;
    const start = p.ts - (p.ts % step);
    steps.set(start, [...(steps.get(start) ?? []), p]);
  }
  return [...steps.entries()]
    .sort(([a], [b]) => a - b)
    .map(([ts, ps]) => {
      const values = ps.map((p) => p.value);
      return { ts, min: Math.min(...values), max: Math.max(...values), mean: values.reduce((s, v) => s + v, 0) / values.length, count: values.length };
    });
}

const sortSeries = (list: SeriesInfo[]): SeriesInfo[] =>
  [...list].sort((a, b) => `${a.gym}\u0000${a.agent}\u0000${a.sensor}\u0000${a.metric}`.localeCompare(`${b.gym}\u0000${b.agent}\u0000${b.sensor}\u0000${b.metric}`));

/** The order SeriesPage promises, written out: gym, agent, sensor, metric, each by UTF-8 bytes. */
const listingOrder = (a: SeriesInfo, b: SeriesInfo): number =>
  compareUtf8(a.gym, b.gym) || compareUtf8(a.agent, b.agent) || compareUtf8(a.sensor, b.sensor) || compareUtf8(a.metric, b.metric);

/** Every series matching the filter, read two at a time so that every listing goes through page boundaries. */
async function listAll(store: SeriesStore, filter: SeriesFilter, limit = 2): Promise<SeriesInfo[]> {
  const all: SeriesInfo[] = [];
  for (let after: SeriesInfo | undefined; ;) {
    const page = await store.listSeries(filter, after === undefined ? { limit } : { limit, after });
    assert.ok(page.length <= limit, `a page of ${page.length} series for a limit of ${limit}`);
    all.push(...page);
    if (page.length < limit) return all;
    after = page.at(-1);
  }
}

async function assertInvalid(promise: Promise<unknown>, code: 'invalid_query' | 'invalid_write', param?: string): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof SeriesStoreError, `expected a SeriesStoreError, got ${String(err)}`);
    assert.equal(err.code, code);
    if (param !== undefined) assert.equal(err.param, param);
    return true;
  });
}

export function seriesStoreContract(name: string, make: SeriesStoreFactory): void {
  describe(`SeriesStore contract: ${name}`, () => {
    const contractTest = (title: string, body: (store: SeriesStore) => Promise<void>, timeoutMs = 30_000, bounds?: StoreBounds): void => {
      test(title, { timeout: timeoutMs }, async (t) => {
        const made = await make(bounds);
        if ('skip' in made) {
          t.skip(made.skip);
          return;
        }
        try {
          await body(made.store);
        } finally {
          await made.cleanup();
        }
      });
    };

    contractTest('write then readRaw returns the exact values and millisecond times', async (store) => {
      const hr = [
        [T0 + 1, 61],
        [T0 + 250, 62],
        [T0 + 1_333, 180],
      ] as const;
      const speed = [
        [T0 + 7, 3.456],
        [T0 + 8, 0.001],
        [T0 + 9_999, 12.345],
      ] as const;
      await store.write([{ gym: 'g1', agent: 'a1', series: [series('ble:c0:ff:ee:00:11:22', 'heart_rate', hr), series('ant:fe:4242', 'speed', speed)] }]);
      const range = { from: T0, to: T0 + 60_000 };
      assert.deepEqual(await store.readRaw({ sensor: 'ble:c0:ff:ee:00:11:22', metric: 'heart_rate', ...range }, 100), raw(hr));
      assert.deepEqual(await store.readRaw({ sensor: 'ant:fe:4242', metric: 'speed', ...range }, 100), raw(speed));
      // The same sensor under another metric is another series.
      assert.deepEqual(await store.readRaw({ sensor: 'ant:fe:4242', metric: 'cadence', ...range }, 100), []);
      assert.equal(await store.count({}), 6);
    });

    contractTest('writing the same readings again stores nothing twice', async (store) => {
      const points = Array.from({ length: 50 }, (_, i) => [T0 + i * 1_000, 100 + i] as const);
      const batch: SeriesWrite = { gym: 'g1', agent: 'a1', series: [series('ant:pwr:1', 'power', points)] };
      await store.write([batch]);
      await store.write([batch]);
      await store.write([batch, batch]);
      assert.equal(await store.count({}), 50);
      // Overlapping re-send: half known, half new.
      const more = Array.from({ length: 50 }, (_, i) => [T0 + (25 + i) * 1_000, 125 + i] as const);
      await store.write([{ gym: 'g1', agent: 'a1', series: [series('ant:pwr:1', 'power', more)] }]);
      assert.equal(await store.count({}), 75);
      const read = await store.readRaw({ sensor: 'ant:pwr:1', metric: 'power', from: T0, to: T0 + 3_600_000 }, 1_000);
      assert.deepEqual(read, raw(Array.from({ length: 75 }, (_, i) => [T0 + i * 1_000, 100 + i] as const)));
    });

    contractTest('readRaw covers [from, to): from included, to excluded', async (store) => {
      const from = T0 + 10_000;
      const to = T0 + 20_000;
      await store.write([
        {
          gym: 'g1',
          agent: 'a1',
          series: [
            series('s1', 'cadence', [
              [from - 1, 1],
              [from, 2],
              [from + 1, 3],
              [to - 1, 4],
              [to, 5],
              [to + 1, 6],
            ]),
          ],
        },
      ]);
      assert.deepEqual(
        await store.readRaw({ sensor: 's1', metric: 'cadence', from, to }, 100),
        raw([
          [from, 2],
          [from + 1, 3],
          [to - 1, 4],
        ]),
      );
      assert.deepEqual(await store.readRaw({ sensor: 's1', metric: 'cadence', from, to: from + 1 }, 100), raw([[from, 2]]));
      assert.deepEqual(await store.readRaw({ sensor: 's1', metric: 'cadence', from: to + 2, to: to + 1_000 }, 100), []);
    });

    contractTest('deleteRange removes every agent and metric of the sensor in that gym within [from, to), and nothing else', async (store) => {
      const from = T0 + 10_000;
      const to = T0 + 20_000;
      const edges = [
        [from - 1, 1],
        [from, 2],
        [to - 1, 3],
        [to, 4],
      ] as const;
      await store.write([
        { gym: 'g1', agent: 'a1', series: [series("strap'1", 'heart_rate', edges), series("strap'1", 'rr_interval', edges), series('other', 'heart_rate', edges)] },
        { gym: 'g1', agent: 'a2', series: [series("strap'1", 'heart_rate', edges)] },
        { gym: 'g2', agent: 'a3', series: [series("strap'1", 'heart_rate', edges)] },
      ]);
      assert.equal(await store.deleteRange({ gym: 'g1', sensor: "strap'1", from, to }), 6);
      const all = { from: T0, to: T0 + 60_000 };
      const left = raw([
        [from - 1, 1],
        [to, 4],
      ]);
      assert.deepEqual(await store.readRaw({ sensor: "strap'1", metric: 'heart_rate', gym: 'g1', agent: 'a1', ...all }, 100), left);
      assert.deepEqual(await store.readRaw({ sensor: "strap'1", metric: 'rr_interval', gym: 'g1', ...all }, 100), left);
      assert.deepEqual(await store.readRaw({ sensor: "strap'1", metric: 'heart_rate', gym: 'g1', agent: 'a2', ...all }, 100), left);
      assert.deepEqual(await store.readRaw({ sensor: "strap'1", metric: 'heart_rate', gym: 'g2', ...all }, 100), raw(edges));
      assert.deepEqual(await store.readRaw({ sensor: 'other', metric: 'heart_rate', ...all }, 100), raw(edges));
      assert.equal(await store.deleteRange({ gym: 'g1', sensor: "strap'1", from, to }), 0);
      assert.equal(await store.count({}), 20 - 6);
      await assertInvalid(store.deleteRange({ gym: 'g1', sensor: "strap'1", from: to, to: from }), 'invalid_query', 'to');
      await assertInvalid(store.deleteRange({ gym: '', sensor: "strap'1", from, to }), 'invalid_query', 'gym');
    });

    contractTest('readRaw returns the oldest readings first, at most limit, whatever the write order', async (store) => {
      const times = [9, 3, 7, 1, 5, 8, 2, 6, 4, 0].map((i) => T0 + i * 100);
      await store.write([
        {
          gym: 'g1',
          agent: 'a1',
          series: [
            series(
              's1',
              'heart_rate',
              times.slice(0, 5).map((t) => [t, (t - T0) / 100 + 60]),
            ),
          ],
        },
      ]);
      await store.write([
        {
          gym: 'g1',
          agent: 'a1',
          series: [
            series(
              's1',
              'heart_rate',
              times.slice(5).map((t) => [t, (t - T0) / 100 + 60]),
            ),
          ],
        },
      ]);
      const selector: SeriesSelector = { sensor: 's1', metric: 'heart_rate', from: T0, to: T0 + 10_000 };
      const all = Array.from({ length: 10 }, (_, i) => [T0 + i * 100, 60 + i] as const);
      assert.deepEqual(await store.readRaw(selector, 100), raw(all));
      assert.deepEqual(await store.readRaw(selector, 3), raw(all.slice(0, 3)));
      assert.deepEqual(await store.readRaw(selector, 1), raw(all.slice(0, 1)));
      assert.deepEqual(await store.readRaw(selector, 10), raw(all));
    });

    contractTest('one sensor seen by several agents: reads merge them by time; gym and agent narrow', async (store) => {
      const a1 = [
        [T0 + 0, 100],
        [T0 + 2_000, 102],
        [T0 + 4_000, 104],
      ] as const;
      const a2 = [
        [T0 + 1_000, 201],
        [T0 + 3_000, 203],
        [T0 + 4_000, 204],
      ] as const;
      const a3 = [[T0 + 500, 300]] as const;
      await store.write([
        { gym: 'g1', agent: 'a1', series: [series('ant:pwr:7', 'power', a1)] },
        { gym: 'g1', agent: 'a2', series: [series('ant:pwr:7', 'power', a2)] },
      ]);
      await store.write([{ gym: 'g2', agent: 'a3', series: [series('ant:pwr:7', 'power', a3)] }]);
      const base = { sensor: 'ant:pwr:7', metric: 'power' as const, from: T0, to: T0 + 10_000 };
      const all = await store.readRaw(base, 100);
      assert.deepEqual(
        all.map((p) => p.ts),
        [0, 500, 1_000, 2_000, 3_000, 4_000, 4_000].map((d) => T0 + d),
      );
      assert.deepEqual([...all].sort(byTs), raw([...a1, ...a2, ...a3]).sort(byTs));
      const firstFour = await store.readRaw(base, 4);
      assert.deepEqual(
        firstFour,
        raw([
          [T0, 100],
          [T0 + 500, 300],
          [T0 + 1_000, 201],
          [T0 + 2_000, 102],
        ]),
      );
      assert.deepEqual(await store.readRaw({ ...base, gym: 'g1' }, 100).then((ps) => ps.sort(byTs)), raw([...a1, ...a2]).sort(byTs));
      assert.deepEqual(await store.readRaw({ ...base, agent: 'a2' }, 100), raw(a2));
      assert.deepEqual(await store.readRaw({ ...base, gym: 'g2', agent: 'a3' }, 100), raw(a3));
      assert.deepEqual(await store.readRaw({ ...base, gym: 'g2', agent: 'a1' }, 100), []);
      assert.deepEqual(await store.readRaw({ ...base, gym: 'nowhere' }, 100), []);
      assertRollups(await store.readRollup({ ...base, gym: 'g1' }, 5_000), [{ ts: T0, min: 100, max: 204, mean: 914 / 6, count: 6 }]);
    });

    contractTest('rollups: min, max, mean and count per epoch-aligned step, empty steps left out', async (store) => {
      const points = raw([
        [T0 + 0, 10],
        [T0 + 500, 20],
        [T0 + 999, 30],
        // T0 + 1000 .. 1999: nothing
        [T0 + 2_000, -5],
        [T0 + 2_001, 5],
        [T0 + 4_321, 7.25],
      ]);
      await store.write([
        {
          gym: 'g1',
          agent: 'a1',
          series: [
            series(
              's1',
              'torque',
              points.map((p) => [p.ts, p.value]),
            ),
          ],
        },
      ]);
      const base = { sensor: 's1', metric: 'torque' as const };
      assertRollups(await store.readRollup({ ...base, from: T0, to: T0 + 10_000 }, 1_000), [
        { ts: T0, min: 10, max: 30, mean: 20, count: 3 },
        { ts: T0 + 2_000, min: -5, max: 5, mean: 0, count: 2 },
        { ts: T0 + 4_000, min: 7.25, max: 7.25, mean: 7.25, count: 1 },
      ]);
      // A from inside a step: the step keeps its aligned start and counts only readings at or after from.
      assertRollups(await store.readRollup({ ...base, from: T0 + 500, to: T0 + 2_001 }, 1_000), [
        { ts: T0, min: 20, max: 30, mean: 25, count: 2 },
        { ts: T0 + 2_000, min: -5, max: -5, mean: -5, count: 1 },
      ]);
      // A step that does not divide T0: steps start at multiples of the step since the epoch.
      for (const step of [7, 700, 1_300, 60_000, 3_600_000]) {
        assertRollups(await store.readRollup({ ...base, from: T0 - 5_000, to: T0 + 5_000 }, step), expectedRollups(points, T0 - 5_000, T0 + 5_000, step));
      }
      assert.deepEqual(await store.readRollup({ ...base, from: T0 + 5_000, to: T0 + 9_000 }, 1_000), []);
    });

    contractTest('rollups over many readings agree with a plain computation', async (store) => {
      const points: RawPoint[] = [];
      let x = 12345;
      for (let i = 0; i < 3_000; i++) {
        x = (x * 1103515245 + 12345) % 2147483648;
        points.push({ ts: T0 + i * 97 + (x % 50), value: (x % 20_000) / 10 - 1_000 });
      }
      await store.write([
        {
          gym: 'g1',
          agent: 'a1',
          series: [
            series(
              's1',
              'resistance',
              points.map((p) => [p.ts, p.value]),
            ),
          ],
        },
      ]);
      const from = T0 + 1_234;
      const to = T0 + 250_000;
      assertRollups(await store.readRollup({ sensor: 's1', metric: 'resistance', from, to }, 10_000), expectedRollups(points, from, to, 10_000));
    });

    contractTest('listSeries and count honour gym, agent and sensor filters', async (store) => {
      await store.write([
        {
          gym: 'g1',
          agent: 'a1',
          series: [
            series('hr-1', 'heart_rate', [
              [T0, 60],
              [T0 + 1, 61],
            ]),
            series('bike-1', 'power', [[T0, 200]]),
            series('bike-1', 'cadence', [[T0, 90]]),
          ],
        },
        { gym: 'g1', agent: 'a2', series: [series('hr-1', 'heart_rate', [[T0, 70]])] },
        {
          gym: 'g2',
          agent: 'a3',
          series: [
            series('hr-9', 'heart_rate', [
              [T0, 80],
              [T0 + 1, 81],
              [T0 + 2, 82],
            ]),
          ],
        },
      ]);
      const all: SeriesInfo[] = [
        { gym: 'g1', agent: 'a1', sensor: 'bike-1', metric: 'cadence' },
        { gym: 'g1', agent: 'a1', sensor: 'bike-1', metric: 'power' },
        { gym: 'g1', agent: 'a1', sensor: 'hr-1', metric: 'heart_rate' },
        { gym: 'g1', agent: 'a2', sensor: 'hr-1', metric: 'heart_rate' },
        { gym: 'g2', agent: 'a3', sensor: 'hr-9', metric: 'heart_rate' },
      ];
      assert.deepEqual(sortSeries(await listAll(store, {})), all);
      assert.deepEqual(sortSeries(await listAll(store, { gym: 'g1' })), all.slice(0, 4));
      assert.deepEqual(sortSeries(await listAll(store, { agent: 'a1' })), all.slice(0, 3));
      assert.deepEqual(sortSeries(await listAll(store, { sensor: 'hr-1' })), all.slice(2, 4));
      assert.deepEqual(sortSeries(await listAll(store, { gym: 'g1', agent: 'a2', sensor: 'hr-1' })), all.slice(3, 4));
      assert.deepEqual(await listAll(store, { gym: 'g2', agent: 'a1' }), []);
      assert.deepEqual(await listAll(store, { sensor: 'nothing' }), []);
      assert.equal(await store.count({}), 8);
      assert.equal(await store.count({ gym: 'g1' }), 5);
      assert.equal(await store.count({ gym: 'g2' }), 3);
      assert.equal(await store.count({ agent: 'a1' }), 4);
      assert.equal(await store.count({ sensor: 'hr-1' }), 3);
      assert.equal(await store.count({ gym: 'g1', sensor: 'bike-1' }), 2);
      assert.equal(await store.count({ gym: 'g2', agent: 'a1' }), 0);
      assert.equal(await store.count({ sensor: 'nothing' }), 0);
    });

    contractTest('an empty store answers every read with nothing', async (store) => {
      const selector: SeriesSelector = { sensor: 's1', metric: 'heart_rate', from: T0, to: T0 + 1_000 };
      assert.deepEqual(await store.readRaw(selector, 10), []);
      assert.deepEqual(await store.readRollup(selector, 100), []);
      assert.deepEqual(await listAll(store, {}), []);
      assert.deepEqual(await listAll(store, { gym: 'g1' }), []);
      assert.equal(await store.count({}), 0);
      assert.equal(await store.count({ agent: 'a1' }), 0);
      await store.write([]);
      await store.write([{ gym: 'g1', agent: 'a1', series: [] }]);
      await store.write([{ gym: 'g1', agent: 'a1', series: [series('s1', 'heart_rate', [])] }]);
      assert.equal(await store.count({}), 0);
    });

    contractTest('ids that need quoting or escaping round-trip and cannot inject into a query', async (store) => {
      const sensors = [`o'brien "hr", zone=2 \u00e9\u6f22`, "x' OR sensor =~ /.*/ OR sensor='", 'a=b,c d', 'ant:hr:12345/1'];
      const gym = "gym with spaces, commas=equals and 'quotes'";
      await store.write([{ gym, agent: 'a1', series: sensors.map((sensor, i) => series(sensor, 'heart_rate', [[T0 + i, 60 + i]])) }]);
      for (let i = 0; i < sensors.length; i++) {
        const selector = { sensor: sensors[i]!, metric: 'heart_rate' as const, gym, from: T0, to: T0 + 100 };
        assert.deepEqual(await store.readRaw(selector, 10), raw([[T0 + i, 60 + i]]), sensors[i]);
        assert.equal((await store.readRollup(selector, 100)).length, 1);
        assert.equal(await store.count({ sensor: sensors[i]! }), 1);
      }
      assert.deepEqual(sortSeries(await listAll(store, { gym })), sortSeries(sensors.map((sensor) => ({ gym, agent: 'a1', sensor, metric: 'heart_rate' }))));
      assert.deepEqual(await listAll(store, { gym: "' OR gym =~ /.*/ OR gym='" }), []);
      assert.equal(await store.count({ sensor: "x' OR '1'='1" }), 0);
    });

    contractTest('values at the edges of the metric catalogue come back exactly', async (store) => {
      const power = [
        [T0, -32_768],
        [T0 + 1, -1],
        [T0 + 2, 0],
        [T0 + 3, 32_767],
      ] as const;
      const latitude = [
        [T0, -89.9999999],
        [T0 + 1, -0.0000001],
        [T0 + 2, 0.0000001],
        [T0 + 3, 45.1234567],
        [T0 + 4, 90],
      ] as const;
      const longitude = [
        [T0, -179.9999999],
        [T0 + 1, 179.9999999],
      ] as const;
      const distance = [
        [T0, 0.1],
        [T0 + 1, 100_000_000],
      ] as const;
      const epochEdges = [
        [1, 60],
        [Date.UTC(2100, 0, 1), 61],
      ] as const;
      await store.write([
        {
          gym: 'g1',
          agent: 'a1',
          series: [
            series('pm', 'power', power),
            series('gps', 'latitude', latitude),
            series('gps', 'longitude', longitude),
            series('odo', 'distance', distance),
            series('hr', 'heart_rate', epochEdges),
          ],
        },
      ]);
      const read = (sensor: string, metric: MetricId, from = T0, to = T0 + 10): Promise<RawPoint[]> => store.readRaw({ sensor, metric, from, to }, 100);
      assert.deepEqual(await read('pm', 'power'), raw(power));
      assert.deepEqual(await read('gps', 'latitude'), raw(latitude));
      assert.deepEqual(await read('gps', 'longitude'), raw(longitude));
      assert.deepEqual(await read('odo', 'distance'), raw(distance));
      assert.deepEqual(await read('hr', 'heart_rate', 0, Date.UTC(2100, 0, 2)), raw(epochEdges));
      assertRollups(await store.readRollup({ sensor: 'pm', metric: 'power', from: T0, to: T0 + 10 }, 10), [{ ts: T0, min: -32_768, max: 32_767, mean: -0.5, count: 4 }]);
      assertRollups(await store.readRollup({ sensor: 'gps', metric: 'latitude', from: T0, to: T0 + 2 }, 2), [{ ts: T0, min: -89.9999999, max: -0.0000001, mean: -45, count: 2 }]);
    });

    contractTest(
      'a write of 100 000 readings is stored whole and reads back exactly',
      async (store) => {
        const n = 100_000;
        const ts = Array.from({ length: n }, (_, i) => T0 + i * 100);
        const values = ts.map((_, i) => Math.round(Math.sin(i / 50) * 1_000_000) / 10_000);
        await store.write([{ gym: 'g1', agent: 'a1', series: [{ sensor: 'big', metric: 'incline', ts, values }] }]);
        assert.equal(await store.count({}), n);
        const back = await store.readRaw({ sensor: 'big', metric: 'incline', from: T0, to: T0 + n * 100 }, 100_000);
        assert.equal(back.length, n);
        for (let i = 0; i < n; i++) {
          if (back[i]!.ts !== ts[i] || back[i]!.value !== values[i]) assert.fail(`reading ${i}: got ${JSON.stringify(back[i])}, wrote ts ${ts[i]} value ${values[i]}`);
        }
        const steps = await store.readRollup({ sensor: 'big', metric: 'incline', from: T0, to: T0 + n * 100 }, 60_000);
        assert.equal(steps.length, Math.ceil((n * 100) / 60_000));
        assert.equal(
          steps.reduce((sum, s) => sum + s.count, 0),
          n,
        );
      },
      120_000,
    );

    contractTest('invalid selectors are refused with invalid_query, naming the field', async (store) => {
      const ok: SeriesSelector = { sensor: 's1', metric: 'heart_rate', from: T0, to: T0 + 1_000 };
      await assertInvalid(store.readRaw({ ...ok, to: ok.from }, 10), 'invalid_query', 'to');
      await assertInvalid(store.readRaw({ ...ok, to: ok.from - 1 }, 10), 'invalid_query', 'to');
      await assertInvalid(store.readRaw({ ...ok, from: Number.NaN }, 10), 'invalid_query', 'from');
      await assertInvalid(store.readRaw({ ...ok, to: 1.5 }, 10), 'invalid_query', 'to');
      await assertInvalid(store.readRaw({ ...ok, from: Number.POSITIVE_INFINITY }, 10), 'invalid_query', 'from');
      await assertInvalid(store.readRaw(ok, 0), 'invalid_query', 'limit');
      await assertInvalid(store.readRaw(ok, -1), 'invalid_query', 'limit');
      await assertInvalid(store.readRaw(ok, 100_001), 'invalid_query', 'limit');
      await assertInvalid(store.readRaw(ok, 2.5), 'invalid_query', 'limit');
      await assertInvalid(store.readRaw({ ...ok, sensor: '' }, 10), 'invalid_query', 'sensor');
      await assertInvalid(store.readRaw({ ...ok, metric: 'bogus' as MetricId }, 10), 'invalid_query', 'metric');
      await assertInvalid(store.readRaw({ ...ok, gym: '' }, 10), 'invalid_query', 'gym');
      await assertInvalid(store.readRollup(ok, 0), 'invalid_query', 'step');
      await assertInvalid(store.readRollup(ok, -1_000), 'invalid_query', 'step');
      await assertInvalid(store.readRollup(ok, 0.5), 'invalid_query', 'step');
      await assertInvalid(store.readRollup({ ...ok, to: ok.from }, 100), 'invalid_query', 'to');
      await assertInvalid(store.readRollup({ ...ok, to: ok.from + 100_000_001 }, 1), 'invalid_query', 'step');
      await assertInvalid(store.listSeries({ sensor: 'line\nbreak' }, { limit: 10 }), 'invalid_query', 'sensor');
      await assertInvalid(store.count({ agent: '' }), 'invalid_query', 'agent');
      // Limits themselves are accepted.
      assert.deepEqual(await store.readRaw(ok, 100_000), []);
      assert.deepEqual(await store.readRaw({ ...ok, to: ok.from + 1 }, 1), []);
    });

    contractTest('an invalid write is refused whole with invalid_write and stores nothing', async (store) => {
      const good: SeriesWrite = { gym: 'g1', agent: 'a1', series: [series('s1', 'heart_rate', [[T0, 60]])] };
      const bad: [string, SeriesWrite][] = [
        ['values.0', { gym: 'g1', agent: 'a1', series: [series('s2', 'heart_rate', [[T0, Number.NaN]])] }],
        [
          'values.1',
          {
            gym: 'g1',
            agent: 'a1',
            series: [
              series('s2', 'heart_rate', [
                [T0, 1],
                [T0 + 1, Number.POSITIVE_INFINITY],
              ]),
            ],
          },
        ],
        ['length', { gym: 'g1', agent: 'a1', series: [{ sensor: 's2', metric: 'heart_rate', ts: [T0, T0 + 1], values: [1] }] }],
        ['ts', { gym: 'g1', agent: 'a1', series: [series('s2', 'heart_rate', [[-1, 60]])] }],
        ['ts fraction', { gym: 'g1', agent: 'a1', series: [series('s2', 'heart_rate', [[T0 + 0.5, 60]])] }],
        ['metric', { gym: 'g1', agent: 'a1', series: [series('s2', 'bogus' as MetricId, [[T0, 60]])] }],
        ['empty sensor', { gym: 'g1', agent: 'a1', series: [series('', 'heart_rate', [[T0, 60]])] }],
        ['newline sensor', { gym: 'g1', agent: 'a1', series: [series('s\n2', 'heart_rate', [[T0, 60]])] }],
        ['backslash sensor', { gym: 'g1', agent: 'a1', series: [series('s2\\', 'heart_rate', [[T0, 60]])] }],
        ['agent', { gym: 'g1', agent: 'not an agent id', series: [series('s2', 'heart_rate', [[T0, 60]])] }],
        ['gym', { gym: '', agent: 'a1', series: [series('s2', 'heart_rate', [[T0, 60]])] }],
      ];
      for (const [what, batch] of bad) {
        await assert.rejects(store.write([good, batch]), (err: unknown) => err instanceof SeriesStoreError && err.code === 'invalid_write', what);
      }
      assert.equal(await store.count({}), 0, 'the good batch of a refused call must not be stored either');
      assert.deepEqual(await listAll(store, {}), []);
      await store.write([good]);
      assert.equal(await store.count({}), 1);
    });
    contractTest('listSeries pages in gym, agent, sensor, metric order by UTF-8 bytes, each page starting strictly after the given series', async (store) => {
      const gyms = ['g1', 'g2', 'G3'];
      const agents = ['a1', 'a2'];
      // \uff21 sorts before \u{1F600} by UTF-8 bytes, after it by UTF-16 units: both adapters must agree with SQLite.
      const sensors = ['s-\uff21', 's-\u{1F600}', 's-b', 'S-a'];
      const writes: SeriesWrite[] = [];
      for (const gym of gyms) {
        for (const agent of agents) {
          writes.push({
            gym,
            agent: `${gym}-${agent}`,
            series: sensors.flatMap((sensor, i) => [series(sensor, 'power', [[T0 + i, 1]]), series(sensor, 'cadence', [[T0 + i, 2]])]),
          });
        }
      }
      await store.write(writes);
      const expected = writes.flatMap((w) => w.series.map((s) => ({ gym: w.gym, agent: w.agent, sensor: s.sensor, metric: s.metric }))).sort(listingOrder);
      assert.equal(expected.length, 48);
      for (const limit of [1, 5, 48, 100]) assert.deepEqual(await listAll(store, {}, limit), expected, `pages of ${limit}`);
      assert.deepEqual(await store.listSeries({}, { limit: 3 }), expected.slice(0, 3));
      assert.deepEqual(await store.listSeries({}, { limit: 3, after: expected[10]! }), expected.slice(11, 14));
      assert.deepEqual(await store.listSeries({}, { limit: 10, after: expected[47]! }), []);
      // A series that does not exist is a position too: the page starts at the next one that does.
      const between = { ...expected[20]!, sensor: `${expected[20]!.sensor}~` };
      assert.deepEqual(
        (await store.listSeries({}, { limit: 1, after: between }))[0],
        expected.find((e) => listingOrder(e, between) > 0),
      );
      // Filters and pages combine.
      const ofG2 = expected.filter((e) => e.gym === 'g2');
      assert.deepEqual(await listAll(store, { gym: 'g2' }, 3), ofG2);
      assert.deepEqual(await store.listSeries({ gym: 'g2' }, { limit: 2, after: ofG2[3]! }), ofG2.slice(4, 6));
      assert.deepEqual(
        await listAll(store, { sensor: 's-b' }, 4),
        expected.filter((e) => e.sensor === 's-b'),
      );
      await assertInvalid(store.listSeries({}, { limit: 0 }), 'invalid_query', 'limit');
      await assertInvalid(store.listSeries({}, { limit: 10_001 }), 'invalid_query', 'limit');
      await assertInvalid(store.listSeries({}, { limit: 2.5 }), 'invalid_query', 'limit');
      await assertInvalid(store.listSeries({}, { limit: 2, after: { ...expected[0]!, metric: 'bogus' as MetricId } }), 'invalid_query', 'after.metric');
      await assertInvalid(store.listSeries({}, { limit: 2, after: { ...expected[0]!, agent: '' } }), 'invalid_query', 'after.agent');
      assert.equal((await store.listSeries({}, { limit: 10_000 })).length, 48);
    });

    contractTest(
      'a new series past maxSeriesPerAgent is refused and reported; the rest of the write is stored, other agents are not limited',
      async (store) => {
        const five = ['s1', 's2', 's3', 's4', 's5'].map((sensor, i) =>
          series(sensor, 'power', [
            [T0 + i, 100 + i],
            [T0 + 10 + i, 200 + i],
          ]),
        );
        const result = await store.write([
          { gym: 'g1', agent: 'a2', series: [series('x', 'power', [[T0, 1]])] },
          { gym: 'g1', agent: 'a1', series: five },
        ]);
        assert.deepEqual(result.refused, [
          { batch: 1, agent: 'a1', sensor: 's4', metric: 'power', readings: 2 },
          { batch: 1, agent: 'a1', sensor: 's5', metric: 'power', readings: 2 },
        ]);
        assert.equal(await store.count({ agent: 'a1' }), 6);
        assert.deepEqual(
          (await listAll(store, { agent: 'a1' })).map((s) => s.sensor),
          ['s1', 's2', 's3'],
        );
        // Existing series always take readings; the same sensor under another metric is a new series.
        const again = await store.write([
          { gym: 'g1', agent: 'a1', series: [series('s1', 'power', [[T0 + 100, 1]]), series('s1', 'cadence', [[T0, 90]]), series('s3', 'power', [[T0 + 100, 3]])] },
        ]);
        assert.deepEqual(again.refused, [{ batch: 0, agent: 'a1', sensor: 's1', metric: 'cadence', readings: 1 }]);
        assert.equal(await store.count({ agent: 'a1' }), 8);
        // The limit is per agent: a2 still has room for two more.
        const other = await store.write([{ gym: 'g1', agent: 'a2', series: [series('y', 'power', [[T0, 1]]), series('z', 'power', [[T0, 1]]), series('w', 'power', [[T0, 1]])] }]);
        assert.deepEqual(other.refused, [{ batch: 0, agent: 'a2', sensor: 'w', metric: 'power', readings: 1 }]);
        assert.equal((await listAll(store, {})).length, 6);
        // A series with no readings neither counts nor is refused.
        assert.deepEqual((await store.write([{ gym: 'g1', agent: 'a1', series: [series('empty', 'power', [])] }])).refused, []);
      },
      30_000,
      { maxSeriesPerAgent: 3 },
    );

    contractTest(
      'the series limit counts the series the store holds, not the ones it remembers: forgotten series still write, new ones stay refused',
      async (store) => {
        // One write per series, so a cache of two has forgotten the first ones by the end.
        for (let i = 0; i < 4; i++) {
          assert.deepEqual((await store.write([{ gym: 'g1', agent: 'a1', series: [series(`s${i}`, 'speed', [[T0 + i, i]])] }])).refused, []);
        }
        const full = await store.write([{ gym: 'g1', agent: 'a1', series: [series('s4', 'speed', [[T0, 4]])] }]);
        assert.deepEqual(full.refused, [{ batch: 0, agent: 'a1', sensor: 's4', metric: 'speed', readings: 1 }]);
        // The first series are no longer cached: writing to them must neither be refused nor create them twice.
        const old = await store.write([{ gym: 'g1', agent: 'a1', series: [0, 1, 2, 3].map((i) => series(`s${i}`, 'speed', [[T0 + 100 + i, i]])) }]);
        assert.deepEqual(old.refused, []);
        assert.equal(await store.count({ agent: 'a1' }), 8);
        assert.equal((await listAll(store, { agent: 'a1' })).length, 4);
        const stillFull = await store.write([{ gym: 'g1', agent: 'a1', series: [series('s5', 'speed', [[T0, 5]]), series('s0', 'speed', [[T0 + 200, 0]])] }]);
        assert.deepEqual(stillFull.refused, [{ batch: 0, agent: 'a1', sensor: 's5', metric: 'speed', readings: 1 }]);
        assert.equal(await store.count({ agent: 'a1' }), 9);
      },
      30_000,
      { maxSeriesPerAgent: 4, seriesCacheEntries: 2 },
    );

    contractTest('unsynced readings are kept apart: no read, rollup, series list or count sees them; each boot is listed', async (store) => {
      const stamped = [
        [T0 - 3_600_000, 60],
        [T0 - 3_599_000, 61],
      ] as const;
      await store.write([{ gym: 'g1', agent: 'a1', series: [series('s1', 'heart_rate', [[T0, 70]])] }]);
      await store.writeUnsynced([
        { gym: 'g1', agent: 'a1', boot: 'boot-1', series: [series('s1', 'heart_rate', stamped), series('s0', 'power', [[T0 - 3_500_000, 200]])] },
        { gym: 'g1', agent: 'a1', boot: 'boot-2', series: [series('s1', 'heart_rate', [[T0 + 5, 65]])] },
        { gym: 'g2', agent: 'a2', boot: 'unknown', series: [series('s9', 'cadence', [[T0, 90]])] },
      ]);
      const wide = { from: T0 - 86_400_000, to: T0 + 86_400_000 };
      assert.deepEqual(await store.readRaw({ sensor: 's1', metric: 'heart_rate', ...wide }, 100), raw([[T0, 70]]));
      assert.deepEqual(await store.readRaw({ sensor: 's0', metric: 'power', ...wide }, 100), []);
      assert.deepEqual(
        (await store.readRollup({ sensor: 's1', metric: 'heart_rate', ...wide }, 86_400_000)).map((r) => r.count),
        [1],
      );
      assert.equal(await store.count({}), 1);
      assert.deepEqual(await listAll(store, {}), [{ gym: 'g1', agent: 'a1', sensor: 's1', metric: 'heart_rate' }]);

      assert.deepEqual(await store.listUnsynced({}), [
        { gym: 'g1', agent: 'a1', boot: 'boot-1', readings: 3, firstStamp: T0 - 3_600_000, lastStamp: T0 - 3_500_000, sensors: ['s0', 's1'] },
        { gym: 'g1', agent: 'a1', boot: 'boot-2', readings: 1, firstStamp: T0 + 5, lastStamp: T0 + 5, sensors: ['s1'] },
        { gym: 'g2', agent: 'a2', boot: 'unknown', readings: 1, firstStamp: T0, lastStamp: T0, sensors: ['s9'] },
      ]);
      assert.deepEqual(
        (await store.listUnsynced({ agent: 'a2' })).map((b) => b.boot),
        ['unknown'],
      );
      assert.deepEqual(await store.listUnsynced({ agent: 'a3' }), []);
    });

    contractTest('writing the same unsynced readings again stores nothing twice; one stamp in two boots is two readings', async (store) => {
      const points = Array.from({ length: 20 }, (_, i) => [T0 + i * 1_000, i] as const);
      const batch = { gym: 'g1', agent: 'a1', boot: 'b1', series: [series('s1', 'power', points)] };
      await store.writeUnsynced([batch]);
      await store.writeUnsynced([batch, batch]);
      await store.writeUnsynced([{ ...batch, boot: 'b2' }]);
      assert.deepEqual(
        (await store.listUnsynced({ agent: 'a1' })).map((b) => [b.boot, b.readings]),
        [
          ['b1', 20],
          ['b2', 20],
        ],
      );
    });

    contractTest('readUnsynced: oldest stamp first, ties by sensor then metric, from inclusive, at most limit, narrowed by sensor and metric', async (store) => {
      await store.writeUnsynced([
        {
          gym: 'g1',
          agent: 'a1',
          boot: 'b1',
          series: [
            series('s2', 'power', [
              [T0, 1],
              [T0 + 10, 2],
            ]),
            series('s1', 'power', [
              [T0, 3],
              [T0 + 10, 4],
            ]),
            series('s1', 'cadence', [
              [T0 + 10, 5],
              [T0 + 20, 6],
            ]),
          ],
        },
        { gym: 'g1', agent: 'a1', boot: 'b2', series: [series('s1', 'power', [[T0 + 10, 99]])] },
      ]);
      const all = [
        { sensor: 's1', metric: 'power', ts: T0, value: 3 },
        { sensor: 's2', metric: 'power', ts: T0, value: 1 },
        { sensor: 's1', metric: 'cadence', ts: T0 + 10, value: 5 },
        { sensor: 's1', metric: 'power', ts: T0 + 10, value: 4 },
        { sensor: 's2', metric: 'power', ts: T0 + 10, value: 2 },
        { sensor: 's1', metric: 'cadence', ts: T0 + 20, value: 6 },
      ];
      assert.deepEqual(await store.readUnsynced({ agent: 'a1', boot: 'b1', from: 0 }, 100), all);
      // A limit that cuts through readings of one stamp keeps the same order.
      assert.deepEqual(await store.readUnsynced({ agent: 'a1', boot: 'b1', from: 0 }, 3), all.slice(0, 3));
      assert.deepEqual(await store.readUnsynced({ agent: 'a1', boot: 'b1', from: T0 + 10 }, 2), all.slice(2, 4));
      assert.deepEqual(await store.readUnsynced({ agent: 'a1', boot: 'b1', from: T0 + 21 }, 10), []);
      assert.deepEqual(
        await store.readUnsynced({ agent: 'a1', boot: 'b1', from: 0, sensor: 's1', metric: 'power' }, 10),
        all.filter((p) => p.sensor === 's1' && p.metric === 'power'),
      );
      assert.deepEqual(
        await store.readUnsynced({ agent: 'a1', boot: 'b1', from: 0, metric: 'cadence' }, 10),
        all.filter((p) => p.metric === 'cadence'),
      );
      assert.deepEqual(await store.readUnsynced({ agent: 'a1', boot: 'nope', from: 0 }, 10), []);
    });

    contractTest('correctUnsynced moves one boot into its series at stamp + offset, drops what the check refuses, and forgets the boot', async (store) => {
      const offset = 3 * 3_600_000;
      await store.write([{ gym: 'g1', agent: 'a1', series: [series('s1', 'heart_rate', [[T0 + 1_000, 80]])] }]);
      await store.writeUnsynced([
        {
          gym: 'g1',
          agent: 'a1',
          boot: 'b1',
          series: [
            series('s1', 'heart_rate', [
              [T0 - offset, 60],
              [T0 - offset + 500, 61],
              // Corrected onto a reading the series already holds: the series keeps one reading there.
              [T0 - offset + 1_000, 62],
              [T0 - offset + 9_000, 63],
            ]),
            series('s2', 'power', [[T0 - offset + 2, 250]]),
          ],
        },
        { gym: 'g1', agent: 'a1', boot: 'b2', series: [series('s1', 'heart_rate', [[T0 - offset, 99]])] },
      ]);
      const refusedAt = T0 + 9_000;
      const result = await store.correctUnsynced({ agent: 'a1', boot: 'b1', offsetMs: offset, accepts: (ts) => ts !== refusedAt });
      assert.deepEqual(result, { moved: 4, refused: 1 });
      const range = { from: T0 - 86_400_000, to: T0 + 86_400_000 };
      const heart = await store.readRaw({ sensor: 's1', metric: 'heart_rate', agent: 'a1', ...range }, 100);
      assert.deepEqual(
        heart.map((p) => p.ts),
        [T0, T0 + 500, T0 + 1_000],
      );
      assert.deepEqual(
        heart.filter((p) => p.ts !== T0 + 1_000),
        raw([
          [T0, 60],
          [T0 + 500, 61],
        ]),
      );
      assert.deepEqual(await store.readRaw({ sensor: 's2', metric: 'power', ...range }, 100), raw([[T0 + 2, 250]]));
      assert.deepEqual(
        sortSeries(await listAll(store, { agent: 'a1' })),
        sortSeries([
          { gym: 'g1', agent: 'a1', sensor: 's1', metric: 'heart_rate' },
          { gym: 'g1', agent: 'a1', sensor: 's2', metric: 'power' },
        ]),
      );
      assert.deepEqual(
        (await store.listUnsynced({})).map((b) => b.boot),
        ['b2'],
        'the corrected boot is gone, the other is untouched',
      );
      // Repeated: nothing left to move, nothing shifted twice.
      assert.deepEqual(await store.correctUnsynced({ agent: 'a1', boot: 'b1', offsetMs: offset, accepts: () => true }), { moved: 0, refused: 0 });
      assert.equal(await store.count({ agent: 'a1' }), 4);
    });

    contractTest('a correction that would put a reading before 1970 refuses that reading instead of failing', async (store) => {
      await store.writeUnsynced([
        {
          gym: 'g1',
          agent: 'a1',
          boot: 'b1',
          series: [
            series('s1', 'cadence', [
              [1_000, 1],
              [T0, 2],
            ]),
          ],
        },
      ]);
      assert.deepEqual(await store.correctUnsynced({ agent: 'a1', boot: 'b1', offsetMs: -2_000, accepts: () => true }), { moved: 1, refused: 1 });
      assert.deepEqual(await store.readRaw({ sensor: 's1', metric: 'cadence', from: 0, to: T0 + 1 }, 10), raw([[T0 - 2_000, 2]]));
    });

    contractTest('discardUnsynced deletes one boot and says how many readings it held', async (store) => {
      await store.writeUnsynced([
        { gym: 'g1', agent: 'a1', boot: 'b1', series: [series('s1', 'power', [[T0, 1]]), series('s2', 'power', [[T0, 2]])] },
        { gym: 'g1', agent: 'a1', boot: 'b2', series: [series('s1', 'power', [[T0, 3]])] },
        { gym: 'g1', agent: 'a2', boot: 'b1', series: [series('s1', 'power', [[T0, 4]])] },
      ]);
      assert.equal(await store.discardUnsynced('a1', 'b1'), 2);
      assert.equal(await store.discardUnsynced('a1', 'b1'), 0);
      assert.equal(await store.discardUnsynced('a1', 'never'), 0);
      assert.deepEqual(
        (await store.listUnsynced({})).map((b) => `${b.agent}/${b.boot}`),
        ['a1/b2', 'a2/b1'],
      );
      assert.equal(await store.count({}), 0);
    });

    contractTest('invalid unsynced calls are refused with invalid_write or invalid_query, naming the field', async (store) => {
      const ok = { gym: 'g1', agent: 'a1', boot: 'b1', series: [series('s1', 'power', [[T0, 1]])] };
      await assertInvalid(store.writeUnsynced([ok, { ...ok, boot: '' }]), 'invalid_write', '[1].boot');
      await assertInvalid(store.writeUnsynced([{ ...ok, boot: 'has space' }]), 'invalid_write', '[0].boot');
      await assertInvalid(store.writeUnsynced([{ ...ok, series: [series('s1', 'power', [[T0, Number.NaN]])] }]), 'invalid_write');
      await assertInvalid(store.writeUnsynced([{ ...ok, agent: 'not an agent' }]), 'invalid_write');
      assert.deepEqual(await store.listUnsynced({}), [], 'a refused call stores nothing');
      await assertInvalid(store.listUnsynced({ agent: 'bad agent' }), 'invalid_query', 'agent');
      await assertInvalid(store.readUnsynced({ agent: 'a1', boot: 'b\n1', from: 0 }, 10), 'invalid_query', 'boot');
      await assertInvalid(store.readUnsynced({ agent: 'a1', boot: 'b1', from: 0.5 }, 10), 'invalid_query', 'from');
      await assertInvalid(store.readUnsynced({ agent: 'a1', boot: 'b1', from: 0 }, 0), 'invalid_query', 'limit');
      await assertInvalid(store.readUnsynced({ agent: 'a1', boot: 'b1', from: 0, metric: 'bogus' as MetricId }, 10), 'invalid_query', 'metric');
      await assertInvalid(store.correctUnsynced({ agent: 'a1', boot: 'b1', offsetMs: 1.5, accepts: () => true }), 'invalid_query', 'offsetMs');
      await assertInvalid(store.correctUnsynced({ agent: 'a1', boot: "b'1", offsetMs: 0, accepts: () => true }), 'invalid_query', 'boot');
      await assertInvalid(store.discardUnsynced('a1', ''), 'invalid_query', 'boot');
    });
  });
}
