/** The argument checks both identity adapters share, so they refuse the same input with the same error. */
import {
  IdentityStoreError,
  MAX_AUDIT_PAGE,
  ONE_TIME_TOKEN_KINDS,
  ROLES,
  type AuditQuery,
  type NewAuditEvent,
  type NewOneTimeToken,
  type NewUser,
  type OidcPayload,
  type OneTimeTokenKind,
  type Role,
} from './identity-store.ts';

const MAX_EMAIL_LENGTH = 254;
const MAX_TEXT_LENGTH = 200;
// Deliberately loose: one @, something on each side, no spaces. Whether the mailbox exists is for a confirmation mail.
const EMAIL_SHAPE = /^[^\s@]+@[^\s@]+$/;

function invalid(param: string, message: string): IdentityStoreError {
  return new IdentityStoreError('invalid_input', `${param}: ${message}`, { param });
}

export function checkText(param: string, value: unknown, maxLength = MAX_TEXT_LENGTH): string {
  if (typeof value !== 'string' || value.trim() === '') throw invalid(param, 'must be a non-empty string');
  if (value.length > maxLength) throw invalid(param, `must be at most ${maxLength} characters`);
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  if (/[\u0000-\u001f\u007f]/.test(value)) throw invalid(param, 'must not contain control characters');
  return value;
}

/** The email as kept (trimmed) and the key its uniqueness is checked on (lower case). */
export function checkEmail(value: unknown, param = 'email'): { email: string; key: string } {
  if (typeof value !== 'string' || value.trim() === '') throw invalid(param, 'must be a non-empty string');
  const email = value.trim();
  if (email.length > MAX_EMAIL_LENGTH || !EMAIL_SHAPE.test(email)) throw invalid(param, `'${email.slice(0, 60)}' is not an email address`);
  return { email, key: email.toLowerCase() };
}

export function checkNewUser(user: NewUser): { email: string; emailKey: string; displayName: string } {
  const { email, key } = checkEmail(user?.email);
  return { email, emailKey: key, displayName: checkText('displayName', user.displayName).trim() };
}

export function checkRole(value: unknown): Role {
  if (!(ROLES as readonly unknown[]).includes(value)) throw invalid('role', `must be one of ${ROLES.join(', ')}, not ${JSON.stringify(value)}`);
  return value as Role;
}

export function checkMembership(m: { userId: string; gym: string; role: Role }): { userId: string; gym: string; role: Role } {
  return { userId: checkText('userId', m?.userId), gym: checkText('gym', m.gym), role: checkRole(m.role) };
}

export function checkCredential(credential: { hash: string; paramsVersion: number }): { hash: string; paramsVersion: number } {
  const hash = checkText('hash', credential?.hash, 1000);
  if (!Number.isSafeInteger(credential.paramsVersion) || credential.paramsVersion < 1) throw invalid('paramsVersion', 'must be a positive integer');
  return { hash, paramsVersion: credential.paramsVersion };
}

export function checkAuditEvent(event: NewAuditEvent, now: number): Required<Omit<NewAuditEvent, 'actorUserId' | 'gym'>> & Pick<NewAuditEvent, 'actorUserId' | 'gym'> {
  const at = event?.at ?? now;
  if (!Number.isSafeInteger(at) || at < 0) throw invalid('at', 'must be a time in milliseconds since the epoch');
  const detail = event.detail ?? {};
  if (typeof detail !== 'object' || detail === null || Array.isArray(detail)) throw invalid('detail', 'must be an object');
  return {
    at,
    type: checkText('type', event.type),
    actorUserId: event.actorUserId === undefined ? undefined : checkText('actorUserId', event.actorUserId),
    gym: event.gym === undefined ? undefined : checkText('gym', event.gym),
    detail,
  };
}

/** The query with the cursor decoded: events older than `before` (an audit id), when set. */
export function checkAuditQuery(query: AuditQuery): { gym: string | undefined; userId: string | undefined; limit: number; before: number | undefined } {
  if (!Number.isSafeInteger(query?.limit) || query.limit < 1 || query.limit > MAX_AUDIT_PAGE) throw invalid('limit', `must be an integer from 1 to ${MAX_AUDIT_PAGE}`);
  let before: number | undefined;
  if (query.cursor !== undefined) {
    if (typeof query.cursor !== 'string' || !/^[1-9][0-9]{0,15}$/.test(query.cursor)) throw invalid('cursor', 'is not a cursor this store returned');
    before = Number(query.cursor);
  }
  return {
    gym: query.gym === undefined ? undefined : checkText('gym', query.gym),
    userId: query.userId === undefined ? undefined : checkText('userId', query.userId),
    limit: query.limit,
    before,
  };
}

export function checkOidcUpsert(id: string, payload: OidcPayload, expiresIn: number | undefined): void {
  checkText('id', id, 1000);
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) throw invalid('payload', 'must be an object');
  if (expiresIn !== undefined && (!Number.isFinite(expiresIn) || expiresIn <= 0)) throw invalid('expiresIn', 'must be a positive number of seconds');
}

