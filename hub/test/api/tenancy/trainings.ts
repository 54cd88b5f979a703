/** Tenancy cases of trainings-operations.ts. */
import type { TRAININGS_OPERATIONS } from '../../../src/api/trainings-operations.ts';
import type { FeatureTenancy } from './tenancy-case.ts';

export const trainingsTenancy: FeatureTenancy<keyof typeof TRAININGS_OPERATIONS> = {
  cases: {},
};
