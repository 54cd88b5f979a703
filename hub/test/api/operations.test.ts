/** Probes, metrics, the API description, and how the API behaves around errors and requests in general. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OPERATIONS, type Operation } from '../../src/api/operations.ts';
import { SeriesStoreError } from '../../src/storage/series/errors.ts';
import { GYMS_OPERATIONS } from '../../src/api/gyms-operations.ts';
import { PROFILE_OPERATIONS } from '../../src/api/profile-operations.ts';
import { EQUIPMENT_OPERATIONS } from '../../src/api/equipment-operations.ts';
import { SOCIAL_OPERATIONS } from '../../src/api/social-operations.ts';
import { TRAININGS_OPERATIONS } from '../../src/api/trainings-operations.ts';
import { CLASSES_OPERATIONS } from '../../src/api/classes-operations.ts';
import { PAIRING_OPERATIONS } from '../../src/api/pairing-operations.ts';
import { PHOTOS_OPERATIONS } from '../../src/api/photos-operations.ts';
import { AUTH, TOKEN, readProblem, startApi, withApi } from './harness.ts';

test('GET /healthz answers 200 while the process serves', async () => {
  await withApi({ ready: async () => ({ ok: false, checks: { series: 'down' } }) }, async (api) => {
    const response = await api.get('/healthz', {});
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { status: 'ok' });
  });
});

test('GET /readyz is 200 when ready and 503 with the checks when not, failing or hanging', async () => {
  let state: 'ready' | 'not' | 'throws' | 'hangs' = 'ready';
  const api = await startApi({
    readyTimeoutMs: 100,
    ready: async () => {
      if (state === 'throws') throw new Error('series store: connection refused');
      if (state === 'hangs') return new Promise(() => {});
      return state === 'ready' ? { ok: true, checks: { series: 'ok', broker: 'ok' } } : { ok: false, checks: { series: 'ok', broker: 'not listening' } };
    },
  });
  try {
    let response = await api.get('/readyz', {});
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { status: 'ready', checks: { series: 'ok', broker: 'ok' } });

    state = 'not';
    response = await api.get('/readyz', {});
    assert.equal(response.status, 503);
    assert.deepEqual(await response.json(), { status: 'not_ready', checks: { series: 'ok', broker: 'not listening' } });

    state = 'throws';
    response = await api.get('/readyz', {});
    assert.equal(response.status, 503);
    assert.deepEqual(await response.json(), { status: 'not_ready', checks: { readiness: 'series store: connection refused' } });

    state = 'hangs';
    const started = Date.now();
    response = await api.get('/readyz', {});
    assert.equal(response.status, 503);
    assert.match(((await response.json()) as { checks: { readiness: string } }).checks.readiness, /timed out after 100 ms waiting for the readiness checks/);
    assert.ok(Date.now() - started < 2_000);
  } finally {
    await api.close();
  }
});

test('GET /metrics serves Prometheus text with request counts by route template and status', async () => {
  await withApi(async (api) => {
    await api.registry.create('box-1', 'gym-a');
    await (await api.get('/api/v1/agents/box-1')).arrayBuffer();
    await (await api.get('/api/v1/agents/box-2')).arrayBuffer();
    await (await api.get('/api/v1/agents', {})).arrayBuffer();
    await (await api.get('/no/such/path')).arrayBuffer();
    const response = await api.get('/metrics', {});
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/plain/);
    const text = await response.text();
    assert.match(text, /^pb_hub_http_requests_total\{route="\/api\/v1\/agents\/:id",status="200"\} 1$/m);
    assert.match(text, /^pb_hub_http_requests_total\{route="\/api\/v1\/agents\/:id",status="404"\} 1$/m);
    assert.match(text, /^pb_hub_http_requests_total\{route="\/api\/v1\/agents",status="401"\} 1$/m, 'requests refused before routing keep their route');
    assert.match(text, /^pb_hub_http_requests_total\{route="unmatched",status="404"\} 1$/m, 'unknown paths do not create a label each');
    assert.match(text, /^pb_hub_http_request_duration_seconds_bucket\{le="0\.1",route="\/api\/v1\/agents\/:id"\} 2$/m);
    assert.match(text, /^pb_hub_http_request_duration_seconds_count\{route="\/api\/v1\/agents\/:id"\} 2$/m);
    assert.match(text, /^# TYPE pb_hub_sse_clients gauge$/m);
  });
});

type Json = Record<string, unknown>;

test('GET /api/v1/openapi.json is an OpenAPI 3.1 document of every operation, built from the validation schemas', async () => {
  await withApi(async (api) => {
    const response = await api.get('/api/v1/openapi.json', {});
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
    const doc = JSON.parse(await response.text()) as Json;
    assert.equal(doc['openapi'], '3.1.0');
    const paths = doc['paths'] as Record<string, Record<string, Json>>;
    const operations: readonly Operation[] = Object.values(OPERATIONS);
    const expected = new Set(operations.map((o) => o.path.replace(/:(\w+)/g, '{$1}')));
    assert.deepEqual(Object.keys(paths).sort(), [...expected].sort());

    const operationIds = new Set<string>();
    for (const [path, methods] of Object.entries(paths)) {
      for (const [method, op] of Object.entries(methods)) {
        assert.equal(method, operations.find((o) => o.operationId === op['operationId'])?.method ?? 'get', `${path}: the operation's method`);
        assert.ok(!operationIds.has(op['operationId'] as string), 'operation ids are unique');
        operationIds.add(op['operationId'] as string);
        const success = String(operations.find((o) => o.operationId === op['operationId'])?.response.status ?? 200);
        assert.ok((op['responses'] as Json)[success], `${path}: ${success} documented`);
        for (const name of path.match(/\{(\w+)\}/g) ?? []) {
          const params = op['parameters'] as Json[];
          assert.ok(
            params.some((p) => p['in'] === 'path' && `{${String(p['name'])}}` === name && p['required'] === true),
            `${path}: ${name} documented`,
          );
        }
      }
    }

    const readings = paths['/api/v1/readings']!['get']!;
    const params = readings['parameters'] as Json[];
    const metric = params.find((p) => p['name'] === 'metric')!;
    assert.equal(metric['required'], true);
    assert.ok(
      ((metric['schema'] as Json)['anyOf'] as Json[]).some((m) => m['const'] === 'heart_rate'),
      'the metric catalogue is the enum',
    );
    const limit = params.find((p) => p['name'] === 'limit')!;
    assert.deepEqual([limit['required'], (limit['schema'] as Json)['type'], (limit['schema'] as Json)['maximum']], [false, 'integer', 10_000]);
    assert.ok((readings['responses'] as Json)['400'], 'bad input is documented');
    assert.deepEqual(readings['security'], [{ bearer: ['readings:read'] }, { oauth2: ['readings:read'] }]);
    assert.deepEqual(readings['x-pulsebridge-roles'], ['coach', 'gym_admin']);
    assert.ok((readings['responses'] as Json)['403'], 'a refused scope or role is documented');
    assert.deepEqual(paths['/healthz']!['get']!['security'], []);
    assert.deepEqual(paths['/api/v1/live']!['get']!['security'], [{ bearer: ['readings:read'] }, { oauth2: ['readings:read'] }, { accessTokenQuery: ['readings:read'] }]);

    // Every $ref points at something in the document.
    const refs = JSON.stringify(doc).match(/"\$ref":"[^"]+"/g) ?? [];
    assert.ok(refs.length > 0);
    for (const ref of refs) {
      const pointer = ref.slice('"$ref":"'.length, -1);
      assert.ok(pointer.startsWith('#/'), pointer);
      let node: unknown = doc;
      for (const part of pointer.slice(2).split('/')) node = (node as Json)[part];
      assert.ok(node, `${pointer} resolves`);
    }
    assert.ok(!JSON.stringify(doc).includes(TOKEN), 'the document holds no secret');
  });
});

test('GET /api/v1/docs renders every operation and problem type without external resources', async () => {
  await withApi(async (api) => {
    const response = await api.get('/api/v1/docs', {});
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/html/);
    const html = await response.text();
    for (const op of Object.values(OPERATIONS) as Operation[]) {
      assert.ok(html.includes(`${(op.method ?? 'get').toUpperCase()} ${op.path.replace(/:(\w+)/g, '{$1}')}`), op.path);
    }
    assert.ok(html.includes('id="problem-invalid_parameter"'));
    assert.ok(html.includes('href="openapi.json"'));
    assert.ok(!/<script|https?:\/\//.test(html.replace(/https:\/\/json-schema\.org[^"<]*/g, '')), 'no scripts, no external links');
  });
});

