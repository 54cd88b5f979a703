/**
 * Opt-in leaderboards of a class run and of a group over a period. An athlete is listed only when they opted
 * in (profile `leaderboards`), the viewer may see their results (social/visibility.ts) and their live-board
 * choice does not hide them; the viewer's own entry is always listed, marked. Names follow the live-board
 * choice: the display name, the alias (without the user id, which would undo it), or nothing. Ranks are dense
 * over the entries shown, so a hidden athlete leaves no gap that tells they exist.
 */
import { DEFAULT_PROFILE, type AthleteProfile, type BoardVisibility } from '../../identity/identity-store.ts';
import { pageAfter, type Scalar } from '../../documents/document-store.ts';
import type { Domain } from '../domain.ts';
import { GROUP_MEMBERS } from '../social/collections.ts';
import { friendshipOf, gymsOf, hasBlocked } from '../social/people.ts';
import { mayViewResults } from '../social/visibility.ts';
import { SESSIONS, type SessionDoc } from './collections.ts';

export const RUN_METRICS = ['effortPoints', 'kcal', 'averagePowerW', 'distanceM'] as const;
export const GROUP_METRICS = ['effortPoints', 'kcal', 'averagePowerW', 'distanceM', 'durationS'] as const;
export type LeaderboardMetric = (typeof GROUP_METRICS)[number];

/** One athlete's figure before privacy is applied. */
export interface Standing {
  athlete: string;
  value: number;
  /** Sessions the figure comes from. */
  sessions: number;
}

/** What the rules need to know about a listed athlete, from the viewer's side. */
export interface Candidate {
  optedIn: boolean;
  board: BoardVisibility;
  alias?: string;
  displayName: string;
  /** The viewer may see this athlete's results (mayViewResults). */
  mayView: boolean;
}

export interface LeaderboardEntry {
  rank: number;
  /** The user id; absent for an alias, which it would give away. */
  athlete?: string;
  name: string;
  value: number;
  sessions: number;
  /** The viewer's own entry. */
  you: boolean;
}

/** Applies opt-in, visibility and the live-board choice, then ranks by value (highest first), dense. */
export function rankLeaderboard(viewer: string, standings: readonly Standing[], candidates: ReadonlyMap<string, Candidate>): LeaderboardEntry[] {
  const shown: Omit<LeaderboardEntry, 'rank'>[] = [];
  for (const standing of standings) {
    const candidate = candidates.get(standing.athlete);
    if (candidate === undefined) continue;
    const you = standing.athlete === viewer;
    if (!you && (!candidate.optedIn || !candidate.mayView || candidate.board === 'hidden')) continue;
    const entry = { value: standing.value, sessions: standing.sessions, you };
    if (candidate.board === 'alias' && candidate.alias !== undefined) shown.push({ ...entry, name: candidate.alias, ...(you ? { athlete: standing.athlete } : {}) });
    else shown.push({ ...entry, name: candidate.displayName, athlete: standing.athlete });
  }
  shown.sort((a, b) => b.value - a.value || a.name.localeCompare(b.name) || (a.athlete ?? '').localeCompare(b.athlete ?? ''));
  let rank = 0;
  let previous: number | undefined;
  return shown.map((entry) => {
    if (entry.value !== previous) rank++;
    previous = entry.value;
    return { rank, ...entry };
  });
}

/** The facts rankLeaderboard needs about each athlete, as seen by `viewer`. */
export async function candidatesOf(domain: Pick<Domain, 'documents' | 'identity'>, viewer: string, athletes: readonly string[]): Promise<Map<string, Candidate>> {
  const viewerGyms = await gymsOf(domain.identity, viewer);
  const candidates = new Map<string, Candidate>();
  for (const athlete of new Set(athletes)) {
    const [user, profile, gyms, friendship] = await Promise.all([
      domain.identity.getUser(athlete),
      domain.identity.getProfile(athlete),
      gymsOf(domain.identity, athlete),
      friendshipOf(domain, viewer, athlete),
    ]);
    // An account removed since its sessions were recorded has no name to show.
    if (user === undefined) continue;
    const settings: Pick<AthleteProfile, 'resultsVisibility' | 'boardVisibility' | 'boardAlias' | 'leaderboards'> = profile ?? DEFAULT_PROFILE;
    const mayView = mayViewResults({
      viewer,
      athlete,
      setting: settings.resultsVisibility,
      sharedGyms: [...viewerGyms.all].some((gym) => gyms.all.has(gym)),
      friends: friendship?.status === 'friends',
      viewerIsStaffOfAthletesGym: [...viewerGyms.staff].some((gym) => gyms.all.has(gym)),
      blocked: hasBlocked(friendship, viewer) || hasBlocked(friendship, athlete),
    });
    candidates.set(athlete, {
      optedIn: settings.leaderboards === true,
      board: settings.boardVisibility,
      ...(settings.boardAlias === undefined ? {} : { alias: settings.boardAlias }),
      displayName: user.displayName,
      mayView,
    });
  }
  return candidates;
}

/** Each athlete's figure in a class run: their class session's, once it has one. */
export async function runStandings(domain: Pick<Domain, 'documents'>, run: string, metric: LeaderboardMetric): Promise<Standing[]> {
  const sessions = await domain.documents.collection(SESSIONS).find({ run, kind: 'class' }, { orderBy: ['athlete'] });
  const standings: Standing[] = [];
  for (const session of sessions) {
    const value = session[metric];
    if (value !== undefined) standings.push({ athlete: session.athlete, value, sessions: 1 });
  }
  return standings;
}

const SESSION_PAGE = 500;

/**
 * Each group member's figure over the completed sessions they started in [from, to): the sum of effort points,
 * calories, distance and duration, and the best average power (a sum of averages means nothing).
 */
export async function groupStandings(domain: Pick<Domain, 'documents'>, group: string, metric: LeaderboardMetric, from: number, to: number): Promise<Standing[]> {
  const members = await domain.documents.collection(GROUP_MEMBERS).find({ group }, { orderBy: ['user'] });
  const sessions = domain.documents.collection(SESSIONS);
  const standings: Standing[] = [];
  for (const member of members) {
    let value: number | undefined;
    let counted = 0;
    let after: Scalar[] | undefined;
    for (;;) {
      const page: SessionDoc[] = await sessions.find(
        { athlete: member.user, startedAt: { gte: from, lt: to }, state: 'completed' },
        { orderBy: ['startedAt'], limit: SESSION_PAGE, ...(after ? { after } : {}) },
      );
      for (const session of page) {
        const figure = session[metric];
        if (figure === undefined) continue;
        value = value === undefined ? figure : metric === 'averagePowerW' ? Math.max(value, figure) : value + figure;
        counted++;
      }
      if (page.length < SESSION_PAGE) break;
      after = pageAfter(page.at(-1)!, ['startedAt']);
    }
    if (value !== undefined) standings.push({ athlete: member.user, value, sessions: counted });
  }
  return standings;
}
