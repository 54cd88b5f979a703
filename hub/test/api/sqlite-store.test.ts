/** The API over the real embedded SeriesStore: pagination and rollups hold with SQLite's own ordering and maths. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { SqliteSeriesStore } from '../../src/storage/series/sqlite-series-store.ts';
import { NOW, readProblem, startApi } from './harness.ts';

const SENSOR = 'ant:hr:12345:1';

test('over SqliteSeriesStore, cursor pages return every reading once in order and rollups match SQLite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pb-api-sqlite-'));
  const store = new SqliteSeriesStore({ path: join(dir, 'series.db'), log: pino({ level: 'silent' }) });
  await store.start();
  const api = await startApi({ store });
  try {
    const from = NOW - 10 * 60_000;
    const ts = Array.from({ length: 1_200 }, (_, i) => from + i * 500);
    await store.write([
      { gym: 'gym-a', agent: 'box-1', series: [{ sensor: SENSOR, metric: 'heart_rate', ts, values: ts.map((_, i) => 60 + (i % 100)) }] },
      { gym: 'gym-a', agent: 'box-2', series: [{ sensor: SENSOR, metric: 'heart_rate', ts: ts.slice(0, 50), values: ts.slice(0, 50).map(() => 200) }] },
    ]);
    const all = await store.readRaw({ sensor: SENSOR, metric: 'heart_rate', from, to: NOW }, 10_000);
    assert.equal(all.length, 1_250);

    const seen: { ts: number; value: number }[] = [];
    let next: string | undefined = `/api/v1/readings?sensor=${encodeURIComponent(SENSOR)}&metric=heart_rate&from=${from}&to=${NOW}&limit=33`;
    let pages = 0;
    while (next !== undefined) {
      assert.ok(++pages <= 100, 'pagination ends');
      const response = await api.get(next);
      assert.equal(response.status, 200);
      const body = (await response.json()) as { readings: { ts: number; value: number }[]; next?: string };
      seen.push(...body.readings);
      next = body.next;
    }
    assert.equal(pages, Math.ceil(1_250 / 33));
    assert.deepEqual(seen, all);

    const rollups = (await (await api.get(`/api/v1/rollups?sensor=${encodeURIComponent(SENSOR)}&metric=heart_rate&from=${from}&to=${NOW}&step=1m&agent=box-1`)).json()) as {
      rollups: { ts: number; min: number; max: number; mean: number; count: number }[];
    };
    assert.equal(rollups.rollups.length, 10);
    for (const step of rollups.rollups) {
      const inStep = ts.map((t, i) => ({ t, v: 60 + (i % 100) })).filter(({ t }) => t >= step.ts && t < step.ts + 60_000);
      assert.equal(step.count, inStep.length);
      assert.equal(step.min, Math.min(...inStep.map((p) => p.v)));
      assert.equal(step.max, Math.max(...inStep.map((p) => p.v)));
      assert.ok(Math.abs(step.mean - inStep.reduce((sum, p) => sum + p.v, 0) / inStep.length) < 1e-9);
    }

    await store.stop();
    const stopped = await api.get(`/api/v1/readings?sensor=${encodeURIComponent(SENSOR)}&metric=heart_rate`);
    assert.equal(stopped.status, 503, 'a store that is not running is an outage, not a crash');
    assert.equal(stopped.headers.get('retry-after'), '5');
    assert.equal((await readProblem(stopped)).type, '/api/v1/docs#problem-unavailable');
  } finally {
    await api.close();
    await store.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
