/**
 * The hub's own access tokens, verified with fast-jwt: it checks signatures with node:crypto synchronously,
 * where jose (kept for the federated issuers) goes through WebCrypto, async with a thread-pool hop per
 * signature; on one core that is about twice the verifications per second (figures in docs/architecture.md).
 *
 * fast-jwt checks the algorithm against the key, the signature and `typ`; the claims are checked here, by jose's
 * rules so both kinds of issuer refuse alike, against the verifier's clock: fast-jwt takes its clock only when a
 * verifier is made, and a verifier is made once per key and key-set load, not per token.
 */
import type { KeyObject } from 'node:crypto';
import { TokenError, createVerifier } from 'fast-jwt';
import type { JWTPayload } from 'jose';
import type { AsymmetricAlgorithm } from './config.ts';
import type { OwnKey } from './keys.ts';
import { TokenRefused, quoted, type TokenRefusedReason } from './refusal.ts';

/** fast-jwt knows `EdDSA`, not its fully-specified name `Ed25519` (RFC 9864); the hub signs with RS256. */
export type OwnAlgorithm = Exclude<AsymmetricAlgorithm, 'Ed25519'>;

export interface Claims extends JWTPayload {
  scope?: unknown;
  client_id?: unknown;
}

export interface OwnTokenRules {
  issuer: string;
  audience: string;
  algorithms: readonly OwnAlgorithm[];
  typ: string;
  clockToleranceSeconds: number;
}

interface KeyCheck {
  /** The token algorithms this key may verify: the allowlist narrowed to the key's type, curve and `alg`. */
  algorithms: readonly string[];
  /** None when the key fits no accepted algorithm (fast-jwt refuses to make a verifier for it). */
  verify: ((token: string) => unknown) | undefined;
}

export class OwnTokens {
  /** Keyed by the key object of one key-set load, so a reload makes new verifiers and the old ones go. */
  private readonly checks = new WeakMap<OwnKey, KeyCheck>();

  constructor(private readonly rules: OwnTokenRules) {}

  /** The claims of `token`, whose header names `alg` and `key`; TokenRefused unless every check passes. */
  verify(token: string, alg: string, key: OwnKey, nowMs: number): Claims {
    const check = this.checkFor(key);
    // As jose's key selection: a key of another type or curve, or published for another alg, is not the token's key.
    if (check.verify === undefined || !check.algorithms.includes(alg)) throw new TokenRefused('unknown_kid', `no key of the hub has kid ${quoted(key.kid)} for ${quoted(alg)}`);
    let payload: unknown;
    try {
      payload = check.verify(token);
    } catch (err) {
      // fast-jwt says invalid signature for one that is not even base64url; jose (and the reasons' meaning) says malformed.
      if (!BASE64URL.test(token.slice(token.lastIndexOf('.') + 1))) throw new TokenRefused('malformed', 'the token signature is not base64url', { cause: err });
      throw refusal(err);
    }
    return checkedClaims(payload as Claims, this.rules, nowMs);
  }

  private checkFor(key: OwnKey): KeyCheck {
    let check = this.checks.get(key);
    if (check === undefined) {
      const algorithms = this.rules.algorithms.filter((alg) => fits(alg, key));
      check = {
        algorithms,
        verify:
          algorithms.length === 0
            ? undefined
            : createVerifier({
                // fast-jwt takes PEM; it imports it once, here.
                key: key.publicKey.export({ type: 'spki', format: 'pem' }) as string,
                algorithms: [...algorithms],
                checkTyp: this.rules.typ,
                // Checked in checkedClaims against the verifier's clock (see the top of this file).
                ignoreExpiration: true,
                ignoreNotBefore: true,
              }),
      };
      this.checks.set(key, check);
    }
    return check;
  }
}

const CURVES: Partial<Record<OwnAlgorithm, string>> = { ES256: 'prime256v1', ES384: 'secp384r1', ES512: 'secp521r1' };

