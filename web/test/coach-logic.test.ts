import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  bookableMembers,
  boardHref,
  formatClock,
  freeStraps,
  occurrenceHref,
  loanCandidates,
  mayStart,
  occurrenceState,
  problemKey,
  resultRows,
  rosterGroups,
  runIdOf,
  runsWindow,
  todaysClasses,
  todayWindow,
  formatDuration,
} from '../src/coach/logic.ts';
import type { ClassRun, Occurrence, RosterEntry, RunResult } from '../src/coach/types.ts';

const occurrence = (over: Partial<Occurrence> = {}): Occurrence => ({
  class: 'spin',
  start: '2027-03-22T06:00:00Z',
  startsAt: '2027-03-22T06:00:00Z',
  endsAt: '2027-03-22T07:00:00Z',
  timeZone: 'Europe/Berlin',
  name: 'Morning spin',
  room: 'A',
  capacity: 10,
  booked: 3,
  waitlisted: 0,
  cancelled: false,
  ...over,
});

const run = (over: Partial<ClassRun> = {}): ClassRun => ({
  id: `spin@${Date.parse('2027-03-22T06:00:00Z')}`,
  gym: 'g1',
  class: 'spin',
  occurrenceStart: '2027-03-22T06:00:00.000Z',
  scheduledStart: '2027-03-22T06:00:00.000Z',
  scheduledEnd: '2027-03-22T07:00:00.000Z',
  state: 'running',
  startedAt: '2027-03-22T05:58:00.000Z',
  startedBy: 'coach1',
  ...over,
});

test("today's window runs from the gym's local midnight to the next, whatever the browser's zone", () => {
  // 23:30 UTC on 21 March is already 22 March in Berlin (UTC+1 before the DST change).
  assert.deepEqual(todayWindow(Date.parse('2027-03-21T23:30:00Z'), 'Europe/Berlin'), {
    date: '2027-03-22',
    from: '2027-03-21T23:00:00Z',
    to: '2027-03-22T23:00:00Z',
  });
  assert.deepEqual(todayWindow(Date.parse('2027-03-22T02:00:00Z'), 'America/New_York'), {
    date: '2027-03-21',
    from: '2027-03-21T04:00:00Z',
    to: '2027-03-22T04:00:00Z',
  });
  assert.deepEqual(todayWindow(Date.parse('2027-03-22T12:00:00Z'), 'UTC'), { date: '2027-03-22', from: '2027-03-22T00:00:00Z', to: '2027-03-23T00:00:00Z' });
});

test('a day with a DST change is 23 or 25 hours long', () => {
  const spring = todayWindow(Date.parse('2027-03-28T12:00:00Z'), 'Europe/Berlin');
  assert.deepEqual(spring, { date: '2027-03-28', from: '2027-03-27T23:00:00Z', to: '2027-03-28T22:00:00Z' });
  const autumn = todayWindow(Date.parse('2027-10-31T12:00:00Z'), 'Europe/Berlin');
  assert.deepEqual(autumn, { date: '2027-10-31', from: '2027-10-30T22:00:00Z', to: '2027-10-31T23:00:00Z' });
});

test('where DST skips midnight the day starts at the first wall time that exists', () => {
  // Santiago moves from -04 to -03 at 24:00 on 4 Sep 2027 (Saturday): 5 Sep starts at 01:00 local = 04:00 UTC.
  const day = todayWindow(Date.parse('2027-09-05T15:00:00Z'), 'America/Santiago');
  assert.equal(day.date, '2027-09-05');
  assert.equal(day.from, '2027-09-05T04:00:00Z');
});

test('the runs window opens 30 minutes before the day, as a run may start that early', () => {
  assert.deepEqual(runsWindow({ date: '2027-03-22', from: '2027-03-22T00:00:00Z', to: '2027-03-23T00:00:00Z' }), {
    from: '2027-03-21T23:30:00Z',
    to: '2027-03-23T00:00:00Z',
  });
});

test('the run of an occurrence is named by its class and its start in ms', () => {
  assert.equal(runIdOf(occurrence()), 'spin@1805695200000');
});

