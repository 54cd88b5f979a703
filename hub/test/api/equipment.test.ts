/** Equipment routes: types with attribute schemas, items, built-in sensors, status and maintenance log, by role. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { machineOfSensor } from '../../src/domain/equipment/sensors.ts';
import { NOW, readProblem, withApi, type RunningApi } from './harness.ts';
import { FixedTokens, principal } from './principals.ts';

const GYM = 'gym-eq';
const OTHER_GYM = 'gym-other';

const tokens = () =>
  new FixedTokens({
    admin: principal([{ gym: GYM, role: 'gym_admin' }], { subject: 'admin-1' }),
    coach: principal([{ gym: GYM, role: 'coach' }], { subject: 'coach-1' }),
    athlete: principal([{ gym: GYM, role: 'athlete' }], { subject: 'athlete-1' }),
    other: principal([{ gym: OTHER_GYM, role: 'gym_admin' }], { subject: 'admin-2' }),
  });

type Json = Record<string, unknown>;

async function call(api: RunningApi, who: string, method: string, path: string, body?: unknown): Promise<Response> {
  const init: RequestInit = { method, headers: { Authorization: `Bearer ${who}` }, signal: AbortSignal.timeout(5_000) };
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    (init.headers as Record<string, string>)['Content-Type'] = 'application/json';
  }
  return fetch(`${api.url}${path}`, init);
}

async function ok(response: Response, status = 200): Promise<Json> {
  const text = await response.text();
  assert.equal(response.status, status, text);
  return (text === '' ? {} : JSON.parse(text)) as Json;
}

const BIKE_SCHEMA = {
  type: 'object',
  properties: {
    resistanceLevels: { type: 'integer', minimum: 1 },
    frame: { type: 'object', properties: { size: { enum: ['S', 'M', 'L'] } }, additionalProperties: false },
  },
  required: ['resistanceLevels'],
  additionalProperties: false,
};

async function bikeType(api: RunningApi, gym = GYM, who = 'admin'): Promise<string> {
  const created = await ok(await call(api, who, 'POST', '/api/v1/equipment-types', { gym, name: `Bike ${gym}`, kind: 'bike', attributesSchema: BIKE_SCHEMA }), 201);
  return created['id'] as string;
}

async function bike(api: RunningApi, type: string, fields: Json = {}): Promise<Json> {
  return ok(await call(api, 'admin', 'POST', '/api/v1/equipment', { gym: GYM, name: 'Bike 1', type, serial: 'SN-1', attributes: { resistanceLevels: 8 }, ...fields }), 201);
}

test('an admin creates, reads, changes and deletes an equipment type; members list them by name', async () => {
  await withApi({ verifier: tokens() }, async (api) => {
    const id = await bikeType(api);
    const rower = await ok(await call(api, 'admin', 'POST', '/api/v1/equipment-types', { name: 'A rower', kind: 'rower', attributesSchema: { type: 'object' } }), 201);
    assert.equal(rower['gym'], GYM, "the admin's only gym when the body names none");
    const list = await ok(await call(api, 'athlete', 'GET', `/api/v1/equipment-types?gym=${GYM}`));
    assert.deepEqual(
      (list['items'] as Json[]).map((t) => t['name']),
      ['A rower', `Bike ${GYM}`],
    );
    const rowers = await ok(await call(api, 'athlete', 'GET', '/api/v1/equipment-types?kind=rower'));
    assert.deepEqual(
      (rowers['items'] as Json[]).map((t) => t['id']),
      [rower['id']],
    );
    const got = await ok(await call(api, 'coach', 'GET', `/api/v1/equipment-types/${id}`));
    assert.deepEqual(got['attributesSchema'], BIKE_SCHEMA);
    const renamed = await ok(await call(api, 'admin', 'PUT', `/api/v1/equipment-types/${id}`, { name: 'Spin bike', kind: 'bike', attributesSchema: { type: 'object' } }));
    assert.equal(renamed['name'], 'Spin bike');
    assert.equal(
      (await call(api, 'admin', 'PUT', `/api/v1/equipment-types/${id}`, { name: 'A rower', kind: 'bike', attributesSchema: { type: 'object' } })).status,
      409,
      'names are unique per gym',
    );
    await ok(await call(api, 'admin', 'DELETE', `/api/v1/equipment-types/${id}`), 204);
    assert.equal((await call(api, 'admin', 'GET', `/api/v1/equipment-types/${id}`)).status, 404);
    assert.equal((await call(api, 'other', 'GET', `/api/v1/equipment-types/${rower['id'] as string}`)).status, 404, 'another gym sees nothing');
  });
});

test('an attributes schema is refused with 400 when invalid, not strict, remote, too deep, too large or not about an object', async () => {
  await withApi({ verifier: tokens() }, async (api) => {
    let deep: Json = { type: 'object' };
    for (let i = 0; i < 6; i++) deep = { type: 'object', properties: { nested: deep } };
    const big = { type: 'object', properties: Object.fromEntries(Array.from({ length: 520 }, (_, i) => [`attribute${i}`, { type: 'string' }])) };
    const cases: [string, unknown, RegExp][] = [
      ['an unknown type', { type: 'object', properties: { a: { type: 'intger' } } }, /attributesSchema/],
      ['an unknown keyword (strict mode)', { type: 'object', propertes: {} }, /unknown keyword/],
      ['not an object', { type: 'string' }, /type: object/],
      ['too deep', deep, /deeper than 10/],
      ['too large', big, /bytes, more than/],
      ['a $ref (remote or not)', { type: 'object', properties: { a: { $ref: 'https://example.org/schema.json' } } }, /\$/],
      ['a $schema of another draft', { $schema: 'http://json-schema.org/draft-04/schema#', type: 'object' }, /\$schema/],
    ];
    for (const [what, attributesSchema, detail] of cases) {
      const response = await call(api, 'admin', 'POST', '/api/v1/equipment-types', { name: 'Bad', kind: 'other', attributesSchema });
      assert.equal(response.status, 400, what);
      const problem = await readProblem(response);
      assert.match(`${problem.param} ${problem.detail}`, detail, what);
    }
    const list = await ok(await call(api, 'admin', 'GET', '/api/v1/equipment-types'));
    assert.deepEqual(list['items'], [], 'nothing was saved');
  });
});

test("an item's attributes are checked against its type's schema: 400 naming the failing attribute", async () => {
  await withApi({ verifier: tokens() }, async (api) => {
    const type = await bikeType(api);
    const cases: [unknown, string][] = [
      [{ resistanceLevels: 'eight' }, '/attributes/resistanceLevels'],
      [{ resistanceLevels: 0 }, '/attributes/resistanceLevels'],
      [{}, '/attributes/resistanceLevels'],
      [{ resistanceLevels: 8, frame: { size: 'XL' } }, '/attributes/frame/size'],
      [{ resistanceLevels: 8, colour: 'red' }, '/attributes/colour'],
    ];
    for (const [attributes, path] of cases) {
      const response = await call(api, 'admin', 'POST', '/api/v1/equipment', { name: 'Bike', type, serial: 'SN-X', attributes });
      const problem = await readProblem(response);
      assert.equal(response.status, 400, JSON.stringify(attributes));
      assert.equal(problem.param, path, problem.detail);
    }
    const item = await bike(api, type, { attributes: { resistanceLevels: 8, frame: { size: 'M' } } });
    const patched = await call(api, 'admin', 'PATCH', `/api/v1/equipment/${item['id'] as string}`, { attributes: { resistanceLevels: -1 } });
    assert.equal(patched.status, 400);
    assert.equal((await readProblem(patched)).param, '/attributes/resistanceLevels');
  });
});

test('attributes with $-keys or dotted keys are refused with 400 before anything is stored', async () => {
  await withApi({ verifier: tokens() }, async (api) => {
    const type = await ok(await call(api, 'admin', 'POST', '/api/v1/equipment-types', { name: 'Free', kind: 'other', attributesSchema: { type: 'object' } }), 201);
    for (const attributes of [{ $where: 'sleep(1000)' }, { nested: { $gt: '' } }, { 'a.b': 1 }]) {
      const response = await call(api, 'admin', 'POST', '/api/v1/equipment', { name: 'Sneaky', type: type['id'], serial: 'SN-$', attributes });
      assert.equal(response.status, 400, JSON.stringify(attributes));
      assert.match((await readProblem(response)).detail, /\$ or contain a dot/);
    }
    assert.deepEqual((await ok(await call(api, 'admin', 'GET', '/api/v1/equipment')))['items'], []);
  });
});

test("an unknown type, or another gym's, is a 400 on type", async () => {
  await withApi({ verifier: tokens() }, async (api) => {
    const foreign = await bikeType(api, OTHER_GYM, 'other');
    for (const type of ['no-such-type', foreign]) {
      const response = await call(api, 'admin', 'POST', '/api/v1/equipment', { name: 'Bike', type, serial: 'SN-1', attributes: { resistanceLevels: 8 } });
      assert.equal(response.status, 400);
      assert.equal((await readProblem(response)).param, 'type');
    }
  });
});

test('a serial number is unique within a gym: 409 on create and on change, free in another gym', async () => {
  await withApi({ verifier: tokens() }, async (api) => {
    const type = await bikeType(api);
    await bike(api, type);
    const twice = await call(api, 'admin', 'POST', '/api/v1/equipment', { name: 'Bike 2', type, serial: 'SN-1', attributes: { resistanceLevels: 8 } });
    assert.equal(twice.status, 409);
    assert.match((await readProblem(twice)).detail, /SN-1/);
    const second = await bike(api, type, { name: 'Bike 2', serial: 'SN-2' });
    assert.equal((await call(api, 'admin', 'PATCH', `/api/v1/equipment/${second['id'] as string}`, { serial: 'SN-1' })).status, 409);
    await ok(await call(api, 'admin', 'PATCH', `/api/v1/equipment/${second['id'] as string}`, { serial: 'SN-2', name: 'Kept its own serial' }));
    const foreignType = await bikeType(api, OTHER_GYM, 'other');
    await ok(await call(api, 'other', 'POST', '/api/v1/equipment', { gym: OTHER_GYM, name: 'Bike', type: foreignType, serial: 'SN-1', attributes: { resistanceLevels: 3 } }), 201);
  });
});

test('built-in sensor ids are stored canonical and kept in the sensors list; a bad one is a 400', async () => {
  await withApi({ verifier: tokens() }, async (api) => {
    const type = await bikeType(api);
    const item = await bike(api, type, {
      builtIn: [
        { sensor: 'BLE:C0:FF:EE:00:00:01', role: 'power' },
        { sensor: 'serial:csafe:430123456', role: 'console' },
      ],
    });
    assert.deepEqual(item['builtIn'], [
      { sensor: 'ble:c0-ff-ee-00-00-01', role: 'power' },
      { sensor: 'serial:csafe:430123456', role: 'console' },
    ]);
    assert.deepEqual(item['sensors'], ['ble:c0-ff-ee-00-00-01', 'serial:csafe:430123456']);
    for (const sensor of ['not a sensor', 'ble:', 'heart rate:1', 'ble:c0-ff-ee-00-00-01/../x']) {
      const response = await call(api, 'admin', 'POST', '/api/v1/equipment', {
        name: 'Bad',
        type,
        serial: 'SN-BAD',
        attributes: { resistanceLevels: 8 },
        builtIn: [{ sensor, role: 'power' }],
      });
      assert.equal(response.status, 400, sensor);
      assert.equal((await readProblem(response)).param, 'builtIn/0/sensor', sensor);
    }
    const twice = await call(api, 'admin', 'POST', '/api/v1/equipment', {
      name: 'Twice',
      type,
      serial: 'SN-2',
      attributes: { resistanceLevels: 8 },
      builtIn: [
        { sensor: 'ant:17:1:5', role: 'power' },
        { sensor: 'ANT:17:1:5', role: 'cadence' },
      ],
    });
    assert.equal(twice.status, 400);
    assert.equal((await readProblem(twice)).param, 'builtIn/1/sensor');
  });
});

test('a sensor is built into at most one machine of a gym: 409, free again once removed; machineOfSensor attributes it', async () => {
  await withApi({ verifier: tokens() }, async (api) => {
    const type = await bikeType(api);
    const first = await bike(api, type, { builtIn: [{ sensor: 'ble:c0-ff-ee-00-00-01', role: 'power' }] });
    const taken = await call(api, 'admin', 'POST', '/api/v1/equipment', {
      name: 'Bike 2',
      type,
      serial: 'SN-2',
      attributes: { resistanceLevels: 8 },
      builtIn: [{ sensor: 'ble:C0:FF:EE:00:00:01', role: 'cadence' }],
    });
    assert.equal(taken.status, 409);
    assert.match((await readProblem(taken)).detail, /Bike 1/);
    const second = await bike(api, type, { name: 'Bike 2', serial: 'SN-2' });
    const secondId = second['id'] as string;
    assert.equal((await call(api, 'admin', 'PATCH', `/api/v1/equipment/${secondId}`, { builtIn: [{ sensor: 'ble:c0-ff-ee-00-00-01', role: 'power' }] })).status, 409);
    const documents = api.deps.domain.documents;
    assert.equal((await machineOfSensor(documents, GYM, 'ble:c0-ff-ee-00-00-01'))?.id, first['id']);
    assert.equal(await machineOfSensor(documents, OTHER_GYM, 'ble:c0-ff-ee-00-00-01'), undefined, 'per gym');
    assert.equal(await machineOfSensor(documents, GYM, 'ble:00-00-00-00-00-00'), undefined);

    await ok(await call(api, 'admin', 'PATCH', `/api/v1/equipment/${first['id'] as string}`, { builtIn: [] }));
    const moved = await ok(await call(api, 'admin', 'PATCH', `/api/v1/equipment/${secondId}`, { builtIn: [{ sensor: 'ble:c0-ff-ee-00-00-01', role: 'power' }] }));
    assert.deepEqual(moved['sensors'], ['ble:c0-ff-ee-00-00-01']);
    assert.equal((await machineOfSensor(documents, GYM, 'ble:c0-ff-ee-00-00-01'))?.id, secondId);
    await ok(await call(api, 'admin', 'DELETE', `/api/v1/equipment/${secondId}`), 204);
    assert.equal(await machineOfSensor(documents, GYM, 'ble:c0-ff-ee-00-00-01'), undefined);
    await ok(await call(api, 'admin', 'PATCH', `/api/v1/equipment/${first['id'] as string}`, { builtIn: [{ sensor: 'ble:c0-ff-ee-00-00-01', role: 'power' }] }));
  });
});

test("the gym's agents are told their allowlist whenever built-in sensors change, and only then", async () => {
  await withApi({ verifier: tokens() }, async (api) => {
    const changed = api.pairing!.changedGyms;
    const type = await bikeType(api);
    const plain = await bike(api, type);
    assert.deepEqual(changed, [], 'no sensors, nothing to tell');
    const item = await bike(api, type, { name: 'Bike 2', serial: 'SN-2', builtIn: [{ sensor: 'ble:c0-ff-ee-00-00-01', role: 'power' }] });
    assert.deepEqual(changed, [GYM]);
    const id = item['id'] as string;
    await ok(await call(api, 'admin', 'PATCH', `/api/v1/equipment/${id}`, { name: 'Renamed', builtIn: [{ sensor: 'BLE:C0:FF:EE:00:00:01', role: 'power' }] }));
    assert.deepEqual(changed, [GYM], 'the same sensors: nothing to tell');
    await ok(await call(api, 'admin', 'PATCH', `/api/v1/equipment/${id}`, { builtIn: [{ sensor: 'ble:c0-ff-ee-00-00-02', role: 'power' }] }));
    assert.deepEqual(changed, [GYM, GYM]);
    await ok(await call(api, 'coach', 'POST', `/api/v1/equipment/${id}/status`, { status: 'out_of_order' }));
    await ok(await call(api, 'admin', 'DELETE', `/api/v1/equipment/${plain['id'] as string}`), 204);
    assert.deepEqual(changed, [GYM, GYM], 'status and sensorless items do not touch the allowlist');
    await ok(await call(api, 'admin', 'DELETE', `/api/v1/equipment/${id}`), 204);
    assert.deepEqual(changed, [GYM, GYM, GYM]);
  });
});

test('roles: athletes read only; coaches change status only; admins do everything', async () => {
  await withApi({ verifier: tokens() }, async (api) => {
    const type = await bikeType(api);
    const id = (await bike(api, type))['id'] as string;
    const refused: [string, string, string, unknown?][] = [
      ['athlete', 'POST', '/api/v1/equipment-types', { name: 'X', kind: 'bike', attributesSchema: { type: 'object' } }],
      ['coach', 'POST', '/api/v1/equipment-types', { name: 'X', kind: 'bike', attributesSchema: { type: 'object' } }],
      ['athlete', 'PUT', `/api/v1/equipment-types/${type}`, { name: 'X', kind: 'bike', attributesSchema: { type: 'object' } }],
      ['coach', 'DELETE', `/api/v1/equipment-types/${type}`],
      ['athlete', 'POST', '/api/v1/equipment', { name: 'X', type, serial: 'SN-X', attributes: { resistanceLevels: 1 } }],
      ['coach', 'POST', '/api/v1/equipment', { name: 'X', type, serial: 'SN-X', attributes: { resistanceLevels: 1 } }],
      ['coach', 'PATCH', `/api/v1/equipment/${id}`, { name: 'X' }],
      ['coach', 'DELETE', `/api/v1/equipment/${id}`],
      ['athlete', 'POST', `/api/v1/equipment/${id}/status`, { status: 'out_of_order' }],
      ['athlete', 'GET', `/api/v1/equipment/${id}/maintenance`],
    ];
    for (const [who, method, path, body] of refused) assert.equal((await call(api, who, method, path, body)).status, 403, `${who} ${method} ${path}`);
    await ok(await call(api, 'athlete', 'GET', `/api/v1/equipment/${id}`));
    await ok(await call(api, 'athlete', 'GET', '/api/v1/equipment'));
    const reported = await ok(await call(api, 'coach', 'POST', `/api/v1/equipment/${id}/status`, { status: 'out_of_order', note: 'belt slips' }));
    assert.equal(reported['status'], 'out_of_order');
    await ok(await call(api, 'coach', 'GET', `/api/v1/equipment/${id}/maintenance`));
  });
});

test('status changes are logged with who, from, to and note, newest first, in pages', async () => {
  await withApi({ verifier: tokens() }, async (api) => {
    const type = await bikeType(api);
    const item = await bike(api, type);
    const id = item['id'] as string;
    assert.equal(item['status'], 'in_service');
    await ok(await call(api, 'coach', 'POST', `/api/v1/equipment/${id}/status`, { status: 'out_of_order', note: 'belt slips' }));
    await ok(await call(api, 'admin', 'POST', `/api/v1/equipment/${id}/status`, { status: 'maintenance', note: 'technician booked' }));
    await ok(await call(api, 'admin', 'POST', `/api/v1/equipment/${id}/status`, { status: 'in_service' }));
    assert.equal((await call(api, 'admin', 'POST', `/api/v1/equipment/${id}/status`, { status: 'broken' })).status, 400);
    assert.equal((await call(api, 'admin', 'PATCH', `/api/v1/equipment/${id}`, { status: 'maintenance' })).status, 400, 'status changes only through the log');

    const entries: Json[] = [];
    let next: string | undefined = `/api/v1/equipment/${id}/maintenance?limit=3`;
    while (next !== undefined) {
      const page = await ok(await call(api, 'coach', 'GET', next));
      entries.push(...(page['items'] as Json[]));
      next = page['next'] as string | undefined;
    }
    assert.deepEqual(
      entries.map(({ by, from, to, note }) => ({ by, from, to, note })),
      [
        { by: 'admin-1', from: 'maintenance', to: 'in_service', note: undefined },
        { by: 'admin-1', from: 'out_of_order', to: 'maintenance', note: 'technician booked' },
        { by: 'coach-1', from: 'in_service', to: 'out_of_order', note: 'belt slips' },
        { by: 'admin-1', from: undefined, to: 'in_service', note: undefined },
      ],
    );
    assert.equal((await call(api, 'other', 'GET', `/api/v1/equipment/${id}/maintenance`)).status, 404);
  });
});

test('changing a schema that existing items would not match is refused with 409 saying how many; a type in use cannot be deleted', async () => {
  await withApi({ verifier: tokens() }, async (api) => {
    const type = await bikeType(api);
    await bike(api, type);
    await bike(api, type, { name: 'Bike 2', serial: 'SN-2', attributes: { resistanceLevels: 30 } });
    const stricter = { ...BIKE_SCHEMA, properties: { ...BIKE_SCHEMA.properties, resistanceLevels: { type: 'integer', maximum: 10 } } };
    const refused = await call(api, 'admin', 'PUT', `/api/v1/equipment-types/${type}`, { name: 'Bike', kind: 'bike', attributesSchema: stricter });
    assert.equal(refused.status, 409);
    assert.match((await readProblem(refused)).detail, /^1 item of this type/);
    const stillOld = await ok(await call(api, 'admin', 'GET', `/api/v1/equipment-types/${type}`));
    assert.deepEqual(stillOld['attributesSchema'], BIKE_SCHEMA);
    const looser = { ...BIKE_SCHEMA, properties: { ...BIKE_SCHEMA.properties, resistanceLevels: { type: 'integer', maximum: 40 } } };
    await ok(await call(api, 'admin', 'PUT', `/api/v1/equipment-types/${type}`, { name: 'Bike', kind: 'bike', attributesSchema: looser }));

    const inUse = await call(api, 'admin', 'DELETE', `/api/v1/equipment-types/${type}`);
    assert.equal(inUse.status, 409);
    assert.match((await readProblem(inUse)).detail, /^2 items are of this type/);
  });
});

test('item lists page through every item exactly once, and filter by type, status and location', async () => {
  await withApi({ verifier: tokens() }, async (api) => {
    const type = await bikeType(api);
    const other = (await ok(await call(api, 'admin', 'POST', '/api/v1/equipment-types', { name: 'Free', kind: 'other', attributesSchema: { type: 'object' } }), 201))[
      'id'
    ] as string;
    const ids = new Set<string>();
    for (let i = 0; i < 11; i++) {
      const fields = i % 3 === 0 ? { type: other, attributes: {} } : {};
      const item = await bike(api, type, { name: `Machine ${i % 4}`, serial: `SN-${i}`, location: i % 2 === 0 ? 'Floor 1' : 'Floor 2', ...fields });
      ids.add(item['id'] as string);
    }
    const seen: string[] = [];
    let next: string | undefined = '/api/v1/equipment?limit=4';
    while (next !== undefined) {
      const page = await ok(await call(api, 'athlete', 'GET', next));
      seen.push(...(page['items'] as Json[]).map((item) => item['id'] as string));
      next = page['next'] as string | undefined;
    }
    assert.equal(seen.length, 11);
    assert.deepEqual(new Set(seen), ids);

    const byType = await ok(await call(api, 'athlete', 'GET', `/api/v1/equipment?type=${other}`));
    assert.equal((byType['items'] as Json[]).length, 4);
    const byLocation = await ok(await call(api, 'athlete', 'GET', `/api/v1/equipment?location=${encodeURIComponent('Floor 2')}`));
    assert.equal((byLocation['items'] as Json[]).length, 5);
    await ok(await call(api, 'coach', 'POST', `/api/v1/equipment/${seen[0]!}/status`, { status: 'maintenance' }));
    const inMaintenance = await ok(await call(api, 'athlete', 'GET', '/api/v1/equipment?status=maintenance'));
    assert.deepEqual(
      (inMaintenance['items'] as Json[]).map((item) => item['id']),
      [seen[0]],
    );
    assert.equal((await call(api, 'athlete', 'GET', '/api/v1/equipment?status=broken')).status, 400);
    const typesPage = await ok(await call(api, 'athlete', 'GET', '/api/v1/equipment-types?limit=1'));
    assert.equal((await call(api, 'athlete', 'GET', `/api/v1/equipment?cursor=${typesPage['nextCursor'] as string}`)).status, 400, 'a cursor of another list is refused');
  });
});

test('an item can move to another type when its attributes match that type, and clear its location', async () => {
  await withApi({ verifier: tokens() }, async (api) => {
    const type = await bikeType(api);
    const free = (await ok(await call(api, 'admin', 'POST', '/api/v1/equipment-types', { name: 'Free', kind: 'other', attributesSchema: { type: 'object' } }), 201))[
      'id'
    ] as string;
    const item = await ok(
      await call(api, 'admin', 'POST', '/api/v1/equipment', { name: 'Thing', type: free, serial: 'SN-1', location: 'Hall', attributes: { colour: 'red' } }),
      201,
    );
    const id = item['id'] as string;
    const refused = await call(api, 'admin', 'PATCH', `/api/v1/equipment/${id}`, { type });
    assert.equal(refused.status, 400);
    assert.equal((await readProblem(refused)).param, '/attributes/resistanceLevels');
    const moved = await ok(await call(api, 'admin', 'PATCH', `/api/v1/equipment/${id}`, { type, attributes: { resistanceLevels: 5 }, location: null }));
    assert.equal(moved['type'], type);
    assert.equal('location' in moved, false);
    const got = await ok(await call(api, 'athlete', 'GET', `/api/v1/equipment/${id}`));
    assert.deepEqual(got, moved);
  });
});

test('two machines created at once with the same sensor: exactly one gets it, the other is a 409', async () => {
  await withApi({ verifier: tokens() }, async (api) => {
    const type = await bikeType(api);
    const attempts = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        call(api, 'admin', 'POST', '/api/v1/equipment', {
          name: `Bike ${i}`,
          type,
          serial: `SN-${i}`,
          attributes: { resistanceLevels: 8 },
          builtIn: [{ sensor: 'ble:c0-ff-ee-00-00-01', role: 'power' }],
        }),
      ),
    );
    assert.deepEqual(attempts.map((r) => r.status).sort(), [201, 409, 409, 409, 409, 409]);
    const items = (await ok(await call(api, 'admin', 'GET', '/api/v1/equipment')))['items'] as Json[];
    assert.equal(items.length, 1);
  });
});

/** A DomainEvents that keeps what was emitted. */
function recordEvents(api: RunningApi): { gym: string; event: string; payload: Record<string, unknown> }[] {
  const emitted: { gym: string; event: string; payload: Record<string, unknown> }[] = [];
  api.deps.domain.events = {
    emit: async (gym, event, payload) => {
      emitted.push({ gym, event, payload });
    },
  };
  return emitted;
}