/** The page of `rows` (fetched with one more than the limit) and the cursor to the next one. */
export function auditPage<T extends { id: string }>(rows: T[], limit: number): { events: T[]; nextCursor: string | undefined } {
  const events = rows.slice(0, limit);
  return { events, nextCursor: rows.length > limit ? events[events.length - 1]!.id : undefined };
}

/** The models whose instances belong to a grant and go with it in revokeByGrantId (as oidc-provider's memory adapter). */
const GRANTABLE_MODELS = new Set(['AccessToken', 'AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest', 'PreAuthorizedCode']);

/** The columns an oidc-provider instance is looked up by, besides its id. */
export function oidcIndexes(model: string, payload: OidcPayload): { grantId: string | null; userCode: string | null; uid: string | null } {
  return {
    grantId: GRANTABLE_MODELS.has(model) && typeof payload.grantId === 'string' ? payload.grantId : null,
    userCode: typeof payload.userCode === 'string' ? payload.userCode : null,
    uid: typeof payload.uid === 'string' ? payload.uid : null,
  };
}

function checkObject(param: string, value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid(param, 'must be an object');
  return value as Record<string, unknown>;
}

export function checkTime(param: string, value: unknown): number {
  if (!Number.isSafeInteger(value) || (value as number) < 0) throw invalid(param, 'must be a time in milliseconds since the epoch');
  return value as number;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

/** Token and recovery-code hashes: SHA-256 in lower-case hex, so a raw secret handed in by mistake is refused, not stored. */
export function checkHash(value: unknown, param = 'hash'): string {
  if (typeof value !== 'string' || !SHA256_HEX.test(value)) throw invalid(param, 'must be a SHA-256 hash in lower-case hex');
  return value;
}

// RFC 4648 base32 as authenticator apps read it; 16 characters (80 bits) at least, as RFC 4226 asks of the key.
const BASE32_SECRET = /^[A-Z2-7]{16,128}=*$/;

export function checkTotpSecret(value: unknown): string {
  if (typeof value !== 'string' || !BASE32_SECRET.test(value)) throw invalid('secret', 'must be 16 to 128 base32 characters (A-Z, 2-7)');
  return value;
}

export function checkTotpStep(value: unknown): number {
  if (!Number.isSafeInteger(value) || (value as number) < 0) throw invalid('step', 'must be a non-negative integer');
  return value as number;
}

export function checkRecoveryHashes(hashes: readonly string[]): string[] {
  if (!Array.isArray(hashes)) throw invalid('hashes', 'must be an array');
  const checked = hashes.map((h) => checkHash(h, 'hashes'));
  if (new Set(checked).size !== checked.length) throw invalid('hashes', 'must not repeat a hash');
  return checked;
}

export function checkTokenKind(value: unknown): OneTimeTokenKind {
  if (!(ONE_TIME_TOKEN_KINDS as readonly unknown[]).includes(value)) throw invalid('kind', `must be one of ${ONE_TIME_TOKEN_KINDS.join(', ')}, not ${JSON.stringify(value)}`);
  return value as OneTimeTokenKind;
}

export function checkNewOneTimeToken(token: NewOneTimeToken): Required<Omit<NewOneTimeToken, 'userId' | 'gym'>> & Pick<NewOneTimeToken, 'userId' | 'gym'> {
  return {
    kind: checkTokenKind(token?.kind),
    hash: checkHash(token.hash),
    expiresAt: checkTime('expiresAt', token.expiresAt),
    userId: token.userId === undefined ? undefined : checkText('userId', token.userId),
    gym: token.gym === undefined ? undefined : checkText('gym', token.gym),
    detail: token.detail === undefined ? {} : checkObject('detail', token.detail),
  };
}

// Interpolated into a JSON path (SQLite) or sent as a key (PostgreSQL): a plain name keeps both dialects equal.
const DETAIL_FIELD = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

export function checkDetailField(field: unknown): string {
  if (typeof field !== 'string' || !DETAIL_FIELD.test(field)) throw invalid('field', 'must be a plain field name (letters, digits, _)');
  return field;
}

export function checkFederatedLink(link: { issuer: string; subject: string; userId: string }): { issuer: string; subject: string; userId: string } {
  return { issuer: checkText('issuer', link?.issuer, 1000), subject: checkText('subject', link.subject, 1000), userId: checkText('userId', link.userId) };
}

export function checkNewSigningKey(key: { kid: string; alg: string; privateJwk: Record<string, unknown> }): { kid: string; alg: string; privateJwk: Record<string, unknown> } {
  return { kid: checkText('kid', key?.kid), alg: checkText('alg', key.alg, 20), privateJwk: checkObject('privateJwk', key.privateJwk) };
}

/** A named secret's value; never echoed in the message. */
export function checkSecretValue(value: unknown): string {
  if (typeof value !== 'string' || value === '' || value.length > 10_000) throw invalid('create', 'must return a non-empty string of at most 10000 characters');
  return value;
}
