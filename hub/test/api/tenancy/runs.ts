/** Tenancy cases of runs-operations.ts. Runs of the classes that classes.ts seeds, and the group social.ts seeds. */
import type { RUNS_OPERATIONS } from '../../../src/api/runs-operations.ts';
import { CLASS_RUNS, SESSIONS } from '../../../src/domain/sessions/collections.ts';
import { GYM_A, GYM_B, type FeatureTenancy } from './tenancy-case.ts';
import { runDocument } from '../../domain/test-domain.ts';

// The occurrence classes.ts seeds for both gyms' classes.
const OCCURRENCE = '2024-05-06T05:00:00Z';
const START = Date.parse(OCCURRENCE);
const A_RUN = `class-of-a@${START}`;
const A_SESSION = 'class-session-of-a';
const PERIOD = 'from=2024-05-01T00:00:00Z&to=2024-06-01T00:00:00Z';

export const runsTenancy: FeatureTenancy<keyof typeof RUNS_OPERATIONS> = {
  cases: {
    startClassRun: { attempts: [{ method: 'POST', path: `/api/v1/classes/class-of-a/occurrences/${OCCURRENCE}/run`, targetsA: true }] },
    endClassRun: { attempts: [{ method: 'POST', path: `/api/v1/class-runs/${A_RUN}/end`, targetsA: true }] },
    getClassRun: { attempts: [{ path: `/api/v1/class-runs/${A_RUN}`, targetsA: true }] },
    listClassRuns: {
      attempts: [
        { path: `/api/v1/gyms/${GYM_A}/class-runs`, targetsA: true },
        { path: `/api/v1/gyms/${GYM_B}/class-runs?state=running`, targetsA: false },
      ],
    },
    classRunResults: { attempts: [{ path: `/api/v1/class-runs/${A_RUN}/results`, targetsA: true }] },
    classRunLeaderboard: { attempts: [{ path: `/api/v1/class-runs/${A_RUN}/leaderboard?metric=effortPoints`, targetsA: true }] },
    groupLeaderboard: { attempts: [{ path: `/api/v1/groups/group-of-a/leaderboard?metric=effortPoints&${PERIOD}`, targetsA: true }] },
  },
  async seed({ domain, accounts }) {
    for (const gym of [GYM_A, GYM_B] as const) {
      const cls = gym === GYM_A ? 'class-of-a' : 'class-of-b';
      const run = `${cls}@${START}`;
      await domain.documents.collection(CLASS_RUNS).insert(runDocument({ id: run, gym, start: START, minutes: 45, startedBy: accounts[gym].coach }));
      const athlete = accounts[gym].athlete;
      await domain.documents.collection(SESSIONS).insert({
        id: gym === GYM_A ? A_SESSION : 'class-session-of-b',
        athlete,
        kind: 'class',
        gym,
        run,
        class: cls,
        name: 'Spin',
        sport: 'training',
        state: 'completed',
        startedAt: START,
        endedAt: START + 45 * 60_000,
        revision: 1,
        stale: false,
        effortPoints: 77,
        createdAt: START,
      });
      // Opted in (keeping the profile profile.ts seeds), results shown to the gym: B's accounts are not in it.
      // Not 'everyone': that would rightly show A's athlete's sessions to anyone (sessions tenancy seeds them).
      const {
        userId: _userId,
        updatedAt: _updatedAt,
        ...profile
      } = (await domain.identity.getProfile(athlete)) ?? { resultsVisibility: 'gym' as const, boardVisibility: 'name' as const };
      await domain.identity.saveProfile(athlete, { ...profile, resultsVisibility: 'gym', leaderboards: true });
    }
    return [A_SESSION];
  },
  async stateOfA({ domain }) {
    return {
      runs: await domain.documents.collection(CLASS_RUNS).find({ gym: GYM_A }),
      sessions: await domain.documents.collection(SESSIONS).find({ gym: GYM_A }),
    };
  },
};
