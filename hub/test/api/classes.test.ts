/** Classes and bookings through the API: schedules in the gym's zone, concurrent bookings, waitlist promotion, cancellation window, roles, iCalendar feeds. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GYMS } from '../../src/domain/gyms.ts';
import { TRAININGS } from '../../src/domain/trainings/collections.ts';
import type { Role } from '../../src/identity/identity-store.ts';
import { NOW, readProblem, withApi, type RunningApi } from './harness.ts';
import { FixedTokens, principal } from './principals.ts';

const GYM = 'riverside';
// The harness's clock (NOW) reads 2024-05-01T12:00Z; Monday 2024-05-06 07:00 in Berlin is 05:00 UTC.
const OCCURRENCE = '2024-05-06T05:00:00Z';

interface Json {
  [key: string]: unknown;
}

interface World {
  api: RunningApi;
  tokens: FixedTokens;
  users: Record<string, string>;
  call(token: string, method: string, path: string, body?: unknown): Promise<Response>;
  /** A user with a role in GYM whose token is `name`. */
  person(name: string, role: Role, gym?: string): Promise<string>;
  createClass(overrides?: Json): Promise<Json>;
}

async function withWorld(use: (world: World) => Promise<void>): Promise<void> {
  const tokens = new FixedTokens({});
  await withApi({ verifier: tokens }, async (api) => {
    await api.deps.domain.documents.collection(GYMS).insert({ id: GYM, name: 'Riverside', timeZone: 'Europe/Berlin', createdAt: 0, updatedAt: 0 });
    const users: Record<string, string> = {};
    const world: World = {
      api,
      tokens,
      users,
      call: (token, method, path, body) =>
        fetch(`${api.url}${path}`, {
          method,
          headers: { Authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
          signal: AbortSignal.timeout(10_000),
        }),
      person: async (name, role, gym = GYM) => {
        const identity = api.deps.domain.identity;
        const user = await identity.createUser({ email: `${name}@example.org`, displayName: `Name ${name}` });
        await identity.addMembership({ userId: user.id, gym, role });
        tokens.set(name, principal([{ gym, role }], { subject: user.id }));
        users[name] = user.id;
        return user.id;
      },
      createClass: async (overrides = {}) => {
        const response = await world.call('admin', 'POST', '/api/v1/classes', {
          gym: GYM,
          name: 'Morning spin',
          description: 'Intervals',
          room: 'Studio 1',
          instructors: [users['coach']],
          capacity: 20,
          start: '2024-05-06T07:00',
          durationMinutes: 45,
          rrule: 'FREQ=WEEKLY;BYDAY=MO',
          bookingOpensDays: 14,
          cancellationWindowMinutes: 120,
          waitlistLimit: 40,
          ...overrides,
        });
        assert.equal(response.status, 201, await response.clone().text());
        return (await response.json()) as Json;
      },
    };
    await world.person('admin', 'gym_admin');
    await world.person('coach', 'coach');
    await use(world);
  });
}

/** Record times are ISO 8601 strings that parse back to the stored time (the harness's clock). */
const AT_NOW = new Date(NOW).toISOString();

const occurrencePath = (cls: Json, start = OCCURRENCE) => `/api/v1/classes/${String(cls['id'])}/occurrences/${start}`;

test('a class is created in the gym’s zone; its occurrences keep 07:00 local across the autumn change', () =>
  withWorld(async ({ call, createClass }) => {
    const cls = await createClass();
    assert.equal(cls['timeZone'], 'Europe/Berlin');
    const response = await call('coach', 'GET', `/api/v1/classes/${String(cls['id'])}/occurrences?from=2024-10-20T00:00:00Z&to=2024-11-01T00:00:00Z`);
    assert.equal(response.status, 200);
    const { items } = (await response.json()) as { items: Json[] };
    assert.deepEqual(
      items.map((o) => [o['start'], o['localStart'], o['localEnd']]),
      [
        ['2024-10-21T05:00:00Z', '2024-10-21T07:00', '2024-10-21T07:45'],
        ['2024-10-28T06:00:00Z', '2024-10-28T07:00', '2024-10-28T07:45'],
      ],
    );
    const list = (await (await call('coach', 'GET', '/api/v1/classes')).json()) as { items: Json[] };
    assert.deepEqual(
      list.items.map((c) => c['id']),
      [cls['id']],
    );
  }));

test('bad classes are refused with 400 naming the field; athletes and coaches cannot create or change classes', () =>
  withWorld(async ({ api, call, person, createClass, users }) => {
    await person('athlete', 'athlete');
    await api.deps.domain.documents.collection(TRAININGS).insert({
      id: 'training-elsewhere',
      gym: 'other-gym',
      name: 'Elsewhere',
      description: '',
      sport: 'cycling',
      steps: [{ type: 'step', kind: 'work', durationSeconds: 600 }],
      totalDurationSeconds: 600,
      createdBy: 'someone',
      createdAt: 0,
      updatedAt: 0,
    });
    const base = {
      gym: GYM,
      name: 'X',
      description: '',
      room: '',
      instructors: [],
      capacity: 5,
      start: '2024-06-01T07:00',
      durationMinutes: 30,
      bookingOpensDays: 7,
      cancellationWindowMinutes: 0,
      waitlistLimit: 0,
    };
    for (const [overrides, param] of [
      [{ rrule: 'FREQ=HOURLY' }, 'rrule'],
      [{ rrule: 'FREQ=DAILY;COUNT=100000' }, 'rrule'],
      [{ start: '2024-02-30T07:00' }, 'start'],
      [{ instructors: [users['athlete']] }, 'instructors'],
      [{ training: 'training-elsewhere' }, 'training'],
    ] as const) {
      const response = await call('admin', 'POST', '/api/v1/classes', { ...base, ...overrides });
      assert.equal(response.status, 400, JSON.stringify(overrides));
      assert.equal((await readProblem(response)).param, param);
    }
    assert.equal((await call('athlete', 'POST', '/api/v1/classes', base)).status, 403);
    assert.equal((await call('coach', 'POST', '/api/v1/classes', base)).status, 403);
    const cls = await createClass();
    assert.equal((await call('coach', 'PATCH', `/api/v1/classes/${String(cls['id'])}`, { name: 'Mine' })).status, 403);
    const patched = await call('admin', 'PATCH', `/api/v1/classes/${String(cls['id'])}`, { name: 'Evening spin' });
    assert.equal(((await patched.json()) as Json)['name'], 'Evening spin');
    assert.equal((await call('admin', 'DELETE', `/api/v1/classes/${String(cls['id'])}`)).status, 204);
    assert.equal((await call('admin', 'GET', `/api/v1/classes/${String(cls['id'])}`)).status, 404);
  }));

test('50 simultaneous bookings by 50 athletes for 20 places give exactly 20 booked and 30 waitlisted; cancellations promote in waitlist order', () =>
  withWorld(async ({ call, person, createClass }) => {
    const cls = await createClass();
    const athletes = Array.from({ length: 50 }, (_, i) => `athlete-${i}`);
    for (const name of athletes) await person(name, 'athlete');
    const responses = await Promise.all(athletes.map((name) => call(name, 'POST', `${occurrencePath(cls)}/bookings`, {})));
    const bookings = await Promise.all(responses.map(async (r) => ({ status: r.status, body: (await r.json()) as Json })));
    assert.ok(bookings.every((b) => b.status === 201));
    const booked = bookings.filter((b) => b.body['status'] === 'booked');
    const waiting = bookings.filter((b) => b.body['status'] === 'waitlisted');
    assert.equal(booked.length, 20);
    assert.equal(waiting.length, 30);
    assert.deepEqual(
      waiting.map((b) => b.body['position']).sort((a, b) => Number(a) - Number(b)),
      Array.from({ length: 30 }, (_, i) => i + 1),
    );

    const roster = async () => (await (await call('coach', 'GET', `${occurrencePath(cls)}/roster`)).json()) as { occurrence: Json; items: Json[] };
    const before = await roster();
    assert.deepEqual([before.occurrence['booked'], before.occurrence['waitlisted']], [20, 30]);
    const queue = before.items.filter((e) => e['status'] === 'waitlisted').map((e) => e['userId']);
    assert.equal(queue.length, 30);

    const nameOf = (userId: unknown) => athletes.find((_, i) => bookings[i]!.body['user'] === userId)!;
    for (const leaving of booked.slice(0, 3)) {
      const response = await call(nameOf(leaving.body['user']), 'DELETE', `${occurrencePath(cls)}/bookings/me`);
      assert.equal(response.status, 200);
      assert.equal(((await response.json()) as Json)['status'], 'cancelled');
    }
    const after = await roster();
    assert.deepEqual([after.occurrence['booked'], after.occurrence['waitlisted']], [20, 27]);
    const placed = new Set(after.items.filter((e) => e['status'] === 'booked').map((e) => e['userId']));
    for (const promoted of queue.slice(0, 3)) assert.ok(placed.has(promoted), 'the first three of the waitlist moved up');
    assert.deepEqual(
      after.items.filter((e) => e['status'] === 'waitlisted').map((e) => e['userId']),
      queue.slice(3),
    );
    const mine = (await (await call(nameOf(queue[3]), 'GET', '/api/v1/me/bookings')).json()) as { items: Json[] };
    assert.equal(mine.items[0]!['position'], 1, 'the fourth in line is now first');
  }));

test('an athlete cannot give a place back inside the cancellation window (409); staff can; a waitlist position can always be given back', () =>
  withWorld(async ({ call, person, createClass, users }) => {
    // 15:00 Berlin is 13:00 UTC: one hour after NOW, inside a two-hour window.
    const cls = await createClass({ start: '2024-05-01T15:00', rrule: undefined, capacity: 1, waitlistLimit: 1 });
    const start = '2024-05-01T13:00:00Z';
    await person('ann', 'athlete');
    await person('bob', 'athlete');
    await person('cy', 'athlete');
    assert.equal((await call('ann', 'POST', `${occurrencePath(cls, start)}/bookings`, {})).status, 201);
    const waiting = await call('bob', 'POST', `${occurrencePath(cls, start)}/bookings`, {});
    assert.equal(((await waiting.json()) as Json)['status'], 'waitlisted');
    const full = await call('cy', 'POST', `${occurrencePath(cls, start)}/bookings`, {});
    assert.equal(full.status, 409);
    assert.match((await readProblem(full)).detail, /waitlist/);
    const late = await call('ann', 'DELETE', `${occurrencePath(cls, start)}/bookings/me`);
    assert.equal(late.status, 409);
    assert.match((await readProblem(late)).detail, /120 minutes before the start/);
    assert.equal((await call('bob', 'DELETE', `${occurrencePath(cls, start)}/bookings/me`)).status, 200);
    assert.equal((await call('coach', 'DELETE', `${occurrencePath(cls, start)}/bookings/${users['ann']}`)).status, 200, 'staff may cancel inside the window');
  }));

test('booking rules: once per athlete, not before booking opens, not a cancelled or unknown occurrence; only staff book for others', () =>
  withWorld(async ({ call, person, createClass, users }) => {
    const cls = await createClass();
    await person('ann', 'athlete');
    await person('bob', 'athlete');
    await person('outsider', 'athlete', 'other-gym');
    const path = `${occurrencePath(cls)}/bookings`;
    assert.equal((await call('ann', 'POST', path, {})).status, 201);
    assert.equal((await call('ann', 'POST', path, {})).status, 409);
    assert.equal((await call('ann', 'DELETE', `${occurrencePath(cls)}/bookings/me`)).status, 200);
    assert.equal((await call('ann', 'POST', path, {})).status, 201, 'a cancelled booking does not block booking again');
    assert.equal((await call('ann', 'POST', `${occurrencePath(cls, '2024-06-03T05:00:00Z')}/bookings`, {})).status, 409, 'opens 14 days before');
    assert.equal((await call('ann', 'POST', `${occurrencePath(cls, '2024-05-06T06:00:00Z')}/bookings`, {})).status, 404, 'no occurrence then');
    assert.equal((await call('ann', 'POST', `${occurrencePath(cls, '2024-05-06T05:00:00')}/bookings`, {})).status, 400, 'a start without zone');
    assert.equal((await call('ann', 'POST', path, { user: users['bob'] })).status, 403);
    assert.equal((await call('outsider', 'POST', path, {})).status, 404, 'another gym’s class does not exist for them');
    assert.equal((await call('coach', 'POST', path, { user: users['outsider'] })).status, 404, 'staff book members of their gym only');
    const forBob = await call('coach', 'POST', path, { user: users['bob'] });
    assert.equal(forBob.status, 201);
    assert.equal(((await forBob.json()) as Json)['user'], users['bob']);

    assert.equal((await call('coach', 'POST', `${occurrencePath(cls)}/cancel`)).status, 403);
    const cancelled = await call('admin', 'POST', `${occurrencePath(cls)}/cancel`);
    assert.equal(((await cancelled.json()) as Json)['cancelled'], true);
    assert.equal((await call('ann', 'POST', path, {})).status, 409);
    assert.deepEqual(((await (await call('ann', 'GET', '/api/v1/me/bookings')).json()) as { items: Json[] }).items, []);
  }));

test('check-in and rosters are for staff; a waitlisted athlete cannot be checked in; overriding capacity promotes, overriding time moves one occurrence', () =>
  withWorld(async ({ call, person, createClass, users }) => {
    const cls = await createClass({ capacity: 1, waitlistLimit: 5 });
    await person('ann', 'athlete');
    await person('bob', 'athlete');
    const path = occurrencePath(cls);
    await call('ann', 'POST', `${path}/bookings`, {});
    await call('bob', 'POST', `${path}/bookings`, {});
    assert.equal((await call('ann', 'GET', `${path}/roster`)).status, 403);
    assert.equal((await call('ann', 'POST', `${path}/bookings/${users['ann']}/check-in`)).status, 403);
    assert.equal((await call('coach', 'POST', `${path}/bookings/${users['bob']}/check-in`)).status, 409);
    const checked = await call('coach', 'POST', `${path}/bookings/${users['ann']}/check-in`);
    assert.equal(((await checked.json()) as Json)['checkedIn'], true);
    const roster = (await (await call('coach', 'GET', `${path}/roster`)).json()) as { items: Json[] };
    assert.deepEqual(
      roster.items.map((e) => [e['displayName'], e['status'], e['checkedIn'], e['position'] ?? null]),
      [
        ['Name ann', 'booked', true, null],
        ['Name bob', 'waitlisted', false, 1],
      ],
    );
    const raised = await call('admin', 'PATCH', path, { capacity: 2, start: '2024-05-06T08:30', room: 'Studio 2' });
    const occurrence = (await raised.json()) as Json;
    assert.deepEqual(
      [occurrence['booked'], occurrence['waitlisted'], occurrence['startsAt'], occurrence['localStart'], occurrence['room']],
      [2, 0, '2024-05-06T06:30:00Z', '2024-05-06T08:30', 'Studio 2'],
    );
    assert.equal((await call('admin', 'PATCH', path, { capacity: 1 })).status, 409, 'not under the places taken');
    const week = (await (await call('ann', 'GET', `/api/v1/classes/${String(cls['id'])}/occurrences?from=2024-05-06T00:00:00Z&to=2024-05-14T00:00:00Z`)).json()) as {
      items: Json[];
    };
    assert.deepEqual(
      week.items.map((o) => [o['start'], o['startsAt'], o['overridden']]),
      [
        [OCCURRENCE, '2024-05-06T06:30:00Z', true],
        ['2024-05-13T05:00:00Z', '2024-05-13T05:00:00Z', false],
      ],
    );
    const tooLong = await call('ann', 'GET', `/api/v1/classes/${String(cls['id'])}/occurrences?from=2024-01-01T00:00:00Z&to=2025-06-01T00:00:00Z`);
    assert.equal(tooLong.status, 400);
    assert.equal((await readProblem(tooLong)).title, 'Time range too large');
  }));

test('classes, bookings and rosters answer their record times as ISO 8601 strings of the stored time', () =>
  withWorld(async ({ call, person, createClass, users }) => {
    const cls = await createClass();
    assert.deepEqual([cls['createdAt'], cls['updatedAt']], [AT_NOW, AT_NOW]);
    assert.equal(Date.parse(String(cls['createdAt'])), NOW);
    const got = (await (await call('coach', 'GET', `/api/v1/classes/${String(cls['id'])}`)).json()) as Json;
    assert.deepEqual([got['createdAt'], got['updatedAt']], [AT_NOW, AT_NOW]);
    await person('ann', 'athlete');
    const path = occurrencePath(cls);
    const booked = await call('ann', 'POST', `${path}/bookings`, {});
    assert.equal(((await booked.json()) as Json)['createdAt'], AT_NOW);
    const before = (await (await call('coach', 'GET', `${path}/roster`)).json()) as { items: Json[] };
    assert.deepEqual(
      before.items.map((e) => [e['bookedAt'], 'checkedInAt' in e]),
      [[AT_NOW, false]],
    );
    const checked = (await (await call('coach', 'POST', `${path}/bookings/${users['ann']}/check-in`)).json()) as Json;
    assert.equal(checked['createdAt'], AT_NOW);
    const after = (await (await call('coach', 'GET', `${path}/roster`)).json()) as { items: Json[] };
    assert.deepEqual(
      after.items.map((e) => [e['bookedAt'], e['checkedInAt']]),
      [[AT_NOW, AT_NOW]],
    );
    const mine = (await (await call('ann', 'GET', '/api/v1/me/bookings')).json()) as { items: Json[] };
    assert.deepEqual(
      mine.items.map((b) => b['createdAt']),
      [AT_NOW],
    );
  }));

test('my bookings come in pages by start', () =>
  withWorld(async ({ call, person, createClass }) => {
    const cls = await createClass({ bookingOpensDays: 30 });
    await person('ann', 'athlete');
    for (const start of ['2024-05-13T05:00:00Z', OCCURRENCE, '2024-05-20T05:00:00Z'])
      assert.equal((await call('ann', 'POST', `${occurrencePath(cls, start)}/bookings`, {})).status, 201);
    const first = (await (await call('ann', 'GET', '/api/v1/me/bookings?limit=2')).json()) as { items: Json[]; next?: string };
    assert.deepEqual(
      first.items.map((b) => b['start']),
      [OCCURRENCE, '2024-05-13T05:00:00Z'],
    );
    const second = (await (await call('ann', 'GET', first.next!)).json()) as { items: Json[]; next?: string };
    assert.deepEqual(
      second.items.map((b) => [b['start'], b['className']]),
      [['2024-05-20T05:00:00Z', 'Morning spin']],
    );
    assert.equal(second.next, undefined);
  }));

test('the calendar feed holds the athlete’s bookings as events in the gym’s zone, needs no token, and stops working once reset', () =>
  withWorld(async ({ api, call, person, createClass }) => {
    const cls = await createClass({ capacity: 1 });
    await person('ann', 'athlete');
    await person('bob', 'athlete');
    await call('ann', 'POST', `${occurrencePath(cls)}/bookings`, {});
    await call('bob', 'POST', `${occurrencePath(cls)}/bookings`, {});
    const created = await call('bob', 'POST', '/api/v1/me/calendar-feed');
    assert.equal(created.status, 200);
    const { url } = (await created.json()) as { url: string };
    const match = /\/api\/v1\/calendar\/([A-Za-z0-9_-]+)\.ics$/.exec(url);
    assert.ok(match && match[1]!.length >= 22, `at least 128 random bits in ${url}`);
    const feedPath = new URL(url).pathname;
    const feed = await fetch(`${api.url}${feedPath}`);
    assert.equal(feed.status, 200);
    assert.match(feed.headers.get('content-type') ?? '', /^text\/calendar/);
    const text = await feed.text();
    assert.match(text, /BEGIN:VCALENDAR/);
    assert.match(text, /DTSTART;TZID=Europe\/Berlin:20240506T070000/);
    assert.match(text, /DTEND;TZID=Europe\/Berlin:20240506T074500/);
    assert.match(text, /SUMMARY:Morning spin \(waitlist\)/);
    assert.equal((text.match(/BEGIN:VEVENT/g) ?? []).length, 1, 'only bob’s booking');

    const reset = (await (await call('bob', 'POST', '/api/v1/me/calendar-feed')).json()) as { url: string };
    assert.notEqual(reset.url, url);
    const old = await fetch(`${api.url}${feedPath}`);
    assert.equal(old.status, 404);
    const unknown = await fetch(`${api.url}/api/v1/calendar/${'A'.repeat(43)}.ics`);
    assert.equal(unknown.status, 404);
    assert.equal((await readProblem(old)).detail, (await readProblem(unknown)).detail, 'a reset token answers like one that never was');
    assert.equal((await fetch(`${api.url}${new URL(reset.url).pathname}`)).status, 200);
  }));

test('the roster shows which sensors each athlete wears: their own strap, and a loaner the coach lent them', () =>
  withWorld(async ({ call, person, createClass, users }) => {
    const cls = await createClass({ capacity: 5 });
    await person('ann', 'athlete');
    await person('bob', 'athlete');
    const path = occurrencePath(cls);
    await call('ann', 'POST', `${path}/bookings`, {});
    await call('bob', 'POST', `${path}/bookings`, {});
    assert.equal((await call('ann', 'POST', '/api/v1/me/sensors', { gym: GYM, sensor: 'BLE:C0:FF:EE:00:00:0A', label: 'my strap' })).status, 201);
    const strap = (await (await call('coach', 'POST', '/api/v1/gym-sensors', { gym: GYM, sensor: 'ant:120:77:1', kind: 'heart_rate', label: 'Loaner 7' })).json()) as Json;
    const { occurrence } = (await (await call('coach', 'GET', `${path}/roster`)).json()) as { occurrence: Json };
    // Lent for the class: from its start to its end.
    const lent = await call('coach', 'POST', `/api/v1/gym-sensors/${String(strap['id'])}/loans`, {
      athlete: users['bob'],
      from: occurrence['startsAt'],
      until: occurrence['endsAt'],
    });
    assert.equal(lent.status, 201, await lent.clone().text());
    const roster = (await (await call('coach', 'GET', `${path}/roster`)).json()) as { items: Json[] };
    assert.deepEqual(
      roster.items.map((e) => [e['displayName'], e['sensors']]),
      [
        ['Name ann', [{ sensor: 'ble:c0-ff-ee-00-00-0a', kind: 'own', label: 'my strap' }]],
        ['Name bob', [{ sensor: 'ant:120:77:1', kind: 'loaner', label: 'Loaner 7' }]],
      ],
    );
  }));

test('booking and cancelling announce booking.created and booking.cancelled to the domain’s events, in the class’s gym', () =>
  withWorld(async ({ api, call, person, createClass, users }) => {
    const emitted: { gym: string; event: string; payload: Record<string, unknown> }[] = [];
    api.deps.domain.events = { emit: async (gym, event, payload) => void emitted.push({ gym, event, payload }) };
    const cls = await createClass();
    await person('ann', 'athlete');
    const booked = (await (await call('ann', 'POST', `${occurrencePath(cls)}/bookings`, {})).json()) as Json;
    assert.equal((await call('ann', 'DELETE', `${occurrencePath(cls)}/bookings/me`)).status, 200);
    assert.deepEqual(emitted, [
      { gym: GYM, event: 'booking.created', payload: { booking: booked['id'], class: cls['id'], start: OCCURRENCE, user: users['ann'], status: 'booked' } },
      { gym: GYM, event: 'booking.cancelled', payload: { booking: booked['id'], class: cls['id'], start: OCCURRENCE, user: users['ann'] } },
    ]);
  }));
