/** Tenancy cases of pairing-operations.ts. */
import type { PAIRING_OPERATIONS } from '../../../src/api/pairing-operations.ts';
import type { FeatureTenancy } from './tenancy-case.ts';

export const pairingTenancy: FeatureTenancy<keyof typeof PAIRING_OPERATIONS> = {
  cases: {},
};
