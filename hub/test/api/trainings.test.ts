import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NOW, withApi, readProblem, type RunningApi } from './harness.ts';
import { FixedTokens, principal } from './principals.ts';

const GYM = 'gym-t';
const tokens = () =>
  new FixedTokens({
    coach: principal([{ gym: GYM, role: 'coach' }], { subject: 'coach-1' }),
    athlete: principal([{ gym: GYM, role: 'athlete' }], { subject: 'athlete-1' }),
    other: principal([{ gym: 'gym-other', role: 'gym_admin' }], { subject: 'other-admin' }),
    readonly: principal([{ gym: GYM, role: 'coach' }], { subject: 'coach-2', scopes: ['gym:read'] }),
  });

function call(api: RunningApi, token: string, method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${api.url}${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    signal: AbortSignal.timeout(5_000),
  });
}

const intervals = {
  name: 'VO2 intervals',
  sport: 'cycling',
  steps: [
    { type: 'step', kind: 'warmup', durationSeconds: 600, target: { type: 'hr_zone', zone: 2 } },
    {
      type: 'repeat',
      count: 5,
      steps: [
        { type: 'step', kind: 'work', durationSeconds: 180, target: { type: 'power_percent_ftp', low: 110, high: 120 } },
        { type: 'step', kind: 'recovery', durationSeconds: 120 },
      ],
    },
    { type: 'step', kind: 'cooldown', durationSeconds: 300 },
  ],
};

async function create(api: RunningApi, body: unknown = intervals): Promise<{ id: string; totalDurationSeconds?: number }> {
  const response = await call(api, 'coach', 'POST', '/api/v1/trainings', body);
  assert.equal(response.status, 201, await response.clone().text());
  return (await response.json()) as { id: string; totalDurationSeconds?: number };
}

test('a coach creates a training and gets its planned duration; an athlete of the gym reads it', async () => {
  await withApi({ verifier: tokens() }, async (api) => {
    const created = await create(api);
    assert.equal(created.totalDurationSeconds, 600 + 5 * 300 + 300);
    const read = await call(api, 'athlete', 'GET', `/api/v1/trainings/${created.id}`);
    assert.equal(read.status, 200);
    const training = (await read.json()) as Record<string, unknown>;
    assert.equal(training['gym'], GYM);
    assert.equal(training['description'], '');
    assert.deepEqual(training['steps'], intervals.steps);
    assert.equal('createdBy' in training, false);
  });
});

test('a training answers when it was created and changed as ISO 8601 strings of the stored time', async () => {
  await withApi({ verifier: tokens() }, async (api) => {
    const created = (await create(api)) as { id: string; createdAt?: unknown; updatedAt?: unknown };
    const atNow = new Date(NOW).toISOString();
    assert.deepEqual([created.createdAt, created.updatedAt], [atNow, atNow]);
    assert.equal(Date.parse(String(created.createdAt)), NOW);
    const listed = (await (await call(api, 'athlete', 'GET', `/api/v1/trainings?gym=${GYM}`)).json()) as { items: Record<string, unknown>[] };
    assert.deepEqual(
      listed.items.map((t) => [t['createdAt'], t['updatedAt']]),
      [[atNow, atNow]],
    );
  });
});

test('a training by distance has no planned duration', async () => {
  await withApi({ verifier: tokens() }, async (api) => {
    const created = await create(api, {
      name: '5k',
      sport: 'running',
      steps: [{ type: 'step', kind: 'work', distanceMeters: 5000, target: { type: 'pace', low: 270, high: 300 } }],
    });
    assert.equal(created.totalDurationSeconds, undefined);
  });
});

test('an athlete may not create, change or delete trainings; another gym sees none of them', async () => {
  await withApi({ verifier: tokens() }, async (api) => {
    const { id } = await create(api);
    assert.equal((await call(api, 'athlete', 'POST', '/api/v1/trainings', intervals)).status, 403);
    assert.equal((await call(api, 'athlete', 'PATCH', `/api/v1/trainings/${id}`, { name: 'Mine' })).status, 403);
    assert.equal((await call(api, 'athlete', 'DELETE', `/api/v1/trainings/${id}`)).status, 403);
    assert.equal((await call(api, 'readonly', 'POST', '/api/v1/trainings', intervals)).status, 403);
    assert.equal((await call(api, 'other', 'GET', `/api/v1/trainings/${id}`)).status, 404);
    assert.equal((await call(api, 'other', 'DELETE', `/api/v1/trainings/${id}`)).status, 404);
    assert.equal((await call(api, 'other', 'POST', '/api/v1/trainings', { ...intervals, gym: GYM })).status, 403);
    const listed = (await (await call(api, 'other', 'GET', '/api/v1/trainings')).json()) as { items: unknown[] };
    assert.deepEqual(listed.items, []);
  });
});

