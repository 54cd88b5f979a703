/** Athletes using a machine: the readings of its built-in sensors are theirs while they use it (bindings of kind equipment). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { endExpiredLoans } from '../../src/domain/pairing/bindings.ts';
import { BINDINGS } from '../../src/domain/pairing/collections.ts';
import { readingsOf, sensorIntervals } from '../../src/domain/sessions/attribution.ts';
import { buildRoster } from '../../src/domain/classes/roster.ts';
import { BOOKINGS } from '../../src/domain/classes/collections.ts';
import type { Role } from '../../src/identity/identity-store.ts';
import { testDomain } from '../domain/test-domain.ts';
import { withApi, type RunningApi } from './harness.ts';
import { FixedTokens, principal } from './principals.ts';

const GYM = 'gym-use';
const OTHER_GYM = 'gym-other';
const T0 = Date.UTC(2026, 2, 2, 9, 0, 0);
const MINUTE = 60_000;
/** The sensors of the first bike a test makes; each further bike has its own. */
const POWER = 'ble:c0-ff-ee-00-01-01';
const CADENCE = 'ble:c0-ff-ee-00-01-02';

type Json = Record<string, unknown>;

interface World {
  api: RunningApi;
  users: Record<string, string>;
  /** The hub clock, moved by the test. */
  clock: { now: number };
  call(who: string, method: string, path: string, body?: unknown): Promise<Response>;
  /** An in-service bike with a power meter and a cadence sensor built in. */
  bike(fields?: Json): Promise<string>;
}

