/**
 * One-time enrollment codes: short enough to read out over the phone, random enough that guessing one within
 * its few minutes of life is hopeless (10 characters of 32 are 50 bits; the enrollment endpoint is also rate
 * limited). Only a hash is stored; the code itself is the credential until it is redeemed.
 */
import { createHash, randomInt } from 'node:crypto';

/** No 0/O, 1/I: nothing a person copying the code by hand could confuse. */
export const ENROLLMENT_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
export const ENROLLMENT_CODE_CHARS = 10;
const GROUP = 5;

/** A code lives long enough to walk to the box and type it in, and not much longer. */
export const DEFAULT_ENROLLMENT_TTL_MS = 15 * 60_000;

export function newEnrollmentCode(): string {
  let code = '';
  for (let i = 0; i < ENROLLMENT_CODE_CHARS; i++) {
    if (i > 0 && i % GROUP === 0) code += '-';
    code += ENROLLMENT_ALPHABET[randomInt(ENROLLMENT_ALPHABET.length)];
  }
  return code;
}

/** The code as typed, without grouping or case; undefined when it cannot be a code at all. */
export function normalizeEnrollmentCode(typed: string): string | undefined {
  const compact = typed.replace(/[\s-]/g, '').toUpperCase();
  if (compact.length !== ENROLLMENT_CODE_CHARS) return undefined;
  for (const char of compact) if (!ENROLLMENT_ALPHABET.includes(char)) return undefined;
  return compact;
}

/**
 * A fast hash suffices: the code is random, single use and expires within minutes, so a copied table is of no
 * use for long, and lookups by hash stay a primary-key read.
 */
export function enrollmentCodeHash(normalized: string): string {
  return createHash('sha256').update(`pb-enroll:${normalized}`).digest('base64url');
}
