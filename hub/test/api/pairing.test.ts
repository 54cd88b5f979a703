/** The sensor pairing API: claims by id and tap-to-pair, loaner straps, the staff views, permit-join and the allowlist. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Role } from '../../src/identity/identity-store.ts';
import { BINDINGS } from '../../src/domain/pairing/collections.ts';
import { endExpiredLoans } from '../../src/domain/pairing/bindings.ts';
import { EQUIPMENT } from '../../src/domain/equipment/collections.ts';
import type { NearbySensor } from '../../src/pairing/pairing-channel.ts';
import { machineDocument, testDomain, type RecordingPairingChannel, type TestDomain } from '../domain/test-domain.ts';
import { readProblem, withApi, type RunningApi } from './harness.ts';
import { FixedTokens, principal } from './principals.ts';

const GYM = 'gym-1';
const OTHER = 'gym-2';
const T0 = Date.UTC(2026, 2, 2, 9, 0, 0);
const STRAP = 'ble:aa-bb-cc-dd-ee-01';

interface Pairing {
  api: RunningApi;
  test: TestDomain;
  pairing: RecordingPairingChannel;
  clock: { now: number };
  /** Makes an account with these roles; its token is its name. Returns its user id. */
  user(name: string, roles: { gym: string; role: Role }[]): Promise<string>;
  call(token: string, method: string, path: string, body?: unknown): Promise<Response>;
  json<T = Record<string, unknown>>(token: string, method: string, path: string, body?: unknown, status?: number): Promise<T>;
}

