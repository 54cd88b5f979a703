/** Tenancy cases of gyms-operations.ts. */
import type { GYMS_OPERATIONS } from '../../../src/api/gyms-operations.ts';
import { GYMS } from '../../../src/domain/gyms.ts';
import { GYM_A, GYM_B, type FeatureTenancy } from './tenancy-case.ts';

export const gymsTenancy: FeatureTenancy<keyof typeof GYMS_OPERATIONS> = {
  cases: {
    listGyms: { attempts: [{ path: '/api/v1/gyms', targetsA: false }] },
    getGym: { attempts: [{ path: `/api/v1/gyms/${GYM_A}`, targetsA: true }] },
    putGym: { attempts: [{ method: 'PUT', path: `/api/v1/gyms/${GYM_A}`, body: { name: 'Taken over', timeZone: 'UTC' }, targetsA: true }] },
    listMembers: { attempts: [{ path: `/api/v1/gyms/${GYM_A}/members`, targetsA: true }] },
    grantRole: { attempts: [{ method: 'PUT', path: `/api/v1/gyms/${GYM_A}/members/USER_B_ATHLETE/roles/gym_admin`, targetsA: true }] },
    revokeRole: { attempts: [{ method: 'DELETE', path: `/api/v1/gyms/${GYM_A}/members/USER_A_GYM_ADMIN/roles/gym_admin`, targetsA: true }] },
  },
  async seed({ domain }) {
    const at = Date.UTC(2026, 0, 1);
    for (const [id, name] of [
      [GYM_A, 'Riverside Strength of A'],
      [GYM_B, 'Hilltop Cycling'],
    ]) {
      await domain.documents.collection(GYMS).insert({ id: id!, name: name!, timeZone: 'Europe/Berlin', createdAt: at, updatedAt: at });
    }
    return ['Riverside Strength of A', 'a-athlete@example.org'];
  },
  async stateOfA({ domain, accounts }) {
    const memberships = await domain.identity.listMembershipsOfGym(GYM_A);
    return { gym: await domain.documents.collection(GYMS).get(GYM_A), memberships: memberships.map((m) => `${m.userId}:${m.role}`).sort(), admin: accounts[GYM_A].gym_admin };
  },
};
