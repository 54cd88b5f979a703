import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { ReadingsPage, Rollups, SeriesList } from '../../src/api/schemas.ts';
import { NOW, readProblem, withApi, type RunningApi } from './harness.ts';

const HR = 'ble:c0:ff:ee:00:11:22';
const MINUTE = 60_000;

interface Page {
  readings: { ts: number; value: number }[];
  nextCursor?: string;
  next?: string;
  unit: string;
  from: number;
  to: number;
}

const checkPage = TypeCompiler.Compile(ReadingsPage);
const checkSeriesList = TypeCompiler.Compile(SeriesList);

async function page(api: RunningApi, path: string): Promise<{ body: Page; link: string | null }> {
  const response = await api.get(path);
  if (response.status !== 200) throw new Error(`${path}: ${response.status} ${await response.text()}`);
  const body: unknown = await response.json();
  assert.ok(checkPage.Check(body), `${path}: the page matches the documented schema`);
  return { body: body as Page, link: response.headers.get('link') };
}

test('GET /api/v1/series lists series with their unit from the catalogue', async () => {
  await withApi(async (api) => {
    api.store.add('gym-a', 'box-1', [
      { sensor: HR, metric: 'heart_rate', ts: [NOW - 1_000], values: [120] },
      { sensor: 'ant:pwr:7:1', metric: 'power', ts: [NOW - 1_000], values: [250] },
    ]);
    api.store.add('gym-b', 'box-2', [{ sensor: 'ant:pwr:9:1', metric: 'cadence', ts: [NOW - 1_000], values: [90] }]);
    const response = await api.get('/api/v1/series');
    const all: unknown = await response.json();
    assert.ok(checkSeriesList.Check(all));
    assert.equal(all.series.length, 3);
    assert.equal(all.nextCursor, undefined, 'one page holds them all');
    assert.equal(response.headers.get('link'), null);
    assert.deepEqual(all.series.map((s) => [s.metric, s.unit]).sort(), [
      ['cadence', 'rpm'],
      ['heart_rate', 'bpm'],
      ['power', 'W'],
    ]);
    const filtered = await (await api.get('/api/v1/series?gym=gym-a&agent=box-1&sensor=ant%3Apwr%3A7%3A1')).json();
    assert.deepEqual(filtered, { series: [{ gym: 'gym-a', agent: 'box-1', sensor: 'ant:pwr:7:1', metric: 'power', unit: 'W' }] });
  });
});

test('GET /api/v1/series pages by cursor: every series once, in order, limit defaulted and capped', async () => {
  await withApi(async (api) => {
    for (let a = 0; a < 3; a++) {
      api.store.add('gym-a', `box-${a}`, [
        ...Array.from({ length: 40 }, (_, s) => ({ sensor: `ant:pwr:${String(s).padStart(2, '0')}`, metric: 'power' as const, ts: [NOW - 1_000], values: [200] })),
        ...Array.from({ length: 30 }, (_, s) => ({ sensor: `ant:pwr:${String(s).padStart(2, '0')}`, metric: 'cadence' as const, ts: [NOW - 1_000], values: [90] })),
      ]);
    }
    api.store.add('gym-b', 'box-9', [{ sensor: HR, metric: 'heart_rate', ts: [NOW - 1_000], values: [60] }]);
    const total = 3 * 70 + 1;

    const first = await api.get('/api/v1/series');
    const firstBody: unknown = await first.json();
    assert.ok(checkSeriesList.Check(firstBody));
    assert.equal(firstBody.series.length, 100, 'the default limit');
    assert.ok(firstBody.nextCursor && firstBody.next);
    assert.equal(first.headers.get('link'), `<${firstBody.next}>; rel="next"`);

    const seen: string[] = [];
    let path: string | undefined = '/api/v1/series?limit=7';
    let pages = 0;
    while (path !== undefined) {
      const body: unknown = await (await api.get(path)).json();
      assert.ok(checkSeriesList.Check(body));
      assert.ok(body.series.length <= 7);
      seen.push(...body.series.map((s) => `${s.gym} ${s.agent} ${s.sensor} ${s.metric}`));
      path = body.next;
      pages++;
    }
    assert.equal(pages, Math.ceil(total / 7));
    assert.equal(seen.length, total);
    assert.equal(new Set(seen).size, total, 'no series twice');
    assert.deepEqual(seen, [...seen].sort(), 'ordered by gym, agent, sensor, metric');

    const filtered: unknown = await (await api.get('/api/v1/series?agent=box-1&limit=1000')).json();
    assert.ok(checkSeriesList.Check(filtered));
    assert.equal(filtered.series.length, 70);
    assert.equal(filtered.next, undefined);

    assert.equal((await api.get('/api/v1/series?limit=1001')).status, 400);
    assert.equal((await api.get('/api/v1/series?limit=0')).status, 400);
    const elsewhere = await api.get(`/api/v1/series?agent=box-2&cursor=${firstBody.nextCursor}`);
    assert.equal(elsewhere.status, 400, 'a cursor is bound to the filter that issued it');
    assert.equal((await readProblem(elsewhere)).param, 'cursor');
  });
});

