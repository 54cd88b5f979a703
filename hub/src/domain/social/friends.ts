/**
 * Friend requests, friendships and blocks between people, one document per pair (collections.ts FRIENDSHIPS).
 * Every change is one guarded write on that document (its status and who set it), so two requests crossing,
 * an accept racing a cancel, or a block racing an accept settle the same way in both stores without a
 * transaction: the guard of the loser matches nothing and it answers as if it came second.
 *
 * Outcomes are returned, not thrown: `missing` is answered as 404 ("no such request"), `unknown_person` as 404
 * exactly like an id that does not exist (someone of another gym, or who blocked the caller, must not be
 * told apart from nobody), `conflict` as 409.
 */
import type { Domain } from '../domain.ts';
import { FRIENDSHIPS, pairOf } from './collections.ts';
import { friendshipOf, hasBlocked, shareAGym, type Friendship } from './people.ts';

export type FriendOutcome = 'done' | 'missing' | 'unknown_person' | { conflict: string };

/** A list of the caller's relations, as the lists ask for them. */
export type RelationList = 'friends' | 'incoming' | 'outgoing' | 'blocked';

/** The most relations of one kind a person has that the lists show; beyond it the oldest ids are cut. */
export const MAX_RELATIONS = 1000;

export class Friends {
  private readonly friendships;

  constructor(private readonly domain: Pick<Domain, 'documents' | 'identity' | 'now'>) {
    this.friendships = domain.documents.collection(FRIENDSHIPS);
  }

  /** The other person of each of `me`'s relations of that kind, with the time it was set, by their id. */
  async list(me: string, which: RelationList): Promise<{ userId: string; since: number }[]> {
    const status = which === 'friends' ? 'friends' : which === 'blocked' ? 'blocked' : 'pending';
    const [asLow, asHigh] = await Promise.all([this.friendships.find({ low: me, status }), this.friendships.find({ high: me, status })]);
    const keep = (doc: Friendship): boolean => {
      if (which === 'incoming') return doc.by !== me;
      if (which === 'outgoing') return doc.by === me;
      if (which === 'blocked') return hasBlocked(doc, me);
      return true;
    };
    return [...asLow, ...asHigh]
      .filter(keep)
      .map((doc) => ({ userId: doc.low === me ? doc.high : doc.low, since: doc.since }))
      .sort((a, b) => (a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0));
  }

  /** Someone the caller may address at all: an existing person sharing a gym with them (or already related to them). */
  private async reachable(me: string, other: string, relation: Friendship | undefined): Promise<boolean> {
    if (me === other || (await this.domain.identity.getUser(other)) === undefined) return false;
    return relation !== undefined || (await shareAGym(this.domain.identity, me, other));
  }

  /** Sends a request, or accepts theirs when they had asked already. */
  async request(me: string, other: string): Promise<{ status: 'pending' | 'friends'; since: number } | Exclude<FriendOutcome, 'done'>> {
    const relation = await friendshipOf(this.domain, me, other);
    if (me === other || !(await shareAGym(this.domain.identity, me, other)) || (await this.domain.identity.getUser(other)) === undefined) return 'unknown_person';
    if (hasBlocked(relation, other)) return 'unknown_person';
    if (hasBlocked(relation, me)) return { conflict: 'you blocked this person: unblock them first' };
    const since = this.domain.now();
    if (relation === undefined) {
      await this.friendships.insert({ ...pairOf(me, other), status: 'pending', by: me, mutual: false, since });
      return { status: 'pending', since };
    }
    if (relation.status === 'friends') return { conflict: 'you are friends already' };
    if (relation.by === me) return { conflict: 'you asked already' };
    // They asked first: asking back is accepting.
    const accepted = await this.friendships.update({ id: relation.id, status: 'pending', by: other }, { set: { status: 'friends', since } });
    return accepted === 1 ? { status: 'friends', since } : { conflict: 'the request changed meanwhile; look again' };
  }

  async accept(me: string, other: string): Promise<{ since: number } | 'missing'> {
    const since = this.domain.now();
    const accepted = await this.friendships.update({ id: pairOf(me, other).id, status: 'pending', by: other }, { set: { status: 'friends', since } });
    return accepted === 1 ? { since } : 'missing';
  }

  async decline(me: string, other: string): Promise<FriendOutcome> {
    return (await this.friendships.delete({ id: pairOf(me, other).id, status: 'pending', by: other })) === 1 ? 'done' : 'missing';
  }

  async cancel(me: string, other: string): Promise<FriendOutcome> {
    return (await this.friendships.delete({ id: pairOf(me, other).id, status: 'pending', by: me })) === 1 ? 'done' : 'missing';
  }

  async unfriend(me: string, other: string): Promise<FriendOutcome> {
    return (await this.friendships.delete({ id: pairOf(me, other).id, status: 'friends' })) === 1 ? 'done' : 'missing';
  }

  /** Blocks: replaces a friendship or a request; a block they set already becomes mutual. */
  async block(me: string, other: string): Promise<{ since: number } | 'unknown_person'> {
    const relation = await friendshipOf(this.domain, me, other);
    if (!(await this.reachable(me, other, relation))) return 'unknown_person';
    if (hasBlocked(relation, me)) return { since: relation!.since };
    const since = this.domain.now();
    const blocked = { ...pairOf(me, other), status: 'blocked' as const, by: me, mutual: false, since };
    if (relation === undefined) await this.friendships.insert(blocked);
    else if (relation.status === 'blocked') await this.friendships.update({ id: relation.id, status: 'blocked', by: other }, { set: { mutual: true } });
    else await this.friendships.replace(blocked, { status: relation.status, by: relation.by });
    return { since };
  }

  async unblock(me: string, other: string): Promise<FriendOutcome> {
    const relation = await friendshipOf(this.domain, me, other);
    if (!hasBlocked(relation, me)) return 'missing';
    if (relation!.mutual) {
      const changed = await this.friendships.update({ id: relation!.id, status: 'blocked', mutual: true }, { set: { by: other, mutual: false } });
      return changed === 1 ? 'done' : 'missing';
    }
    return (await this.friendships.delete({ id: relation!.id, status: 'blocked', by: me, mutual: false })) === 1 ? 'done' : 'missing';
  }

  /** The people who blocked `viewer` among `users`: they are shown to the viewer nowhere. */
  async blockersOf(viewer: string, users: readonly string[]): Promise<Set<string>> {
    if (users.length === 0) return new Set();
    const docs = await this.friendships.find({ id: { in: users.map((user) => pairOf(viewer, user).id) }, status: 'blocked' });
    return new Set(docs.filter((doc) => hasBlocked(doc, doc.low === viewer ? doc.high : doc.low)).map((doc) => (doc.low === viewer ? doc.high : doc.low)));
  }
}
