/**
 * The document collections of social: groups (clubs and teams), their members, and friendships.
 *
 * A group member's and a friendship's id is made of the ids it joins (`group:user`, and the two user ids sorted
 * for a pair of people), so each exists once by construction, in both stores, without relying on a unique
 * index over two fields. A group counts its members and owners on its own document: a guarded update of that
 * count (`ownerCount > 1`) is what keeps a group's last owner in both stores, even under concurrent changes.
 */
import { Type } from '@sinclair/typebox';
import type { CollectionSpec } from '../../documents/document-store.ts';

export const GROUP_KINDS = ['club', 'team'] as const;
export type GroupKind = (typeof GROUP_KINDS)[number];
export const GROUP_VISIBILITIES = ['open', 'invite'] as const;
export const GROUP_ROLES = ['owner', 'admin', 'member'] as const;
export type GroupRole = (typeof GROUP_ROLES)[number];

const literals = <T extends string>(values: readonly T[]) => Type.Union(values.map((value) => Type.Literal(value)));

export const GROUPS = {
  name: 'groups',
  schema: Type.Object(
    {
      id: Type.String(),
      gym: Type.String(),
      name: Type.String(),
      kind: literals(GROUP_KINDS),
      description: Type.String(),
      visibility: literals(GROUP_VISIBILITIES),
      memberCount: Type.Integer({ minimum: 0 }),
      ownerCount: Type.Integer({ minimum: 0 }),
      createdBy: Type.String(),
      createdAt: Type.Integer(),
      updatedAt: Type.Integer(),
    },
    { additionalProperties: false },
  ),
  indexes: [
    { name: 'by_gym', fields: ['gym'] },
    { name: 'by_gym_name', fields: ['gym', 'name'], unique: true },
  ],
} as const satisfies CollectionSpec;

export const GROUP_MEMBERS = {
  name: 'group_members',
  schema: Type.Object(
    {
      /** groupMemberId(group, user) */
      id: Type.String(),
      group: Type.String(),
      gym: Type.String(),
      user: Type.String(),
      role: literals(GROUP_ROLES),
      joinedAt: Type.Integer(),
    },
    { additionalProperties: false },
  ),
  indexes: [
    { name: 'by_group', fields: ['group', 'user'] },
    { name: 'by_user', fields: ['user'] },
  ],
} as const satisfies CollectionSpec;

export const FRIENDSHIP_STATUSES = ['pending', 'friends', 'blocked'] as const;
export type FriendshipStatus = (typeof FRIENDSHIP_STATUSES)[number];

export const FRIENDSHIPS = {
  name: 'friendships',
  schema: Type.Object(
    {
      /** friendshipId(a, b): the two user ids sorted. */
      id: Type.String(),
      /** The smaller and the larger of the two user ids, to find a person's friendships on either side. */
      low: Type.String(),
      high: Type.String(),
      status: literals(FRIENDSHIP_STATUSES),
      /** pending: who asked; blocked: who blocked. */
      by: Type.String(),
      /** blocked: the other one blocked too (unblocking by one leaves the other's block). */
      mutual: Type.Boolean(),
      since: Type.Integer(),
    },
    { additionalProperties: false },
  ),
  indexes: [
    { name: 'by_low', fields: ['low', 'status'] },
    { name: 'by_high', fields: ['high', 'status'] },
  ],
} as const satisfies CollectionSpec;

export const SOCIAL_COLLECTIONS: readonly CollectionSpec[] = [GROUPS, GROUP_MEMBERS, FRIENDSHIPS];

export function groupMemberId(group: string, user: string): string {
  return `${group}:${user}`;
}

/** The one id of a pair of people, whoever asked first. */
export function friendshipId(a: string, b: string): string {
  return a < b ? `${a}:${b}` : `${b}:${a}`;
}

export function pairOf(a: string, b: string): { id: string; low: string; high: string } {
  return a < b ? { id: friendshipId(a, b), low: a, high: b } : { id: friendshipId(a, b), low: b, high: a };
}
