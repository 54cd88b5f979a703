/** Leaderboards: who is listed and how (opt-in, privacy, board names), dense ranks, and the figures of runs and groups. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { GROUP_MEMBERS, groupMemberId } from '../../src/domain/social/collections.ts';
import { SESSIONS, type SessionDoc } from '../../src/domain/sessions/collections.ts';
import { groupStandings, rankLeaderboard, runStandings, type Candidate, type Standing } from '../../src/domain/sessions/leaderboards.ts';
import { testDomain, type TestDomain } from './test-domain.ts';

const shown = (name: string, extra: Partial<Candidate> = {}): Candidate => ({ optedIn: true, board: 'name', displayName: name, mayView: true, ...extra });

describe('rankLeaderboard', () => {
  const standings: Standing[] = [
    { athlete: 'ann', value: 50, sessions: 1 },
    { athlete: 'bob', value: 80, sessions: 1 },
    { athlete: 'cal', value: 50, sessions: 1 },
    { athlete: 'dee', value: 90, sessions: 1 },
    { athlete: 'eve', value: 70, sessions: 1 },
    { athlete: 'fay', value: 40, sessions: 1 },
    { athlete: 'gone', value: 100, sessions: 1 },
  ];
  const candidates = new Map<string, Candidate>([
    ['ann', shown('Ann')],
    ['bob', shown('Bob', { optedIn: false })],
    ['cal', shown('Cal', { board: 'alias', alias: 'Comet' })],
    ['dee', shown('Dee', { board: 'hidden' })],
    ['eve', shown('Eve', { mayView: false })],
    ['fay', shown('Fay')],
  ]);

  it('lists only opted-in, visible, not hidden athletes, by value, with dense ranks over what is shown', () => {
    assert.deepEqual(rankLeaderboard('zed', standings, candidates), [
      { rank: 1, name: 'Ann', athlete: 'ann', value: 50, sessions: 1, you: false },
      { rank: 1, name: 'Comet', value: 50, sessions: 1, you: false },
      { rank: 2, name: 'Fay', athlete: 'fay', value: 40, sessions: 1, you: false },
    ]);
  });

  it("always lists the viewer's own entry, marked, whatever their choices", () => {
    for (const viewer of ['bob', 'dee', 'eve']) {
      const own = rankLeaderboard(viewer, standings, candidates).filter((entry) => entry.you);
      assert.equal(own.length, 1, viewer);
      assert.equal(own[0]!.athlete, viewer);
    }
    const asDee = rankLeaderboard('dee', standings, candidates);
    assert.deepEqual(asDee[0], { rank: 1, name: 'Dee', athlete: 'dee', value: 90, sessions: 1, you: true });
    // Cal sees their alias with their own id: nothing to hide from themselves.
    assert.deepEqual(
      rankLeaderboard('cal', standings, candidates).find((entry) => entry.you),
      { rank: 1, name: 'Comet', athlete: 'cal', value: 50, sessions: 1, you: true },
    );
  });

  it('an athlete with no account left is not listed, and an empty board is empty', () => {
    assert.ok(!rankLeaderboard('zed', standings, candidates).some((entry) => entry.value === 100));
    assert.deepEqual(rankLeaderboard('zed', [], candidates), []);
  });
});

describe('standings of runs and groups', () => {
  let t: TestDomain;
  const DAY = 86_400_000;
  const T0 = Date.UTC(2026, 10, 1);
  let n = 0;
  const session = (athlete: string, startedAt: number, figures: Partial<SessionDoc>, extra: Partial<SessionDoc> = {}): SessionDoc => ({
    id: `s-${n++}`,
    athlete,
    kind: 'personal',
    gym: 'g',
    name: 'Ride',
    sport: 'cycling',
    state: 'completed',
    startedAt,
    revision: 1,
    stale: false,
    createdAt: startedAt,
    ...figures,
    ...extra,
  });

  before(async () => {
    t = await testDomain();
    const sessions = t.domain.documents.collection(SESSIONS);
    for (const doc of [
      session('ann', T0, { effortPoints: 10, averagePowerW: 150, durationS: 600 }),
      session('ann', T0 + DAY, { effortPoints: 20, averagePowerW: 210, durationS: 1200 }),
      session('ann', T0 + 10 * DAY, { effortPoints: 1000, averagePowerW: 400 }),
      session('ann', T0 + 2 * DAY, { effortPoints: 500 }, { state: 'live' }),
      session('bob', T0 - 1, { effortPoints: 1000 }),
      session('bob', T0 + 3 * DAY, { durationS: 300 }),
      session('cal', T0 + DAY, { effortPoints: 5 }),
      session('ann', T0, { effortPoints: 33 }, { kind: 'class', run: 'spin@1' }),
      session('bob', T0, {}, { kind: 'class', run: 'spin@1', state: 'live' }),
    ]) {
      await sessions.insert(doc);
    }
    for (const user of ['ann', 'bob']) {
      await t.domain.documents.collection(GROUP_MEMBERS).insert({ id: groupMemberId('club', user), group: 'club', gym: 'g', user, role: 'member', joinedAt: 0 });
    }
  });
  after(async () => t.cleanup());

  it("a group's members' completed sessions started in [from, to): summed, and the best average power", async () => {
    const period = [T0, T0 + 10 * DAY] as const;
    assert.deepEqual(await groupStandings(t.domain, 'club', 'effortPoints', ...period), [{ athlete: 'ann', value: 63, sessions: 3 }]);
    assert.deepEqual(await groupStandings(t.domain, 'club', 'averagePowerW', ...period), [{ athlete: 'ann', value: 210, sessions: 2 }]);
    assert.deepEqual(await groupStandings(t.domain, 'club', 'durationS', ...period), [
      { athlete: 'ann', value: 1800, sessions: 2 },
      { athlete: 'bob', value: 300, sessions: 1 },
    ]);
  });

  it("a run's athletes with the figure, one session each", async () => {
    assert.deepEqual(await runStandings(t.domain, 'spin@1', 'effortPoints'), [{ athlete: 'ann', value: 33, sessions: 1 }]);
    assert.deepEqual(await runStandings(t.domain, 'spin@1', 'kcal'), []);
  });
});