test('GET /api/v1/readings defaults to the last hour before now, [from, to) bounds', async () => {
  await withApi(async (api) => {
    const ts = [NOW - 61 * MINUTE, NOW - 60 * MINUTE, NOW - 30 * MINUTE, NOW - 1, NOW];
    api.store.add('gym-a', 'box-1', [{ sensor: HR, metric: 'heart_rate', ts, values: [100, 101, 102, 103, 104] }]);
    const { body, link } = await page(api, `/api/v1/readings?sensor=${encodeURIComponent(HR)}&metric=heart_rate`);
    assert.equal(body.unit, 'bpm');
    assert.equal(body.from, NOW - 60 * MINUTE);
    assert.equal(body.to, NOW);
    assert.deepEqual(body.readings, [
      { ts: NOW - 60 * MINUTE, value: 101 },
      { ts: NOW - 30 * MINUTE, value: 102 },
      { ts: NOW - 1, value: 103 },
    ]);
    assert.equal(body.nextCursor, undefined);
    assert.equal(link, null);
    assert.equal(api.store.rawCalls.at(-1)?.limit, 1_001, 'one reading more than the default page, to know whether more remain');
  });
});

test('ISO 8601 and epoch milliseconds give the same range; agent and gym narrow it', async () => {
  await withApi(async (api) => {
    const start = Date.UTC(2024, 3, 30, 22, 0, 0);
    api.store.add('gym-a', 'box-1', [{ sensor: HR, metric: 'heart_rate', ts: [start, start + 1_000], values: [1, 2] }]);
    api.store.add('gym-a', 'box-2', [{ sensor: HR, metric: 'heart_rate', ts: [start + 500], values: [9] }]);
    const base = `/api/v1/readings?sensor=${encodeURIComponent(HR)}&metric=heart_rate`;
    const iso = await page(api, `${base}&from=2024-04-30T22:00:00Z&to=2024-05-01T02:00:00%2B02:00`);
    const epoch = await page(api, `${base}&from=${start}&to=${start + 7_200_000}`);
    assert.deepEqual(
      iso.body.readings.map((r) => r.value),
      [1, 9, 2],
    );
    assert.deepEqual(epoch.body.readings, iso.body.readings);
    assert.equal(iso.body.to, start + 7_200_000, 'the +02:00 offset is applied');
    const fraction = await page(api, `${base}&from=2024-04-30T22:00:00.5Z&to=2024-04-30T22:00:01.000001Z`);
    assert.deepEqual(
      fraction.body.readings.map((r) => r.value),
      [9],
    );
    const one = await page(api, `${base}&from=${start}&to=${start + 10_000}&agent=box-2`);
    assert.deepEqual(
      one.body.readings.map((r) => r.value),
      [9],
    );
    const otherGym = await page(api, `${base}&from=${start}&to=${start + 10_000}&gym=gym-b`);
    assert.deepEqual(otherGym.body.readings, []);
  });
});

/** Follows nextCursor from the first page to the last; returns every reading seen, in order. */
async function walk(api: RunningApi, first: string, via: 'cursor' | 'next' | 'link'): Promise<{ readings: { ts: number; value: number }[]; pages: number }> {
  const readings: { ts: number; value: number }[] = [];
  let path: string | undefined = first;
  let pages = 0;
  while (path !== undefined) {
    if (++pages > 10_000) throw new Error('pagination does not end');
    const { body, link } = await page(api, path);
    readings.push(...body.readings);
    if (body.nextCursor === undefined) {
      assert.equal(body.next, undefined);
      assert.equal(link, null);
      path = undefined;
    } else if (via === 'cursor') path = `${first}&cursor=${body.nextCursor}`;
    else if (via === 'next') path = body.next;
    else path = /^<([^>]+)>; rel="next"$/.exec(link ?? '')?.[1];
  }
  return { readings, pages };
}

