/** Tenancy cases of classes-operations.ts. */
import type { CLASSES_OPERATIONS } from '../../../src/api/classes-operations.ts';
import type { FeatureTenancy } from './tenancy-case.ts';

export const classesTenancy: FeatureTenancy<keyof typeof CLASSES_OPERATIONS> = {
  cases: {},
};