async function withWorld(use: (world: World) => Promise<void>): Promise<void> {
  const clock = { now: T0 };
  const { domain, cleanup } = await testDomain({ now: () => clock.now });
  const tokens = new FixedTokens({});
  const users: Record<string, string> = {};
  const person = async (name: string, gym: string, role: Exclude<Role, 'platform_admin'>) => {
    const user = await domain.identity.createUser({ email: `${name}@example.org`, displayName: name });
    await domain.identity.addMembership({ userId: user.id, gym, role });
    tokens.set(name, principal([{ gym, role }], { subject: user.id }));
    users[name] = user.id;
  };
  await person('ann', GYM, 'athlete');
  await person('bob', GYM, 'athlete');
  await person('coach', GYM, 'coach');
  await person('admin', GYM, 'gym_admin');
  await person('stranger', OTHER_GYM, 'athlete');
  try {
    await withApi({ verifier: tokens, domain }, async (api) => {
      const call = (who: string, method: string, path: string, body?: unknown) =>
        fetch(`${api.url}${path}`, {
          method,
          headers: { Authorization: `Bearer ${who}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
          signal: AbortSignal.timeout(5_000),
        });
      let serial = 0;
      const bike = async (fields: Json = {}) => {
        const type = await ok(
          await call('admin', 'POST', '/api/v1/equipment-types', { gym: GYM, name: `Bike type ${++serial}`, kind: 'bike', attributesSchema: { type: 'object' } }),
          201,
        );
        const item = await ok(
          await call('admin', 'POST', '/api/v1/equipment', {
            gym: GYM,
            name: `Bike ${serial}`,
            type: type['id'],
            serial: `SN-${serial}`,
            builtIn: [
              { sensor: `ble:c0-ff-ee-00-0${serial}-01`, role: 'power' },
              { sensor: `ble:c0-ff-ee-00-0${serial}-02`, role: 'cadence' },
            ],
            ...fields,
          }),
          201,
        );
        return item['id'] as string;
      };
      await use({ api, users, clock, call, bike });
    });
  } finally {
    await cleanup();
  }
}

async function ok(response: Response, status = 200): Promise<Json> {
  const text = await response.text();
  assert.equal(response.status, status, text);
  return (text === '' ? {} : JSON.parse(text)) as Json;
}

test('an athlete takes a machine: one binding per built-in sensor from now, until the minutes given; the loan sweeper ends it then', async () => {
  await withWorld(async ({ api, users, clock, call, bike }) => {
    const id = await bike();
    const use = await ok(await call('ann', 'POST', `/api/v1/equipment/${id}/use`, { minutes: 30 }), 201);
    assert.deepEqual(use, {
      equipment: id,
      athlete: users['ann'],
      sensors: [POWER, CADENCE],
      from: new Date(T0).toISOString(),
      until: new Date(T0 + 30 * MINUTE).toISOString(),
      active: true,
    });
    const bindings = await api.deps.domain.documents.collection(BINDINGS).find({ equipment: id });
    assert.deepEqual(bindings.map((b) => [b.sensor, b.athlete, b.kind, b.active, b.from, b.until]).sort(), [
      [POWER, users['ann'], 'equipment', true, T0, T0 + 30 * MINUTE],
      [CADENCE, users['ann'], 'equipment', true, T0, T0 + 30 * MINUTE],
    ]);
    const mine = await ok(await call('ann', 'GET', '/api/v1/me/sensors'));
    assert.ok(
      (mine['items'] as Json[]).some((b) => b['kind'] === 'equipment' && b['equipment'] === id),
      'the athlete’s sensors show the machine’s',
    );
    clock.now = T0 + 30 * MINUTE;
    assert.equal(await endExpiredLoans(api.deps.domain), 2);
    assert.equal(await api.deps.domain.documents.collection(BINDINGS).count({ equipment: id, active: true }), 0);
    await ok(await call('bob', 'POST', `/api/v1/equipment/${id}/use`, {}), 201);
  });
});

test('a machine in use, out of order, in maintenance or without sensors is refused with 409; the same athlete again too', async () => {
  await withWorld(async ({ call, bike, clock }) => {
    const id = await bike();
    await ok(await call('ann', 'POST', `/api/v1/equipment/${id}/use`, { minutes: 10 }), 201);
    assert.equal((await call('bob', 'POST', `/api/v1/equipment/${id}/use`, {})).status, 409, 'in use by someone else');
    assert.equal((await call('ann', 'POST', `/api/v1/equipment/${id}/use`, {})).status, 409, 'in use by the athlete already');
    clock.now = T0 + 10 * MINUTE;
    // A use past its end, not swept yet, does not keep the machine taken.
    await ok(await call('bob', 'POST', `/api/v1/equipment/${id}/use`, {}), 201);

    const broken = await bike({ status: 'out_of_order' });
    assert.equal((await call('ann', 'POST', `/api/v1/equipment/${broken}/use`, {})).status, 409);
    const serviced = await bike({ status: 'maintenance' });
    assert.equal((await call('ann', 'POST', `/api/v1/equipment/${serviced}/use`, {})).status, 409);
    const plain = await bike({ builtIn: [] });
    assert.equal((await call('ann', 'POST', `/api/v1/equipment/${plain}/use`, {})).status, 409);
    assert.equal((await call('ann', 'POST', `/api/v1/equipment/${plain}/use`, { minutes: 0 })).status, 400);
    assert.equal((await call('ann', 'POST', `/api/v1/equipment/${plain}/use`, { minutes: 721 })).status, 400);
    assert.equal((await call('ann', 'POST', `/api/v1/equipment/${plain}/use`, { minutes: 5, athlete: 'x' })).status, 400);
  });
});

test('only an athlete of the gym uses its machines; another gym’s athlete sees 404', async () => {
  await withWorld(async ({ call, bike }) => {
    const id = await bike();
    assert.equal((await call('coach', 'POST', `/api/v1/equipment/${id}/use`, {})).status, 403);
    assert.equal((await call('admin', 'POST', `/api/v1/equipment/${id}/use`, {})).status, 403);
    assert.equal((await call('stranger', 'POST', `/api/v1/equipment/${id}/use`, {})).status, 404);
    assert.equal((await call('ann', 'POST', '/api/v1/equipment/nope/use', {})).status, 404);
  });
});

test('a use ends now when the athlete or staff releases it, with who ended it; another athlete may not; nothing in use is 404', async () => {
  await withWorld(async ({ api, users, clock, call, bike }) => {
    const id = await bike();
    assert.equal((await call('ann', 'DELETE', `/api/v1/equipment/${id}/use`)).status, 404);
    await ok(await call('ann', 'POST', `/api/v1/equipment/${id}/use`, { minutes: 60 }), 201);
    clock.now = T0 + 20 * MINUTE;
    assert.equal((await call('bob', 'DELETE', `/api/v1/equipment/${id}/use`)).status, 403);
    const ended = await ok(await call('ann', 'DELETE', `/api/v1/equipment/${id}/use`));
    assert.equal(ended['active'], false);
    assert.equal(ended['until'], new Date(T0 + 20 * MINUTE).toISOString());
    const bindings = await api.deps.domain.documents.collection(BINDINGS).find({ equipment: id });
    assert.ok(bindings.every((b) => !b.active && b.until === T0 + 20 * MINUTE && b.endedBy === users['ann']));

    await ok(await call('bob', 'POST', `/api/v1/equipment/${id}/use`, {}), 201);
    clock.now = T0 + 25 * MINUTE;
    const byCoach = await ok(await call('coach', 'DELETE', `/api/v1/equipment/${id}/use`));
    assert.equal(byCoach['athlete'], users['bob']);
    const bobs = await api.deps.domain.documents.collection(BINDINGS).find({ equipment: id, athlete: users['bob']! });
    assert.ok(bobs.every((b) => !b.active && b.until === T0 + 25 * MINUTE && b.endedBy === users['coach']));
  });
});

test("readings of the machine's sensors during the use are the athlete's, and only those", async () => {
  await withWorld(async ({ api, users, clock, call, bike }) => {
    const { documents, series } = api.deps.domain;
    const id = await bike();
    clock.now = T0 + 10 * MINUTE;
    await ok(await call('ann', 'POST', `/api/v1/equipment/${id}/use`, {}), 201);
    clock.now = T0 + 20 * MINUTE;
    await ok(await call('ann', 'DELETE', `/api/v1/equipment/${id}/use`));
    const ts = Array.from({ length: 30 }, (_, i) => T0 + i * MINUTE);
    await series.write([{ gym: GYM, agent: 'agent-1', series: [{ sensor: POWER, metric: 'power', ts, values: ts.map((_, i) => 100 + i) }] }]);

    const intervals = await sensorIntervals(documents, GYM, users['ann']!, T0, T0 + 30 * MINUTE);
    assert.deepEqual(intervals.map((i) => [i.sensor, i.from, i.until]).sort(), [
      [POWER, T0 + 10 * MINUTE, T0 + 20 * MINUTE],
      [CADENCE, T0 + 10 * MINUTE, T0 + 20 * MINUTE],
    ]);
    const readings = await readingsOf(series, GYM, intervals);
    assert.deepEqual(
      readings.watts,
      ts.slice(10, 20).map((t, i) => [t, 110 + i]),
    );
    assert.deepEqual(await sensorIntervals(documents, GYM, users['bob']!, T0, T0 + 30 * MINUTE), [], 'nobody else’s');
  });
});

test("a coach's roster shows the machine an athlete uses among the sensors they wear", async () => {
  await withWorld(async ({ api, users, call, bike }) => {
    const id = await bike();
    await ok(await call('ann', 'POST', `/api/v1/equipment/${id}/use`, {}), 201);
    const occurrence = 'class-1@1';
    await api.deps.domain.documents.collection(BOOKINGS).insert({
      id: 'booking-1',
      gym: GYM,
      class: 'class-1',
      occurrence,
      start: T0,
      user: users['ann']!,
      status: 'booked',
      active: true,
      position: 0,
      bookedBy: users['ann']!,
      createdAt: T0,
    });
    const roster = await buildRoster(api.deps.domain, GYM, occurrence);
    assert.deepEqual(roster[0]?.sensors.map((s) => [s.sensor, s.kind, s.equipment, s.label]).sort(), [
      [POWER, 'equipment', id, 'Bike 1'],
      [CADENCE, 'equipment', id, 'Bike 1'],
    ]);
  });
});

test('a machine in use keeps its built-in sensors until released, and removing it ends the use', async () => {
  await withWorld(async ({ api, users, clock, call, bike }) => {
    const id = await bike();
    await ok(await call('ann', 'POST', `/api/v1/equipment/${id}/use`, {}), 201);
    assert.equal((await call('admin', 'PATCH', `/api/v1/equipment/${id}`, { builtIn: [{ sensor: 'ble:c0-ff-ee-00-09-01', role: 'power' }] })).status, 409);
    await ok(await call('admin', 'PATCH', `/api/v1/equipment/${id}`, { name: 'Renamed bike' }), 200);
    clock.now = T0 + 5 * MINUTE;
    await ok(await call('admin', 'DELETE', `/api/v1/equipment/${id}`), 204);
    const bindings = await api.deps.domain.documents.collection(BINDINGS).find({ equipment: id });
    assert.equal(bindings.length, 2);
    assert.ok(bindings.every((b) => !b.active && b.until === T0 + 5 * MINUTE && b.endedBy === users['admin']));
  });
});
