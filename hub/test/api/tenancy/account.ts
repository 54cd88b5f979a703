/** Tenancy cases of account-operations.ts: an account is only ever the caller's own, and erasing needs its email. */
import type { ACCOUNT_OPERATIONS } from '../../../src/api/account-operations.ts';
import { GYM_A, type FeatureTenancy } from './tenancy-case.ts';

export const accountTenancy: FeatureTenancy<keyof typeof ACCOUNT_OPERATIONS> = {
  cases: {
    // Confirmed with gym A's athlete's email: refused as a confirmation that is not the caller's (400), and
    // nothing of A's athlete changes. (Erasing B's own account would end the matrix's B accounts.)
    deleteMyAccount: { attempts: [{ method: 'DELETE', path: '/api/v1/me', body: { confirm: 'a-athlete@example.org' }, targetsA: false, answers: [400] }] },
  },
  async stateOfA({ domain, accounts }) {
    return domain.identity.getUser(accounts[GYM_A].athlete);
  },
};
