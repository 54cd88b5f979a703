/**
 * The TOTP second factor (RFC 6238) on top of the identity port: enrolment with a QR code, confirmation by a
 * first code (which hands out the recovery codes), verification with the replay rule, and recovery codes.
 *
 * Secrets and codes never reach the audit log or a message: events say what happened, to whom, and why it failed.
 */
import { createHash, randomBytes } from 'node:crypto';
import { PulsebridgeError } from '@pulsebridge/runtime';
import * as OTPAuth from 'otpauth';
import QRCode from 'qrcode';
import type { IdentityStore, User } from './identity-store.ts';

/** What every authenticator app assumes when the otpauth URI says nothing else (Google Authenticator ignores other values). */
export const TOTP_SETTINGS = Object.freeze({ algorithm: 'SHA1', digits: 6, period: 30 });
/** Steps accepted on either side of the current one, for clock drift and a code typed as it turned over. */
export const TOTP_WINDOW = 1;
/** 20 bytes = 160 bits, the HMAC-SHA-1 key size RFC 4226 recommends. */
const SECRET_BYTES = 20;
export const RECOVERY_CODE_COUNT = 10;

export type SecondFactorErrorCode = 'totp_already_enrolled';

export interface TotpEnrolment {
  /** Base32, for typing into an app that cannot scan. */
  secret: string;
  otpauthUri: string;
  /** An inline SVG document of the URI's QR code, with no external resources. */
  qrSvg: string;
}

function totpFor(secret: string, label = 'account', issuer = ''): OTPAuth.TOTP {
  return new OTPAuth.TOTP({ issuer, label, secret: OTPAuth.Secret.fromBase32(secret), ...TOTP_SETTINGS });
}

/**
 * Starts (or restarts) an enrolment: a fresh secret, stored as an unconfirmed factor, and what the page shows.
 * Refused while the user has a confirmed factor: replacing it here would leave the account without a working
 * second factor until the new one is confirmed; removeTotpFactor() comes first.
 */
export async function beginTotpEnrolment(store: IdentityStore, user: Pick<User, 'id' | 'email'>, issuerLabel: string): Promise<TotpEnrolment> {
  if (await hasConfirmedTotp(store, user.id)) {
    throw new PulsebridgeError<SecondFactorErrorCode>('totp_already_enrolled', 'the user has a confirmed TOTP factor already; remove it before enrolling a new one');
  }
  const secret = new OTPAuth.Secret({ size: SECRET_BYTES }).base32;
  await store.setTotp(user.id, secret);
  await store.appendAudit({ type: 'totp.enrolment_started', actorUserId: user.id });
  return totpEnrolmentView(secret, user.email, issuerLabel);
}

/** What an enrolment page shows for a secret already stored: a page shown again keeps the secret the app scanned. */
export async function totpEnrolmentView(secret: string, email: string, issuerLabel: string): Promise<TotpEnrolment> {
  const otpauthUri = totpFor(secret, email, issuerLabel).toString();
  const qrSvg = await QRCode.toString(otpauthUri, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
  return { secret, otpauthUri, qrSvg };
}

/** The time step `code` belongs to within the window around `now`, or undefined when it matches none. */
function matchingStep(secret: string, code: string, now: number): number | undefined {
  const token = code.replace(/\s+/g, '');
  if (!/^\d{6}$/.test(token)) return undefined;
  const delta = totpFor(secret).validate({ token, timestamp: now, window: TOTP_WINDOW });
  return delta === null ? undefined : OTPAuth.TOTP.counter({ period: TOTP_SETTINGS.period, timestamp: now }) + delta;
}

/**
 * Checks `code` against the factor and records its step, so it cannot be used again: the reason it was
 * refused, or undefined when it was accepted.
 */
async function acceptCode(store: IdentityStore, userId: string, secret: string, code: string, now: number): Promise<'wrong_code' | 'replayed' | undefined> {
  const step = matchingStep(secret, code, now);
  if (step === undefined) return 'wrong_code';
  return (await store.useTotpStep(userId, step)) ? undefined : 'replayed';
}

/**
 * Confirms the unconfirmed factor with a first code from the app. Returns the recovery codes (shown once,
 * stored only as hashes), or false when the code is wrong, reused, or there is no unconfirmed factor.
 */
export async function confirmTotpEnrolment(store: IdentityStore, userId: string, code: string, now: number): Promise<string[] | false> {
  const factor = await store.getTotp(userId);
  if (!factor || factor.confirmed) {
    await store.appendAudit({ type: 'totp.failed', actorUserId: userId, detail: { during: 'enrolment', reason: factor ? 'already_confirmed' : 'no_factor' } });
    return false;
  }
  const refused = await acceptCode(store, userId, factor.secret, code, now);
  if (refused) {
    await store.appendAudit({ type: 'totp.failed', actorUserId: userId, detail: { during: 'enrolment', reason: refused } });
    return false;
  }
  const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newRecoveryCode);
  // Codes before confirmation: a confirmed factor without recovery codes would lock out a user who loses the phone.
  await store.replaceRecoveryCodes(userId, codes.map(hashRecoveryCode));
  await store.confirmTotp(userId);
  await store.appendAudit({ type: 'totp.enrolled', actorUserId: userId, detail: { recoveryCodes: codes.length } });
  return codes;
}

