/** Tenancy cases of photos-operations.ts. */
import type { PHOTOS_OPERATIONS } from '../../../src/api/photos-operations.ts';
import type { FeatureTenancy } from './tenancy-case.ts';

export const photosTenancy: FeatureTenancy<keyof typeof PHOTOS_OPERATIONS> = {
  cases: {},
};
