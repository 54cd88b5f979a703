/**
 * InfluxSeriesStore against a real InfluxDB 1.x (INFLUX_URL, started by scripts/test-services.sh), behind
 * a proxy that gives 1.6 the v2 write endpoint. Each test gets a database of its own, dropped afterwards.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { SeriesStoreError } from '../../src/storage/series/errors.ts';
import { InfluxSeriesStore, parseSeriesKey, type InfluxSeriesStoreOptions } from '../../src/storage/series/influx-series-store.ts';
import type { SeriesWrite } from '../../src/storage/series/series-store.ts';
import { influxql, startInfluxV2Proxy, type InfluxV2Proxy } from './influx-v2-proxy.ts';
import { seriesStoreContract } from './series-contract.ts';
import { missingService } from '../../../test/services.ts';

const INFLUX_URL = process.env.INFLUX_URL;
const NO_INFLUX = missingService(INFLUX_URL ? false : 'INFLUX_URL not set (run the tests through scripts/test-services.sh to start InfluxDB)');
const log = pino({ level: 'silent' });
const TOKEN = 'pulsebridge:secret';
const T0 = Date.UTC(2025, 0, 1);

let proxy: InfluxV2Proxy | undefined;

before(async () => {
  if (INFLUX_URL) proxy = await startInfluxV2Proxy(INFLUX_URL);
});
after(async () => {
  await proxy?.close();
});

/** A fresh database and a started store writing to it through the proxy. */
/** Runs `use` against a store on a fresh database, dropped afterwards whatever happens. */
async function withStore(...args: [use: Use] | [options: Partial<InfluxSeriesStoreOptions>, use: Use]): Promise<void> {
  const [options, use] = args.length === 1 ? [{}, args[0]] : args;
  const { store, db, cleanup } = await freshStore(options);
  try {
    await use({ store, db });
  } finally {
    await cleanup();
  }
}

type Use = (fresh: { store: InfluxSeriesStore; db: string }) => Promise<void>;