test('a status change is announced as equipment.status_changed with who, when, from, to and the note; a note on the same status is not', async () => {
  await withApi({ verifier: tokens() }, async (api) => {
    const emitted = recordEvents(api);
    const item = await bike(api, await bikeType(api));
    const id = item['id'] as string;
    assert.deepEqual(emitted, [], 'creating an item changes no status');
    await ok(await call(api, 'coach', 'POST', `/api/v1/equipment/${id}/status`, { status: 'out_of_order', note: 'Pedal loose' }));
    await ok(await call(api, 'admin', 'POST', `/api/v1/equipment/${id}/status`, { status: 'out_of_order', note: 'Part ordered' }));
    await ok(await call(api, 'admin', 'POST', `/api/v1/equipment/${id}/status`, { status: 'in_service' }));
    assert.deepEqual(emitted, [
      {
        gym: GYM,
        event: 'equipment.status_changed',
        payload: { equipment: id, name: 'Bike 1', from: 'in_service', to: 'out_of_order', at: new Date(NOW).toISOString(), by: 'coach-1', note: 'Pedal loose' },
      },
      {
        gym: GYM,
        event: 'equipment.status_changed',
        payload: { equipment: id, name: 'Bike 1', from: 'out_of_order', to: 'in_service', at: new Date(NOW).toISOString(), by: 'admin-1' },
      },
    ]);
    assert.equal((await call(api, 'athlete', 'POST', `/api/v1/equipment/${id}/status`, { status: 'maintenance' })).status, 403);
    assert.equal(emitted.length, 2, 'a refused change announces nothing');
  });
});
