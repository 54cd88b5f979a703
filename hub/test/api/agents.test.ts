import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { decodeJsonMessage } from '@pulsebridge/protocol';
import { Agent, AgentList } from '../../src/api/schemas.ts';
import { NOW, readProblem, withApi, type RunningApi } from './harness.ts';

async function seed(api: RunningApi): Promise<void> {
  await api.registry.create('box-1', 'gym-a');
  await api.registry.create('box-2', 'gym-b');
  // Ingest records presence and the status from the same message, at the same time.
  api.registry.touch('box-1', NOW - 1_000);
  api.registry.setOnline('box-1', true);
  await api.registry.recordStatus(
    'box-1',
    {
      state: 'online',
      version: '0.3.1',
      outbox: { readings: 120, bytes: 4_096, oldestAgeMs: 2_500, dropped: 3 },
      sources: { ble: { state: 'running' }, ant: { state: 'unavailable', detail: 'no USB stick' } },
    },
    NOW - 1_000,
  );
  await api.registry.recordInventory('box-1', [{ id: 'ble:c0:ff:ee:00:11:22', kind: 'heart_rate', source: 'ble', metrics: ['heart_rate'] }]);
}

test('GET /api/v1/agents lists every agent with its last reported state', async () => {
  await withApi(async (api) => {
    await seed(api);
    const response = await api.get('/api/v1/agents');
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
    assert.equal(response.headers.get('cache-control'), 'no-store');
    const body: unknown = await response.json();
    assert.ok(TypeCompiler.Compile(AgentList).Check(body), 'the body matches the documented schema');
    const agents = body as Array<Record<string, unknown>>;
    const one = agents.find((a) => a['id'] === 'box-1');
    assert.deepEqual(one, {
      id: 'box-1',
      gym: 'gym-a',
      online: true,
      enrolled: true,
      disabled: false,
      lastSeen: new Date(NOW - 1_000).toISOString(),
      version: '0.3.1',
      outbox: { readings: 120, bytes: 4_096, oldestAgeMs: 2_500, dropped: 3 },
      sources: { ble: { state: 'running' }, ant: { state: 'unavailable', detail: 'no USB stick' } },
      sensors: [{ id: 'ble:c0:ff:ee:00:11:22', kind: 'heart_rate', source: 'ble', metrics: ['heart_rate'] }],
      unsyncedReadings: 0,
    });
    const never = agents.find((a) => a['id'] === 'box-2');
    assert.deepEqual(never, {
      id: 'box-2',
      gym: 'gym-b',
      online: false,
      enrolled: true,
      disabled: false,
      lastSeen: null,
      version: null,
      outbox: null,
      sources: {},
      sensors: [],
      unsyncedReadings: 0,
    });
  });
});

test("GET /api/v1/agents shows each listed sensor's signal from the agent's latest status as decoded from the wire", async () => {
  await withApi(async (api) => {
    await api.registry.create('box-1', 'gym-a');
    const heard = NOW - 2_000;
    const inventory = [
      { id: 'ble:c0-ff-ee-00-00-01', kind: 'heart_rate', source: 'ble', metrics: ['heart_rate'] },
      { id: 'ant:120:1:1', kind: 'heart_rate', source: 'ant', metrics: ['heart_rate'] },
    ];
    await api.registry.recordInventory('box-1', inventory);
    const wire = (signal: unknown): Buffer => Buffer.from(JSON.stringify({ state: 'online', version: '0.4.0', signal }));
    const status = decodeJsonMessage(
      'status',
      wire([
        { id: 'ble:c0-ff-ee-00-00-01', rssi: -67, at: heard },
        // Heard, but not (yet) in the inventory: nothing to show it on.
        { id: 'ble:c0-ff-ee-00-00-02', rssi: -50, at: heard },
      ]),
    );
    await api.registry.recordStatus('box-1', status, NOW);
    const body: unknown = await (await api.get('/api/v1/agents/box-1')).json();
    assert.ok(TypeCompiler.Compile(Agent).Check(body), 'the body matches the documented schema');
    assert.deepEqual((body as { sensors: unknown }).sensors, [{ ...inventory[0], signalDbm: -67, signalAt: new Date(heard).toISOString() }, inventory[1]]);

    // A newer status replaces the signal; an agent that stops reporting it shows none.
    await api.registry.recordStatus('box-1', decodeJsonMessage('status', wire([{ id: 'ble:c0-ff-ee-00-00-01', rssi: -80, at: NOW }])), NOW);
    let sensors = ((await (await api.get('/api/v1/agents')).json()) as { sensors: { signalDbm?: number }[] }[])[0]!.sensors;
    assert.equal(sensors[0]?.signalDbm, -80);
    await api.registry.recordStatus('box-1', decodeJsonMessage('status', Buffer.from(JSON.stringify({ state: 'online' }))), NOW);
    sensors = ((await (await api.get('/api/v1/agents')).json()) as { sensors: { signalDbm?: number }[] }[])[0]!.sensors;
    assert.deepEqual(sensors, inventory);
  });
});

test('GET /api/v1/agents?gym= narrows to one gym', async () => {
  await withApi(async (api) => {
    await seed(api);
    const body = (await (await api.get('/api/v1/agents?gym=gym-b')).json()) as Array<{ id: string }>;
    assert.deepEqual(
      body.map((a) => a.id),
      ['box-2'],
    );
    const none = (await (await api.get('/api/v1/agents?gym=gym-z')).json()) as unknown[];
    assert.deepEqual(none, []);
  });
});

test('GET /api/v1/agents/:id returns one agent, 404 problem when unknown, 400 for an impossible id', async () => {
  await withApi(async (api) => {
    await seed(api);
    const found = await api.get('/api/v1/agents/box-1');
    assert.equal(found.status, 200);
    const body: unknown = await found.json();
    assert.ok(TypeCompiler.Compile(Agent).Check(body));
    assert.equal((body as { id: string }).id, 'box-1');

    const missing = await api.get('/api/v1/agents/box-9');
    assert.equal(missing.status, 404);
    const problem = await readProblem(missing);
    assert.equal(problem.type, '/api/v1/docs#problem-not_found');
    assert.match(problem.detail, /box-9/);

    const impossible = await api.get(`/api/v1/agents/${encodeURIComponent('bad id!')}`);
    assert.equal(impossible.status, 400);
    assert.equal((await readProblem(impossible)).param, 'id');

    const malformed = await api.get('/api/v1/agents/%E0%A4%A');
    assert.equal(malformed.status, 400);
    await readProblem(malformed);
  });
});

test('an agent awaiting enrollment or disabled shows so in the list', async () => {
  await withApi(async (api) => {
    await api.registry.createForEnrollment('box-new', 'gym-a');
    await api.registry.create('box-off', 'gym-a');
    await api.registry.disable('box-off');
    const agents = (await (await api.get('/api/v1/agents?gym=gym-a')).json()) as { id: string; enrolled: boolean; disabled: boolean }[];
    assert.deepEqual(
      agents.map(({ id, enrolled, disabled }) => ({ id, enrolled, disabled })).sort((a, b) => a.id.localeCompare(b.id)),
      [
        { id: 'box-new', enrolled: false, disabled: false },
        { id: 'box-off', enrolled: true, disabled: true },
      ],
    );
  });
});