async function freshStore(options: Partial<InfluxSeriesStoreOptions> = {}): Promise<{ store: InfluxSeriesStore; db: string; cleanup(): Promise<void> }> {
  const db = `pb_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  await influxql(INFLUX_URL!, `CREATE DATABASE "${db}"`);
  proxy!.faultFor = () => undefined;
  proxy!.requests.length = 0;
  const store = new InfluxSeriesStore({ url: proxy!.url, token: TOKEN, org: 'pulsebridge', bucket: `${db}/autogen`, timeoutMs: 10_000, log, ...options });
  try {
    await store.start();
  } catch (err) {
    await influxql(INFLUX_URL!, `DROP DATABASE "${db}"`);
    throw err;
  }
  return {
    store,
    db,
    async cleanup() {
      await store.stop();
      await influxql(INFLUX_URL!, `DROP DATABASE "${db}"`);
    },
  };
}

seriesStoreContract('influx', async (bounds) => (NO_INFLUX ? { skip: NO_INFLUX } : freshStore(bounds)));

function readings(n: number, sensor = 's1'): SeriesWrite[] {
  return [
    { gym: 'g1', agent: 'a1', series: [{ sensor, metric: 'power', ts: Array.from({ length: n }, (_, i) => T0 + i), values: Array.from({ length: n }, (_, i) => i % 1000) }] },
  ];
}

const isCode =
  (code: string) =>
  (err: unknown): boolean =>
    err instanceof SeriesStoreError && err.code === code;

describe('InfluxSeriesStore against InfluxDB', { skip: NO_INFLUX }, () => {
  test('write() resolves only after InfluxDB answered every request of the call', { timeout: 30_000 }, async () => {
    await withStore({ pointsPerRequest: 1_000, concurrentRequests: 2 }, async ({ store }) => {
      proxy!.faultFor = (i) => ({ delayMs: i % 3 === 0 ? 150 : 20 });
      await store.write(readings(10_500));
      const writes = proxy!.requests.filter((r) => r.path === '/api/v2/write');
      assert.deepEqual(
        writes.map((w) => w.lines),
        [...Array(10).fill(1_000), 500],
      );
      assert.ok(
        writes.every((w) => w.answeredAt !== undefined),
        'a write request was still unanswered when write() resolved',
      );
      assert.equal(await store.count({}), 10_500);
    });
  });

  test('the cache of known series holds at most seriesCacheEntries whatever the agents send; a known series costs no SHOW SERIES', async () => {
    await withStore({ seriesCacheEntries: 50, maxSeriesPerAgent: 1_000 }, async ({ store }) => {
      for (let a = 0; a < 4; a++) {
        const series = Array.from({ length: 100 }, (_, i) => ({ sensor: `ble:fake-${i}`, metric: 'power' as const, ts: [T0 + i], values: [i] }));
        assert.deepEqual((await store.write([{ gym: 'g1', agent: `a${a}`, series }])).refused, []);
        assert.ok(store.cachedSeries <= 50, `${store.cachedSeries} series cached after agent ${a}`);
      }
      assert.equal(store.cachedSeries, 50);
      assert.equal(await store.count({}), 400);
      proxy!.requests.length = 0;
      // The most recent series are cached: writing to them again asks InfluxDB nothing but the write.
      await store.write([{ gym: 'g1', agent: 'a3', series: [{ sensor: 'ble:fake-99', metric: 'power', ts: [T0 + 500], values: [1] }] }]);
      assert.deepEqual(
        proxy!.requests.map((r) => r.path),
        ['/api/v2/write'],
      );
      // A series the cache forgot is looked up again, once per write and agent.
      await store.write([{ gym: 'g1', agent: 'a0', series: [0, 1].map((i) => ({ sensor: `ble:fake-${i}`, metric: 'power' as const, ts: [T0 + 600], values: [1] })) }]);
      assert.deepEqual(
        proxy!.requests.map((r) => r.path),
        ['/api/v2/write', '/query', '/api/v2/write'],
      );
      assert.equal(await store.count({ agent: 'a0' }), 102);
    });
  });

  test('the token is sent on writes and queries', async () => {
    await withStore(async ({ store }) => {
      await store.write(readings(3));
      await store.readRaw({ sensor: 's1', metric: 'power', from: T0, to: T0 + 10 }, 10);
      const paths = new Set(proxy!.requests.map((r) => r.path));
      assert.ok(paths.has('/api/v2/write') && paths.has('/query'));
      for (const r of proxy!.requests.filter((r) => r.path !== '/ping')) assert.equal(r.authorization, `Token ${TOKEN}`, r.path);
    });
  });

  test('a server error fails the call with write_failed and nothing is retried behind its back', async (t) => {
    await withStore({ pointsPerRequest: 100, concurrentRequests: 1 }, async ({ store }) => {
      proxy!.faultFor = (i) => (i === 1 ? { status: 503, body: '{"error":"overloaded"}' } : undefined);
      // Any retry the client schedules is a timer: mocked from before the write, so none can hide in real time.
      t.mock.timers.enable({ apis: ['setTimeout', 'setInterval'] });
      await assert.rejects(store.write(readings(300)), (err: unknown) => isCode('write_failed')(err) && /503/.test((err as Error).message) && (err as SeriesStoreError).retryable);
      const writesAtFailure = proxy!.requests.filter((r) => r.path === '/api/v2/write').length;
      // Run every timer of the next minute, then make one request of our own, which arrives after anything
      // those timers sent.
      t.mock.timers.tick(60_000);
      t.mock.timers.reset();
      await store.count({});
      assert.equal(proxy!.requests.filter((r) => r.path === '/api/v2/write').length, writesAtFailure, 'the client retried in the background');
      // The agent resends the whole batch; the points that did land are not counted twice.
      proxy!.faultFor = () => undefined;
      await store.write(readings(300));
      assert.equal(await store.count({}), 300);
    });
  });

  test('points InfluxDB refuses for good fail with write_rejected, which is not retryable', async () => {
    await withStore(async ({ store }) => {
      proxy!.faultFor = () => ({ status: 400, body: '{"error":"partial write: points beyond retention policy dropped=3"}' });
      await assert.rejects(
        store.write(readings(3)),
        (err: unknown) => isCode('write_rejected')(err) && !(err as SeriesStoreError).retryable && /retention/.test((err as Error).message),
      );
    });
  });

  test('a write InfluxDB never answers times out, saying what it waited for', { timeout: 20_000 }, async () => {
    await withStore({ timeoutMs: 500 }, async ({ store }) => {
      proxy!.faultFor = () => 'hang';
      const started = Date.now();
      try {
        await assert.rejects(
          store.write(readings(10)),
          (err: unknown) => isCode('timeout')(err) && /waiting for InfluxDB to confirm a write of 10 points/.test((err as Error).message),
        );
        assert.ok(Date.now() - started < 5_000);
      } finally {
        proxy!.faultFor = () => undefined;
      }
    });
  });

  test('start fails with unavailable when the database does not exist', async () => {
    const store = new InfluxSeriesStore({ url: INFLUX_URL!, org: 'pulsebridge', bucket: `pb_missing_${randomBytes(4).toString('hex')}/autogen`, log });
    await assert.rejects(store.start(), (err: unknown) => isCode('unavailable')(err) && /database not found/.test((err as Error).message));
  });

  test('start fails with unavailable when the retention policy does not exist', async () => {
    await withStore(async ({ db }) => {
      const store = new InfluxSeriesStore({ url: INFLUX_URL!, org: 'pulsebridge', bucket: `${db}/nope`, log });
      await assert.rejects(store.start(), (err: unknown) => isCode('unavailable')(err) && /retention policy nope not found/.test((err as Error).message));
    });
  });

  test('reads use the database named by `database` when it differs from the bucket', async () => {
    const { db, cleanup } = await freshStore();
    const other = new InfluxSeriesStore({ url: proxy!.url, org: 'pulsebridge', bucket: `${db}/autogen`, database: db, log });
    try {
      await other.start();
      await other.write(readings(5));
      assert.equal(await other.count({}), 5);
    } finally {
      await other.stop();
      await cleanup();
    }
  });
});

describe('InfluxSeriesStore without a server', () => {
  let silent: Server;
  let silentUrl: string;
  before(async () => {
    silent = createServer(() => {
      // never answers
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    silentUrl = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
  });
  after(async () => {
    silent.closeAllConnections();
    await new Promise((resolve) => silent.close(resolve));
  });

  test('start fails with unavailable when nothing listens', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const store = new InfluxSeriesStore({ url: `http://127.0.0.1:${port}`, org: 'o', bucket: 'b', log, timeoutMs: 1_000 });
    await assert.rejects(store.start(), (err: unknown) => isCode('unavailable')(err) && /ECONNREFUSED/.test((err as Error).message));
  });

  test('start against a server that never answers times out within timeoutMs', { timeout: 10_000 }, async () => {
    const store = new InfluxSeriesStore({ url: silentUrl, org: 'o', bucket: 'b', log, timeoutMs: 300 });
    const started = Date.now();
    await assert.rejects(
      store.start(),
      (err: unknown) => isCode('unavailable')(err) && /timed out after 300 ms waiting for InfluxDB to answer a ping/.test((err as Error).message),
    );
    assert.ok(Date.now() - started < 3_000);
  });

  test('calls before start are refused with not_started; invalid input is refused before any request', async () => {
    const store = new InfluxSeriesStore({ url: silentUrl, org: 'o', bucket: 'b', log });
    await assert.rejects(store.write(readings(1)), isCode('not_started'));
    await assert.rejects(store.readRaw({ sensor: 's', metric: 'power', from: 0, to: 1 }, 1), isCode('not_started'));
    await assert.rejects(store.listSeries({}, { limit: 100 }), isCode('not_started'));
  });

  test('parseSeriesKey reads SHOW SERIES keys, escapes included, and refuses foreign ones', () => {
    assert.deepEqual(parseSeriesKey('readings,agent=a1,gym=g\\ 1\\,x\\=y,metric=power,sensor=ant:pwr:1/2'), {
      gym: 'g 1,x=y',
      agent: 'a1',
      sensor: 'ant:pwr:1/2',
      metric: 'power',
    });
    assert.deepEqual(parseSeriesKey('readings,agent=a1,gym=g,metric=heart_rate,sensor=o\'b "x"'), { gym: 'g', agent: 'a1', sensor: 'o\'b "x"', metric: 'heart_rate' });
    assert.equal(parseSeriesKey('cpu,host=a'), undefined);
    assert.equal(parseSeriesKey('readings,agent=a1,gym=g,metric=bogus,sensor=s'), undefined);
    assert.equal(parseSeriesKey('readings,agent=a1,gym=g,sensor=s'), undefined);
    assert.equal(parseSeriesKey('readings,agent,gym=g,metric=power,sensor=s'), undefined);
  });
});