/** Whether `alg` may be verified with `key`: jose's rules for choosing a key from a JWKS, and its RSA size floor. */
function fits(alg: OwnAlgorithm, { jwk, publicKey }: OwnKey): boolean {
  if (jwk.alg !== undefined && jwk.alg !== alg) return false;
  if (jwk.use !== undefined && jwk.use !== 'sig') return false;
  if (Array.isArray(jwk.key_ops) && !jwk.key_ops.includes('verify')) return false;
  return keyTypeFits(alg, publicKey);
}

function keyTypeFits(alg: OwnAlgorithm, publicKey: KeyObject): boolean {
  const details = publicKey.asymmetricKeyDetails;
  switch (alg.slice(0, 2)) {
    case 'RS':
    case 'PS':
      return publicKey.asymmetricKeyType === 'rsa' && (details?.modulusLength ?? 0) >= 2048;
    case 'ES':
      return publicKey.asymmetricKeyType === 'ec' && details?.namedCurve === CURVES[alg];
    default:
      return alg === 'EdDSA' && (publicKey.asymmetricKeyType === 'ed25519' || publicKey.asymmetricKeyType === 'ed448');
  }
}

/** jose's claim checks for the hub's tokens (required sub, exp, iss, aud; iss, aud; iat, nbf, exp with the tolerance). */
function checkedClaims(claims: Claims, rules: OwnTokenRules, nowMs: number): Claims {
  const refuse = (reason: TokenRefusedReason, message: string): never => {
    throw new TokenRefused(reason, `the token was refused: ${message}`);
  };
  for (const [claim, reason] of [
    ['sub', 'malformed'],
    ['exp', 'malformed'],
    ['iss', 'wrong_issuer'],
    ['aud', 'wrong_audience'],
  ] as const) {
    if (!(claim in claims)) refuse(reason, `missing required "${claim}" claim`);
  }
  if (claims.iss !== rules.issuer) refuse('wrong_issuer', 'unexpected "iss" claim value');
  const audiences: unknown[] = typeof claims.aud === 'string' ? [claims.aud] : Array.isArray(claims.aud) ? claims.aud : [];
  if (!audiences.includes(rules.audience)) refuse('wrong_audience', 'unexpected "aud" claim value');
  for (const claim of ['iat', 'nbf', 'exp'] as const) {
    if (claims[claim] !== undefined && typeof claims[claim] !== 'number') refuse('malformed', `"${claim}" claim must be a number`);
  }
  const now = Math.floor(nowMs / 1000);
  const tolerance = rules.clockToleranceSeconds;
  if (claims.nbf !== undefined && claims.nbf > now + tolerance) refuse('not_yet_valid', '"nbf" claim timestamp check failed');
  if ((claims.exp as number) <= now - tolerance) throw new TokenRefused('expired', 'the token has expired');
  if (typeof claims.sub !== 'string' || claims.sub === '') refuse('malformed', 'the "sub" claim is empty');
  return claims;
}

const BASE64URL = /^[A-Za-z0-9_-]*$/;

const REASONS: Record<string, TokenRefusedReason> = {
  [TokenError.codes.invalidSignature]: 'bad_signature',
  [TokenError.codes.missingSignature]: 'bad_signature',
  [TokenError.codes.verifyError]: 'bad_signature',
  [TokenError.codes.invalidAlgorithm]: 'alg_not_allowed',
  // As jose's JOSENotSupported for federated tokens: an extension not understood is refused like an algorithm not accepted.
  [TokenError.codes.invalidCritHeader]: 'alg_not_allowed',
  [TokenError.codes.invalidType]: 'wrong_type',
  [TokenError.codes.expired]: 'expired',
  [TokenError.codes.inactive]: 'not_yet_valid',
};

/** fast-jwt's error, as the reason the API logs; anything else about the token (bad JSON, bad base64url) is malformed. */
function refusal(err: unknown): TokenRefused {
  if (err instanceof TokenRefused) return err;
  const reason = err instanceof TokenError ? (REASONS[err.code] ?? 'malformed') : 'malformed';
  return new TokenRefused(reason, `the token was refused: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
}
