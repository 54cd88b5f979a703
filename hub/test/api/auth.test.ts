import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { createApi } from '../../src/api/app.ts';
import { ApiConfigError } from '../../src/api/auth.ts';
import { LiveBus } from '../../src/live/live-bus.ts';
import { MemoryAgentRegistry, MemorySeriesStore, readProblem, sseClients, TOKEN, withApi } from './harness.ts';
import { until } from '@pulsebridge/runtime';

test('API routes refuse requests without credentials, with a Bearer challenge', async () => {
  await withApi(async (api) => {
    for (const path of ['/api/v1/agents', '/api/v1/series', '/api/v1/readings?sensor=s&metric=power', '/api/v1/live', '/api/v1/nowhere', '/api/v1']) {
      const response = await api.get(path, {});
      assert.equal(response.status, 401, path);
      assert.match(response.headers.get('www-authenticate') ?? '', /^Bearer realm="pulsebridge"$/, path);
      const problem = await readProblem(response);
      assert.equal(problem.type, '/api/v1/docs#problem-unauthorized');
      assert.equal(problem.instance, path.split('?')[0]);
    }
  });
});

test('other spellings of protected paths neither bypass authentication nor reach a route', async () => {
  await withApi(async (api) => {
    for (const path of ['/API/v1/agents', '/api/V1/agents', '/api/v1/agents/', '/api/v1//agents', '/api/v1/docs/', '/Api/v1/live']) {
      const anonymous = await api.get(path, {});
      assert.equal(anonymous.status, 401, path);
      await readProblem(anonymous);
      const authenticated = await api.get(path);
      assert.equal(authenticated.status, 404, path);
      await readProblem(authenticated);
    }
  });
});

test('a wrong or malformed token is refused and says why', async () => {
  await withApi(async (api) => {
    const wrong = [`Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(0, -1)}`, 'Bearer other', `bearer ${TOKEN.toUpperCase()}`];
    for (const header of wrong) {
      const response = await api.get('/api/v1/agents', { Authorization: header });
      assert.equal(response.status, 401, header);
      assert.match(response.headers.get('www-authenticate') ?? '', /error="invalid_token"/, header);
      await readProblem(response);
    }
    for (const header of [`Basic ${Buffer.from(`admin:${TOKEN}`).toString('base64')}`, 'Bearer', `Bearer ${TOKEN} extra`, TOKEN]) {
      const response = await api.get('/api/v1/agents', { Authorization: header });
      assert.equal(response.status, 401, header);
      assert.match(response.headers.get('www-authenticate') ?? '', /error="invalid_request"/, header);
      await readProblem(response);
    }
  });
});

test('the right token opens every API route, whatever the case of the scheme', async () => {
  await withApi(async (api) => {
    assert.equal((await api.get('/api/v1/agents')).status, 200);
    assert.equal((await api.get('/api/v1/agents', { Authorization: `bearer ${TOKEN}` })).status, 200);
    assert.equal((await api.get('/api/v1/series')).status, 200);
    assert.equal((await api.get('/api/v1/readings?sensor=s&metric=power')).status, 200);
    assert.equal((await api.get('/api/v1/rollups?sensor=s&metric=power')).status, 200);
    const unknown = await api.get('/api/v1/nowhere');
    assert.equal(unknown.status, 404);
    await readProblem(unknown);
  });
});

test('?access_token= is accepted on the live stream only, and never logged', async () => {
  await withApi(async (api) => {
    const controller = new AbortController();
    const live = await fetch(`${api.url}/api/v1/live?access_token=${encodeURIComponent(TOKEN)}`, { signal: controller.signal });
    assert.equal(live.status, 200);
    assert.match(live.headers.get('content-type') ?? '', /^text\/event-stream/);
    controller.abort();
    await live.body?.cancel().catch(() => {});

    const wrong = await api.get('/api/v1/live?access_token=nope', {});
    assert.equal(wrong.status, 401);
    await readProblem(wrong);

    // Elsewhere a token in the URL is not a credential: it would end up in proxy logs and browser history.
    const elsewhere = await api.get(`/api/v1/agents?access_token=${TOKEN}`, {});
    assert.equal(elsewhere.status, 401);
    await readProblem(elsewhere);
    const withHeader = await api.get(`/api/v1/agents?access_token=${TOKEN}`);
    assert.equal(withHeader.status, 400);
    assert.equal((await readProblem(withHeader)).param, 'access_token');

    await until('the live stream to unsubscribe', async () => (await sseClients(api)) === 0, 2_000);
    const logged = JSON.stringify(api.logs);
    assert.ok(logged.includes('access_token=redacted'), 'the access log shows that a token was given');
    assert.ok(!logged.includes(TOKEN), 'the token itself never reaches the log');
  });
});

test('probes, metrics and the API description need no credentials', async () => {
  await withApi(async (api) => {
    for (const path of ['/healthz', '/readyz', '/metrics', '/api/v1/openapi.json', '/api/v1/docs']) {
      assert.equal((await api.get(path, {})).status, 200, path);
    }
  });
});

test('an empty admin token is refused when the API is built', () => {
  const deps = {
    registry: new MemoryAgentRegistry(),
    store: new MemorySeriesStore(),
    live: new LiveBus(),
    metrics: new Registry(),
    adminToken: '',
    log: pino({ level: 'silent' }),
    ready: async () => ({ ok: true, checks: {} }),
  };
  assert.throws(
    () => createApi(deps),
    (error: unknown) => error instanceof ApiConfigError && error.code === 'api_config',
  );
  assert.doesNotThrow(() => createApi({ ...deps, adminToken: 'x' }));
});
