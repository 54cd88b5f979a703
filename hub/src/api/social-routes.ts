/** Handlers of social-operations.ts: groups and their members (this file), friends (domain/social/friends.ts). */
import { randomUUID } from 'node:crypto';
import type { Static } from '@sinclair/typebox';
import { gymsWithRoles } from '../auth/principal.ts';
import type { Domain } from '../domain/domain.ts';
import { GROUP_MEMBERS, GROUPS, groupMemberId, type GroupRole } from '../domain/social/collections.ts';
import { Friends, type FriendOutcome, type RelationList } from '../domain/social/friends.ts';
import { gymsOf } from '../domain/social/people.ts';
import type { DocumentOf, DocumentSession } from '../documents/document-store.ts';
import { ADMINS, STAFF } from './access.ts';
import type { ApiContext } from './context.ts';
import { API_PREFIX } from './operation.ts';
import { decodePageCursor, DEFAULT_PAGE_LIMIT, encodePageCursor, listPage, type PageBody } from './pages.ts';
import { ApiError } from './problem.ts';
import { isoTime, principalOf, resourceGym } from './self.ts';
import type { RouteModule } from './route-module.ts';
import type { Group, GroupMember, Person, SOCIAL_OPERATIONS } from './social-operations.ts';

type GroupDoc = DocumentOf<(typeof GROUPS)['schema']>;
type MemberDoc = DocumentOf<(typeof GROUP_MEMBERS)['schema']>;
type GroupBody = Static<typeof Group>;
type PersonBody = Static<typeof Person>;

function toGroup(doc: GroupDoc, myRole?: GroupRole): GroupBody {
  const { ownerCount: _owners, createdBy: _createdBy, createdAt, updatedAt, ...rest } = doc;
  const group = { ...rest, createdAt: isoTime(createdAt), updatedAt: isoTime(updatedAt) };
  return myRole === undefined ? group : { ...group, myRole };
}

/** Pages over a list already in memory and sorted by `key` (the caller's relations: at most MAX_RELATIONS). */
function pageOfList<I>(ctx: ApiContext, items: readonly I[], key: (item: I) => string, path: string, query: { limit?: number; cursor?: string }): PageBody<I> {
  const limit = query.limit ?? DEFAULT_PAGE_LIMIT;
  const scope = [path];
  let start = 0;
  if (query.cursor !== undefined) {
    const [after] = decodePageCursor(query.cursor, scope, 1);
    start = items.findIndex((item) => key(item) > String(after));
    if (start < 0) start = items.length;
  }
  const page = items.slice(start, start + limit);
  const body: PageBody<I> = { items: page };
  if (start + limit < items.length) {
    body.nextCursor = encodePageCursor([key(page.at(-1)!)], scope);
    const search = new URLSearchParams({ ...(query.limit ? { limit: String(limit) } : {}), cursor: body.nextCursor });
    body.next = `${path}?${search.toString()}`;
    ctx.set('Link', `<${body.next}>; rel="next"`);
  }
  return body;
}

function answer(outcome: FriendOutcome, ctx: ApiContext, what: string): void {
  if (outcome === 'done') {
    ctx.status = 204;
    return;
  }
  if (outcome === 'missing') throw new ApiError('not_found', `no ${what}`);
  if (outcome === 'unknown_person') throw new ApiError('not_found', 'no such person among the members of your gyms');
  throw new ApiError('conflict', outcome.conflict);
}

