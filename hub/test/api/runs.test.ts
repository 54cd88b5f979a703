/** Class runs through the API (start, end, results) and the opt-in leaderboards of runs and groups. */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { SeriesReadings } from '@pulsebridge/protocol';
import type { CollectionSpec } from '../../src/documents/document-store.ts';
import { BOOKINGS, CLASSES, OCCURRENCES } from '../../src/domain/classes/collections.ts';
import { GYMS } from '../../src/domain/gyms.ts';
import { BINDINGS } from '../../src/domain/pairing/collections.ts';
import { CLASS_RUNS, SESSIONS, type SessionDoc } from '../../src/domain/sessions/collections.ts';
import { SessionsWorker } from '../../src/domain/sessions/sessions-worker.ts';
import { FRIENDSHIPS, GROUP_MEMBERS, GROUPS, groupMemberId, pairOf } from '../../src/domain/social/collections.ts';
import type { AthleteProfileFields, Role } from '../../src/identity/identity-store.ts';
import { testDomain, type TestDomain } from '../domain/test-domain.ts';
import { readProblem, startApi, type RunningApi } from './harness.ts';
import { FixedTokens, principal } from './principals.ts';

const GYM = 'gym-r';
const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
/** Monday 2026-11-30 07:00 UTC: the daily class's first occurrence (30 minutes). */
const CLASS_START = Date.UTC(2026, 10, 30, 7, 0);
const OCCURRENCE = '2026-11-30T07:00:00Z';
const RUN = `spin@${CLASS_START}`;
const PEOPLE: Record<string, Role> = { coach: 'coach', ann: 'athlete', bob: 'athlete', cal: 'athlete', dee: 'athlete', eve: 'athlete', dan: 'athlete' };

/** A heart-rate series of `bpm` at 1 Hz over [from, to). */
function heartRate(sensor: string, from: number, to: number, bpm: number): SeriesReadings {
  const ts: number[] = [];
  for (let t = from; t < to; t += 1000) ts.push(t);
  return { sensor, metric: 'heart_rate', ts, values: ts.map(() => bpm) } as SeriesReadings;
}

