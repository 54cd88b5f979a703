import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { SeriesStoreError } from '../../src/storage/series/errors.ts';
import { SqliteSeriesStore } from '../../src/storage/series/sqlite-series-store.ts';
import type { SeriesWrite } from '../../src/storage/series/series-store.ts';
import { seriesStoreContract } from './series-contract.ts';

const log = pino({ level: 'silent' });

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'pb-series-sqlite-'));
}

seriesStoreContract('sqlite', async (bounds) => {
  const dir = tempDir();
  const store = new SqliteSeriesStore({ path: join(dir, 'series.db'), log, ...bounds });
  await store.start();
  return {
    store,
    async cleanup() {
      await store.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

/** Runs `use` against a started store in a fresh folder, stopped and removed afterwards whatever happens. */
async function withStartedStore(use: (store: SqliteSeriesStore, path: string) => Promise<void>): Promise<void> {
  const dir = tempDir();
  const path = join(dir, 'series.db');
  const store = new SqliteSeriesStore({ path, log });
  try {
    await store.start();
    await use(store, path);
  } finally {
    await store.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function withOpenStore(path: string, use: (store: SqliteSeriesStore) => Promise<void>): Promise<void> {
  const store = new SqliteSeriesStore({ path, log });
  await store.start();
  try {
    await use(store);
  } finally {
    await store.stop();
  }
}

describe('SqliteSeriesStore', () => {
  const T0 = Date.UTC(2025, 0, 1);

  test('readings and series survive a restart; the series cache is reloaded, not duplicated', async () => {
    const dir = tempDir();
    const path = join(dir, 'nested', 'series.db');
    try {
      const first = new SqliteSeriesStore({ path, log, synchronous: 'FULL' });
      await first.start();
      await first.write([{ gym: 'g1', agent: 'a1', series: [{ sensor: 's1', metric: 'heart_rate', ts: [T0, T0 + 1], values: [60, 61] }] }]);
      await first.stop();

      const second = new SqliteSeriesStore({ path, log });
      await second.start();
      await second.write([{ gym: 'g1', agent: 'a1', series: [{ sensor: 's1', metric: 'heart_rate', ts: [T0 + 1, T0 + 2], values: [61, 62] }] }]);
      assert.equal(await second.count({}), 3);
      assert.deepEqual(await second.listSeries({}, { limit: 100 }), [{ gym: 'g1', agent: 'a1', sensor: 's1', metric: 'heart_rate' }]);
      await second.stop();

      const db = new Database(path, { readonly: true });
      try {
        assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
        assert.equal((db.prepare('SELECT count(*) AS n FROM series').get() as { n: number }).n, 1);
      } finally {
        db.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('without a synchronous option the store opens with synchronous=FULL, and NORMAL only when asked', async () => {
    const dir = tempDir();
    try {
      for (const [given, expected] of [
        [undefined, 'FULL'],
        ['NORMAL', 'NORMAL'],
      ] as const) {
        const lines: { msg?: string; synchronous?: string }[] = [];
        const capture = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line) as { msg?: string; synchronous?: string }) });
        const store = new SqliteSeriesStore({ path: join(dir, `${expected}.db`), log: capture, ...(given ? { synchronous: given } : {}) });
        await store.start();
        await store.stop();
        assert.equal(lines.find((line) => line.msg === 'series store open')?.synchronous, expected);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the series cache holds at most seriesCacheEntries ids whatever the agents send, starts empty, and the readings stay right', async () => {
    const dir = tempDir();
    const path = join(dir, 'series.db');
    try {
      const store = new SqliteSeriesStore({ path, log, seriesCacheEntries: 100, maxSeriesPerAgent: 1_000 });
      await store.start();
      // 20 agents inventing 500 series each, the way the attack of issue 13 created 300 000.
      for (let a = 0; a < 20; a++) {
        const series = Array.from({ length: 500 }, (_, i) => ({ sensor: `ble:fake-${i}`, metric: 'power' as const, ts: [T0 + i], values: [i] }));
        assert.deepEqual((await store.write([{ gym: 'g1', agent: `a${a}`, series }])).refused, []);
        assert.ok(store.cachedSeries <= 100, `${store.cachedSeries} series ids cached after agent ${a}`);
      }
      assert.equal(store.cachedSeries, 100);
      assert.equal(await store.count({}), 10_000);
      // Series forgotten long ago are found again in the table, not created twice.
      await store.write([{ gym: 'g1', agent: 'a0', series: [{ sensor: 'ble:fake-0', metric: 'power', ts: [T0 + 1_000], values: [7] }] }]);
      assert.deepEqual(await store.readRaw({ sensor: 'ble:fake-0', metric: 'power', agent: 'a0', from: T0, to: T0 + 2_000 }, 10), [
        { ts: T0, value: 0 },
        { ts: T0 + 1_000, value: 7 },
      ]);
      assert.equal((await store.listSeries({}, { limit: 10_000 })).length, 10_000);
      await store.stop();

      // A restart does not load the series table into memory.
      const again = new SqliteSeriesStore({ path, log, seriesCacheEntries: 100 });
      await again.start();
      assert.equal(again.cachedSeries, 0);
      await again.write([{ gym: 'g1', agent: 'a5', series: [{ sensor: 'ble:fake-5', metric: 'power', ts: [T0 + 1_000], values: [1] }] }]);
      assert.equal(again.cachedSeries, 1);
      assert.equal(await again.count({ agent: 'a5' }), 501);
      await again.stop();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the series limit holds across a restart: the count comes from the file, not from memory', async () => {
    const dir = tempDir();
    const path = join(dir, 'series.db');
    const three = (agent: string, from: number): SeriesWrite => ({
      gym: 'g1',
      agent,
      series: [0, 1, 2].map((i) => ({ sensor: `s${from + i}`, metric: 'power' as const, ts: [T0], values: [i] })),
    });
    try {
      const first = new SqliteSeriesStore({ path, log, maxSeriesPerAgent: 4 });
      await first.start();
      assert.equal((await first.write([three('a1', 0)])).refused.length, 0);
      await first.stop();
      const second = new SqliteSeriesStore({ path, log, maxSeriesPerAgent: 4 });
      await second.start();
      assert.deepEqual(
        (await second.write([three('a1', 3)])).refused.map((r) => r.sensor),
        ['s4', 's5'],
      );
      await second.stop();
      // Lowering the limit keeps the series already stored writable, and refuses new ones.
      const lower = new SqliteSeriesStore({ path, log, maxSeriesPerAgent: 2 });
      await lower.start();
      assert.deepEqual((await lower.write([three('a1', 0)])).refused, []);
      assert.equal((await lower.write([three('a1', 10)])).refused.length, 3);
      await lower.stop();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a version 1 file is upgraded in place: its series and readings stay, listing gets its index and retention its rollups table', async () => {
    const dir = tempDir();
    const path = join(dir, 'series.db');
    try {
      const v1 = new Database(path);
      v1.exec(`
        CREATE TABLE series (id INTEGER PRIMARY KEY, gym TEXT NOT NULL, agent TEXT NOT NULL, sensor TEXT NOT NULL, metric TEXT NOT NULL, UNIQUE (agent, sensor, metric));
        CREATE INDEX series_by_sensor ON series (sensor, metric);
        CREATE TABLE readings (series_id INTEGER NOT NULL, ts INTEGER NOT NULL, value REAL NOT NULL, PRIMARY KEY (series_id, ts)) WITHOUT ROWID;
        INSERT INTO series VALUES (1, 'g1', 'a1', 's1', 'power');
        INSERT INTO readings VALUES (1, ${T0}, 250);
        PRAGMA user_version = 1;
      `);
      v1.close();
      await withOpenStore(path, async (store) => {
        assert.deepEqual(await store.listSeries({}, { limit: 10 }), [{ gym: 'g1', agent: 'a1', sensor: 's1', metric: 'power' }]);
        assert.deepEqual(await store.readRaw({ sensor: 's1', metric: 'power', from: T0, to: T0 + 1 }, 10), [{ ts: T0, value: 250 }]);
      });
      const db = new Database(path, { readonly: true });
      try {
        assert.equal(db.pragma('user_version', { simple: true }), 3);
        assert.ok(db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = 'series_listing'").get());
        assert.ok(db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'rollups'").get());
      } finally {
        db.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a failed transaction leaves no readings and no cached series behind', async () => {
    await withStartedStore(async (store, path) => {
      // A trigger makes the second series' insert fail after the first series row was created in the same transaction.
      const side = new Database(path);
      side.exec(`CREATE TRIGGER refuse BEFORE INSERT ON readings WHEN NEW.value = 13 BEGIN SELECT RAISE(ABORT, 'unlucky'); END`);
      side.close();
      await assert.rejects(
        store.write([
          { gym: 'g1', agent: 'a1', series: [{ sensor: 'new-sensor', metric: 'power', ts: [T0], values: [1] }] },
          { gym: 'g1', agent: 'a2', series: [{ sensor: 's2', metric: 'power', ts: [T0], values: [13] }] },
        ]),
        (err: unknown) => err instanceof SeriesStoreError && err.code === 'write_failed' && /unlucky/.test(err.message),
      );
      assert.equal(await store.count({}), 0);
      assert.deepEqual(await store.listSeries({}, { limit: 100 }), []);
      // Had the rolled-back series id stayed cached, this reading would point at a series row that does not exist.
      await store.write([{ gym: 'g1', agent: 'a1', series: [{ sensor: 'new-sensor', metric: 'power', ts: [T0], values: [2] }] }]);
      assert.deepEqual(await store.listSeries({}, { limit: 100 }), [{ gym: 'g1', agent: 'a1', sensor: 'new-sensor', metric: 'power' }]);
      assert.deepEqual(await store.readRaw({ sensor: 'new-sensor', metric: 'power', from: T0, to: T0 + 1 }, 10), [{ ts: T0, value: 2 }]);
    });
  });

  test('a read the database cannot answer fails with query_failed', async () => {
    await withStartedStore(async (store, path) => {
      await store.write([{ gym: 'g1', agent: 'a1', series: [{ sensor: 's1', metric: 'power', ts: [T0], values: [1] }] }]);
      const side = new Database(path);
      side.exec('DROP TABLE readings');
      side.close();
      const failed = (err: unknown): boolean => err instanceof SeriesStoreError && err.code === 'query_failed' && /no such table/.test(err.message);
      await assert.rejects(store.readRaw({ sensor: 's1', metric: 'power', from: T0, to: T0 + 1 }, 1), failed);
      await assert.rejects(store.readRollup({ sensor: 's1', metric: 'power', from: T0, to: T0 + 1 }, 1), failed);
      await assert.rejects(store.count({}), failed);
    });
  });

  test('calls before start or after stop are refused with not_started', async () => {
    const dir = tempDir();
    const store = new SqliteSeriesStore({ path: join(dir, 'series.db'), log });
    try {
      const selector = { sensor: 's', metric: 'power' as const, from: 0, to: 1 };
      const notStarted = (err: unknown): boolean => err instanceof SeriesStoreError && err.code === 'not_started';
      await assert.rejects(store.write([]), notStarted);
      await assert.rejects(store.readRaw(selector, 1), notStarted);
      await store.start();
      await store.start();
      assert.deepEqual(await store.readRaw(selector, 1), []);
      await store.stop();
      await store.stop();
      await assert.rejects(store.readRollup(selector, 1), notStarted);
      await assert.rejects(store.count({}), notStarted);
      await assert.rejects(store.listSeries({}, { limit: 100 }), notStarted);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a file that cannot be opened or has a newer schema fails start with unavailable', async () => {
    const dir = tempDir();
    try {
      writeFileSync(join(dir, 'garbage.db'), 'this is not a database, just text long enough to have a header'.repeat(20));
      await assert.rejects(new SqliteSeriesStore({ path: join(dir, 'garbage.db'), log }).start(), (err: unknown) => err instanceof SeriesStoreError && err.code === 'unavailable');

      const newer = new Database(join(dir, 'newer.db'));
      newer.pragma('user_version = 99');
      newer.close();
      await assert.rejects(
        new SqliteSeriesStore({ path: join(dir, 'newer.db'), log }).start(),
        (err: unknown) => err instanceof SeriesStoreError && err.code === 'unavailable' && /schema version 99/.test(err.message),
      );

      if (process.getuid?.() !== 0) {
        const locked = join(dir, 'locked');
        mkdirSync(locked);
        chmodSync(locked, 0o500);
        await assert.rejects(
          new SqliteSeriesStore({ path: join(locked, 'sub', 'series.db'), log }).start(),
          (err: unknown) => err instanceof SeriesStoreError && err.code === 'unavailable',
        );
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('series longer than one multi-row insert and of every remainder length are stored whole', async () => {
    const dir = tempDir();
    const store = new SqliteSeriesStore({ path: join(dir, 'series.db'), log });
    try {
      await store.start();
      const lengths = [1, 2, 63, 64, 65, 127, 128, 129, 1_000];
      await store.write([
        {
          gym: 'g1',
          agent: 'a1',
          series: lengths.map((n) => ({
            sensor: `len-${n}`,
            metric: 'cadence' as const,
            ts: Array.from({ length: n }, (_, i) => T0 + i),
            values: Array.from({ length: n }, (_, i) => i / 10),
          })),
        },
      ]);
      for (const n of lengths) {
        const points = await store.readRaw({ sensor: `len-${n}`, metric: 'cadence', from: T0, to: T0 + 10_000 }, 10_000);
        assert.equal(points.length, n, `len-${n}`);
        assert.deepEqual(points.at(-1), { ts: T0 + n - 1, value: (n - 1) / 10 });
      }
      assert.equal(
        await store.count({}),
        lengths.reduce((a, b) => a + b, 0),
      );
    } finally {
      await store.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
