/**
 * The coach pages' API calls against a real hub (the API with its SQLite test domain): the paths, queries and
 * answers the pages rely on, through a coach's day with one class in a gym whose zone is not UTC.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startApi, type RunningApi } from '../../hub/test/api/harness.ts';
import { FixedTokens, principal } from '../../hub/test/api/principals.ts';
import { testDomain, type TestDomain } from '../../hub/test/domain/test-domain.ts';
import { Api, ApiProblem } from '../src/lib/api.ts';
import { book, checkIn, endRun, lendStrap, loadAthletes, loadFreeStraps, loadLeaderboard, loadOccurrence, loadResults, loadToday, startRun } from '../src/coach/coach-api.ts';
import { loanCandidates, occurrenceState, problemKey, resultRows, rosterGroups, todaysClasses } from '../src/coach/logic.ts';
import type { GymSensor } from '../src/coach/types.ts';

const GYM = 'gym-coach';
/** 07:00 in Berlin (UTC+1) on Monday 2026-11-30; the spin class starts at 08:00 local (07:00 UTC). */
const MORNING = Date.UTC(2026, 10, 30, 6, 0);
const SPIN_START = '2026-11-30T07:00:00Z';

/** What a refused call answered, as the pages see it. */
async function refusal(call: Promise<unknown>): Promise<number | undefined> {
  try {
    await call;
  } catch (error) {
    if (error instanceof ApiProblem) return error.status;
    throw error;
  }
  assert.fail('expected the hub to refuse');
}

