/** What two people have in common, as the social rules ask: shared gyms, a staff role over the other, their friendship. */
import type { Domain } from '../domain.ts';
import { ALL_GYMS, type IdentityStore } from '../../identity/identity-store.ts';
import { FRIENDSHIPS, friendshipId } from './collections.ts';
import type { DocumentOf } from '../../documents/document-store.ts';

export type Friendship = DocumentOf<(typeof FRIENDSHIPS)['schema']>;

const STAFF_ROLES: ReadonlySet<string> = new Set(['coach', 'gym_admin']);

/** The gyms where the user holds any role, and those where they are staff. */
export async function gymsOf(identity: IdentityStore, user: string): Promise<{ all: Set<string>; staff: Set<string> }> {
  const all = new Set<string>();
  const staff = new Set<string>();
  for (const membership of await identity.listMembershipsOfUser(user)) {
    if (membership.gym === ALL_GYMS) continue;
    all.add(membership.gym);
    if (STAFF_ROLES.has(membership.role)) staff.add(membership.gym);
  }
  return { all, staff };
}

export async function shareAGym(identity: IdentityStore, a: string, b: string): Promise<boolean> {
  const [ofA, ofB] = await Promise.all([gymsOf(identity, a), gymsOf(identity, b)]);
  return [...ofA.all].some((gym) => ofB.all.has(gym));
}

export async function friendshipOf(domain: Pick<Domain, 'documents'>, a: string, b: string): Promise<Friendship | undefined> {
  return domain.documents.collection(FRIENDSHIPS).get(friendshipId(a, b));
}

/** True when `blocker` has blocked `other` (mutual blocks count for both). */
export function hasBlocked(friendship: Friendship | undefined, blocker: string): boolean {
  return friendship?.status === 'blocked' && (friendship.by === blocker || friendship.mutual);
}
