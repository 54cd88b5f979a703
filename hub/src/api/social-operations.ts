/**
 * The operations table of groups (clubs and teams) with members and roles, and of friend requests.
 *
 * Who may do what with groups: any member of a gym sees its groups and their members. Athletes may create
 * clubs; teams are made (or a club made a team) by the gym's staff, who coach them. A group's owners and admins
 * manage it and its members; the gym's staff may manage any group's members and its admins delete any group.
 * Only an owner (or the gym's staff) gives or takes the owner role, and a group always keeps an owner.
 * Changes to groups and friends need `me:write` (they are the caller's social life, not the gym's settings).
 */
import { Type, type TSchema } from '@sinclair/typebox';
import { MEMBERS } from './access.ts';
import { API_PREFIX, JSON_TYPE, type Operation } from './operation.ts';
import { pageSchema, PageQueryFields } from './pages.ts';
import { GymParam } from './schemas.ts';
import { GROUP_KINDS, GROUP_ROLES, GROUP_VISIBILITIES } from '../domain/social/collections.ts';

const literals = <T extends string>(values: readonly T[], description: string) =>
  Type.Union(
    values.map((value) => Type.Literal(value)),
    { description },
  );

export const GroupKind = literals(GROUP_KINDS, 'club (made by any member) or team (made by the gym’s staff)');
export const GroupVisibility = literals(GROUP_VISIBILITIES, 'open: any member of the gym may join; invite: a group admin adds members');
export const GroupRole = literals(GROUP_ROLES, 'owner, admin or member');
const UserId = Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_-]+$', description: 'a user id' });
const GroupId = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$', description: 'a group id' });

export const GroupPath = Type.Object({ id: GroupId }, { additionalProperties: false });
export const GroupMemberPath = Type.Object({ id: GroupId, user: UserId }, { additionalProperties: false });
export const UserPath = Type.Object({ user: UserId }, { additionalProperties: false });

export const Group = Type.Object({
  id: Type.String(),
  gym: Type.String(),
  name: Type.String(),
  kind: GroupKind,
  description: Type.String(),
  visibility: GroupVisibility,
  memberCount: Type.Integer(),
  createdAt: Type.String({ format: 'date-time', description: 'When it was created, ISO 8601 UTC' }),
  updatedAt: Type.String({ format: 'date-time', description: 'When it or its membership last changed, ISO 8601 UTC' }),
  myRole: Type.Optional(GroupRole),
});

const GroupFields = {
  name: Type.String({ minLength: 1, maxLength: 128, description: 'Unique within the gym' }),
  kind: GroupKind,
  description: Type.String({ maxLength: 4000 }),
  visibility: GroupVisibility,
};
export const GroupBody = Type.Object(
  {
    gym: Type.Optional(GymParam),
    name: GroupFields.name,
    kind: GroupFields.kind,
    description: Type.Optional(GroupFields.description),
    visibility: Type.Optional({ ...GroupFields.visibility, description: `${GroupFields.visibility.description}; default open` }),
  },
  { additionalProperties: false },
);
export const GroupPatchBody = Type.Partial(Type.Object(GroupFields), { additionalProperties: false, minProperties: 1 });
export const GroupsQuery = Type.Object({ ...PageQueryFields, gym: Type.Optional(GymParam), kind: Type.Optional(GroupKind) }, { additionalProperties: false });
export const PageQuery = Type.Object(PageQueryFields, { additionalProperties: false });

export const GroupMember = Type.Object({
  userId: Type.String(),
  displayName: Type.String(),
  role: GroupRole,
  joinedAt: Type.String({ format: 'date-time', description: 'When they joined the group, ISO 8601 UTC' }),
});
export const GroupMemberBody = Type.Object({ role: GroupRole }, { additionalProperties: false });
export const MyGroup = Type.Object({ group: Group, role: GroupRole });

export const Person = Type.Object({
  userId: Type.String(),
  displayName: Type.String(),
  since: Type.String({ format: 'date-time', description: 'When the request was sent, the friendship began or the block was set, ISO 8601 UTC' }),
});
export const FriendRequestBody = Type.Object({ user: UserId }, { additionalProperties: false });
export const FriendRequestAnswer = Type.Object({
  ...Person.properties,
  status: literals(['pending', 'friends'] as const, 'pending, or friends when the other had asked you already'),
});

const json = (description: string, schema: TSchema, status?: 201) => ({
  description,
  contentType: JSON_TYPE,
  schema,
  ...(status ? { status } : {}),
});
const deleted = { description: 'Done', contentType: JSON_TYPE, status: 204 } as const;
const groupOp = (scope: 'gym:read' | 'me:write') => ({ roles: MEMBERS, scope, gym: { resource: 'group' } }) as const;
const selfOp = (scope: 'me:read' | 'me:write') => ({ roles: MEMBERS, scope, gym: 'self' }) as const;

