/** The operations table of gyms: their settings, and their members with their roles. */
import { Type } from '@sinclair/typebox';
import { ADMINS, MEMBERS, STAFF } from './access.ts';
import { API_PREFIX, JSON_TYPE, type Operation } from './operation.ts';
import { pageSchema, PageQueryFields } from './pages.ts';
import { GymParam } from './schemas.ts';

const GRANTABLE_ROLES = ['athlete', 'coach', 'gym_admin'] as const;
export const GrantableRole = Type.Union(
  GRANTABLE_ROLES.map((role) => Type.Literal(role)),
  { description: 'athlete, coach or gym_admin' },
);

export const GymPath = Type.Object({ gym: GymParam }, { additionalProperties: false });
export const MemberRolePath = Type.Object(
  { gym: GymParam, user: Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_-]+$' }), role: GrantableRole },
  { additionalProperties: false },
);

export const Gym = Type.Object({
  id: Type.String(),
  name: Type.String(),
  timeZone: Type.String({ description: 'IANA time zone in which class schedules recur' }),
  configured: Type.Boolean({ description: "False until the gym's admin saved its settings; the defaults (UTC) apply meanwhile" }),
  roles: Type.Optional(Type.Array(Type.String(), { description: 'The caller’s roles in the gym (in lists)' })),
});

export const GymBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 128 }),
    timeZone: Type.String({ minLength: 1, maxLength: 64, description: 'IANA time zone, e.g. Europe/Berlin' }),
  },
  { additionalProperties: false },
);

export const Member = Type.Object({
  userId: Type.String(),
  displayName: Type.String(),
  email: Type.String(),
  roles: Type.Array(Type.String()),
});

export const MembersQuery = Type.Object({ ...PageQueryFields, role: Type.Optional(GrantableRole) }, { additionalProperties: false });

export const GYMS_OPERATIONS = {
  listGyms: {
    operationId: 'listGyms',
    path: `${API_PREFIX}/gyms`,
    tag: 'gyms',
    summary: 'The gyms where the caller holds a role, with those roles (a platform admin: every gym with settings)',
    access: { roles: MEMBERS, scope: 'gym:read', gym: 'self' },
    response: { description: 'The gyms', contentType: JSON_TYPE, schema: Type.Object({ items: Type.Array(Gym) }) },
    problems: ['unavailable'],
  },
  getGym: {
    operationId: 'getGym',
    path: `${API_PREFIX}/gyms/:gym`,
    tag: 'gyms',
    summary: "A gym's settings",
    access: { roles: MEMBERS, scope: 'gym:read', gym: 'path' },
    params: GymPath,
    response: { description: 'The gym', contentType: JSON_TYPE, schema: Gym },
    problems: ['invalid_parameter', 'unavailable'],
  },
  putGym: {
    operationId: 'putGym',
    method: 'put',
    path: `${API_PREFIX}/gyms/:gym`,
    tag: 'gyms',
    summary: "Saves a gym's settings: its name and the time zone its classes recur in",
    description:
      'A platform admin creates a gym this way; its admins then change it. Changing the time zone moves future class occurrences to the same local times in the new zone.',
    access: { roles: ADMINS, scope: 'gym:write', gym: 'path' },
    params: GymPath,
    body: GymBody,
    response: { description: 'The saved gym', contentType: JSON_TYPE, schema: Gym },
    problems: ['invalid_parameter', 'unavailable'],
  },
  listMembers: {
    operationId: 'listGymMembers',
    path: `${API_PREFIX}/gyms/:gym/members`,
    tag: 'members',
    summary: "A gym's members with their roles, by name",
    access: { roles: STAFF, scope: 'gym:read', gym: 'path' },
    params: GymPath,
    query: MembersQuery,
    response: { description: 'A page of members', contentType: JSON_TYPE, schema: pageSchema(Member, 'Members by display name') },
    problems: ['invalid_parameter', 'unavailable'],
  },
  grantRole: {
    operationId: 'grantGymRole',
    method: 'put',
    path: `${API_PREFIX}/gyms/:gym/members/:user/roles/:role`,
    tag: 'members',
    summary: 'Gives a member of the gym (or any existing account) a role in it; giving a role held already changes nothing',
    access: { roles: ADMINS, scope: 'members:write', gym: 'path' },
    params: MemberRolePath,
    response: { description: 'The member with their roles', contentType: JSON_TYPE, schema: Member },
    problems: ['invalid_parameter', 'not_found', 'unavailable'],
  },
  revokeRole: {
    operationId: 'revokeGymRole',
    method: 'delete',
    path: `${API_PREFIX}/gyms/:gym/members/:user/roles/:role`,
    tag: 'members',
    summary: 'Takes a role in the gym from a member; a gym keeps at least one admin',
    access: { roles: ADMINS, scope: 'members:write', gym: 'path' },
    params: MemberRolePath,
    response: { description: 'The member with the roles left', contentType: JSON_TYPE, schema: Member },
    problems: ['invalid_parameter', 'not_found', 'conflict', 'unavailable'],
  },
} as const satisfies Record<string, Operation>;
