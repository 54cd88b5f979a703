import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '@pulsebridge/runtime';
import { pino } from 'pino';
import { loadHubConfig } from '../../src/config.ts';
import { createSeriesStore, InfluxSeriesStore, SeriesConfig, SqliteSeriesStore, seriesConfigProblems, seriesRetention } from '../../src/storage/series/index.ts';

const log = pino({ level: 'silent' });
const load = (env: Record<string, string> = {}, overrides?: Record<string, unknown>): SeriesConfig =>
  loadConfig(SeriesConfig, { env, envPrefix: 'PB_HUB_SERIES__', ...(overrides ? { overrides } : {}) });

test('an empty configuration means SQLite with FULL sync (an ack means durable), the series bounds, and complete influx defaults', () => {
  assert.deepEqual(load(), {
    kind: 'sqlite',
    maxSeriesPerAgent: 2_000,
    seriesCacheEntries: 20_000,
    sqlite: { synchronous: 'FULL' },
    influx: { url: 'http://127.0.0.1:8086', org: 'pulsebridge', bucket: 'pulsebridge', timeoutMs: 10_000 },
  });
});

test('environment overrides reach nested fields', () => {
  const config = load({ PB_HUB_SERIES__KIND: 'influx', PB_HUB_SERIES__INFLUX__BUCKET: 'gyms/autogen', PB_HUB_SERIES__INFLUX__TIMEOUT_MS: '2500' });
  assert.equal(config.kind, 'influx');
  assert.equal(config.influx.bucket, 'gyms/autogen');
  assert.equal(config.influx.timeoutMs, 2_500);
  const bounded = load({ PB_HUB_SERIES__MAX_SERIES_PER_AGENT: '50', PB_HUB_SERIES__SERIES_CACHE_ENTRIES: '1000' });
  assert.equal(bounded.maxSeriesPerAgent, 50);
  assert.equal(bounded.seriesCacheEntries, 1_000);
});

test('invalid settings are all reported, each with its path', () => {
  assert.throws(
    () => load({}, { kind: 'mongo', maxSeriesPerAgent: 0, seriesCacheEntries: 'many', sqlite: { synchronous: 'OFF' }, influx: { timeoutMs: 0, token: { vault: 'x' } }, extra: 1 }),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      const text = err.problems.join('\n');
      for (const path of ['/kind', '/maxSeriesPerAgent', '/seriesCacheEntries', '/sqlite/synchronous', '/influx/timeoutMs', '/influx/token']) {
        assert.match(text, new RegExp(path), text);
      }
      return true;
    },
  );
});

test('the SQLite store lives in the data folder unless an absolute path is configured', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'pb-series-config-'));
  try {
    const byDefault = createSeriesStore(load(), { log, dataDir });
    assert.ok(byDefault instanceof SqliteSeriesStore);
    await byDefault.start();
    await byDefault.stop();
    assert.ok(existsSync(join(dataDir, 'series.db')));

    const relative = createSeriesStore(load({}, { sqlite: { path: 'nested/readings.db', synchronous: 'FULL' } }), { log, dataDir });
    await relative.start();
    await relative.stop();
    assert.ok(existsSync(join(dataDir, 'nested', 'readings.db')));

    const absolutePath = join(dataDir, 'elsewhere', 'abs.db');
    const absolute = createSeriesStore(load({}, { sqlite: { path: absolutePath } }), { log, dataDir: '/nonexistent' });
    await absolute.start();
    await absolute.stop();
    assert.ok(existsSync(absolutePath));
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('kind influx builds the InfluxDB store and resolves its token reference', () => {
  const config = load({}, { kind: 'influx', influx: { url: 'http://127.0.0.1:1', token: { env: 'INFLUX_TOKEN_FOR_TEST' } } });
  assert.ok(createSeriesStore(config, { log, dataDir: '/tmp', env: { INFLUX_TOKEN_FOR_TEST: 'user:pass' } }) instanceof InfluxSeriesStore);
  assert.throws(
    () => createSeriesStore(config, { log, dataDir: '/tmp', env: {} }),
    (err: unknown) => err instanceof ConfigError && /INFLUX_TOKEN_FOR_TEST/.test(err.message),
  );
});

test('SQLite retention: absent by default; when set, its defaults are filled and the store gets it in milliseconds', () => {
  assert.equal(load().sqlite.retention, undefined);
  const config = load({}, { sqlite: { retention: { rawDays: 30, rollups: [{ every: '1m', keepDays: 365 }, { every: '1h' }] } } });
  assert.deepEqual(config.sqlite.retention, { rawDays: 30, rollups: [{ every: '1m', keepDays: 365 }, { every: '1h' }], roundIntervalMs: 600_000, chunkRows: 5_000 });
  assert.deepEqual(seriesRetention(config.sqlite.retention!), {
    rawDays: 30,
    rollups: [{ everyMs: 60_000, keepDays: 365 }, { everyMs: 3_600_000 }],
    roundIntervalMs: 600_000,
    chunkRows: 5_000,
  });
  assert.deepEqual(seriesConfigProblems(config, '/series', { maxReadingAgeMs: 8 * 86_400_000 }), []);
});

test('SQLite retention: bad values are refused by the schema, each with its path', () => {
  assert.throws(
    () => load({}, { sqlite: { retention: { rawDays: 0, rollups: [{ every: '90x' }, { every: '1m', keepDays: -1, extra: 1 }], chunkRows: 1, roundIntervalMs: 10 } } }),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      const text = err.problems.join('\n');
      for (const path of [
        '/sqlite/retention/rawDays',
        '/sqlite/retention/rollups/0/every',
        '/sqlite/retention/rollups/1/keepDays',
        '/sqlite/retention/chunkRows',
        '/sqlite/retention/roundIntervalMs',
      ]) {
        assert.match(text, new RegExp(path), text);
      }
      return true;
    },
  );
});

