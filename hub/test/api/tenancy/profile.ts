/** Tenancy cases of profile-operations.ts. */
import type { PROFILE_OPERATIONS } from '../../../src/api/profile-operations.ts';
import type { FeatureTenancy } from './tenancy-case.ts';

export const profileTenancy: FeatureTenancy<keyof typeof PROFILE_OPERATIONS> = {
  cases: {},
};
