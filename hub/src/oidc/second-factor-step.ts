/**
 * The TOTP challenge after the password (hub/src/identity/second-factor.ts) as the sign-in pages' second step:
 * users with a confirmed factor type a 6-digit code, or one of their recovery codes when the phone is gone.
 */
import type { IdentityStore } from '../identity/identity-store.ts';
import { hasConfirmedTotp, useRecoveryCode, verifyTotp } from '../identity/second-factor.ts';
import type { SecondFactorStep } from './interactions.ts';

export function totpSecondFactor(store: IdentityStore): SecondFactorStep {
  return {
    required: (userId) => hasConfirmedTotp(store, userId),
    // Six digits is a TOTP code; anything else can only be a recovery code (8 base32 characters, dash optional).
    verify: (userId, code, now) => (/^\d{6}$/.test(code) ? verifyTotp(store, userId, code, now) : useRecoveryCode(store, userId, code)),
  };
}
