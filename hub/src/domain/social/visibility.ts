/**
 * Who may see an athlete's results. The setting is personal data and lives with the profile in the SQL identity
 * store; this module only decides, from the setting and the facts about viewer and athlete.
 *
 * The rules, in order:
 * 1. athletes always see their own results;
 * 2. a block, by either of the two, always wins: neither sees the other's results, whatever else holds;
 * 3. coaches and admins of a gym where the athlete holds a role always see them: they run the class and read
 *    the live board, and the setting is about other athletes, not the gym's staff;
 * 4. otherwise the setting: only_me (nobody else), friends, gym (friends and anyone sharing a gym with the
 *    athlete), everyone (any signed-in user).
 */
import { DEFAULT_PROFILE, type IdentityStore, type ResultsVisibility } from '../../identity/identity-store.ts';
import type { Domain } from '../domain.ts';
import { friendshipOf, gymsOf, hasBlocked } from './people.ts';

export type { ResultsVisibility };
/** Until an athlete chooses: friends only, the least surprising choice that still lets friends compare. */
export const DEFAULT_RESULTS_VISIBILITY: ResultsVisibility = DEFAULT_PROFILE.resultsVisibility;

/** The athlete's own setting, from their profile in the identity store. */
export function resultsSettingFrom(identity: IdentityStore): (userId: string) => Promise<ResultsVisibility> {
  return async (userId) => (await identity.getProfile(userId))?.resultsVisibility ?? DEFAULT_RESULTS_VISIBILITY;
}

export interface ViewFacts {
  viewer: string;
  athlete: string;
  setting: ResultsVisibility;
  /** Viewer and athlete hold a role in a same gym. */
  sharedGyms: boolean;
  friends: boolean;
  /** The viewer is a coach or gym admin of a gym where the athlete holds a role. */
  viewerIsStaffOfAthletesGym: boolean;
  /** Either blocked the other. */
  blocked: boolean;
}

export function mayViewResults(input: ViewFacts): boolean {
  if (input.viewer === input.athlete) return true;
  if (input.blocked) return false;
  if (input.viewerIsStaffOfAthletesGym) return true;
  switch (input.setting) {
    case 'only_me':
      return false;
    case 'friends':
      return input.friends;
    case 'gym':
      return input.friends || input.sharedGyms;
    case 'everyone':
      return true;
  }
}

/** Gathers the facts about viewer and athlete (friendship, blocks, gyms, staff roles) and decides with mayViewResults. */
export async function resultsVisibility(
  domain: Pick<Domain, 'documents' | 'identity'>,
  viewer: string,
  athlete: string,
  settingOf: (userId: string) => Promise<ResultsVisibility>,
): Promise<boolean> {
  if (viewer === athlete) return true;
  const [friendship, ofViewer, ofAthlete, setting] = await Promise.all([
    friendshipOf(domain, viewer, athlete),
    gymsOf(domain.identity, viewer),
    gymsOf(domain.identity, athlete),
    settingOf(athlete),
  ]);
  return mayViewResults({
    viewer,
    athlete,
    setting,
    sharedGyms: [...ofViewer.all].some((gym) => ofAthlete.all.has(gym)),
    friends: friendship?.status === 'friends',
    viewerIsStaffOfAthletesGym: [...ofViewer.staff].some((gym) => ofAthlete.all.has(gym)),
    blocked: hasBlocked(friendship, viewer) || hasBlocked(friendship, athlete),
  });
}
