/** The routes of readings held apart because their boot's clock was never confirmed. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { MetricId } from '@pulsebridge/protocol';
import { UnsyncedBootList, UnsyncedCorrected, UnsyncedReadingsPage } from '../../src/api/unsynced-schemas.ts';
import { SeriesStoreError } from '../../src/storage/series/errors.ts';
import { metricValue } from '../ingest/ingest-harness.ts';
import { AUTH, NOW, readProblem, withApi, type RunningApi } from './harness.ts';

const HOURS_3 = 3 * 3_600_000;
const STAMP = NOW - HOURS_3;

async function seed(api: RunningApi): Promise<void> {
  await api.registry.create('box-1', 'gym-a');
  await api.registry.create('box-2', 'gym-a');
  await api.store.writeUnsynced([
    {
      gym: 'gym-a',
      agent: 'box-1',
      boot: 'boot-a',
      series: [
        { sensor: 'ble:hr-1', metric: 'heart_rate', ts: [STAMP, STAMP + 1_000, STAMP + 2_000], values: [60, 61, 62] },
        { sensor: 'ant:pwr-1', metric: 'power', ts: [STAMP + 1_000], values: [250] },
      ],
    },
    { gym: 'gym-a', agent: 'box-1', boot: 'unknown', series: [{ sensor: 'ble:hr-1', metric: 'heart_rate', ts: [5_000], values: [70] }] },
  ]);
}

function send(api: RunningApi, method: 'POST' | 'DELETE', path: string, body?: unknown, headers: Record<string, string> = { ...AUTH }): Promise<Response> {
  const init: RequestInit = { method, headers: { ...headers }, signal: AbortSignal.timeout(5_000) };
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    (init.headers as Record<string, string>)['Content-Type'] = 'application/json';
  }
  return fetch(`${api.url}${path}`, init);
}

async function agentUnsynced(api: RunningApi, agent: string): Promise<number> {
  return ((await (await api.get(`/api/v1/agents/${agent}`)).json()) as { unsyncedReadings: number }).unsyncedReadings;
}

test('GET /agents/:id/unsynced lists the boots held with counts, stamped range and sensors; an agent with none gets []', async () => {
  await withApi(async (api) => {
    await seed(api);
    const response = await api.get('/api/v1/agents/box-1/unsynced');
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('cache-control'), 'no-store');
    const body: unknown = await response.json();
    assert.ok(TypeCompiler.Compile(UnsyncedBootList).Check(body), 'the body matches the documented schema');
    assert.deepEqual(body, [
      { agent: 'box-1', boot: 'boot-a', gym: 'gym-a', readings: 4, firstStamp: STAMP, lastStamp: STAMP + 2_000, sensors: ['ant:pwr-1', 'ble:hr-1'] },
      { agent: 'box-1', boot: 'unknown', gym: 'gym-a', readings: 1, firstStamp: 5_000, lastStamp: 5_000, sensors: ['ble:hr-1'] },
    ]);
    assert.deepEqual(await (await api.get('/api/v1/agents/box-2/unsynced')).json(), []);
  });
});

test('unsynced routes answer 404 for an unknown agent or boot, 400 for impossible ids, 401 without the token', async () => {
  await withApi(async (api) => {
    await seed(api);
    const missingAgent = await api.get('/api/v1/agents/box-9/unsynced');
    assert.equal(missingAgent.status, 404);
    assert.match((await readProblem(missingAgent)).detail, /box-9/);
    const missingBoot = await api.get('/api/v1/agents/box-1/unsynced/boot-z/readings');
    assert.equal(missingBoot.status, 404);
    assert.match((await readProblem(missingBoot)).detail, /boot-z/);
    assert.equal((await readProblem(await send(api, 'POST', '/api/v1/agents/box-1/unsynced/boot-z/correction', { offsetMs: 1 }))).status, 404);
    assert.equal((await readProblem(await send(api, 'POST', '/api/v1/agents/box-9/unsynced/boot-a/correction', { offsetMs: 1 }))).status, 404);
    assert.equal((await readProblem(await send(api, 'DELETE', '/api/v1/agents/box-1/unsynced/boot-z'))).status, 404);
    const badBoot = await api.get(`/api/v1/agents/box-1/unsynced/${encodeURIComponent('boot a')}/readings`);
    assert.equal(badBoot.status, 400);
    assert.equal((await readProblem(badBoot)).param, 'boot');
    assert.equal((await api.get('/api/v1/agents/box-1/unsynced', {})).status, 401);
    const unauthorized = await send(api, 'DELETE', '/api/v1/agents/box-1/unsynced/boot-a', undefined, {});
    assert.equal(unauthorized.status, 401);
    await readProblem(unauthorized);
    assert.equal(api.store.unsynced.size, 5, 'nothing was touched');
  });
});

test('GET /agents/:id/unsynced/:boot/readings pages through every reading once, at stamped times, narrowed by sensor and metric', async () => {
  await withApi(async (api) => {
    await seed(api);
    const seen: string[] = [];
    let path: string | undefined = '/api/v1/agents/box-1/unsynced/boot-a/readings?limit=1';
    let pages = 0;
    while (path) {
      const response = await api.get(path);
      assert.equal(response.status, 200);
      const page: unknown = await response.json();
      assert.ok(TypeCompiler.Compile(UnsyncedReadingsPage).Check(page));
      const { readings, next } = page as { readings: { sensor: string; metric: string; unit: string; ts: number; value: number }[]; next?: string };
      if (next) assert.equal(response.headers.get('link'), `<${next}>; rel="next"`);
      seen.push(...readings.map((r) => `${r.ts - STAMP}:${r.sensor}:${r.unit}:${r.value}`));
      path = next;
      pages++;
    }
    assert.equal(pages, 4);
    // Two readings share one stamp: the cursor steps over the first without losing or repeating either.
    assert.deepEqual(seen, ['0:ble:hr-1:bpm:60', '1000:ant:pwr-1:W:250', '1000:ble:hr-1:bpm:61', '2000:ble:hr-1:bpm:62']);

    const narrowed = (await (await api.get('/api/v1/agents/box-1/unsynced/boot-a/readings?metric=power')).json()) as { readings: unknown[]; nextCursor?: string };
    assert.equal(narrowed.readings.length, 1);
    assert.equal(narrowed.nextCursor, undefined);

    const foreign = await api.get('/api/v1/agents/box-1/unsynced/boot-a/readings?limit=1');
    const cursor = ((await foreign.json()) as { nextCursor: string }).nextCursor;
    const reused = await api.get(`/api/v1/agents/box-1/unsynced/unknown/readings?cursor=${cursor}`);
    assert.equal(reused.status, 400);
    assert.equal((await readProblem(reused)).param, 'cursor');
    const badLimit = await api.get('/api/v1/agents/box-1/unsynced/boot-a/readings?limit=0');
    assert.equal((await readProblem(badLimit)).param, 'limit');
  });
});

test('POST .../correction with offsetMs moves the boot into its series, then the boot is gone and a repeat is 404', async () => {
  await withApi(async (api) => {
    await seed(api);
    const response = await send(api, 'POST', '/api/v1/agents/box-1/unsynced/boot-a/correction', { offsetMs: HOURS_3 });
    assert.equal(response.status, 200);
    const body: unknown = await response.json();
    assert.ok(TypeCompiler.Compile(UnsyncedCorrected).Check(body));
    assert.deepEqual(body, { agent: 'box-1', boot: 'boot-a', offsetMs: HOURS_3, moved: 4, refused: 0 });
    const readings = (await (await api.get(`/api/v1/readings?sensor=ble:hr-1&metric=heart_rate&from=${NOW}&to=${NOW + 10_000}`)).json()) as { readings: unknown[] };
    assert.deepEqual(readings.readings, [
      { ts: NOW, value: 60 },
      { ts: NOW + 1_000, value: 61 },
      { ts: NOW + 2_000, value: 62 },
    ]);
    assert.deepEqual(
      ((await (await api.get('/api/v1/agents/box-1/unsynced')).json()) as { boot: string }[]).map((b) => b.boot),
      ['unknown'],
    );
    const repeat = await send(api, 'POST', '/api/v1/agents/box-1/unsynced/boot-a/correction', { offsetMs: HOURS_3 });
    assert.equal(repeat.status, 404);
    await readProblem(repeat);
    assert.equal(await api.store.count({ agent: 'box-1' }), 4, 'nothing moved twice');
    assert.equal(await agentUnsynced(api, 'box-1'), 1);
  });
});

test('POST .../correction with a stamped/actual pair derives the offset; corrected times the hub refuses are discarded and counted', async () => {
  const refusedBefore = NOW - 1_000;
  await withApi({ acceptsReadingTime: (ts) => ts > refusedBefore }, async (api) => {
    await seed(api);
    const response = await send(api, 'POST', '/api/v1/agents/box-1/unsynced/boot-a/correction', {
      stamped: new Date(STAMP + 1_000).toISOString(),
      actual: NOW,
    });
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { agent: 'box-1', boot: 'boot-a', offsetMs: HOURS_3 - 1_000, moved: 3, refused: 1 });
    assert.deepEqual(api.store.points.map((p) => [p.sensor, p.ts]).sort(), [
      ['ant:pwr-1', NOW],
      ['ble:hr-1', NOW],
      ['ble:hr-1', NOW + 1_000],
    ]);
  });
});

test('POST .../correction refuses a bad offset or body with 400 naming the field, and moves nothing', async () => {
  await withApi(async (api) => {
    await seed(api);
    const path = '/api/v1/agents/box-1/unsynced/boot-a/correction';
    const cases: [unknown, string][] = [
      [{ offsetMs: 1.5 }, 'offsetMs'],
      [{ offsetMs: '3h' }, 'offsetMs'],
      [{ offsetMs: 1e300 }, 'offsetMs'],
      [{}, 'offsetMs'],
      [{ offsetMs: 1, stamped: 0, actual: 1 }, 'offsetMs'],
      [{ stamped: 0 }, 'actual'],
      [{ actual: 0 }, 'stamped'],
      [{ stamped: 'yesterday', actual: 0 }, 'stamped'],
      [{ stamped: '2024-02-30T00:00:00Z', actual: 0 }, 'stamped'],
      [{ offset: 5 }, 'offset'],
      [[1], 'body'],
      ['{"offsetMs": ', 'body'],
    ];
    for (const [body, param] of cases) {
      const response = await send(api, 'POST', path, body);
      assert.equal(response.status, 400, JSON.stringify(body));
      assert.equal((await readProblem(response)).param, param, JSON.stringify(body));
    }
    const notJson = await fetch(`${api.url}${path}`, { method: 'POST', headers: { ...AUTH, 'Content-Type': 'text/plain' }, body: 'offsetMs=5' });
    assert.equal((await readProblem(notJson)).param, 'body');
    const none = await send(api, 'POST', path);
    assert.equal((await readProblem(none)).param, 'body');
    const huge = await send(api, 'POST', path, JSON.stringify({ offsetMs: 1, pad: 'x'.repeat(20_000) }));
    assert.equal((await readProblem(huge)).param, 'body');
    assert.equal(api.store.points.length, 0);
    assert.equal(api.store.unsynced.size, 5);
  });
});

test('DELETE .../unsynced/:boot discards one boot and says how many readings it held', async () => {
  await withApi(async (api) => {
    await seed(api);
    const response = await send(api, 'DELETE', '/api/v1/agents/box-1/unsynced/boot-a');
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { agent: 'box-1', boot: 'boot-a', discarded: 4 });
    assert.equal(api.store.unsynced.size, 1);
    assert.equal(api.store.points.length, 0);
    assert.equal((await send(api, 'DELETE', '/api/v1/agents/box-1/unsynced/boot-a')).status, 404);
  });
});

test('the agent list and detail and the pb_hub_unsynced_readings gauge show the readings held', async () => {
  await withApi(async (api) => {
    await seed(api);
    // The API's own counts were read before the seed: a settled boot refreshes them.
    await send(api, 'DELETE', '/api/v1/agents/box-1/unsynced/unknown');
    assert.equal(await agentUnsynced(api, 'box-1'), 4);
    const list = (await (await api.get('/api/v1/agents')).json()) as { id: string; unsyncedReadings: number }[];
    assert.deepEqual(
      list.map((a) => [a.id, a.unsyncedReadings]),
      [
        ['box-1', 4],
        ['box-2', 0],
      ],
    );
    assert.equal(await metricValue(api.metrics, 'pb_hub_unsynced_readings'), 4);
    const text = await (await api.get('/metrics', {})).text();
    assert.match(text, /^pb_hub_unsynced_readings 4$/m);
  });
});

test('a store failure while correcting is a 503 problem and the boot stays held', async () => {
  await withApi(async (api) => {
    await seed(api);
    api.store.failWritesWith = new SeriesStoreError('unavailable', 'disk gone');
    const response = await send(api, 'POST', '/api/v1/agents/box-1/unsynced/boot-a/correction', { offsetMs: 1 });
    assert.equal(response.status, 503);
    await readProblem(response);
    assert.equal(api.store.unsynced.size, 5);
    assert.equal((await api.store.readUnsynced({ agent: 'box-1', boot: 'boot-a', from: 0, metric: 'power' as MetricId }, 10)).length, 1);
  });
});

test('the OpenAPI document describes the correction body and each method; a wrong method is 405', async () => {
  await withApi(async (api) => {
    const doc = (await (await api.get('/api/v1/openapi.json', {})).json()) as {
      paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: { properties: Record<string, unknown> } }> } }>>;
    };
    const correction = doc.paths['/api/v1/agents/{id}/unsynced/{boot}/correction']!;
    assert.deepEqual(Object.keys(correction), ['post']);
    assert.deepEqual(Object.keys(correction['post']!.requestBody!.content['application/json']!.schema.properties).sort(), ['actual', 'offsetMs', 'stamped']);
    assert.deepEqual(Object.keys(doc.paths['/api/v1/agents/{id}/unsynced/{boot}']!), ['delete']);
    const wrong = await api.get('/api/v1/agents/box-1/unsynced/boot-a/correction');
    assert.equal(wrong.status, 405);
    assert.equal(wrong.headers.get('allow'), 'POST');
    await readProblem(wrong);
  });
});