test('bad steps are refused with 400 naming the problem', async () => {
  await withApi({ verifier: tokens() }, async (api) => {
    const bad: [string, unknown][] = [
      ['low above high', { ...intervals, steps: [{ type: 'step', kind: 'work', durationSeconds: 60, target: { type: 'power', low: 300, high: 200 } }] }],
      ['neither duration nor distance', { ...intervals, steps: [{ type: 'step', kind: 'work' }] }],
      ['both duration and distance', { ...intervals, steps: [{ type: 'step', kind: 'work', durationSeconds: 60, distanceMeters: 100 }] }],
      ['zone 6', { ...intervals, steps: [{ type: 'step', kind: 'work', durationSeconds: 60, target: { type: 'hr_zone', zone: 6 } }] }],
      ['unknown kind', { ...intervals, steps: [{ type: 'step', kind: 'sprint', durationSeconds: 60 }] }],
      ['no steps', { ...intervals, steps: [] }],
      [
        'three levels of repeats',
        {
          ...intervals,
          steps: [
            { type: 'repeat', count: 2, steps: [{ type: 'repeat', count: 2, steps: [{ type: 'repeat', count: 2, steps: [{ type: 'step', kind: 'work', durationSeconds: 1 }] }] }] },
          ],
        },
      ],
      ['repeat count 0', { ...intervals, steps: [{ type: 'repeat', count: 0, steps: [{ type: 'step', kind: 'work', durationSeconds: 1 }] }] }],
      ['unknown sport', { ...intervals, sport: 'chess' }],
      ['an unknown field', { ...intervals, colour: 'red' }],
      ['a $ key', { ...intervals, steps: [{ type: 'step', kind: 'work', durationSeconds: 60, $where: 1 }] }],
    ];
    for (const [why, body] of bad) {
      const response = await call(api, 'coach', 'POST', '/api/v1/trainings', body);
      assert.equal(response.status, 400, why);
      await readProblem(response);
    }
    const { id } = await create(api);
    const patched = await call(api, 'coach', 'PATCH', `/api/v1/trainings/${id}`, {
      steps: [{ type: 'step', kind: 'work', durationSeconds: 60, target: { type: 'cadence', low: 95, high: 85 } }],
    });
    assert.equal(patched.status, 400);
    assert.equal((await call(api, 'coach', 'PATCH', `/api/v1/trainings/${id}`, {})).status, 400);
  });
});

test('a body above 64 KiB is refused with 400 naming the body, one above the default 16 KiB is taken', async () => {
  await withApi({ verifier: tokens() }, async (api) => {
    const big = await call(api, 'coach', 'POST', '/api/v1/trainings', { ...intervals, description: ' '.repeat(70_000) });
    assert.equal(big.status, 400);
    assert.equal((await readProblem(big)).param, 'body');
    const step = { type: 'step', kind: 'work', durationSeconds: 60, target: { type: 'hr_percent_max', low: 80, high: 90 } };
    const steps = Array.from({ length: 100 }, () => ({ type: 'repeat', count: 2, steps: [step, step, step] }));
    assert.ok(JSON.stringify({ ...intervals, steps }).length > 16 * 1024);
    const created = await create(api, { ...intervals, steps });
    assert.equal(created.totalDurationSeconds, 100 * 2 * 3 * 60);
  });
});

test('put replaces, patch changes some fields and recomputes the duration, delete removes', async () => {
  await withApi({ verifier: tokens() }, async (api) => {
    const { id } = await create(api);
    const put = await call(api, 'coach', 'PUT', `/api/v1/trainings/${id}`, { name: 'Easy', sport: 'rowing', steps: [{ type: 'step', kind: 'work', durationSeconds: 1800 }] });
    assert.equal(put.status, 200);
    assert.equal(((await put.json()) as { totalDurationSeconds: number }).totalDurationSeconds, 1800);
    const patched = await call(api, 'coach', 'PATCH', `/api/v1/trainings/${id}`, { description: 'Keep it easy', steps: [{ type: 'step', kind: 'work', distanceMeters: 2000 }] });
    const training = (await patched.json()) as Record<string, unknown>;
    assert.equal(training['name'], 'Easy');
    assert.equal(training['description'], 'Keep it easy');
    assert.equal('totalDurationSeconds' in training, false);
    assert.equal((await call(api, 'coach', 'DELETE', `/api/v1/trainings/${id}`)).status, 204);
    assert.equal((await call(api, 'coach', 'GET', `/api/v1/trainings/${id}`)).status, 404);
    assert.equal((await call(api, 'coach', 'DELETE', `/api/v1/trainings/${id}`)).status, 404);
  });
});

test('the list pages by name and filters by sport', async () => {
  await withApi({ verifier: tokens() }, async (api) => {
    for (const name of ['C', 'A', 'B']) await create(api, { ...intervals, name });
    await create(api, { ...intervals, name: 'Run', sport: 'running' });
    const first = (await (await call(api, 'athlete', 'GET', '/api/v1/trainings?sport=cycling&limit=2')).json()) as { items: { name: string }[]; next: string };
    assert.deepEqual(
      first.items.map((t) => t.name),
      ['A', 'B'],
    );
    const second = (await (await call(api, 'athlete', 'GET', first.next)).json()) as { items: { name: string }[]; next?: string };
    assert.deepEqual(
      second.items.map((t) => t.name),
      ['C'],
    );
    assert.equal(second.next, undefined);
    assert.equal((await call(api, 'athlete', 'GET', '/api/v1/trainings?cursor=bogus')).status, 400);
  });
});
