/** Tenancy cases of equipment-operations.ts. */
import type { EQUIPMENT_OPERATIONS } from '../../../src/api/equipment-operations.ts';
import type { FeatureTenancy } from './tenancy-case.ts';

export const equipmentTenancy: FeatureTenancy<keyof typeof EQUIPMENT_OPERATIONS> = {
  cases: {},
};