export function socialRoutes(domain: Domain): RouteModule<typeof SOCIAL_OPERATIONS> {
  const { documents, identity, now } = domain;
  const groups = documents.collection(GROUPS);
  const members = documents.collection(GROUP_MEMBERS);
  const friends = new Friends(domain);

  const isIn = (ctx: ApiContext, roles: typeof STAFF, gym: string): boolean => {
    const gyms = gymsWithRoles(principalOf(ctx), roles);
    return gyms === 'all' || gyms.has(gym);
  };

  async function displayName(user: string): Promise<string> {
    return (await identity.getUser(user))?.displayName ?? user;
  }

  async function toMember(doc: MemberDoc): Promise<Static<typeof GroupMember>> {
    return { userId: doc.user, displayName: await displayName(doc.user), role: doc.role, joinedAt: isoTime(doc.joinedAt) };
  }

  async function people(list: { userId: string; since: number }[]): Promise<PersonBody[]> {
    return Promise.all(list.map(async (entry) => ({ userId: entry.userId, displayName: await displayName(entry.userId), since: isoTime(entry.since) })));
  }

  async function groupOf(ctx: ApiContext, id: string): Promise<GroupDoc> {
    const doc = await groups.get(id);
    if (doc === undefined || doc.gym !== resourceGym(ctx)) throw new ApiError('not_found', `no group with id ${id}`);
    return doc;
  }

  /** Group membership needs a role in the group's gym, as the identity store has it now. */
  async function holdsRoleIn(user: string, gym: string): Promise<boolean> {
    return (await gymsOf(identity, user)).all.has(gym);
  }

  /** The caller's say over a group: its owners and admins, or the gym's staff. */
  async function authority(ctx: ApiContext, group: GroupDoc): Promise<{ role: GroupRole | undefined; staff: boolean; gymAdmin: boolean }> {
    const role = (await members.get(groupMemberId(group.id, principalOf(ctx).subject)))?.role;
    return { role, staff: isIn(ctx, STAFF, group.gym), gymAdmin: isIn(ctx, ADMINS, group.gym) };
  }

  /** Changes a member's role inside a transaction, keeping the group's counts and at least one owner. */
  async function setRole(session: DocumentSession, group: GroupDoc, user: string, role: GroupRole | undefined): Promise<MemberDoc | undefined> {
    const groupDocs = session.collection(GROUPS);
    const memberDocs = session.collection(GROUP_MEMBERS);
    // Touching the group first: a group deleted since the handler read it is not given members (and in MongoDB
    // the write makes a concurrent delete of the group conflict with this transaction).
    if ((await groupDocs.update({ id: group.id }, { set: { updatedAt: now() } })) === 0) throw new ApiError('not_found', `no group with id ${group.id}`);
    const id = groupMemberId(group.id, user);
    const before = await memberDocs.get(id);
    const wasOwner = before?.role === 'owner';
    const isOwner = role === 'owner';
    if (wasOwner && !isOwner) {
      // Guarded on the count, so two owners stepping down at once cannot leave the group without one.
      const kept = await groupDocs.update({ id: group.id, ownerCount: { gt: 1 } }, { inc: { ownerCount: -1 } });
      if (kept === 0) throw new ApiError('conflict', 'a group keeps an owner: make someone else owner first');
    } else if (isOwner && !wasOwner) await groupDocs.update({ id: group.id }, { inc: { ownerCount: 1 } });
    const memberDelta = (role === undefined ? 0 : 1) - (before === undefined ? 0 : 1);
    if (memberDelta !== 0) await groupDocs.update({ id: group.id }, { inc: { memberCount: memberDelta } });
    if (role === undefined) {
      await memberDocs.delete({ id });
      return undefined;
    }
    const doc: MemberDoc = { id, group: group.id, gym: group.gym, user, role, joinedAt: before?.joinedAt ?? now() };
    if (before === undefined) await memberDocs.insert(doc);
    else await memberDocs.replace(doc);
    return doc;
  }

  async function relations(ctx: ApiContext, which: RelationList, path: string, query: { limit?: number; cursor?: string }): Promise<void> {
    const list = await friends.list(principalOf(ctx).subject, which);
    const page = pageOfList(ctx, list, (entry) => entry.userId, path, query);
    ctx.body = { ...page, items: await people(page.items) };
  }

  return {
    handlers: {
      listGroups: async (ctx, { query }) => {
        await listPage(ctx, {
          collection: groups,
          where: { ...(query.gym === undefined ? {} : { gym: query.gym }), ...(query.kind === undefined ? {} : { kind: query.kind }) },
          orderBy: ['name'],
          query,
          path: `${API_PREFIX}/groups`,
          params: { gym: query.gym, kind: query.kind },
          toItem: (doc) => toGroup(doc),
        });
      },
      createGroup: async (ctx, { body }) => {
        const gym = body.gym!;
        const me = principalOf(ctx).subject;
        if (body.kind === 'team' && !isIn(ctx, STAFF, gym)) throw new ApiError('forbidden', 'teams are made by the gym’s coaches and admins; athletes make clubs');
        if (!(await holdsRoleIn(me, gym))) throw new ApiError('forbidden', `a group’s owner holds a role in its gym, and you hold none in ${gym}`);
        const at = now();
        const doc: GroupDoc = {
          id: randomUUID(),
          gym,
          name: body.name,
          kind: body.kind,
          description: body.description ?? '',
          visibility: body.visibility ?? 'open',
          memberCount: 1,
          ownerCount: 1,
          createdBy: me,
          createdAt: at,
          updatedAt: at,
        };
        await documents.transaction(async (session) => {
          await session.collection(GROUPS).insert(doc);
          await session.collection(GROUP_MEMBERS).insert({ id: groupMemberId(doc.id, me), group: doc.id, gym, user: me, role: 'owner', joinedAt: at });
        });
        ctx.status = 201;
        ctx.body = toGroup(doc, 'owner');
      },
      getGroup: async (ctx, { params }) => {
        const group = await groupOf(ctx, params.id);
        ctx.body = toGroup(group, (await members.get(groupMemberId(group.id, principalOf(ctx).subject)))?.role);
      },
      patchGroup: async (ctx, { params, body }) => {
        const group = await groupOf(ctx, params.id);
        const say = await authority(ctx, group);
        if (!(say.role === 'owner' || say.role === 'admin' || say.gymAdmin)) throw new ApiError('forbidden', 'the group’s owners and admins, or a gym admin, change it');
        if (body.kind === 'team' && group.kind !== 'team' && !say.staff) throw new ApiError('forbidden', 'a club becomes a team by a coach or gym admin');
        const saved: GroupDoc = { ...group, ...body, updatedAt: now() };
        if (!(await groups.replace(saved, { gym: group.gym }))) throw new ApiError('not_found', `no group with id ${params.id}`);
        ctx.body = toGroup(saved, say.role);
      },
      deleteGroup: async (ctx, { params }) => {
        const group = await groupOf(ctx, params.id);
        const say = await authority(ctx, group);
        if (!(say.role === 'owner' || say.role === 'admin' || say.gymAdmin)) throw new ApiError('forbidden', 'the group’s owners and admins, or a gym admin, delete it');
        await documents.transaction(async (session) => {
          await session.collection(GROUP_MEMBERS).delete({ group: group.id });
          await session.collection(GROUPS).delete({ id: group.id });
        });
        ctx.status = 204;
      },
      listGroupMembers: async (ctx, { params, query }) => {
        const group = await groupOf(ctx, params.id);
        const path = `${API_PREFIX}/groups/${group.id}/members`;
        const page = await listPage(ctx, { collection: members, where: { group: group.id }, orderBy: ['user'], query, path, params: {}, toItem: (doc) => doc });
        // People who blocked the caller are shown to them nowhere; a page may come out shorter for it.
        const hidden = await friends.blockersOf(
          principalOf(ctx).subject,
          page.items.map((doc) => doc.user),
        );
        ctx.body = { ...page, items: await Promise.all(page.items.filter((doc) => !hidden.has(doc.user)).map(toMember)) };
      },
      joinGroup: async (ctx, { params }) => {
        const group = await groupOf(ctx, params.id);
        const me = principalOf(ctx).subject;
        const existing = await members.get(groupMemberId(group.id, me));
        if (existing !== undefined) {
          ctx.body = await toMember(existing);
          return;
        }
        if (group.visibility !== 'open') throw new ApiError('forbidden', 'this group takes members by invitation: ask one of its admins');
        if (!(await holdsRoleIn(me, group.gym))) throw new ApiError('forbidden', `members of a group hold a role in its gym, and you hold none in ${group.gym}`);
        const doc = await documents.transaction((session) => setRole(session, group, me, 'member'));
        ctx.body = await toMember(doc!);
      },
      leaveGroup: async (ctx, { params }) => {
        const group = await groupOf(ctx, params.id);
        const me = principalOf(ctx).subject;
        if ((await members.get(groupMemberId(group.id, me))) === undefined) throw new ApiError('not_found', 'you are no member of this group');
        await documents.transaction((session) => setRole(session, group, me, undefined));
        ctx.status = 204;
      },
      putGroupMember: async (ctx, { params, body }) => {
        const group = await groupOf(ctx, params.id);
        const say = await authority(ctx, group);
        if (!(say.role === 'owner' || say.role === 'admin' || say.staff)) throw new ApiError('forbidden', 'the group’s owners and admins, or the gym’s staff, manage its members');
        // Someone outside the gym is answered like an unknown id: another gym's people are not probeable.
        if (!(await holdsRoleIn(params.user, group.gym))) throw new ApiError('not_found', `no member of the gym with id ${params.user}`);
        const before = await members.get(groupMemberId(group.id, params.user));
        const touchesOwner = body.role === 'owner' || before?.role === 'owner';
        if (touchesOwner && !(say.role === 'owner' || say.staff)) throw new ApiError('forbidden', 'only an owner or the gym’s staff gives or takes the owner role');
        const doc = await documents.transaction((session) => setRole(session, group, params.user, body.role));
        ctx.body = await toMember(doc!);
      },
      removeGroupMember: async (ctx, { params }) => {
        const group = await groupOf(ctx, params.id);
        const say = await authority(ctx, group);
        const self = params.user === principalOf(ctx).subject;
        if (!(self || say.role === 'owner' || say.role === 'admin' || say.staff))
          throw new ApiError('forbidden', 'the group’s owners and admins, or the gym’s staff, manage its members');
        const before = await members.get(groupMemberId(group.id, params.user));
        if (before === undefined) throw new ApiError('not_found', `no member ${params.user} in this group`);
        if (before.role === 'owner' && !(self || say.role === 'owner' || say.staff)) throw new ApiError('forbidden', 'only an owner or the gym’s staff removes an owner');
        await documents.transaction((session) => setRole(session, group, params.user, undefined));
        ctx.status = 204;
      },
      listMyGroups: async (ctx, { query }) => {
        const page = await listPage(ctx, {
          collection: members,
          where: { user: principalOf(ctx).subject },
          orderBy: ['group'],
          query,
          path: `${API_PREFIX}/me/groups`,
          params: {},
          toItem: (doc) => doc,
        });
        const items = [];
        for (const membership of page.items) {
          const group = await groups.get(membership.group);
          if (group !== undefined) items.push({ group: toGroup(group, membership.role), role: membership.role });
        }
        ctx.body = { ...page, items };
      },
      listFriends: (ctx, { query }) => relations(ctx, 'friends', `${API_PREFIX}/me/friends`, query),
      listIncomingFriendRequests: (ctx, { query }) => relations(ctx, 'incoming', `${API_PREFIX}/me/friends/requests/incoming`, query),
      listOutgoingFriendRequests: (ctx, { query }) => relations(ctx, 'outgoing', `${API_PREFIX}/me/friends/requests/outgoing`, query),
      listBlocked: (ctx, { query }) => relations(ctx, 'blocked', `${API_PREFIX}/me/friends/blocked`, query),
      sendFriendRequest: async (ctx, { body }) => {
        const outcome = await friends.request(principalOf(ctx).subject, body.user);
        if (typeof outcome === 'string' || 'conflict' in outcome) return answer(outcome, ctx, 'request');
        ctx.status = 201;
        ctx.body = { userId: body.user, displayName: await displayName(body.user), status: outcome.status, since: isoTime(outcome.since) };
      },
      acceptFriendRequest: async (ctx, { params }) => {
        const outcome = await friends.accept(principalOf(ctx).subject, params.user);
        if (outcome === 'missing') return answer(outcome, ctx, `friend request from ${params.user}`);
        ctx.body = { userId: params.user, displayName: await displayName(params.user), since: isoTime(outcome.since) };
      },
      declineFriendRequest: async (ctx, { params }) => answer(await friends.decline(principalOf(ctx).subject, params.user), ctx, `friend request from ${params.user}`),
      cancelFriendRequest: async (ctx, { params }) => answer(await friends.cancel(principalOf(ctx).subject, params.user), ctx, `friend request to ${params.user}`),
      unfriend: async (ctx, { params }) => answer(await friends.unfriend(principalOf(ctx).subject, params.user), ctx, `friendship with ${params.user}`),
      blockPerson: async (ctx, { params }) => {
        const outcome = await friends.block(principalOf(ctx).subject, params.user);
        if (outcome === 'unknown_person') return answer(outcome, ctx, 'person');
        ctx.body = { userId: params.user, displayName: await displayName(params.user), since: isoTime(outcome.since) };
      },
      unblockPerson: async (ctx, { params }) => answer(await friends.unblock(principalOf(ctx).subject, params.user), ctx, `block of ${params.user}`),
    },
  };
}