test('cursor pagination walks every reading exactly once, including readings sharing a millisecond', async () => {
  await withApi(async (api) => {
    const from = NOW - 30 * MINUTE;
    const ts = Array.from({ length: 203 }, (_, i) => from + i * 250);
    api.store.add('gym-a', 'box-1', [{ sensor: HR, metric: 'heart_rate', ts, values: ts.map((_, i) => i) }]);
    // Three agents hearing the same strap: identical timestamps that a page boundary can split.
    api.store.add('gym-a', 'box-2', [{ sensor: HR, metric: 'heart_rate', ts: ts.slice(0, 40), values: ts.slice(0, 40).map((_, i) => 10_000 + i) }]);
    api.store.add('gym-a', 'box-3', [{ sensor: HR, metric: 'heart_rate', ts: ts.slice(0, 40), values: ts.slice(0, 40).map((_, i) => 20_000 + i) }]);
    const expected = api.store.points
      .filter((p) => p.ts >= from && p.ts < NOW)
      .sort((a, b) => a.ts - b.ts || a.agent.localeCompare(b.agent))
      .map((p) => ({ ts: p.ts, value: p.value }));
    assert.equal(expected.length, 283);

    const base = `/api/v1/readings?sensor=${encodeURIComponent(HR)}&metric=heart_rate&from=${from}&to=${NOW}`;
    // limit 1 splits every group of three same-millisecond readings across pages.
    for (const limit of [1, 7, 100, 283, 10_000]) {
      for (const via of ['cursor', 'next', 'link'] as const) {
        if (limit === 1 && via !== 'cursor') continue;
        const { readings, pages } = await walk(api, `${base}&limit=${limit}`, via);
        assert.deepEqual(readings, expected, `limit ${limit} via ${via}`);
        assert.equal(pages, Math.max(1, Math.ceil(283 / limit)), `limit ${limit}: pages`);
      }
    }
    const oneAgent = await walk(api, `${base}&agent=box-2&limit=3`, 'next');
    assert.deepEqual(
      oneAgent.readings.map((r) => r.value),
      Array.from({ length: 40 }, (_, i) => 10_000 + i),
    );
  });
});

test('a cursor only works for the query that issued it', async () => {
  await withApi(async (api) => {
    const from = NOW - MINUTE;
    api.store.add('gym-a', 'box-1', [{ sensor: HR, metric: 'heart_rate', ts: [from, from + 1, from + 2], values: [1, 2, 3] }]);
    const base = `/api/v1/readings?sensor=${encodeURIComponent(HR)}&metric=heart_rate&from=${from}&to=${NOW}&limit=1`;
    const { body } = await page(api, base);
    assert.ok(body.nextCursor);
    for (const other of [
      `/api/v1/readings?sensor=other&metric=heart_rate&from=${from}&to=${NOW}`,
      `/api/v1/readings?sensor=${encodeURIComponent(HR)}&metric=power&from=${from}&to=${NOW}`,
      `${base}&agent=box-1`,
    ]) {
      const response = await api.get(`${other}&cursor=${body.nextCursor}`);
      assert.equal(response.status, 400, other);
      assert.equal((await readProblem(response)).param, 'cursor');
    }
    const later = await api.get(`/api/v1/readings?sensor=${encodeURIComponent(HR)}&metric=heart_rate&from=${from + 2}&to=${NOW}&cursor=${body.nextCursor}`);
    assert.equal(later.status, 400, 'a cursor before from');
    assert.equal((await readProblem(later)).param, 'cursor');
    const shorter = await page(api, `/api/v1/readings?sensor=${encodeURIComponent(HR)}&metric=heart_rate&from=${from}&to=${from + 1}&cursor=${body.nextCursor}`);
    assert.deepEqual(shorter.body.readings, [], 'a cursor at or past to: nothing more');
  });
});