describe("a coach's day through the coach pages' API calls", () => {
  let t: TestDomain;
  let hub: RunningApi;
  let now = MORNING;
  const tokens = new FixedTokens({});
  const ids: Record<string, string> = {};
  const as = (who: string) =>
    new Api(
      {
        accessToken: async () => who,
        refused: () => assert.fail(`the hub refused the token of ${who}`),
      },
      hub.url,
    );

  before(async () => {
    t = await testDomain({ now: () => now });
    hub = await startApi({ domain: t.domain, verifier: tokens, now: () => now });
    for (const [name, role] of [
      ['admin', 'gym_admin'],
      ['coach', 'coach'],
      ['ann', 'athlete'],
      ['bob', 'athlete'],
      ['cal', 'athlete'],
      ['dee', 'athlete'],
    ] as const) {
      const user = await t.domain.identity.createUser({ email: `${name}@example.org`, displayName: name.toUpperCase() });
      await t.domain.identity.addMembership({ userId: user.id, gym: GYM, role });
      ids[name] = user.id;
      tokens.set(name, principal([{ gym: GYM, role }], { subject: user.id }));
    }
    const admin = as('admin');
    await admin.put(`/gyms/${GYM}`, { name: 'Coach gym', timeZone: 'Europe/Berlin' });
    const cls = { description: '', room: 'A', instructors: [ids['coach']], durationMinutes: 30, bookingOpensDays: 7, cancellationWindowMinutes: 0 };
    await admin.post('/classes', { gym: GYM, ...cls, name: 'Spin', capacity: 2, waitlistLimit: 1, start: '2026-11-30T08:00', rrule: 'FREQ=DAILY' });
    // 00:15 local today is the evening before in UTC; 00:30 local tomorrow is still today in UTC: neither is misplaced.
    await admin.post('/classes', { gym: GYM, ...cls, name: 'Early', capacity: 5, waitlistLimit: 0, start: '2026-11-30T00:15' });
    await admin.post('/classes', { gym: GYM, ...cls, name: 'Late', capacity: 5, waitlistLimit: 0, start: '2026-12-01T00:30' });
  });
  after(async () => {
    await hub.close();
    await t.cleanup();
  });

  it("lists today's classes in the gym's zone, books, checks in, lends a strap, starts and ends the class, and shows its results", async () => {
    const coach = as('coach');
    let today = await loadToday(coach, GYM, now);
    assert.equal(today.timeZone, 'Europe/Berlin');
    assert.equal(today.from, '2026-11-29T23:00:00Z');
    assert.deepEqual(
      todaysClasses(today.occurrences, today.runs, today.now).map((row) => [row.occurrence.name, row.state]),
      [
        ['Early', 'ended'],
        ['Spin', 'upcoming'],
      ],
    );
    const spin = today.occurrences.find((o) => o.name === 'Spin')!;
    assert.equal(spin.start, SPIN_START);

    // Booking: two places, one waitlist position, then a refusal the page words as a full class.
    assert.deepEqual((await loadAthletes(coach, GYM)).map((m) => m.displayName).sort(), ['ANN', 'BOB', 'CAL', 'DEE']);
    assert.equal((await book(coach, spin, ids['ann']!)).status, 'booked');
    assert.equal((await book(coach, spin, ids['bob']!)).status, 'booked');
    const waiting = await book(coach, spin, ids['cal']!);
    assert.equal(waiting.status, 'waitlisted');
    assert.equal(waiting.position, 1);
    assert.equal(problemKey('book', await refusal(book(coach, spin, ids['dee']!))), 'coachErrorClassFull');

    let { roster, run } = await loadOccurrence(coach, spin.class, spin.start);
    assert.equal(run, undefined);
    let groups = rosterGroups(roster.items, 'en');
    assert.deepEqual(
      groups.booked.map((e) => e.displayName),
      ['ANN', 'BOB'],
    );
    assert.deepEqual(
      groups.waitlist.map((e) => e.displayName),
      ['CAL'],
    );

    // Check-in: a place-holder yes, a waiting athlete no.
    assert.equal((await checkIn(coach, spin, ids['ann']!)).checkedIn, true);
    assert.equal(problemKey('checkIn', await refusal(checkIn(coach, spin, ids['cal']!))), 'coachErrorCheckInWaitlisted');

    // Loaners: two straps; one lent to Ann, lending it again is a taken strap.
    for (const label of ['Strap 2', 'Strap 1']) await coach.post<GymSensor>('/gym-sensors', { gym: GYM, sensor: `ant:120:${label.length}${label.at(-1)}:1`, label });
    let straps = await loadFreeStraps(coach, GYM, 'en');
    assert.deepEqual(
      straps.map((s) => s.label),
      ['Strap 1', 'Strap 2'],
    );
    const lent = await lendStrap(coach, straps[0]!.id, spin, ids['ann']!);
    assert.equal(lent.kind, 'loaner');
    assert.equal(lent.until, '2026-11-30T07:30:00.000Z');
    assert.equal(problemKey('lend', await refusal(lendStrap(coach, straps[0]!.id, spin, ids['bob']!))), 'coachErrorStrapTaken');
    straps = await loadFreeStraps(coach, GYM, 'en');
    assert.deepEqual(
      straps.map((s) => s.label),
      ['Strap 2'],
    );
    ({ roster } = await loadOccurrence(coach, spin.class, spin.start));
    groups = rosterGroups(roster.items, 'en');
    assert.deepEqual(groups.booked[0]!.sensors, [{ sensor: lent.sensor, kind: 'loaner', label: 'Strap 1' }]);
    assert.equal(groups.checkedIn, 1);
    assert.deepEqual(
      loanCandidates(roster.items).map((e) => e.displayName),
      ['BOB'],
    );

    // Starting an hour early is the start window; 15 minutes early it starts.
    assert.equal(problemKey('start', await refusal(startRun(coach, spin))), 'coachErrorStartWindow');
    now = Date.parse(SPIN_START) - 15 * 60_000;
    const started = await startRun(coach, spin);
    assert.equal(started.state, 'running');
    today = await loadToday(coach, GYM, now);
    assert.equal(todaysClasses(today.occurrences, today.runs, today.now).find((row) => row.occurrence.name === 'Spin')?.state, 'running');
    ({ roster, run } = await loadOccurrence(coach, spin.class, spin.start));
    assert.equal(occurrenceState(roster.occurrence, run === undefined ? [] : [run], now).state, 'running');

    now = Date.parse(SPIN_START) + 20 * 60_000;
    assert.equal((await endRun(coach, started.id)).state, 'ended');
    assert.equal(problemKey('end', await refusal(endRun(coach, started.id))), 'coachErrorEndedAlready');

    const rows = resultRows(await loadResults(coach, started.id), 'en');
    assert.deepEqual(rows.map((row) => [row.name, row.pending]).sort(), [
      ['ANN', false],
      ['BOB', false],
    ]);
    const board = await loadLeaderboard(coach, started.id, 'effortPoints');
    assert.equal(board.metric, 'effortPoints');
  });

  it("another gym's coach is refused the gym's classes, not shown them", async () => {
    tokens.set('stranger', principal([{ gym: 'gym-other', role: 'coach' }], { subject: 'stranger' }));
    const status = await refusal(loadToday(as('stranger'), GYM, now));
    assert.equal(status, 403);
    assert.equal(problemKey('load', status), 'coachErrorForbidden');
  });
});
