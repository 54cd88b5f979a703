import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readProblem, sseClients, TOKEN, withApi } from './harness.ts';
import { FixedTokens, PLATFORM_ADMIN, principal } from './principals.ts';
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

test('a valid token without the scope of the route is refused with 403 insufficient_scope', async () => {
  const tokens = new FixedTokens({ [TOKEN]: PLATFORM_ADMIN, agentsOnly: principal([{ gym: 'gym-a', role: 'gym_admin' }], { scopes: ['agents:read'] }) });
  await withApi({ verifier: tokens }, async (api) => {
    assert.equal((await api.get('/api/v1/agents', { Authorization: 'Bearer agentsOnly' })).status, 200);
    const refused = await api.get('/api/v1/series', { Authorization: 'Bearer agentsOnly' });
    assert.equal(refused.status, 403);
    assert.equal(refused.headers.get('www-authenticate'), 'Bearer realm="pulsebridge", error="insufficient_scope", scope="readings:read"');
    assert.match((await readProblem(refused)).detail, /readings:read/);
  });
});

test('a caller without a role the route needs in any gym is refused with 403', async () => {
  const tokens = new FixedTokens({ athlete: principal([{ gym: 'gym-a', role: 'athlete' }]), coach: principal([{ gym: 'gym-a', role: 'coach' }]) });
  await withApi({ verifier: tokens }, async (api) => {
    await api.registry.create('box-a', 'gym-a');
    const athlete = await api.get('/api/v1/agents', { Authorization: 'Bearer athlete' });
    assert.equal(athlete.status, 403);
    assert.match((await readProblem(athlete)).detail, /coach or gym_admin/);
    const coach = await api.get('/api/v1/agents', { Authorization: 'Bearer coach' });
    assert.equal(coach.status, 200);
    assert.deepEqual(
      ((await coach.json()) as { id: string }[]).map((a) => a.id),
      ['box-a'],
    );
  });
});

test('the gym of a request is the one asked for if allowed, else the only one, else it must be named', async () => {
  const tokens = new FixedTokens({
    one: principal([{ gym: 'gym-a', role: 'gym_admin' }]),
    two: principal([
      { gym: 'gym-a', role: 'coach' },
      { gym: 'gym-b', role: 'gym_admin' },
      { gym: 'gym-c', role: 'athlete' },
    ]),
    [TOKEN]: PLATFORM_ADMIN,
  });
  await withApi({ verifier: tokens }, async (api) => {
    for (const [id, gym] of [
      ['box-a', 'gym-a'],
      ['box-b', 'gym-b'],
      ['box-c', 'gym-c'],
    ] as const)
      await api.registry.create(id, gym);
    const ids = async (path: string, token: string): Promise<string[]> => {
      const response = await api.get(path, { Authorization: `Bearer ${token}` });
      assert.equal(response.status, 200, `${path} as ${token}`);
      return ((await response.json()) as { id: string }[]).map((a) => a.id).sort();
    };
    assert.deepEqual(await ids('/api/v1/agents', 'one'), ['box-a'], 'the only gym is implied');
    assert.deepEqual(await ids('/api/v1/agents?gym=gym-b', 'two'), ['box-b']);
    assert.deepEqual(await ids('/api/v1/agents', TOKEN), ['box-a', 'box-b', 'box-c'], 'a platform admin sees every gym');

    const other = await api.get('/api/v1/agents?gym=gym-b', { Authorization: 'Bearer one' });
    assert.equal(other.status, 403);
    assert.equal((await readProblem(other)).param, 'gym');
    // An athlete membership does not open a staff route in that gym.
    assert.equal((await api.get('/api/v1/agents?gym=gym-c', { Authorization: 'Bearer two' })).status, 403);
    const ambiguous = await api.get('/api/v1/agents', { Authorization: 'Bearer two' });
    assert.equal(ambiguous.status, 400);
    const problem = await readProblem(ambiguous);
    assert.equal(problem.param, 'gym');
    assert.match(problem.detail, /gym-a, gym-b/);
  });
});

test('an agent of another gym is answered exactly like one that does not exist', async () => {
  const tokens = new FixedTokens({ a: principal([{ gym: 'gym-a', role: 'gym_admin' }]) });
  await withApi({ verifier: tokens }, async (api) => {
    await api.registry.create('box-b', 'gym-b');
    const foreign = await api.get('/api/v1/agents/box-b', { Authorization: 'Bearer a' });
    const missing = await api.get('/api/v1/agents/box-z', { Authorization: 'Bearer a' });
    assert.equal(foreign.status, 404);
    assert.equal(missing.status, 404);
    const [f, m] = [await readProblem(foreign), await readProblem(missing)];
    assert.equal(f.detail.replace('box-b', 'X'), m.detail.replace('box-z', 'X'));
  });
});