test('an occurrence is running or ended by its run, upcoming or ended by the clock without one, and cancelled', () => {
  const before = Date.parse('2027-03-22T05:00:00Z');
  const after = Date.parse('2027-03-22T07:00:00Z');
  assert.equal(occurrenceState(occurrence(), [], before).state, 'upcoming');
  assert.equal(occurrenceState(occurrence(), [], after).state, 'ended');
  assert.equal(occurrenceState(occurrence({ cancelled: true }), [], before).state, 'cancelled');
  const running = occurrenceState(occurrence(), [run()], before);
  assert.equal(running.state, 'running');
  assert.equal(running.run?.startedBy, 'coach1');
  assert.equal(occurrenceState(occurrence(), [run({ state: 'ended' })], before).state, 'ended');
  // Another occurrence's run of the same class does not count.
  assert.equal(occurrenceState(occurrence(), [run({ id: 'spin@1' })], before).state, 'upcoming');
});

test('the start button is offered from 30 minutes before the start until the end, only while upcoming', () => {
  const o = occurrence();
  assert.equal(mayStart(o, 'upcoming', Date.parse('2027-03-22T05:29:59Z')), false);
  assert.equal(mayStart(o, 'upcoming', Date.parse('2027-03-22T05:30:00Z')), true);
  assert.equal(mayStart(o, 'upcoming', Date.parse('2027-03-22T06:59:59Z')), true);
  assert.equal(mayStart(o, 'upcoming', Date.parse('2027-03-22T07:00:00Z')), false);
  assert.equal(mayStart(o, 'running', Date.parse('2027-03-22T06:10:00Z')), false);
  assert.equal(mayStart(o, 'cancelled', Date.parse('2027-03-22T06:10:00Z')), false);
});

test("today's classes are listed by start, each with its state", () => {
  const late = occurrence({ class: 'yoga', name: 'Yoga', start: '2027-03-22T18:00:00Z', startsAt: '2027-03-22T18:00:00Z', endsAt: '2027-03-22T19:00:00Z' });
  const rows = todaysClasses([late, occurrence()], [run()], Date.parse('2027-03-22T06:30:00Z'));
  assert.deepEqual(
    rows.map((row) => [row.occurrence.name, row.state]),
    [
      ['Morning spin', 'running'],
      ['Yoga', 'upcoming'],
    ],
  );
});

const entry = (over: Partial<RosterEntry>): RosterEntry => ({
  userId: 'u',
  displayName: 'U',
  status: 'booked',
  checkedIn: false,
  bookedAt: '2027-03-20T10:00:00.000Z',
  sensors: [],
  ...over,
});

test('the roster groups places by name and the waitlist by position, and counts who checked in', () => {
  const groups = rosterGroups(
    [
      entry({ userId: 'w2', displayName: 'Aaron', status: 'waitlisted', position: 2 }),
      entry({ userId: 'b', displayName: 'bella', checkedIn: true }),
      entry({ userId: 'a', displayName: 'Ásta' }),
      entry({ userId: 'w1', displayName: 'Zoe', status: 'waitlisted', position: 1 }),
      entry({ userId: 'c', displayName: 'Carl', checkedIn: true }),
    ],
    'en',
  );
  assert.deepEqual(
    groups.booked.map((e) => e.userId),
    ['a', 'b', 'c'],
  );
  assert.deepEqual(
    groups.waitlist.map((e) => e.userId),
    ['w1', 'w2'],
  );
  assert.equal(groups.checkedIn, 2);
  assert.deepEqual(rosterGroups([], 'ru'), { booked: [], waitlist: [], checkedIn: 0 });
});

test('a loaner is offered to athletes holding a place who wear no loaner yet', () => {
  const candidates = loanCandidates([
    entry({ userId: 'own', sensors: [{ sensor: 'ble:aa', kind: 'own' }] }),
    entry({ userId: 'lent', sensors: [{ sensor: 'ble:bb', kind: 'loaner' }] }),
    entry({ userId: 'waiting', status: 'waitlisted', position: 1 }),
    entry({ userId: 'none' }),
  ]);
  assert.deepEqual(
    candidates.map((e) => e.userId),
    ['own', 'none'],
  );
});

const result = (athlete: string, displayName: string, results?: RunResult['session']['results'], state: 'live' | 'completed' = 'completed'): RunResult => ({
  athlete,
  displayName,
  session: { id: `s-${athlete}`, athlete, state, recomputing: false, startedAt: '2027-03-22T06:00:00.000Z', ...(results === undefined ? {} : { results }) },
});

