/** Tenancy cases of profile-operations.ts: a profile is only ever the caller's own. */
import type { PROFILE_OPERATIONS } from '../../../src/api/profile-operations.ts';
import { GYM_A, type FeatureTenancy } from './tenancy-case.ts';

export const profileTenancy: FeatureTenancy<keyof typeof PROFILE_OPERATIONS> = {
  cases: {
    getMyProfile: { attempts: [{ path: '/api/v1/me/profile', targetsA: false }] },
    putMyProfile: {
      attempts: [{ method: 'PUT', path: '/api/v1/me/profile', body: { displayName: 'Someone of B', resultsVisibility: 'gym', boardVisibility: 'name' }, targetsA: false }],
    },
  },
  async seed({ domain, accounts }) {
    await domain.identity.saveProfile(accounts[GYM_A].athlete, {
      birthDate: '1987-06-05',
      weightKg: 71.3,
      resultsVisibility: 'gym',
      boardVisibility: 'alias',
      boardAlias: 'Falcon of A',
    });
    return ['Falcon of A', '1987-06-05', '71.3'];
  },
  async stateOfA({ domain, accounts }) {
    return domain.identity.getProfile(accounts[GYM_A].athlete);
  },
};