test('SQLite retention: rules across fields are problems, every one listed', () => {
  const config = load(
    {},
    {
      sqlite: { retention: { rawDays: 5, rollups: [{ every: '1m', keepDays: 5 }, { every: '60s' }, { every: '7m' }, { every: '2d' }] } },
    },
  );
  const problems = seriesConfigProblems(config, '/series', { maxReadingAgeMs: 8 * 86_400_000 });
  assert.deepEqual(problems, [
    "/series/sqlite/retention/rawDays: 5 days would delete readings ingest still accepts (ingest.maxReadingAgeMs 691200000 ms) before a late reading's session is computed again; at least 9",
    '/series/sqlite/retention/rollups/0/keepDays: 5 is not more than rawDays (5): the rollup would be deleted with the readings it replaces',
    '/series/sqlite/retention/rollups/1/every: 60s is already rollups/0',
    '/series/sqlite/retention/rollups/2/every: 7m does not divide a day, so its buckets would not line up with days',
    '/series/sqlite/retention/rollups/3/every: at most 1d, got 2d',
  ]);
  // On InfluxDB the SQLite retention is not used, so not checked: retention there is the server's.
  assert.deepEqual(seriesConfigProblems({ ...config, kind: 'influx' }, '/series', { maxReadingAgeMs: 8 * 86_400_000 }), []);
});

test('the hub configuration loader holds the raw retention to ingest.maxReadingAgeMs', () => {
  assert.throws(
    () => loadHubConfig({ env: {}, overrides: { series: { sqlite: { retention: { rawDays: 1 } } } } }),
    (err: unknown) => err instanceof ConfigError && err.problems.some((p) => /^\/series\/sqlite\/retention\/rawDays: 1 days .*; at least 9$/.test(p)),
  );
  const shorter = loadHubConfig({ env: {}, overrides: { series: { sqlite: { retention: { rawDays: 3 } } }, ingest: { maxReadingAgeMs: 86_400_000 } } });
  assert.equal(shorter.series.sqlite.retention?.rawDays, 3);
});

test('a configured retention reaches the SQLite store that createSeriesStore builds', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'pb-series-config-'));
  try {
    const store = createSeriesStore(load({}, { sqlite: { retention: { rawDays: 10, rollups: [{ every: '1h' }] } } }), { log, dataDir });
    assert.ok(store instanceof SqliteSeriesStore);
    await store.start();
    try {
      const old = Date.now() - 11 * 86_400_000;
      await store.write([{ gym: 'g1', agent: 'a1', series: [{ sensor: 's1', metric: 'power', ts: [old, old + 1_000], values: [1, 3] }] }]);
      assert.equal((await store.runRetention())?.foldedReadings, 2);
      const [bucket] = await store.readRollup({ sensor: 's1', metric: 'power', from: old - 3_600_000, to: old + 3_600_000 }, 3_600_000);
      assert.deepEqual({ count: bucket?.count, mean: bucket?.mean }, { count: 2, mean: 2 });
    } finally {
      await store.stop();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
