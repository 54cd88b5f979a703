/**
 * Password hashing: argon2id (node-argon2) at one documented parameter set, verification that never throws on
 * a bad stored string, and the upgrade of a hash made with older parameters at the next successful sign-in.
 */
import { PulsebridgeError } from '@pulsebridge/runtime';
import argon2 from 'argon2';
import type { IdentityStore } from './identity-store.ts';

/**
 * The current argon2id parameters. OWASP's minimum for argon2id (Password Storage Cheat Sheet): 19 MiB, 2
 * passes, 1 lane. Stronger sets were measured on the 2-core hub machine and left out: m=64 MiB, t=2 takes
 * about 145 ms per hash (200 ms under load), which would eat most of the 300 ms p99 sign-in target, while this
 * one takes about 40 ms. One lane because a hub serves many sign-ins at once: more lanes only move the same
 * work onto cores other requests need. `version` goes into the stored credential's `paramsVersion`; raise it
 * together with any change below. The encoded PHC string carries its own m/t/p, and those decide an upgrade.
 */
export const PASSWORD_PARAMS = Object.freeze({
  version: 1,
  memoryCost: 19 * 1024,
  timeCost: 2,
  parallelism: 1,
});

/** Counted in Unicode code points, so a passphrase in any script gets the same allowance. */
export const MIN_PASSWORD_LENGTH = 10;
/** So nobody can make the hub hash megabytes; a passphrase of many words still fits. */
export const MAX_PASSWORD_LENGTH = 256;

export type PasswordRuleCode = 'password_too_short' | 'password_too_long';

function codePoints(plain: string): number {
  let count = 0;
  for (const _ of plain) count++;
  return count;
}

/** Throws a `PulsebridgeError` with a `PasswordRuleCode` when `plain` may not become a password. */
export function checkNewPassword(plain: string): void {
  const length = codePoints(plain);
  if (length < MIN_PASSWORD_LENGTH) {
    throw new PulsebridgeError<PasswordRuleCode>('password_too_short', `a password must be at least ${MIN_PASSWORD_LENGTH} characters long (this one has ${length})`);
  }
  if (length > MAX_PASSWORD_LENGTH) {
    throw new PulsebridgeError<PasswordRuleCode>('password_too_long', `a password must be at most ${MAX_PASSWORD_LENGTH} characters long (this one has ${length})`);
  }
}

/** The encoded PHC string of `plain` at the current parameters, after the password rules. */
export async function hashPassword(plain: string): Promise<string> {
  checkNewPassword(plain);
  return hashAtCurrentParams(plain);
}

function hashAtCurrentParams(plain: string): Promise<string> {
  return argon2.hash(plain, {
    type: argon2.argon2id,
    memoryCost: PASSWORD_PARAMS.memoryCost,
    timeCost: PASSWORD_PARAMS.timeCost,
    parallelism: PASSWORD_PARAMS.parallelism,
  });
}

/**
 * Whether `plain` matches `encoded` (compared in constant time by the library). False, never an exception, for
 * anything that is not an argon2id PHC string or for a candidate longer than any password could be, which is
 * refused before it is hashed. Passwords shorter than today's minimum still verify: an older rule made them.
 */
export async function verifyPassword(encoded: string, plain: string): Promise<boolean> {
  if (typeof encoded !== 'string' || typeof plain !== 'string') return false;
  if (!encoded.startsWith('$argon2id$') || codePoints(plain) > MAX_PASSWORD_LENGTH) return false;
  try {
    return await argon2.verify(encoded, plain);
  } catch {
    // A stored string the library cannot parse (truncated, bad base64, bad parameters) matches no password.
    return false;
  }
}

/** Whether `encoded` was made with other parameters (or another algorithm) than the current ones. */
export function needsUpgrade(encoded: string): boolean {
  if (!encoded.startsWith('$argon2id$')) return true;
  try {
    return argon2.needsRehash(encoded, {
      memoryCost: PASSWORD_PARAMS.memoryCost,
      timeCost: PASSWORD_PARAMS.timeCost,
      parallelism: PASSWORD_PARAMS.parallelism,
    });
  } catch {
    return true;
  }
}

let dummyHash: Promise<string> | undefined;

/**
 * Checks `plain` against the user's stored password and, when it is right and the stored hash was made with
 * older parameters, stores a new hash at the current ones. Returns whether the password was right. A user with
 * no password costs one verification all the same, so the time taken does not tell which accounts exist. Store
 * errors (reading, or writing the upgrade) are passed on.
 */
export async function verifyAndUpgrade(store: IdentityStore, userId: string, plain: string): Promise<boolean> {
  const credential = await store.getPassword(userId);
  if (credential === undefined) {
    dummyHash ??= hashPassword('not-a-password-of-anyone');
    await verifyPassword(await dummyHash, plain);
    return false;
  }
  if (!(await verifyPassword(credential.hash, plain))) return false;
  if (needsUpgrade(credential.hash)) {
    // Hashed without the new-password rules: a password set under an older, shorter minimum stays valid.
    await store.setPassword(userId, { hash: await hashAtCurrentParams(plain), paramsVersion: PASSWORD_PARAMS.version });
  }
  return true;
}