test('the results table has a row per athlete, by effort points, with the figures each session has', () => {
  const rows = resultRows(
    [
      result('a', 'Ann', {
        durationS: 3600,
        calories: { unavailable: 'weight' },
        heartRate: { averageBpm: 140.4, maxBpm: 171.6, effortPoints: 120.7, secondsInZone: [0, 0, 0, 0, 0] },
      }),
      result('b', 'Bob', {
        durationS: 3500,
        calories: { kcal: 612.4 },
        heartRate: { averageBpm: 150, maxBpm: 180, effortPoints: 150, secondsInZone: [0, 0, 0, 0, 0] },
        power: { averageW: 201.6, maxW: 400 },
        distanceM: 21000,
      }),
      result('c', 'Cid', undefined, 'live'),
    ],
    'en',
  );
  assert.deepEqual(rows, [
    {
      athlete: 'b',
      name: 'Bob',
      pending: false,
      durationS: 3500,
      averageHeartRateBpm: 150,
      maxHeartRateBpm: 180,
      effortPoints: 150,
      kcal: 612,
      averagePowerW: 202,
      distanceM: 21000,
    },
    { athlete: 'a', name: 'Ann', pending: false, durationS: 3600, averageHeartRateBpm: 140, maxHeartRateBpm: 172, effortPoints: 121 },
    { athlete: 'c', name: 'Cid', pending: true },
  ]);
});

test('a duration shows as m:ss or h:mm:ss', () => {
  assert.equal(formatDuration(59), '0:59');
  assert.equal(formatDuration(3599.6), '1:00:00');
  assert.equal(formatDuration(3725), '1:02:05');
  assert.equal(formatDuration(-4), '0:00');
});

test('a refusal is explained by the control it came from: 409 is the start window, a taken strap, a full class', () => {
  assert.equal(problemKey('start', 409), 'coachErrorStartWindow');
  assert.equal(problemKey('lend', 409), 'coachErrorStrapTaken');
  assert.equal(problemKey('book', 409), 'coachErrorClassFull');
  assert.equal(problemKey('end', 409), 'coachErrorEndedAlready');
  assert.equal(problemKey('checkIn', 409), 'coachErrorCheckInWaitlisted');
  assert.equal(problemKey('lend', 400), 'coachErrorInvalid');
  assert.equal(problemKey('start', 403), 'coachErrorForbidden');
  assert.equal(problemKey('start', 503), 'coachErrorUnavailable');
  assert.equal(problemKey('start', undefined), 'coachErrorNetwork');
});

test("the straps offered for a loan are the gym's not on loan now, by label with numbers in order", () => {
  const sensor = (id: string, label?: string) => ({ id, gym: 'g1', sensor: `ble:${id}`, kind: 'heart_rate', ...(label === undefined ? {} : { label }) });
  const free = freeStraps(
    [sensor('s10', 'Strap 10'), sensor('s2', 'Strap 2'), sensor('s1', 'Strap 1'), sensor('s3')],
    [
      { id: 'b1', sensor: 'ble:s1', athlete: 'a', kind: 'loaner', active: true, gymSensor: 's1' },
      { id: 'b2', sensor: 'ble:own', athlete: 'b', kind: 'own', active: true },
    ],
    'en',
  );
  assert.deepEqual(
    free.map((s) => s.id),
    ['s3', 's2', 's10'],
  );
});

test("times show in the gym's zone and language; links name the occurrence and the run", () => {
  assert.equal(formatClock('2027-03-22T06:05:00Z', 'Europe/Moscow', 'ru'), '9:05');
  assert.equal(formatClock('2027-03-22T13:05:00Z', 'UTC', 'en'), '1:05 PM');
  assert.equal(occurrenceHref(occurrence()), '/app/coach/classes/spin/2027-03-22T06:00:00Z');
  assert.equal(boardHref('g1', 'spin@1805695200000'), '/board/?gym=g1&run=spin%401805695200000');
});

test('staff may book the gym athletes who are not on the roster yet, by name', () => {
  const members = [
    { userId: 'a', displayName: 'Zed', roles: ['athlete'] },
    { userId: 'b', displayName: 'amy', roles: ['athlete', 'coach'] },
    { userId: 'c', displayName: 'Coach', roles: ['coach'] },
    { userId: 'd', displayName: 'Booked', roles: ['athlete'] },
    { userId: 'e', displayName: 'Waiting', roles: ['athlete'] },
  ];
  const bookable = bookableMembers(members, [entry({ userId: 'd' }), entry({ userId: 'e', status: 'waitlisted', position: 1 })], 'en');
  assert.deepEqual(
    bookable.map((m) => m.userId),
    ['b', 'a'],
  );
});
