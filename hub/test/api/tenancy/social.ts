/** Tenancy cases of social-operations.ts. */
import type { SOCIAL_OPERATIONS } from '../../../src/api/social-operations.ts';
import type { FeatureTenancy } from './tenancy-case.ts';

export const socialTenancy: FeatureTenancy<keyof typeof SOCIAL_OPERATIONS> = {
  cases: {},
};