export const SOCIAL_OPERATIONS = {
  listGroups: {
    operationId: 'listGroups',
    path: `${API_PREFIX}/groups`,
    tag: 'groups',
    summary: "A gym's clubs and teams, by name",
    access: { roles: MEMBERS, scope: 'gym:read', gym: 'query' },
    query: GroupsQuery,
    response: json('A page of groups', pageSchema(Group, 'Groups by name')),
    problems: ['invalid_parameter', 'unavailable'],
  },
  createGroup: {
    operationId: 'createGroup',
    method: 'post',
    path: `${API_PREFIX}/groups`,
    tag: 'groups',
    summary: 'Creates a club (any member of the gym) or a team (coaches and gym admins); the caller becomes its owner',
    access: { roles: MEMBERS, scope: 'me:write', gym: 'body' },
    body: GroupBody,
    response: json('The new group', Group, 201),
    problems: ['invalid_parameter', 'conflict', 'unavailable'],
  },
  getGroup: {
    operationId: 'getGroup',
    path: `${API_PREFIX}/groups/:id`,
    tag: 'groups',
    summary: 'A group, with the caller’s role in it',
    access: groupOp('gym:read'),
    params: GroupPath,
    response: json('The group', Group),
    problems: ['invalid_parameter', 'not_found', 'unavailable'],
  },
  patchGroup: {
    operationId: 'patchGroup',
    method: 'patch',
    path: `${API_PREFIX}/groups/:id`,
    tag: 'groups',
    summary: 'Changes a group (its owners and admins, or a gym admin); making it a team needs a coach or gym admin',
    access: groupOp('me:write'),
    params: GroupPath,
    body: GroupPatchBody,
    response: json('The saved group', Group),
    problems: ['invalid_parameter', 'not_found', 'conflict', 'unavailable'],
  },
  deleteGroup: {
    operationId: 'deleteGroup',
    method: 'delete',
    path: `${API_PREFIX}/groups/:id`,
    tag: 'groups',
    summary: 'Deletes a group and its memberships (its owners and admins, or a gym admin)',
    access: groupOp('me:write'),
    params: GroupPath,
    response: deleted,
    problems: ['invalid_parameter', 'not_found', 'unavailable'],
  },
  listGroupMembers: {
    operationId: 'listGroupMembers',
    path: `${API_PREFIX}/groups/:id/members`,
    tag: 'groups',
    summary: "A group's members with their roles; people who blocked the caller are left out",
    access: groupOp('gym:read'),
    params: GroupPath,
    query: PageQuery,
    response: json('A page of members', pageSchema(GroupMember, 'Members by user id')),
    problems: ['invalid_parameter', 'not_found', 'unavailable'],
  },
  joinGroup: {
    operationId: 'joinGroup',
    method: 'post',
    path: `${API_PREFIX}/groups/:id/join`,
    tag: 'groups',
    summary: 'Joins an open group of a gym where the caller holds a role; joining again changes nothing',
    access: groupOp('me:write'),
    params: GroupPath,
    response: json('The caller’s membership', GroupMember),
    problems: ['invalid_parameter', 'not_found', 'conflict', 'unavailable'],
  },
  leaveGroup: {
    operationId: 'leaveGroup',
    method: 'post',
    path: `${API_PREFIX}/groups/:id/leave`,
    tag: 'groups',
    summary: 'Leaves a group; its last owner must hand the role on first',
    access: groupOp('me:write'),
    params: GroupPath,
    response: deleted,
    problems: ['invalid_parameter', 'not_found', 'conflict', 'unavailable'],
  },
  putGroupMember: {
    operationId: 'putGroupMember',
    method: 'put',
    path: `${API_PREFIX}/groups/:id/members/:user`,
    tag: 'groups',
    summary: "Adds a member of the gym to the group or changes their role (the group's owners and admins, or the gym's staff)",
    description: 'Only an owner or the gym’s staff gives or takes the owner role; the last owner keeps it (409).',
    access: groupOp('me:write'),
    params: GroupMemberPath,
    body: GroupMemberBody,
    response: json('The membership', GroupMember),
    problems: ['invalid_parameter', 'not_found', 'conflict', 'unavailable'],
  },
  removeGroupMember: {
    operationId: 'removeGroupMember',
    method: 'delete',
    path: `${API_PREFIX}/groups/:id/members/:user`,
    tag: 'groups',
    summary: "Removes a member from the group (the group's owners and admins, or the gym's staff; anyone removes themselves)",
    access: groupOp('me:write'),
    params: GroupMemberPath,
    response: deleted,
    problems: ['invalid_parameter', 'not_found', 'conflict', 'unavailable'],
  },
  listMyGroups: {
    operationId: 'listMyGroups',
    path: `${API_PREFIX}/me/groups`,
    tag: 'groups',
    summary: 'The groups the caller belongs to, in every gym, with their role',
    access: selfOp('me:read'),
    query: PageQuery,
    response: json('A page of groups', pageSchema(MyGroup, 'Groups by id')),
    problems: ['invalid_parameter', 'unavailable'],
  },
  listFriends: {
    operationId: 'listFriends',
    path: `${API_PREFIX}/me/friends`,
    tag: 'friends',
    summary: "The caller's friends",
    access: selfOp('me:read'),
    query: PageQuery,
    response: json('A page of friends', pageSchema(Person, 'Friends by user id')),
    problems: ['invalid_parameter', 'unavailable'],
  },
  listIncomingFriendRequests: {
    operationId: 'listIncomingFriendRequests',
    path: `${API_PREFIX}/me/friends/requests/incoming`,
    tag: 'friends',
    summary: 'Friend requests others sent the caller, waiting for an answer',
    access: selfOp('me:read'),
    query: PageQuery,
    response: json('A page of people asking', pageSchema(Person, 'By user id')),
    problems: ['invalid_parameter', 'unavailable'],
  },
  listOutgoingFriendRequests: {
    operationId: 'listOutgoingFriendRequests',
    path: `${API_PREFIX}/me/friends/requests/outgoing`,
    tag: 'friends',
    summary: 'Friend requests the caller sent, not answered yet',
    access: selfOp('me:read'),
    query: PageQuery,
    response: json('A page of people asked', pageSchema(Person, 'By user id')),
    problems: ['invalid_parameter', 'unavailable'],
  },
  listBlocked: {
    operationId: 'listBlockedPeople',
    path: `${API_PREFIX}/me/friends/blocked`,
    tag: 'friends',
    summary: 'The people the caller blocked',
    access: selfOp('me:read'),
    query: PageQuery,
    response: json('A page of blocked people', pageSchema(Person, 'By user id')),
    problems: ['invalid_parameter', 'unavailable'],
  },
  sendFriendRequest: {
    operationId: 'sendFriendRequest',
    method: 'post',
    path: `${API_PREFIX}/me/friends/requests`,
    tag: 'friends',
    summary: 'Asks someone who shares a gym with the caller to be friends; if they had asked already, both are friends now',
    description:
      'Anyone who shares no gym with the caller, or who blocked the caller, is answered 404 like an unknown id, so other gyms’ people cannot be probed. Asking again, asking a friend or someone the caller blocked is a 409.',
    access: selfOp('me:write'),
    body: FriendRequestBody,
    response: json('The request, or the friendship', FriendRequestAnswer, 201),
    problems: ['invalid_parameter', 'not_found', 'conflict', 'unavailable'],
  },
  acceptFriendRequest: {
    operationId: 'acceptFriendRequest',
    method: 'post',
    path: `${API_PREFIX}/me/friends/requests/:user/accept`,
    tag: 'friends',
    summary: 'Accepts the friend request of :user',
    access: selfOp('me:write'),
    params: UserPath,
    response: json('The new friend', Person),
    problems: ['invalid_parameter', 'not_found', 'unavailable'],
  },
  declineFriendRequest: {
    operationId: 'declineFriendRequest',
    method: 'post',
    path: `${API_PREFIX}/me/friends/requests/:user/decline`,
    tag: 'friends',
    summary: 'Declines the friend request of :user (they may ask again; block them to stop that)',
    access: selfOp('me:write'),
    params: UserPath,
    response: deleted,
    problems: ['invalid_parameter', 'not_found', 'unavailable'],
  },
  cancelFriendRequest: {
    operationId: 'cancelFriendRequest',
    method: 'delete',
    path: `${API_PREFIX}/me/friends/requests/:user`,
    tag: 'friends',
    summary: 'Withdraws the friend request the caller sent to :user',
    access: selfOp('me:write'),
    params: UserPath,
    response: deleted,
    problems: ['invalid_parameter', 'not_found', 'unavailable'],
  },
  unfriend: {
    operationId: 'unfriend',
    method: 'delete',
    path: `${API_PREFIX}/me/friends/:user`,
    tag: 'friends',
    summary: 'Ends the friendship with :user',
    access: selfOp('me:write'),
    params: UserPath,
    response: deleted,
    problems: ['invalid_parameter', 'not_found', 'unavailable'],
  },
  blockPerson: {
    operationId: 'blockPerson',
    method: 'put',
    path: `${API_PREFIX}/me/friends/blocked/:user`,
    tag: 'friends',
    summary: 'Blocks :user: ends a friendship or request, they cannot ask again, see the caller’s results or find the caller in lists',
    access: selfOp('me:write'),
    params: UserPath,
    response: json('The blocked person', Person),
    problems: ['invalid_parameter', 'not_found', 'unavailable'],
  },
  unblockPerson: {
    operationId: 'unblockPerson',
    method: 'delete',
    path: `${API_PREFIX}/me/friends/blocked/:user`,
    tag: 'friends',
    summary: 'Lifts the caller’s block of :user (a block they set stays)',
    access: selfOp('me:write'),
    params: UserPath,
    response: deleted,
    problems: ['invalid_parameter', 'not_found', 'unavailable'],
  },
} as const satisfies Record<string, Operation>;