test('unknown routes are 404 problems, wrong methods 405 with Allow', async () => {
  await withApi(async (api) => {
    const missing = await api.get('/nowhere', {});
    assert.equal(missing.status, 404);
    const problem = await readProblem(missing);
    assert.equal(problem.instance, '/nowhere');
    assert.equal(problem.type, '/api/v1/docs#problem-not_found');

    const post = await fetch(`${api.url}/api/v1/series`, { method: 'POST', headers: AUTH, body: '{}' });
    assert.equal(post.status, 405);
    assert.match(post.headers.get('allow') ?? '', /GET/);
    await readProblem(post);
  });
});

test('unexpected failures are 500 problems with a generic detail, logged with the request id', async () => {
  await withApi(async (api) => {
    api.store.failReadsWith = new Error('disk on fire at /var/lib/secret');
    const response = await api.get('/api/v1/series');
    assert.equal(response.status, 500);
    const problem = await readProblem(response);
    const requestId = response.headers.get('x-request-id');
    assert.ok(requestId);
    assert.equal(problem.requestId, requestId);
    assert.ok(problem.detail.includes(requestId), 'the detail tells the client which id to quote');
    assert.ok(!JSON.stringify(problem).includes('disk on fire'), 'internals stay in the log');
    const logged = api.logs.find((line) => line.level === 50 && line['reqId'] === requestId);
    assert.ok(logged, 'the failure is logged at error level with the request id');
    assert.match(JSON.stringify(logged), /disk on fire/);
  });
});

