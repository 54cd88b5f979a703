/**
 * The one error an access token is refused with. The API answers it with 401 and a Bearer challenge and logs
 * `reason`; neither the message nor the reason ever holds the token.
 */
import { PulsebridgeError } from '@pulsebridge/runtime';

export const TOKEN_REFUSED_REASONS = [
  /** Not a compact JWS with JSON header and claims, too long, or a required claim missing or of the wrong type. */
  'malformed',
  /** `alg` is `none`, symmetric, or not in the issuer's allowlist. */
  'alg_not_allowed',
  /** No `kid`, or no key of the issuer has it (after one throttled refresh of the key set). */
  'unknown_kid',
  'bad_signature',
  'expired',
  'not_yet_valid',
  /** Signed by one of the hub's keys but not with the hub's issuer. */
  'wrong_issuer',
  'wrong_audience',
  /** The `typ` header is not the one the issuer's access tokens carry (`at+jwt` for the hub's own). */
  'wrong_type',
  /** `iss` names no configured issuer. */
  'untrusted_issuer',
  /** No such user, or a federated subject no account can be made for (no email, email of an unlinked account). */
  'unknown_subject',
  'subject_disabled',
  /** The issuer's keys could not be fetched (discovery or JWKS unreachable or invalid): not the token's fault. */
  'issuer_unavailable',
] as const;
export type TokenRefusedReason = (typeof TOKEN_REFUSED_REASONS)[number];

export class TokenRefused extends PulsebridgeError<'token_refused'> {
  readonly reason: TokenRefusedReason;

  constructor(reason: TokenRefusedReason, message: string, options?: ErrorOptions) {
    super('token_refused', message, options);
    this.reason = reason;
  }
}

/** A value taken from an unverified token, fit for a message: quoted, so it cannot forge log lines, and bounded. */
export function quoted(value: unknown): string {
  const text = typeof value === 'string' ? value : String(value);
  return JSON.stringify(text.length > 120 ? `${text.slice(0, 120)}…` : text);
}