/**
 * Whether `code` is a valid code of the user's confirmed factor for a step around `now` that is newer than the
 * last one accepted. A code is accepted once: again within its step (or an older one) it is a replay.
 */
export async function verifyTotp(store: IdentityStore, userId: string, code: string, now: number): Promise<boolean> {
  const factor = await store.getTotp(userId);
  const refused = factor?.confirmed ? await acceptCode(store, userId, factor.secret, code, now) : 'no_factor';
  if (refused) await store.appendAudit({ type: 'totp.failed', actorUserId: userId, detail: { during: 'sign_in', reason: refused } });
  return refused === undefined;
}

export async function hasConfirmedTotp(store: IdentityStore, userId: string): Promise<boolean> {
  return (await store.getTotp(userId))?.confirmed === true;
}

/** Removes the factor and its recovery codes; `actorUserId` is who did it (the user, or an admin). False when there was none. */
export async function removeTotpFactor(store: IdentityStore, userId: string, actorUserId: string = userId): Promise<boolean> {
  const removed = await store.removeTotp(userId);
  if (removed) await store.appendAudit({ type: 'totp.removed', actorUserId, detail: { userId } });
  return removed;
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** 8 base32 characters (40 random bits) shown as two groups of four, e.g. `K7QX-2MDA`. */
function newRecoveryCode(): string {
  let bits = 0n;
  for (const byte of randomBytes(5)) bits = (bits << 8n) | BigInt(byte);
  let chars = '';
  for (let i = 7; i >= 0; i--) chars += BASE32[Number((bits >> BigInt(i * 5)) & 31n)];
  return `${chars.slice(0, 4)}-${chars.slice(4)}`;
}

/** Case, spaces and the dash do not matter when a code is typed back; undefined when it cannot be a recovery code. */
function normaliseRecoveryCode(code: string): string | undefined {
  const chars = typeof code === 'string' ? code.toUpperCase().replace(/[\s-]+/g, '') : '';
  return /^[A-Z2-7]{8}$/.test(chars) ? chars : undefined;
}

function hashRecoveryCode(code: string): string {
  return createHash('sha256').update(normaliseRecoveryCode(code)!).digest('hex');
}

/** Consumes one of the user's recovery codes (in place of a TOTP code); false when it is wrong or used already. */
export async function useRecoveryCode(store: IdentityStore, userId: string, code: string): Promise<boolean> {
  const normalised = normaliseRecoveryCode(code);
  const used = normalised !== undefined && (await store.useRecoveryCode(userId, hashRecoveryCode(normalised)));
  if (used) {
    await store.appendAudit({ type: 'recovery_code.used', actorUserId: userId, detail: { remaining: await store.countRecoveryCodes(userId) } });
  } else {
    await store.appendAudit({ type: 'recovery_code.failed', actorUserId: userId });
  }
  return used;
}