test('a store outage is a 503 with Retry-After, a store refusing a query a 400', async () => {
  await withApi(async (api) => {
    api.store.failReadsWith = new SeriesStoreError('timeout', 'timed out after 5000 ms waiting for InfluxDB');
    const outage = await api.get('/api/v1/readings?sensor=s&metric=power');
    assert.equal(outage.status, 503);
    assert.equal(outage.headers.get('retry-after'), '5');
    assert.equal((await readProblem(outage)).type, '/api/v1/docs#problem-unavailable');

    api.store.failReadsWith = new SeriesStoreError('invalid_query', 'sensor: longer than 128 characters', { param: 'sensor' });
    const refused = await api.get('/api/v1/readings?sensor=s&metric=power');
    assert.equal(refused.status, 400);
    assert.equal((await readProblem(refused)).param, 'sensor');
  });
});

test('every response carries a request id; a sane incoming one is kept; requests are access-logged at debug', async () => {
  await withApi(async (api) => {
    const generated = await api.get('/healthz', {});
    assert.match(generated.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
    const kept = await api.get('/healthz', { 'X-Request-Id': 'lb-7f3a.42' });
    assert.equal(kept.headers.get('x-request-id'), 'lb-7f3a.42');
    const replaced = await api.get('/healthz', { 'X-Request-Id': 'x'.repeat(200) });
    assert.match(replaced.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);

    const line = api.logs.find((l) => l['reqId'] === 'lb-7f3a.42');
    assert.ok(line);
    assert.equal(line.level, 20, 'debug');
    assert.equal(line['route'], '/healthz');
    assert.equal(line['status'], 200);
    assert.equal(line['method'], 'GET');
    assert.equal(typeof line['ms'], 'number');
  });
});

test('the feature tables name each operation once: no name, operationId or method and path is used twice', () => {
  const tables = [GYMS_OPERATIONS, PROFILE_OPERATIONS, EQUIPMENT_OPERATIONS, SOCIAL_OPERATIONS, TRAININGS_OPERATIONS, CLASSES_OPERATIONS, PAIRING_OPERATIONS, PHOTOS_OPERATIONS];
  const names = tables.flatMap((table) => Object.keys(table));
  // A name given twice would let one table's entry silently replace another's in the spread.
  assert.equal(new Set(names).size, names.length, 'operation names are unique across feature tables');
  for (const name of names) assert.ok(name in OPERATIONS, name);
  const all: Operation[] = Object.values(OPERATIONS);
  assert.equal(new Set(all.map((o) => o.operationId)).size, all.length, 'operationIds are unique');
  const routes = all.map((o) => `${o.method ?? 'get'} ${o.path}`);
  assert.equal(new Set(routes).size, routes.length, 'each method and path is served once');
});