async function withPairing(use: (p: Pairing) => Promise<void>): Promise<void> {
  const clock = { now: T0 };
  const domainForTest = await testDomain({ now: () => clock.now });
  const tokens = new FixedTokens({});
  try {
    await withApi({ domain: domainForTest.domain, verifier: tokens }, async (api) => {
      const call = (token: string, method: string, path: string, body?: unknown) =>
        fetch(`${api.url}${path}`, {
          method,
          headers: { Authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
          signal: AbortSignal.timeout(5_000),
        });
      await use({
        api,
        test: domainForTest,
        pairing: domainForTest.pairing,
        clock,
        async user(name, roles) {
          const created = await domainForTest.domain.identity.createUser({ email: `${name}@example.org`, displayName: `${name} Name` });
          for (const { gym, role } of roles) await domainForTest.domain.identity.addMembership({ userId: created.id, gym, role });
          tokens.set(name, principal(roles, { subject: created.id }));
          return created.id;
        },
        call,
        async json(token, method, path, body, status = 200) {
          const response = await call(token, method, path, body);
          const text = await response.text();
          assert.equal(response.status, status, `${method} ${path}: ${text}`);
          return (text === '' ? {} : JSON.parse(text)) as never;
        },
      });
    });
  } finally {
    await domainForTest.cleanup();
  }
}

async function problem(response: Response, status: number, param?: string): Promise<string> {
  assert.equal(response.status, status);
  const body = await readProblem(response);
  if (param !== undefined) assert.equal(body.param, param);
  return body.detail;
}

test('an athlete pairs a sensor by id in a gym where they have a role: canonical id, listed as theirs, on the allowlist, agents told', async () => {
  await withPairing(async ({ user, json, call, pairing }) => {
    const anna = await user('anna', [{ gym: GYM, role: 'athlete' }]);
    await user('coach', [{ gym: GYM, role: 'coach' }]);
    const bound = await json<{ id: string; sensor: string; athlete: string; kind: string; active: boolean; from: string; label: string }>(
      'anna',
      'POST',
      '/api/v1/me/sensors',
      { gym: GYM, sensor: 'ble:AA:BB:CC:DD:EE:01', label: 'my strap' },
      201,
    );
    assert.deepEqual(
      { ...bound, id: undefined },
      { id: undefined, gym: GYM, sensor: STRAP, athlete: anna, kind: 'own', active: true, from: new Date(T0).toISOString(), label: 'my strap' },
    );
    assert.deepEqual(pairing.changedGyms, [GYM]);
    const mine = await json<{ items: { id: string }[] }>('anna', 'GET', '/api/v1/me/sensors');
    assert.deepEqual(
      mine.items.map((b) => b.id),
      [bound.id],
    );
    assert.deepEqual((await json<{ sensors: string[] }>('coach', 'GET', `/api/v1/gyms/${GYM}/allowlist`)).sensors, [STRAP]);
    // Refusals.
    await problem(await call('anna', 'POST', '/api/v1/me/sensors', { gym: GYM, sensor: 'ble:zz:bb:cc:dd:ee:01' }), 400, 'sensor');
    await problem(await call('anna', 'POST', '/api/v1/me/sensors', { gym: GYM, sensor: 'ble:aa:bb:cc:dd:ee:02', label: '' }), 400);
    await problem(await call('anna', 'POST', '/api/v1/me/sensors', { gym: GYM, sensor: 'ble:aa:bb:cc:dd:ee:02', owner: 'x' }), 400);
    await problem(await call('anna', 'POST', '/api/v1/me/sensors', { sensor: 'ble:aa:bb:cc:dd:ee:02' }), 400);
    await problem(await call('anna', 'POST', '/api/v1/me/sensors', { gym: OTHER, sensor: 'ble:aa:bb:cc:dd:ee:02' }), 403, 'gym');
    await problem(await call('nobody', 'POST', '/api/v1/me/sensors', { gym: GYM, sensor: 'ble:aa:bb:cc:dd:ee:02' }), 401);
    assert.match(await problem(await call('anna', 'POST', '/api/v1/me/sensors', { gym: GYM, sensor: STRAP }), 409), /already/);
    assert.deepEqual(pairing.changedGyms, [GYM], 'a refused claim changes nothing');
  });
});

test('a sensor paired to someone else in the gym is a 409 that does not say who; in another gym it is free', async () => {
  await withPairing(async ({ user, json, call }) => {
    const anna = await user('anna', [{ gym: GYM, role: 'athlete' }]);
    await user('ben', [
      { gym: GYM, role: 'athlete' },
      { gym: OTHER, role: 'athlete' },
    ]);
    await json('anna', 'POST', '/api/v1/me/sensors', { gym: GYM, sensor: STRAP }, 201);
    const response = await call('ben', 'POST', '/api/v1/me/sensors', { gym: GYM, sensor: 'ble:AA-BB-CC-DD-EE-01' });
    const detail = await problem(response, 409);
    assert.match(detail, /paired to someone else/);
    assert.ok(!detail.includes(anna) && !detail.includes('anna'), detail);
    await json('ben', 'POST', '/api/v1/me/sensors', { gym: OTHER, sensor: STRAP }, 201);
  });
});

test('ten athletes claiming one sensor at once: exactly one gets it, nine get 409', async () => {
  await withPairing(async ({ user, call, test }) => {
    const names = Array.from({ length: 10 }, (_, i) => `athlete${i}`);
    for (const name of names) await user(name, [{ gym: GYM, role: 'athlete' }]);
    const statuses = await Promise.all(names.map(async (name) => (await call(name, 'POST', '/api/v1/me/sensors', { gym: GYM, sensor: STRAP })).status));
    assert.deepEqual(
      statuses.filter((s) => s === 201),
      [201],
    );
    assert.deepEqual(
      statuses.filter((s) => s === 409),
      Array(9).fill(409),
    );
    assert.equal(await test.domain.documents.collection(BINDINGS).count({ gym: GYM, sensor: STRAP }), 1);
  });
});

test('an athlete claiming a sensor while the gym registers it as its own: exactly one of them gets it', async () => {
  await withPairing(async ({ user, call, test }) => {
    await user('anna', [{ gym: GYM, role: 'athlete' }]);
    await user('coach', [{ gym: GYM, role: 'coach' }]);
    for (let i = 0; i < 5; i++) {
      const sensor = `ble:aa-bb-cc-dd-ee-1${i}`;
      const [claimed, registered] = await Promise.all([
        call('anna', 'POST', '/api/v1/me/sensors', { gym: GYM, sensor }),
        call('coach', 'POST', '/api/v1/gym-sensors', { gym: GYM, sensor }),
      ]);
      assert.deepEqual([claimed.status, registered.status].sort(), [201, 409], sensor);
      const owners = (await test.domain.documents.collection(BINDINGS).count({ gym: GYM, sensor })) + (registered.status === 201 ? 1 : 0);
      assert.equal(owners, 1, sensor);
    }
  });
});

test('unpairing ends the binding and keeps it as history; the sensor is free again and the agents are told', async () => {
  await withPairing(async ({ user, json, call, clock, pairing }) => {
    const anna = await user('anna', [{ gym: GYM, role: 'athlete' }]);
    await user('ben', [{ gym: GYM, role: 'athlete' }]);
    await user('coach', [{ gym: GYM, role: 'coach' }]);
    const bound = await json<{ id: string }>('anna', 'POST', '/api/v1/me/sensors', { gym: GYM, sensor: STRAP }, 201);
    await problem(await call('ben', 'DELETE', `/api/v1/me/sensors/${bound.id}`), 404);
    await problem(await call('anna', 'DELETE', '/api/v1/me/sensors/no-such-binding'), 404);
    await problem(await call('anna', 'DELETE', '/api/v1/me/sensors/bad%20id'), 400);
    clock.now = T0 + 60_000;
    const ended = await json<{ active: boolean; until: string }>('anna', 'DELETE', `/api/v1/me/sensors/${bound.id}`);
    assert.deepEqual([ended.active, ended.until], [false, new Date(T0 + 60_000).toISOString()]);
    await problem(await call('anna', 'DELETE', `/api/v1/me/sensors/${bound.id}`), 404);
    assert.deepEqual(pairing.changedGyms, [GYM, GYM]);
    assert.deepEqual((await json<{ items: unknown[] }>('anna', 'GET', '/api/v1/me/sensors')).items, []);
    assert.deepEqual((await json<{ sensors: string[] }>('coach', 'GET', `/api/v1/gyms/${GYM}/allowlist`)).sensors, []);
    clock.now = T0 + 120_000;
    const ben = await json<{ athlete: string }>('ben', 'POST', '/api/v1/me/sensors', { gym: GYM, sensor: STRAP }, 201);
    const history = await json<{ items: { athlete: string; active: boolean; athleteName: string }[] }>('coach', 'GET', `/api/v1/gyms/${GYM}/bindings?sensor=ble:AA:BB:CC:DD:EE:01`);
    assert.deepEqual(
      history.items.map((b) => [b.athlete, b.active, b.athleteName]),
      [
        [ben.athlete, true, 'ben Name'],
        [anna, false, 'anna Name'],
      ],
    );
  });
});

test('the staff view of bindings filters by active, athlete and sensor, pages, and is for staff only', async () => {
  await withPairing(async ({ user, json, call, clock }) => {
    const anna = await user('anna', [{ gym: GYM, role: 'athlete' }]);
    await user('coach', [{ gym: GYM, role: 'coach' }]);
    await user('admin', [{ gym: GYM, role: 'gym_admin' }]);
    const sensors = ['ble:aa-bb-cc-dd-ee-01', 'ble:aa-bb-cc-dd-ee-02', 'ble:aa-bb-cc-dd-ee-03'];
    const ids: string[] = [];
    for (const [i, sensor] of sensors.entries()) {
      clock.now = T0 + i * 1_000;
      ids.push((await json<{ id: string }>('anna', 'POST', '/api/v1/me/sensors', { gym: GYM, sensor }, 201)).id);
    }
    await json('anna', 'DELETE', `/api/v1/me/sensors/${ids[0]}`);
    const list = async (query: string) => (await json<{ items: { id: string }[]; next?: string }>('coach', 'GET', `/api/v1/gyms/${GYM}/bindings${query}`)).items.map((b) => b.id);
    assert.deepEqual(await list(''), [ids[2], ids[1], ids[0]], 'newest first');
    assert.deepEqual(await list('?active=true'), [ids[2], ids[1]]);
    assert.deepEqual(await list('?active=false'), [ids[0]]);
    assert.deepEqual(await list(`?athlete=${anna}&sensor=ble:AABBCCDDEE02`), [ids[1]]);
    assert.deepEqual(await list('?athlete=someone-else'), []);
    const first = await json<{ items: { id: string }[]; next: string }>('admin', 'GET', `/api/v1/gyms/${GYM}/bindings?active=true&limit=1`);
    assert.deepEqual(
      first.items.map((b) => b.id),
      [ids[2]],
    );
    const second = await json<{ items: { id: string }[]; next?: string }>('admin', 'GET', first.next);
    assert.deepEqual(
      second.items.map((b) => b.id),
      [ids[1]],
    );
    assert.equal(second.next, undefined);
    await problem(await call('coach', 'GET', `/api/v1/gyms/${GYM}/bindings?active=yes`), 400, 'active');
    await problem(await call('coach', 'GET', `/api/v1/gyms/${GYM}/bindings?sensor=ble:nope`), 400, 'sensor');
    await problem(await call('anna', 'GET', `/api/v1/gyms/${GYM}/bindings`), 403);
    await problem(await call('coach', 'GET', `/api/v1/gyms/${OTHER}/bindings`), 403);
  });
});

const heard = (sensor: string, rssi: number | undefined, seenAt: number, kind = 'heart_rate'): NearbySensor => ({ sensor, kind, rssi, agent: 'box-1', seenAt });

test('tap-to-pair: the window shows new heart-rate straps strongest first, without paired or gym-owned ones, and the athlete confirms one', async () => {
  await withPairing(async ({ user, json, call, clock, pairing }) => {
    await user('anna', [{ gym: GYM, role: 'athlete' }]);
    await user('ben', [{ gym: GYM, role: 'athlete' }]);
    await user('coach', [{ gym: GYM, role: 'coach' }]);
    await json('ben', 'POST', '/api/v1/me/sensors', { gym: GYM, sensor: 'ble:00-00-00-00-00-0b' }, 201);
    await json('coach', 'POST', '/api/v1/gym-sensors', { gym: GYM, sensor: 'ant:120:7:1' }, 201);
    clock.now = T0 + 10_000;
    const window = await json<{ windowId: string; until: string; gym: string }>('anna', 'POST', '/api/v1/me/sensors/discover', { gym: GYM }, 201);
    assert.equal(window.until, new Date(T0 + 40_000).toISOString());
    assert.deepEqual(pairing.windows, [{ gym: GYM, seconds: 30, permitJoin: false }]);
    pairing.heard = [
      heard('ble:00-00-00-00-00-01', -70, T0 + 12_000),
      heard('ble:00-00-00-00-00-02', -50, T0 + 13_000),
      heard('ble:00-00-00-00-00-02', -80, T0 + 14_000),
      heard('ble:00-00-00-00-00-03', -30, T0 + 12_000, 'bike'),
      heard('ble:00-00-00-00-00-0b', -20, T0 + 12_000),
      heard('ant:120:7:1', -25, T0 + 12_000),
      heard('ant:120:8:1', undefined, T0 + 12_000),
      heard('ble:00-00-00-00-00-04', -10, T0 + 5_000),
      heard('ble:00-00-00-00-00-05', -10, T0 + 41_000),
    ];
    clock.now = T0 + 20_000;
    const polled = await json<{ open: boolean; candidates: { sensor: string; rssi: number | null }[] }>('anna', 'GET', `/api/v1/me/sensors/discover/${window.windowId}`);
    assert.equal(polled.open, true);
    assert.deepEqual(
      polled.candidates.map((c) => [c.sensor, c.rssi]),
      [
        ['ble:00-00-00-00-00-02', -50],
        ['ble:00-00-00-00-00-01', -70],
        ['ant:120:8:1', null],
      ],
    );
    await problem(await call('ben', 'GET', `/api/v1/me/sensors/discover/${window.windowId}`), 404);
    await problem(await call('anna', 'GET', '/api/v1/me/sensors/discover/no-such-window'), 404);
    assert.match(await problem(await call('anna', 'POST', '/api/v1/me/sensors', { gym: GYM, sensor: 'ble:00-00-00-00-00-03', window: window.windowId }), 409), /not heard/);
    await problem(await call('ben', 'POST', '/api/v1/me/sensors', { gym: GYM, sensor: 'ble:00-00-00-00-00-02', window: window.windowId }), 404);
    clock.now = T0 + 50_000;
    assert.equal((await json<{ open: boolean }>('anna', 'GET', `/api/v1/me/sensors/discover/${window.windowId}`)).open, false);
    const bound = await json<{ sensor: string }>('anna', 'POST', '/api/v1/me/sensors', { gym: GYM, sensor: 'BLE:00:00:00:00:00:02', window: window.windowId }, 201);
    assert.equal(bound.sensor, 'ble:00-00-00-00-00-02');
    await problem(await call('anna', 'GET', `/api/v1/me/sensors/discover/${window.windowId}`), 404);
    // A sensor not among a window's candidates is still paired by its id.
    await json('anna', 'POST', '/api/v1/me/sensors', { gym: GYM, sensor: 'ble:00-00-00-00-00-03' }, 201);
  });
});

test('tap-to-pair: a window lasts a while after it closes, then is gone; it is opened only in a gym of the athlete', async () => {
  await withPairing(async ({ user, json, call, clock }) => {
    await user('anna', [
      { gym: GYM, role: 'athlete' },
      { gym: OTHER, role: 'athlete' },
    ]);
    const window = await json<{ windowId: string }>('anna', 'POST', '/api/v1/me/sensors/discover', { gym: GYM }, 201);
    await problem(await call('anna', 'POST', '/api/v1/me/sensors', { gym: OTHER, sensor: STRAP, window: window.windowId }), 400, 'window');
    clock.now = T0 + 30_000 + 5 * 60_000 - 1;
    await json('anna', 'GET', `/api/v1/me/sensors/discover/${window.windowId}`);
    clock.now = T0 + 30_000 + 5 * 60_000;
    await problem(await call('anna', 'GET', `/api/v1/me/sensors/discover/${window.windowId}`), 404);
    await problem(await call('anna', 'POST', '/api/v1/me/sensors/discover', { gym: 'gym-3' }), 403);
    await problem(await call('anna', 'POST', '/api/v1/me/sensors/discover', { gym: GYM, seconds: 600 }), 400);
  });
});

test('gym sensors: staff register, read, relabel and retire them; athletes may not; agents are told of each change', async () => {
  await withPairing(async ({ user, json, call, pairing }) => {
    await user('anna', [{ gym: GYM, role: 'athlete' }]);
    await user('coach', [{ gym: GYM, role: 'coach' }]);
    await user('coach2', [{ gym: OTHER, role: 'coach' }]);
    const created = await json<{ id: string; sensor: string; kind: string; label: string }>(
      'coach',
      'POST',
      '/api/v1/gym-sensors',
      { gym: GYM, sensor: 'ANT:120:0042:1', label: 'Loaner 1' },
      201,
    );
    assert.deepEqual([created.sensor, created.kind, created.label], ['ant:120:42:1', 'heart_rate', 'Loaner 1']);
    assert.deepEqual(pairing.changedGyms, [GYM]);
    assert.match(await problem(await call('coach', 'POST', '/api/v1/gym-sensors', { gym: GYM, sensor: 'ant:120:42:1' }), 409), /already/);
    await problem(await call('coach', 'POST', '/api/v1/gym-sensors', { gym: GYM, sensor: 'ant:120:42' }), 400, 'sensor');
    await problem(await call('coach', 'POST', '/api/v1/gym-sensors', { gym: GYM, sensor: 'ant:120:43:1', kind: 'Heart Rate' }), 400);
    await problem(await call('anna', 'POST', '/api/v1/gym-sensors', { gym: GYM, sensor: 'ant:120:43:1' }), 403);
    await problem(await call('coach', 'POST', '/api/v1/gym-sensors', { gym: OTHER, sensor: 'ant:120:43:1' }), 403);
    // An athlete's own paired sensor is not the gym's to take.
    await json('anna', 'POST', '/api/v1/me/sensors', { gym: GYM, sensor: STRAP }, 201);
    assert.match(await problem(await call('coach', 'POST', '/api/v1/gym-sensors', { gym: GYM, sensor: STRAP }), 409), /athlete/);
    // A gym-owned strap is lent, not claimed.
    assert.match(await problem(await call('anna', 'POST', '/api/v1/me/sensors', { gym: GYM, sensor: 'ant:120:42:1' }), 409), /gym’s own/);

    assert.deepEqual(
      (await json<{ items: { id: string }[] }>('coach', 'GET', '/api/v1/gym-sensors')).items.map((s) => s.id),
      [created.id],
    );
    await problem(await call('anna', 'GET', `/api/v1/gym-sensors?gym=${GYM}`), 403);
    assert.equal((await json<{ label: string }>('coach', 'GET', `/api/v1/gym-sensors/${created.id}`)).label, 'Loaner 1');
    await problem(await call('coach2', 'GET', `/api/v1/gym-sensors/${created.id}`), 404);
    await problem(await call('anna', 'GET', `/api/v1/gym-sensors/${created.id}`), 403);
    const patched = await json<{ label: string; kind: string }>('coach', 'PATCH', `/api/v1/gym-sensors/${created.id}`, { label: 'Loaner 2', kind: 'heart_rate' });
    assert.deepEqual([patched.label, patched.kind], ['Loaner 2', 'heart_rate']);
    await problem(await call('coach', 'PATCH', `/api/v1/gym-sensors/${created.id}`, {}), 400);
    await problem(await call('coach', 'PATCH', `/api/v1/gym-sensors/${created.id}`, { sensor: 'ant:1:2:3' }), 400);
    const changes = pairing.changedGyms.length;
    const deleted = await call('coach', 'DELETE', `/api/v1/gym-sensors/${created.id}`);
    assert.equal(deleted.status, 204);
    assert.equal(pairing.changedGyms.length, changes + 1);
    await problem(await call('coach', 'GET', `/api/v1/gym-sensors/${created.id}`), 404);
    await problem(await call('coach', 'DELETE', `/api/v1/gym-sensors/${created.id}`), 404);
  });
});

test('loans: a coach lends a gym strap to a member for one class, and the loan ends by itself when the class ends', async () => {
  await withPairing(async ({ user, json, call, clock, pairing, test }) => {
    const anna = await user('anna', [{ gym: GYM, role: 'athlete' }]);
    const ben = await user('ben', [{ gym: GYM, role: 'athlete' }]);
    const outsider = await user('olga', [{ gym: OTHER, role: 'athlete' }]);
    await user('coach', [{ gym: GYM, role: 'coach' }]);
    const strap = await json<{ id: string; sensor: string }>('coach', 'POST', '/api/v1/gym-sensors', { gym: GYM, sensor: 'ant:120:9:1', label: 'Loaner 9' }, 201);
    const loans = `/api/v1/gym-sensors/${strap.id}/loans`;
    const classEnd = new Date(T0 + 3_600_000).toISOString();
    await problem(await call('coach', 'POST', loans, { athlete: outsider, until: classEnd }), 400, 'athlete');
    await problem(await call('coach', 'POST', loans, { athlete: anna, until: new Date(T0 - 1).toISOString() }), 400, 'until');
    await problem(await call('coach', 'POST', loans, { athlete: anna, from: classEnd, until: classEnd }), 400, 'until');
    await problem(await call('coach', 'POST', loans, { athlete: anna, until: new Date(T0 + 13 * 3_600_000).toISOString() }), 400, 'until');
    await problem(await call('coach', 'POST', loans, { athlete: anna, until: 'tomorrow' }), 400, 'until');
    await problem(await call('coach', 'POST', loans, { athlete: anna }), 400);
    await problem(await call('anna', 'POST', loans, { athlete: anna, until: classEnd }), 403);
    const changes = pairing.changedGyms.length;
    const loan = await json<{ kind: string; until: string; athlete: string; classId: string; gymSensor: string; label: string }>(
      'coach',
      'POST',
      loans,
      { athlete: anna, until: classEnd, classId: 'spin-0700' },
      201,
    );
    assert.deepEqual([loan.kind, loan.until, loan.athlete, loan.classId, loan.gymSensor, loan.label], ['loaner', classEnd, anna, 'spin-0700', strap.id, 'Loaner 9']);
    assert.equal(pairing.changedGyms.length, changes + 1);
    assert.match(await problem(await call('coach', 'POST', loans, { athlete: ben, until: classEnd }), 409), /on loan/);
    assert.match(await problem(await call('coach', 'DELETE', `/api/v1/gym-sensors/${strap.id}`), 409), /on loan/);
    assert.deepEqual(
      (await json<{ items: { sensor: string }[] }>('anna', 'GET', '/api/v1/me/sensors')).items.map((b) => b.sensor),
      [strap.sensor],
    );
    // The class ends: nobody ends the loan, it ends.
    clock.now = T0 + 3_600_000;
    assert.deepEqual((await json<{ items: unknown[] }>('anna', 'GET', '/api/v1/me/sensors')).items, []);
    assert.equal(pairing.changedGyms.length, changes + 2, 'the agents are told the loan ended');
    const history = await json<{ items: { active: boolean; until: string }[] }>('coach', 'GET', `/api/v1/gyms/${GYM}/bindings?sensor=${strap.sensor}`);
    assert.deepEqual(
      history.items.map((b) => [b.active, b.until]),
      [[false, classEnd]],
    );
    // The next class: lent again, to ben, who returns it early himself.
    const next = await json<{ id: string }>('coach', 'POST', loans, { athlete: ben, until: new Date(T0 + 7_200_000).toISOString() }, 201);
    await json('ben', 'DELETE', `/api/v1/me/sensors/${next.id}`);
    // A loan may start before now, but not before the strap's previous binding ended.
    await problem(await call('coach', 'POST', loans, { athlete: anna, from: new Date(T0).toISOString(), until: new Date(T0 + 7_200_000).toISOString() }), 400, 'from');
    // The sweep the hub runs on a timer ends loans without any request.
    const third = await json<{ id: string }>('coach', 'POST', loans, { athlete: anna, until: new Date(T0 + 4_000_000).toISOString() }, 201);
    clock.now = T0 + 4_000_000;
    assert.equal(await endExpiredLoans(test.domain), 1);
    assert.equal((await test.domain.documents.collection(BINDINGS).get(third.id))?.active, false);
  });
});

test('permit-join is opened by a gym admin for 1 to 600 seconds', async () => {
  await withPairing(async ({ user, json, call, pairing }) => {
    await user('admin', [{ gym: GYM, role: 'gym_admin' }]);
    await user('coach', [{ gym: GYM, role: 'coach' }]);
    const opened = await json<{ gym: string; until: string }>('admin', 'POST', `/api/v1/gyms/${GYM}/permit-join`, { seconds: 120 });
    assert.deepEqual(opened, { gym: GYM, until: new Date(T0 + 120_000).toISOString() });
    assert.deepEqual(pairing.windows, [{ gym: GYM, seconds: 120, permitJoin: true }]);
    for (const seconds of [0, 601, 1.5, '60']) await problem(await call('admin', 'POST', `/api/v1/gyms/${GYM}/permit-join`, { seconds }), 400);
    await problem(await call('admin', 'POST', `/api/v1/gyms/${GYM}/permit-join`, {}), 400);
    await problem(await call('coach', 'POST', `/api/v1/gyms/${GYM}/permit-join`, { seconds: 60 }), 403);
    await problem(await call('admin', 'POST', `/api/v1/gyms/${OTHER}/permit-join`, { seconds: 60 }), 403);
    assert.equal(pairing.windows.length, 1);
  });
});

test('the allowlist holds bound sensors, gym-owned ones and those built into equipment, for staff only', async () => {
  await withPairing(async ({ user, json, call, test }) => {
    await user('anna', [{ gym: GYM, role: 'athlete' }]);
    await user('coach', [{ gym: GYM, role: 'coach' }]);
    await json('anna', 'POST', '/api/v1/me/sensors', { gym: GYM, sensor: STRAP }, 201);
    await json('coach', 'POST', '/api/v1/gym-sensors', { gym: GYM, sensor: 'ant:120:1:1' }, 201);
    await test.domain.documents.collection(EQUIPMENT).insert(machineDocument('bike-1', GYM, ['ble:ff-ff-ff-ff-ff-01']));
    await test.domain.documents.collection(EQUIPMENT).insert(machineDocument('bike-2', OTHER, ['ble:ff-ff-ff-ff-ff-02']));
    assert.deepEqual(await json('coach', 'GET', `/api/v1/gyms/${GYM}/allowlist`), { gym: GYM, sensors: ['ant:120:1:1', STRAP, 'ble:ff-ff-ff-ff-ff-01'] });
    await problem(await call('anna', 'GET', `/api/v1/gyms/${GYM}/allowlist`), 403);
    await problem(await call('coach', 'GET', `/api/v1/gyms/${OTHER}/allowlist`), 403);
  });
});
