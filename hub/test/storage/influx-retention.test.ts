/**
 * Retention on InfluxDB is the server's: these tests run, against the real InfluxDB 1.x (INFLUX_URL), the
 * InfluxQL docs/operations.md gives operators (a retention policy for raw readings, one for rollups, the
 * continuous query that fills it and its one-off backfill), and show how the store behaves with them.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import { SeriesStoreError } from '../../src/storage/series/errors.ts';
import { InfluxSeriesStore } from '../../src/storage/series/influx-series-store.ts';
import { influxql, startInfluxV2Proxy, type InfluxV2Proxy } from './influx-v2-proxy.ts';
import { missingService } from '../../../test/services.ts';

const INFLUX_URL = process.env.INFLUX_URL;
const NO_INFLUX = missingService(INFLUX_URL ? false : 'INFLUX_URL not set (run the tests through scripts/test-services.sh to start InfluxDB)');
const log = pino({ level: 'silent' });
const MINUTE = 60_000;

type Answer = { results: { series?: { name: string; columns: string[]; values: unknown[][] }[] }[] };
const rowsOf = (answer: unknown): unknown[][] => (answer as Answer).results[0]?.series?.[0]?.values ?? [];

let proxy: InfluxV2Proxy | undefined;
const db = `pb_retention_${process.pid}_${randomBytes(4).toString('hex')}`;

before(async () => {
  if (!INFLUX_URL) return;
  proxy = await startInfluxV2Proxy(INFLUX_URL);
  // What docs/operations.md tells operators to run: raw readings for 30 days (the policy the hub writes to),
  // rollups for 400 days.
  await influxql(INFLUX_URL, `CREATE DATABASE "${db}"`);
  await influxql(INFLUX_URL, `CREATE RETENTION POLICY "raw_30d" ON "${db}" DURATION 30d REPLICATION 1 DEFAULT`);
  await influxql(INFLUX_URL, `CREATE RETENTION POLICY "rollups_400d" ON "${db}" DURATION 400d REPLICATION 1`);
});
after(async () => {
  if (INFLUX_URL) await influxql(INFLUX_URL, `DROP DATABASE "${db}"`);
  await proxy?.close();
});

test("the retention policies operators create are the server's: SHOW RETENTION POLICIES lists them with their durations", { skip: NO_INFLUX }, async () => {
  const rows = rowsOf(await influxql(INFLUX_URL!, `SHOW RETENTION POLICIES ON "${db}"`));
  const byName = new Map(rows.map((row) => [row[0], row]));
  assert.equal(byName.get('raw_30d')?.[1], '720h0m0s');
  assert.equal(byName.get('raw_30d')?.[4], true, 'raw_30d is the default policy');
  assert.equal(byName.get('rollups_400d')?.[1], '9600h0m0s');
});

test('the store writes to and reads from the policy its bucket names; a policy that does not exist fails start', { skip: NO_INFLUX }, async () => {
  const store = new InfluxSeriesStore({ url: proxy!.url, org: 'pulsebridge', bucket: `${db}/raw_30d`, log });
  await store.start();
  try {
    const now = Date.now();
    await store.write([{ gym: 'g1', agent: 'a1', series: [{ sensor: 's1', metric: 'power', ts: [now - 2 * MINUTE, now - MINUTE], values: [100, 200] }] }]);
    assert.equal(await store.count({}), 2);
    assert.equal(rowsOf(await influxql(INFLUX_URL!, `SELECT count("value") FROM "${db}"."raw_30d"."readings"`))[0]?.[1], 2);
  } finally {
    await store.stop();
  }
  const missing = new InfluxSeriesStore({ url: proxy!.url, org: 'pulsebridge', bucket: `${db}/raw_7d`, log });
  await assert.rejects(missing.start(), (err: unknown) => err instanceof SeriesStoreError && err.code === 'unavailable' && /retention policy raw_7d not found/.test(err.message));
});

test(
  "readings older than the policy's duration are refused by InfluxDB for good (write_rejected): the policy must outlast ingest.maxReadingAgeMs",
  { skip: NO_INFLUX },
  async () => {
    await influxql(INFLUX_URL!, `CREATE RETENTION POLICY "raw_1h" ON "${db}" DURATION 1h REPLICATION 1`);
    const store = new InfluxSeriesStore({ url: proxy!.url, org: 'pulsebridge', bucket: `${db}/raw_1h`, log });
    await store.start();
    try {
      const old = Date.now() - 3 * 3_600_000;
      await assert.rejects(
        store.write([{ gym: 'g1', agent: 'a1', series: [{ sensor: 's1', metric: 'power', ts: [old], values: [1] }] }]),
        (err: unknown) => err instanceof SeriesStoreError && err.code === 'write_rejected' && /retention policy/.test(err.message),
      );
    } finally {
      await store.stop();
    }
  },
);

test(
  'the rollup continuous query is accepted, and its SELECT run once as a backfill writes min/max/mean/count per minute into the rollup policy',
  { skip: NO_INFLUX },
  async () => {
    const cq = `CREATE CONTINUOUS QUERY "readings_1m" ON "${db}" RESAMPLE EVERY 1m FOR 10m BEGIN
    SELECT min("value") AS "min", max("value") AS "max", mean("value") AS "mean", count("value") AS "count"
      INTO "${db}"."rollups_400d"."readings_1m" FROM "${db}"."raw_30d"."readings" GROUP BY time(1m), *
  END`;
    await influxql(INFLUX_URL!, cq);
    const cqs = (await influxql(INFLUX_URL!, 'SHOW CONTINUOUS QUERIES')) as Answer;
    const ours = cqs.results[0]?.series?.find((s) => s.name === db);
    assert.ok(
      ours?.values.some((row) => row[0] === 'readings_1m'),
      'the continuous query is listed',
    );

    const store = new InfluxSeriesStore({ url: proxy!.url, org: 'pulsebridge', bucket: `${db}/raw_30d`, log });
    await store.start();
    const start = Math.floor(Date.now() / MINUTE) * MINUTE - 10 * MINUTE;
    try {
      // Two minutes of a reading every 10 s on two sensors.
      const ts = Array.from({ length: 12 }, (_, i) => start + i * 10_000);
      await store.write([
        {
          gym: 'g1',
          agent: 'a1',
          series: [
            { sensor: 'bf-1', metric: 'power', ts, values: ts.map((_, i) => 100 + i) },
            { sensor: 'bf-2', metric: 'power', ts, values: ts.map((_, i) => 200 + i) },
          ],
        },
      ]);
    } finally {
      await store.stop();
    }
    // The backfill: the CQ's SELECT over a past range, as docs/operations.md gives it.
    await influxql(
      INFLUX_URL!,
      `SELECT min("value") AS "min", max("value") AS "max", mean("value") AS "mean", count("value") AS "count"
       INTO "${db}"."rollups_400d"."readings_1m" FROM "${db}"."raw_30d"."readings"
      WHERE time >= ${start}ms AND time < ${start + 2 * MINUTE}ms GROUP BY time(1m), *`,
    );
    const rollups = rowsOf(await influxql(INFLUX_URL!, `SELECT "min", "max", "mean", "count" FROM "${db}"."rollups_400d"."readings_1m" WHERE "sensor" = 'bf-1' ORDER BY time ASC`));
    assert.deepEqual(
      rollups.map((row) => row.slice(1)),
      [
        [100, 105, 102.5, 6],
        [106, 111, 108.5, 6],
      ],
    );
    // GROUP BY * keeps every tag, so rollups are per series like the readings they summarise.
    const tags = rowsOf(await influxql(INFLUX_URL!, `SHOW TAG VALUES FROM "rollups_400d"."readings_1m" WITH KEY = "sensor"`, db));
    assert.deepEqual(
      tags.map((row) => row[1]),
      ['bf-1', 'bf-2'],
    );
  },
);