test('GET /api/v1/rollups returns min, max, mean and count per aligned step', async () => {
  await withApi(async (api) => {
    const t0 = Date.UTC(2024, 4, 1, 11, 0, 0);
    // Step 10 s: [t0, t0+10s) holds 100, 110, 150; [t0+10s, t0+20s) is empty; [t0+20s, ...) holds 90 and 91.
    api.store.add('gym-a', 'box-1', [
      { sensor: HR, metric: 'heart_rate', ts: [t0 - 1, t0, t0 + 4_000, t0 + 9_999, t0 + 20_000, t0 + 29_999, t0 + 60_000], values: [1, 100, 110, 150, 90, 91, 5] },
    ]);
    const base = `/api/v1/rollups?sensor=${encodeURIComponent(HR)}&metric=heart_rate&from=${t0}&to=${t0 + 60_000}`;
    for (const step of ['10s', '10000', '10000ms']) {
      const response = await api.get(`${base}&step=${step}`);
      assert.equal(response.status, 200, step);
      const body: unknown = await response.json();
      assert.ok(TypeCompiler.Compile(Rollups).Check(body), step);
      const rollups = body as { step: number; unit: string; rollups: unknown[] };
      assert.equal(rollups.step, 10_000);
      assert.equal(rollups.unit, 'bpm');
      assert.deepEqual(rollups.rollups, [
        { ts: t0, min: 100, max: 150, mean: 120, count: 3 },
        { ts: t0 + 20_000, min: 90, max: 91, mean: 90.5, count: 2 },
      ]);
    }
    const minute = (await (await api.get(`${base}&step=1m`)).json()) as { rollups: unknown[] };
    assert.deepEqual(minute.rollups, [{ ts: t0, min: 90, max: 150, mean: 541 / 5, count: 5 }]);
    // An unaligned from: the first step starts at the multiple below it but only counts readings from `from` on.
    const unaligned = (await (await api.get(`/api/v1/rollups?sensor=${encodeURIComponent(HR)}&metric=heart_rate&from=${t0 + 5_000}&to=${t0 + 25_000}&step=10s`)).json()) as {
      rollups: unknown[];
    };
    assert.deepEqual(unaligned.rollups, [
      { ts: t0, min: 150, max: 150, mean: 150, count: 1 },
      { ts: t0 + 20_000, min: 90, max: 90, mean: 90, count: 1 },
    ]);
  });
});

test('rollups choose a step when none is given, and refuse too many steps or too long a range', async () => {
  await withApi(async (api) => {
    const base = `/api/v1/rollups?sensor=${encodeURIComponent(HR)}&metric=heart_rate`;
    const hour = (await (await api.get(base)).json()) as { step: number; from: number; to: number };
    assert.equal(hour.to - hour.from, 3_600_000);
    assert.equal(hour.step, 10_000, 'one hour: 360 steps of 10 s');
    const day = (await (await api.get(`${base}&from=${NOW - 86_400_000}&to=${NOW}`)).json()) as { step: number };
    assert.equal(day.step, 300_000);

    const tooFine = await api.get(`${base}&step=100ms`);
    assert.equal(tooFine.status, 400);
    const problem = await readProblem(tooFine);
    assert.equal(problem.type, '/api/v1/docs#problem-too_many_steps');
    assert.equal(problem.param, 'step');
    assert.match(problem.detail, /36000 steps/);
    assert.equal(api.store.rollupCalls.length, 2, 'the store is not asked for a refused rollup');
    assert.equal((await api.get(`${base}&step=360ms`)).status, 200, '10 000 steps exactly is allowed');

    const long = await api.get(`${base}&from=2020-01-01&to=2024-01-01&step=1d`);
    assert.equal(long.status, 400);
    assert.equal((await readProblem(long)).type, '/api/v1/docs#problem-range_too_large');
  });
});

test('raw readings refuse ranges longer than 31 days', async () => {
  await withApi(async (api) => {
    const base = `/api/v1/readings?sensor=${encodeURIComponent(HR)}&metric=heart_rate`;
    assert.equal((await api.get(`${base}&from=${NOW - 31 * 86_400_000}&to=${NOW}`)).status, 200);
    const response = await api.get(`${base}&from=${NOW - 31 * 86_400_000 - 1}&to=${NOW}`);
    assert.equal(response.status, 400);
    const problem = await readProblem(response);
    assert.equal(problem.type, '/api/v1/docs#problem-range_too_large');
    assert.equal(problem.param, 'from');
  });
});