describe('class runs and leaderboards through the API', () => {
  let t: TestDomain;
  let api: RunningApi;
  let now = CLASS_START;
  const ids: Record<string, string> = {};
  const tokens = new FixedTokens({});

  const call = async (who: string, method: string, path: string): Promise<Response> =>
    fetch(`${api.url}/api/v1${path}`, { method, headers: { Authorization: `Bearer ${who}` }, signal: AbortSignal.timeout(5_000) });
  const json = async (response: Response, status = 200): Promise<Record<string, unknown>> => {
    assert.equal(response.status, status, await response.clone().text());
    return (await response.json()) as Record<string, unknown>;
  };
  const profile = (who: string, fields: Partial<AthleteProfileFields>) =>
    t.domain.identity.saveProfile(ids[who]!, { resultsVisibility: 'gym', boardVisibility: 'name', leaderboards: true, ...fields });

  before(async () => {
    t = await testDomain({ now: () => now });
    api = await startApi({ domain: t.domain, verifier: tokens });
    for (const [name, role] of Object.entries(PEOPLE)) {
      const user = await t.domain.identity.createUser({ email: `${name}@example.org`, displayName: name.toUpperCase() });
      await t.domain.identity.addMembership({ userId: user.id, gym: GYM, role });
      ids[name] = user.id;
      tokens.set(name, principal([{ gym: GYM, role }], { subject: user.id }));
    }
    const outsider = await t.domain.identity.createUser({ email: 'out@example.org', displayName: 'OUT' });
    await t.domain.identity.addMembership({ userId: outsider.id, gym: 'gym-other', role: 'athlete' });
    tokens.set('outsider', principal([{ gym: 'gym-other', role: 'athlete' }], { subject: outsider.id }));
  });
  after(async () => {
    await api.close();
    await t.cleanup();
  });

  beforeEach(async () => {
    now = CLASS_START;
    const { documents } = t.domain;
    for (const spec of [GYMS, CLASSES, OCCURRENCES, BOOKINGS, BINDINGS, CLASS_RUNS, SESSIONS, GROUPS, GROUP_MEMBERS, FRIENDSHIPS] as CollectionSpec[]) {
      await documents.collection(spec).delete({});
    }
    await documents.collection(GYMS).insert({ id: GYM, name: 'R', timeZone: 'UTC', createdAt: 0, updatedAt: 0 });
    await documents.collection(CLASSES).insert({
      id: 'spin',
      gym: GYM,
      name: 'Spin',
      description: '',
      room: 'A',
      instructors: [ids['coach']!],
      capacity: 10,
      start: '2026-11-30T07:00',
      durationMinutes: 30,
      rrule: 'FREQ=DAILY',
      bookingOpensDays: 7,
      cancellationWindowMinutes: 0,
      waitlistLimit: 0,
      createdAt: 0,
      updatedAt: 0,
    });
    for (const name of ['ann', 'bob']) {
      await documents.collection(BOOKINGS).insert({
        id: `b-${name}`,
        gym: GYM,
        class: 'spin',
        occurrence: RUN,
        start: CLASS_START,
        user: ids[name]!,
        status: 'booked',
        active: true,
        position: 0,
        bookedBy: ids[name]!,
        createdAt: 0,
      });
    }
  });

  it('a coach starts a class in its window (again: the same run), ends it once, and every session completes with results', async () => {
    const start = `/classes/spin/occurrences/${OCCURRENCE}/run`;
    for (const [name, bpm] of [
      ['ann', 160],
      ['bob', 130],
    ] as const) {
      await profile(name, { maxHeartRate: 200 });
      await t.domain.documents
        .collection(BINDINGS)
        .insert({ id: `bind-${name}`, gym: GYM, sensor: `strap-${name}`, athlete: ids[name]!, active: true, from: 0, kind: 'own', createdBy: ids[name]! });
      await t.domain.series.write([{ gym: GYM, agent: 'agent-1', series: [heartRate(`strap-${name}`, CLASS_START, CLASS_START + 30 * MINUTE, bpm)] }]);
    }

    now = CLASS_START - 31 * MINUTE;
    assert.equal((await readProblem(await call('coach', 'POST', start))).status, 409, 'more than 30 minutes early');
    assert.equal((await call('coach', 'POST', `/classes/spin/occurrences/2026-11-30T07:05:00Z/run`)).status, 404, 'no such occurrence');
    assert.equal((await call('ann', 'POST', start)).status, 403, 'athletes do not start classes');

    now = CLASS_START;
    const started = await json(await call('coach', 'POST', start), 201);
    assert.equal(started['id'], RUN);
    assert.equal(started['state'], 'running');
    assert.equal(started['startedBy'], ids['coach']);
    assert.equal(started['startedAt'], new Date(CLASS_START).toISOString());
    now = CLASS_START + MINUTE;
    assert.deepEqual(await json(await call('coach', 'POST', start), 200), started, 'starting again answers the running run');
    assert.deepEqual((await json(await call('ann', 'GET', `/class-runs/${RUN}`)))['sessions'], { live: 2, completed: 0 });

    now = CLASS_START + 30 * MINUTE;
    assert.equal((await call('ann', 'POST', `/class-runs/${RUN}/end`)).status, 403, 'athletes do not end classes');
    const ended = await json(await call('coach', 'POST', `/class-runs/${RUN}/end`));
    assert.equal(ended['state'], 'ended');
    assert.equal(ended['endedAt'], new Date(now).toISOString());
    assert.equal(ended['endedBy'], ids['coach']);
    assert.equal((await readProblem(await call('coach', 'POST', `/class-runs/${RUN}/end`))).status, 409, 'a run ends once');
    assert.equal((await readProblem(await call('coach', 'POST', start))).status, 409, 'an ended run does not start again');
    const run = await json(await call('dan', 'GET', `/class-runs/${RUN}`));
    assert.deepEqual(run['sessions'], { live: 0, completed: 2 });
    assert.equal(run['class'], 'spin');

    type Result = { athlete: string; displayName: string; session: { state: string; revision: number; results: { heartRate: { effortPoints: number } } } };
    const all = (await json(await call('coach', 'GET', `/class-runs/${RUN}/results`)))['items'] as Result[];
    assert.deepEqual(all.map((r) => r.displayName).sort(), ['ANN', 'BOB']);
    const byName = new Map(all.map((r) => [r.displayName, r]));
    assert.equal(byName.get('ANN')!.session.state, 'completed');
    assert.equal(byName.get('ANN')!.session.revision, 1);
    // 30 minutes at 80 % of max (zone 4) and at 65 % (zone 2).
    assert.equal(byName.get('ANN')!.session.results.heartRate.effortPoints, 120);
    assert.equal(byName.get('BOB')!.session.results.heartRate.effortPoints, 60);
    const own = (await json(await call('ann', 'GET', `/class-runs/${RUN}/results`)))['items'] as Result[];
    assert.deepEqual(
      own.map((r) => r.athlete),
      [ids['ann']],
      'an athlete gets their own only',
    );
    assert.deepEqual((await json(await call('dan', 'GET', `/class-runs/${RUN}/results`)))['items'], [], 'nothing for one who was not in it');
    assert.equal((await call('outsider', 'GET', `/class-runs/${RUN}/results`)).status, 404, 'another gym sees no run');
  });

  it('a cancelled occurrence and one already over are refused with 409', async () => {
    const tomorrow = CLASS_START + DAY;
    await t.domain.documents
      .collection(OCCURRENCES)
      .insert({ id: `spin@${tomorrow}`, gym: GYM, class: 'spin', start: tomorrow, capacity: 10, booked: 0, waitlisted: 0, waitSeq: 0, cancelled: true });
    now = tomorrow;
    assert.equal((await readProblem(await call('coach', 'POST', `/classes/spin/occurrences/${new Date(tomorrow).toISOString().replace('.000Z', 'Z')}/run`))).status, 409);
    assert.equal((await readProblem(await call('coach', 'POST', `/classes/spin/occurrences/${OCCURRENCE}/run`))).status, 409, 'after its scheduled end');
    assert.equal(await t.domain.documents.collection(CLASS_RUNS).count({}), 0);
  });

  it('runs the schedule started are listed with those a coach started, newest first, by state and period', async () => {
    now = CLASS_START - 10 * MINUTE;
    await json(await call('coach', 'POST', `/classes/spin/occurrences/${OCCURRENCE}/run`), 201);
    now = CLASS_START + 30 * MINUTE;
    await json(await call('coach', 'POST', `/class-runs/${RUN}/end`));
    now = CLASS_START + DAY + 5 * MINUTE;
    await new SessionsWorker(t.domain).scheduleRoundOnce();

    type Run = { id: string; state: string; startedBy: string };
    const list = async (query: string) => ((await json(await call('ann', 'GET', `/gyms/${GYM}/class-runs${query}`)))['items'] as Run[]).map((r) => [r.id, r.state, r.startedBy]);
    const scheduled = [`spin@${CLASS_START + DAY}`, 'running', 'schedule'];
    const byCoach = [RUN, 'ended', ids['coach']];
    assert.deepEqual(await list(''), [scheduled, byCoach]);
    assert.deepEqual(await list('?state=running'), [scheduled]);
    assert.deepEqual(await list('?state=ended'), [byCoach]);
    assert.deepEqual(await list(`?from=2026-12-01T00:00:00Z`), [scheduled]);
    assert.deepEqual(await list(`?to=2026-12-01T00:00:00Z`), [byCoach]);
    const first = await json(await call('ann', 'GET', `/gyms/${GYM}/class-runs?limit=1`));
    assert.equal(typeof first['nextCursor'], 'string');
    const second = await json(await call('ann', 'GET', `/gyms/${GYM}/class-runs?limit=1&cursor=${first['nextCursor'] as string}`));
    assert.deepEqual(
      (second['items'] as Run[]).map((r) => r.id),
      [RUN],
    );
    assert.equal((await call('outsider', 'GET', `/gyms/${GYM}/class-runs`)).status, 403);
    assert.equal((await call('ann', 'GET', `/gyms/${GYM}/class-runs?state=paused`)).status, 400);
  });

  /** A completed class session of the run with these figures. */
  async function ranSession(name: string, figures: Partial<SessionDoc>, startedAt = CLASS_START): Promise<void> {
    await t.domain.documents.collection(SESSIONS).insert({
      id: `s-${name}-${startedAt}`,
      athlete: ids[name]!,
      kind: 'class',
      gym: GYM,
      run: `spin@${startedAt}`,
      class: 'spin',
      name: 'Spin',
      sport: 'training',
      state: 'completed',
      startedAt,
      endedAt: startedAt + 30 * MINUTE,
      revision: 1,
      stale: false,
      createdAt: startedAt,
      ...figures,
    });
  }

  async function endedRun(): Promise<void> {
    await t.domain.documents.collection(CLASS_RUNS).insert({
      id: RUN,
      gym: GYM,
      class: 'spin',
      occurrenceStart: CLASS_START,
      scheduledStart: CLASS_START,
      scheduledEnd: CLASS_START + 30 * MINUTE,
      state: 'ended',
      startedAt: CLASS_START,
      startedBy: 'schedule',
      endedAt: CLASS_START + 30 * MINUTE,
      endedBy: 'schedule',
    });
  }

  type Entry = { rank: number; athlete?: string; name: string; value: number; you: boolean };
  const board = async (who: string, path: string) =>
    ((await json(await call(who, 'GET', path)))['items'] as Entry[]).map((e) => [e.rank, e.name, e.value, e.you, e.athlete !== undefined]);

  it('a run leaderboard lists who opted in and whose results the viewer may see, by name or alias, never the hidden, always the viewer', async () => {
    await endedRun();
    await profile('ann', { resultsVisibility: 'gym' });
    await profile('bob', { resultsVisibility: 'friends' });
    await profile('cal', { boardVisibility: 'alias', boardAlias: 'Comet' });
    await profile('dee', { boardVisibility: 'hidden' });
    await profile('eve', { leaderboards: false });
    for (const [name, effortPoints] of [
      ['ann', 90],
      ['bob', 120],
      ['cal', 90],
      ['dee', 150],
      ['eve', 200],
      ['dan', 40],
    ] as const) {
      await ranSession(name, { effortPoints, kcal: effortPoints * 3 });
    }
    const path = `/class-runs/${RUN}/leaderboard?metric=effortPoints`;
    // Dan did not opt in: he sees himself, marked; Bob shares with friends only; Dee is hidden; Eve did not opt in.
    assert.deepEqual(await board('dan', path), [
      [1, 'ANN', 90, false, true],
      [1, 'Comet', 90, false, false],
      [2, 'DAN', 40, true, true],
    ]);
    const at = Date.now();
    await t.domain.documents.collection(FRIENDSHIPS).insert({ ...pairOf(ids['bob']!, ids['dan']!), status: 'friends', by: ids['bob']!, mutual: false, since: at });
    assert.deepEqual((await board('dan', path)).slice(0, 2), [
      [1, 'BOB', 120, false, true],
      [2, 'ANN', 90, false, true],
    ]);
    // The gym's staff see every opted-in athlete who is not hidden.
    assert.deepEqual(
      (await board('coach', path)).map((e) => e[1]),
      ['BOB', 'ANN', 'Comet'],
    );
    // Hidden Dee sees herself at the top; a block keeps Ann and Dan apart.
    assert.deepEqual((await board('dee', path))[0], [1, 'DEE', 150, true, true]);
    await t.domain.documents.collection(FRIENDSHIPS).insert({ ...pairOf(ids['ann']!, ids['dan']!), status: 'blocked', by: ids['ann']!, mutual: false, since: at });
    assert.ok(!(await board('dan', path)).some((e) => e[1] === 'ANN'));
    assert.deepEqual(
      (await board('cal', `/class-runs/${RUN}/leaderboard?metric=kcal`)).map((e) => e.slice(0, 4)),
      [
        [1, 'ANN', 270, false],
        [1, 'Comet', 270, true],
      ],
    );

    const bad = await readProblem(await call('dan', 'GET', `/class-runs/${RUN}/leaderboard?metric=heartRate`));
    assert.equal(bad.status, 400);
    assert.equal(bad.param, 'metric');
    assert.equal((await call('dan', 'GET', `/class-runs/${RUN}/leaderboard`)).status, 400);
    assert.equal((await call('outsider', 'GET', `/class-runs/${RUN}/leaderboard?metric=kcal`)).status, 404);
  });

  it("a group leaderboard sums its members' completed sessions in [from, to), or takes their best average power", async () => {
    const group = 'riders';
    await t.domain.documents.collection(GROUPS).insert({
      id: group,
      gym: GYM,
      name: 'Riders',
      kind: 'club',
      description: '',
      visibility: 'open',
      memberCount: 3,
      ownerCount: 1,
      createdBy: ids['ann']!,
      createdAt: 0,
      updatedAt: 0,
    });
    for (const name of ['ann', 'bob', 'dan']) {
      await t.domain.documents
        .collection(GROUP_MEMBERS)
        .insert({ id: groupMemberId(group, ids[name]!), group, gym: GYM, user: ids[name]!, role: name === 'ann' ? 'owner' : 'member', joinedAt: 0 });
      await profile(name, {});
    }
    await ranSession('ann', { effortPoints: 50, averagePowerW: 180 }, CLASS_START);
    await ranSession('ann', { effortPoints: 70, averagePowerW: 240 }, CLASS_START + DAY);
    await ranSession('ann', { effortPoints: 500, averagePowerW: 400 }, CLASS_START + 7 * DAY);
    await ranSession('bob', { effortPoints: 100, averagePowerW: 200 }, CLASS_START + DAY);
    await ranSession('cal', { effortPoints: 999 }, CLASS_START + DAY);
    const period = `from=2026-11-30T00:00:00Z&to=2026-12-07T07:00:00Z`;
    assert.deepEqual(await board('dan', `/groups/${group}/leaderboard?metric=effortPoints&${period}`), [
      [1, 'ANN', 120, false, true],
      [2, 'BOB', 100, false, true],
    ]);
    assert.deepEqual(await board('dan', `/groups/${group}/leaderboard?metric=averagePowerW&${period}`), [
      [1, 'ANN', 240, false, true],
      [2, 'BOB', 200, false, true],
    ]);
    assert.equal((await call('dan', 'GET', `/groups/${group}/leaderboard?metric=effortPoints&from=2026-12-07T00:00:00Z&to=2026-12-01T00:00:00Z`)).status, 400);
    assert.equal((await call('dan', 'GET', `/groups/${group}/leaderboard?metric=effortPoints&from=2025-01-01T00:00:00Z&to=2026-12-01T00:00:00Z`)).status, 400);
    assert.equal((await call('dan', 'GET', `/groups/${group}/leaderboard?metric=speed&${period}`)).status, 400);
    assert.equal((await call('outsider', 'GET', `/groups/${group}/leaderboard?metric=effortPoints&${period}`)).status, 404);
  });
});
