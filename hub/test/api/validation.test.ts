/** Bad input is a 400 problem naming the parameter, never a 500 and never a store query. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readProblem, sseClients, withApi } from './harness.ts';

const R = '/api/v1/readings?sensor=s1';
const RU = '/api/v1/rollups?sensor=s1&metric=power';
const b64 = (value: unknown): string => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

const CASES: { path: string; param: string; detail?: RegExp }[] = [
  { path: '/api/v1/readings?metric=power', param: 'sensor', detail: /required/ },
  { path: R, param: 'metric', detail: /required/ },
  { path: `${R}&metric=watts`, param: 'metric', detail: /must be one of heart_rate, .*power/ },
  { path: `${R}&metric=POWER`, param: 'metric' },
  { path: `${R}&metric=power&metric=cadence`, param: 'metric', detail: /more than once/ },
  { path: `${R}&metric=power&from=yesterday`, param: 'from', detail: /ISO 8601/ },
  { path: `${R}&metric=power&from=2024-05-01T10:00:00`, param: 'from', detail: /ISO 8601/ },
  { path: `${R}&metric=power&from=2024-02-30T00:00:00Z`, param: 'from', detail: /no such date/ },
  { path: `${R}&metric=power&from=2023-02-29`, param: 'from', detail: /no such date/ },
  { path: `${R}&metric=power&from=2024-13-01`, param: 'from', detail: /no such date/ },
  { path: `${R}&metric=power&from=2024-05-01T24:00:00Z`, param: 'from', detail: /no such time/ },
  { path: `${R}&metric=power&from=2024-05-01T10:00:00%2B25:00`, param: 'from', detail: /zone offset/ },
  { path: `${R}&metric=power&to=-5`, param: 'to' },
  { path: `${R}&metric=power&to=1e12`, param: 'to' },
  { path: `${R}&metric=power&to=99999999999999999`, param: 'to' },
  { path: `${R}&metric=power&from=1714564800000&to=1714564800000`, param: 'from', detail: /must be before to/ },
  { path: `${R}&metric=power&from=2024-05-01T12:00:00Z&to=2024-05-01T11:00:00Z`, param: 'from', detail: /must be before to/ },
  { path: `${R}&metric=power&to=0`, param: 'to', detail: /must be before to/ },
  { path: `${R}&metric=power&limit=abc`, param: 'limit', detail: /number/ },
  { path: `${R}&metric=power&limit=1e3`, param: 'limit', detail: /number/ },
  { path: `${R}&metric=power&limit=0x10`, param: 'limit' },
  { path: `${R}&metric=power&limit=1.5`, param: 'limit' },
  { path: `${R}&metric=power&limit=0`, param: 'limit', detail: /greater or equal to 1/ },
  { path: `${R}&metric=power&limit=10001`, param: 'limit', detail: /less or equal to 10000/ },
  { path: `${R}&metric=power&limit=-1`, param: 'limit' },
  { path: `${R}&metric=power&cursor=!!!`, param: 'cursor' },
  { path: `${R}&metric=power&cursor=${b64('not json')}`, param: 'cursor' },
  { path: `${R}&metric=power&cursor=${b64({ v: 2, f: 1, s: 0, q: 'x' })}`, param: 'cursor' },
  { path: `${R}&metric=power&cursor=${b64({ v: 1, f: -1, s: 0, q: 'x' })}`, param: 'cursor', detail: /corrupted/ },
  { path: `${R}&metric=power&cursor=${b64({ v: 1, f: 1, s: 1e9, q: 'x' })}`, param: 'cursor', detail: /corrupted/ },
  { path: `${R}&metric=power&cursor=${b64([1, 2])}`, param: 'cursor' },
  { path: `${R}&metric=power&cursor=${'A'.repeat(600)}`, param: 'cursor' },
  { path: `${R}&metric=power&agent=${encodeURIComponent('bad id!')}`, param: 'agent', detail: /agent id/ },
  { path: `${R}&metric=power&gym=${encodeURIComponent('gym a')}`, param: 'gym', detail: /gym id/ },
  { path: `/api/v1/readings?metric=power&sensor=${'x'.repeat(65)}`, param: 'sensor' },
  { path: '/api/v1/readings?metric=power&sensor=a%00b', param: 'sensor', detail: /expected a sensor id/ },
  { path: '/api/v1/readings?metric=power&sensor=a%2Fb', param: 'sensor' },
  { path: '/api/v1/readings?metric=power&sensor=a%0Ab', param: 'sensor' },
  { path: `${R}&metric=power&sensr=x`, param: 'sensr', detail: /unknown parameter/ },
  { path: `${R}&metric=power&__proto__=x`, param: '__proto__', detail: /unknown parameter/ },
  { path: `${R}&metric=power&constructor=x`, param: 'constructor', detail: /unknown parameter/ },
  { path: `${R}&metric=power&toString=x`, param: 'toString', detail: /unknown parameter/ },
  { path: `${RU}&step=abc`, param: 'step', detail: /10s, 1m/ },
  { path: `${RU}&step=10x`, param: 'step' },
  { path: `${RU}&step=0`, param: 'step', detail: /at least 1 ms/ },
  { path: `${RU}&step=0s`, param: 'step' },
  { path: `${RU}&step=-10s`, param: 'step' },
  { path: `${RU}&step=1ms`, param: 'step', detail: /steps/ },
  { path: `${RU}&limit=10`, param: 'limit', detail: /unknown parameter/ },
  { path: '/api/v1/rollups?sensor=s1&metric=speedy', param: 'metric' },
  { path: '/api/v1/series?agent=-bad', param: 'agent' },
  { path: '/api/v1/series?metric=power', param: 'metric', detail: /unknown parameter/ },
  { path: '/api/v1/agents?gym=%2Fetc', param: 'gym' },
  { path: `/api/v1/agents/${'a'.repeat(65)}`, param: 'id' },
  { path: '/api/v1/agents/box-1?verbose=1', param: 'verbose' },
  { path: '/api/v1/agents/%E0%A4%A', param: 'id' },
  { path: '/api/v1/live?metric=steps', param: 'metric' },
  { path: '/api/v1/live?agent=a%20b', param: 'agent' },
  { path: `${R}&metric=power&sensor[]=x`, param: 'sensor[]', detail: /unknown parameter/ },
  { path: `${R}&metric=power&%zz=1`, param: '%zz', detail: /unknown parameter/ },
  { path: `${R}&metric=power&cursor=${b64('['.repeat(150) + ']'.repeat(150))}`, param: 'cursor' },
  { path: `${R}&metric=power&cursor=${b64('{"v":1,"f":123456789012345678901234567890,"s":0,"q":"x"}')}`, param: 'cursor', detail: /corrupted/ },
];

test('every kind of bad input is a 400 problem naming the parameter, and no store is queried', async () => {
  await withApi(async (api) => {
    for (const { path, param, detail } of CASES) {
      const response = await api.get(path);
      assert.equal(response.status, 400, `${path}: ${response.status}`);
      const problem = await readProblem(response);
      assert.equal(problem.param, param, path);
      assert.ok(problem.detail.startsWith(`${param}: `), `${path}: the detail names the parameter: ${problem.detail}`);
      if (detail) assert.match(problem.detail, detail, path);
      assert.ok(['/api/v1/docs#problem-invalid_parameter', '/api/v1/docs#problem-too_many_steps'].includes(problem.type), `${path}: ${problem.type}`);
    }
    assert.equal(api.store.rawCalls.length, 0);
    assert.equal(api.store.rollupCalls.length, 0);
    assert.equal(await sseClients(api), 0);
  });
});

test('empty parameters count as absent', async () => {
  await withApi(async (api) => {
    const response = await api.get('/api/v1/readings?sensor=s1&metric=power&from=&to=&agent=&limit=&cursor=');
    assert.equal(response.status, 200);
    assert.equal(api.store.rawCalls[0]?.limit, 1_001);
  });
});

test('random garbage in every parameter never produces a 500', async () => {
  await withApi(async (api) => {
    let seed = 42;
    const random = (n: number): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed % n;
    };
    const alphabet = ['a', 'Z', '0', '9', '-', ':', '.', 'T', '+', '%', '%25', '%00', '%FF', '%E2%82%AC', '&', '=', ' ', '[', ']', 'e', 's', 'm', 'h'];
    const garbage = (): string => Array.from({ length: 1 + random(20) }, () => alphabet[random(alphabet.length)]).join('');
    const params = ['sensor', 'metric', 'from', 'to', 'agent', 'gym', 'limit', 'cursor', 'step'];
    const routes = ['/api/v1/readings', '/api/v1/rollups', '/api/v1/series', '/api/v1/agents', `/api/v1/agents/`];
    for (let i = 0; i < 200; i++) {
      const route = routes[random(routes.length)]!;
      const query = params
        .filter(() => random(2) === 0)
        .map((name) => `${name}=${garbage()}`)
        .join('&');
      const path = route.endsWith('/') ? `${route}${garbage()}?${query}` : `${route}?${query}`;
      const response = await api.get(path);
      assert.ok(response.status < 500, `${path}: ${response.status} ${await response.clone().text()}`);
      if (response.status >= 400) await readProblem(response);
      else await response.arrayBuffer();
    }
    assert.ok(!api.logs.some((line) => line.level >= 50), 'nothing was logged as an error');
  });
});
