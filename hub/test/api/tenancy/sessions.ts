/** Tenancy cases of sessions-operations.ts. */
import type { SESSIONS_OPERATIONS } from '../../../src/api/sessions-operations.ts';
import { SESSIONS, type SessionDoc } from '../../../src/domain/sessions/collections.ts';
import { GYM_A, GYM_B, type FeatureTenancy } from './tenancy-case.ts';

const SESSION_A = 'session-of-a';
const LIVE_A = 'live-session-of-a';
/** Held in gym A by an athlete who is also a member of gym B: B's staff are not staff of this session. */
const BOTH_A = 'session-in-a-of-both';
const SESSION_B = 'session-of-b';
const AT = Date.UTC(2026, 0, 1, 7);

function session(id: string, athlete: string, gym: string, name: string, state: 'live' | 'completed'): SessionDoc {
  return {
    id,
    athlete,
    kind: 'personal',
    gym,
    name,
    sport: 'cycling',
    state,
    startedAt: AT,
    ...(state === 'completed' ? { endedAt: AT + 60_000, revision: 1, results: { durationS: 60, calories: {}, records: { bestPowerW: {}, fastestS: {} } } } : { revision: 0 }),
    stale: false,
    createdAt: AT,
  };
}

export const sessionsTenancy: FeatureTenancy<keyof typeof SESSIONS_OPERATIONS> = {
  cases: {
    listMySessions: { attempts: [{ path: '/api/v1/me/sessions', targetsA: false }] },
    startMySession: { attempts: [{ method: 'POST', path: '/api/v1/me/sessions', body: { gym: GYM_A }, targetsA: true }] },
    endMySession: { attempts: [{ method: 'POST', path: `/api/v1/me/sessions/${LIVE_A}/end`, targetsA: true }] },
    getMySession: { attempts: [{ path: `/api/v1/me/sessions/${SESSION_A}`, targetsA: true }] },
    deleteMySession: { attempts: [{ method: 'DELETE', path: `/api/v1/me/sessions/${SESSION_A}`, targetsA: true }] },
    getSession: {
      attempts: [
        { path: `/api/v1/sessions/${SESSION_A}`, targetsA: true },
        { path: `/api/v1/sessions/${BOTH_A}`, targetsA: true },
      ],
    },
    getSessionStreams: {
      attempts: [
        { path: `/api/v1/sessions/${SESSION_A}/streams`, targetsA: true },
        { path: `/api/v1/sessions/${BOTH_A}/streams?resolution=low`, targetsA: true },
      ],
    },
  },
  async seed({ domain, accounts }) {
    const both = await domain.identity.createUser({ email: 'both-gyms@example.org', displayName: 'Member of both' });
    await domain.identity.addMembership({ userId: both.id, gym: GYM_A, role: 'athlete' });
    await domain.identity.addMembership({ userId: both.id, gym: GYM_B, role: 'athlete' });
    const sessions = domain.documents.collection(SESSIONS);
    await sessions.insert(session(SESSION_A, accounts[GYM_A].athlete, GYM_A, 'Morning ride of A', 'completed'));
    await sessions.insert(session(LIVE_A, accounts[GYM_A].coach, GYM_A, 'Live ride of A', 'live'));
    await sessions.insert(session(BOTH_A, both.id, GYM_A, 'Ride in A of both', 'completed'));
    await sessions.insert(session(SESSION_B, accounts[GYM_B].athlete, GYM_B, 'Evening ride of B', 'completed'));
    return [SESSION_A, LIVE_A, BOTH_A, 'Morning ride of A', 'Live ride of A', 'Ride in A of both'];
  },
  async stateOfA({ domain }) {
    return domain.documents.collection(SESSIONS).find({ gym: GYM_A }, { orderBy: ['startedAt'] });
  },
};
