/** Tenancy cases of social-operations.ts. */
import type { SOCIAL_OPERATIONS } from '../../../src/api/social-operations.ts';
import { FRIENDSHIPS, GROUP_MEMBERS, GROUPS, groupMemberId, pairOf } from '../../../src/domain/social/collections.ts';
import { GYM_A, GYM_B, type FeatureTenancy } from './tenancy-case.ts';

const A_GROUP = 'group-of-a';
const B_GROUP = 'group-of-b';
const A_NAME = 'Riverside Runners of A';
const A_PERSON = 'USER_A_ATHLETE';

export const socialTenancy: FeatureTenancy<keyof typeof SOCIAL_OPERATIONS> = {
  cases: {
    listGroups: {
      attempts: [
        { path: `/api/v1/groups?gym=${GYM_A}`, targetsA: true },
        { path: '/api/v1/groups', targetsA: false },
      ],
    },
    createGroup: { attempts: [{ method: 'POST', path: '/api/v1/groups', body: { gym: GYM_A, name: 'Taken over', kind: 'club' }, targetsA: true }] },
    getGroup: { attempts: [{ path: `/api/v1/groups/${A_GROUP}`, targetsA: true }] },
    patchGroup: { attempts: [{ method: 'PATCH', path: `/api/v1/groups/${A_GROUP}`, body: { name: 'Taken over' }, targetsA: true }] },
    deleteGroup: { attempts: [{ method: 'DELETE', path: `/api/v1/groups/${A_GROUP}`, targetsA: true }] },
    listGroupMembers: { attempts: [{ path: `/api/v1/groups/${A_GROUP}/members`, targetsA: true }] },
    joinGroup: { attempts: [{ method: 'POST', path: `/api/v1/groups/${A_GROUP}/join`, targetsA: true }] },
    leaveGroup: { attempts: [{ method: 'POST', path: `/api/v1/groups/${A_GROUP}/leave`, targetsA: true }] },
    putGroupMember: {
      attempts: [
        { method: 'PUT', path: `/api/v1/groups/${A_GROUP}/members/USER_B_ATHLETE`, body: { role: 'owner' }, targetsA: true },
        // B's own group, whose owner is every B role's to manage: A's people still cannot be put in it.
        { method: 'PUT', path: `/api/v1/groups/${B_GROUP}/members/${A_PERSON}`, body: { role: 'member' }, targetsA: true },
      ],
    },
    removeGroupMember: { attempts: [{ method: 'DELETE', path: `/api/v1/groups/${A_GROUP}/members/${A_PERSON}`, targetsA: true }] },
    listMyGroups: { attempts: [{ path: '/api/v1/me/groups', targetsA: false }] },
    listFriends: { attempts: [{ path: '/api/v1/me/friends', targetsA: false }] },
    listIncomingFriendRequests: { attempts: [{ path: '/api/v1/me/friends/requests/incoming', targetsA: false }] },
    listOutgoingFriendRequests: { attempts: [{ path: '/api/v1/me/friends/requests/outgoing', targetsA: false }] },
    listBlocked: { attempts: [{ path: '/api/v1/me/friends/blocked', targetsA: false }] },
    sendFriendRequest: { attempts: [{ method: 'POST', path: '/api/v1/me/friends/requests', body: { user: A_PERSON }, targetsA: true }] },
    acceptFriendRequest: { attempts: [{ method: 'POST', path: `/api/v1/me/friends/requests/${A_PERSON}/accept`, targetsA: true }] },
    declineFriendRequest: { attempts: [{ method: 'POST', path: `/api/v1/me/friends/requests/${A_PERSON}/decline`, targetsA: true }] },
    cancelFriendRequest: { attempts: [{ method: 'DELETE', path: `/api/v1/me/friends/requests/${A_PERSON}`, targetsA: true }] },
    unfriend: { attempts: [{ method: 'DELETE', path: `/api/v1/me/friends/${A_PERSON}`, targetsA: true }] },
    blockPerson: { attempts: [{ method: 'PUT', path: `/api/v1/me/friends/blocked/${A_PERSON}`, targetsA: true }] },
    unblockPerson: { attempts: [{ method: 'DELETE', path: `/api/v1/me/friends/blocked/${A_PERSON}`, targetsA: true }] },
  },
  async seed({ domain, accounts }) {
    const at = Date.UTC(2026, 0, 1);
    for (const [id, gym, name, owner] of [
      [A_GROUP, GYM_A, A_NAME, accounts[GYM_A].athlete],
      [B_GROUP, GYM_B, 'Hilltop Climbers', accounts[GYM_B].athlete],
    ] as const) {
      const group = {
        id,
        gym,
        name,
        kind: 'club' as const,
        description: '',
        visibility: 'open' as const,
        memberCount: 2,
        ownerCount: 1,
        createdBy: owner,
        createdAt: at,
        updatedAt: at,
      };
      await domain.documents.collection(GROUPS).insert(group);
      const staff = accounts[gym].coach;
      await domain.documents.collection(GROUP_MEMBERS).insert({ id: groupMemberId(id, owner), group: id, gym, user: owner, role: 'owner', joinedAt: at });
      await domain.documents.collection(GROUP_MEMBERS).insert({ id: groupMemberId(id, staff), group: id, gym, user: staff, role: 'member', joinedAt: at });
    }
    // Among A's people: a friendship, a request waiting, a block.
    const a = accounts[GYM_A];
    const friendships = domain.documents.collection(FRIENDSHIPS);
    await friendships.insert({ ...pairOf(a.athlete, a.coach), status: 'friends', by: a.athlete, mutual: false, since: at });
    await friendships.insert({ ...pairOf(a.athlete, a.gym_admin), status: 'pending', by: a.gym_admin, mutual: false, since: at });
    await friendships.insert({ ...pairOf(a.coach, a.gym_admin), status: 'blocked', by: a.coach, mutual: false, since: at });
    return [A_NAME, 'athlete of gym-a', 'coach of gym-a'];
  },
  async stateOfA({ domain, accounts }) {
    const people = Object.values(accounts[GYM_A]);
    const friendships = domain.documents.collection(FRIENDSHIPS);
    return {
      groups: await domain.documents.collection(GROUPS).find({ gym: GYM_A }),
      members: await domain.documents.collection(GROUP_MEMBERS).find({ gym: GYM_A }),
      ofB: await domain.documents.collection(GROUP_MEMBERS).find({ group: B_GROUP }),
      friendships: [...(await friendships.find({ low: { in: people } })), ...(await friendships.find({ high: { in: people } }))],
    };
  },
};
