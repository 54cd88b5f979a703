/** The argument checks both identity adapters share, so they refuse the same input with the same error. */
import {
  BOARD_VISIBILITY,
  IdentityStoreError,
  MAX_AUDIT_PAGE,
  RESULTS_VISIBILITY,
  SEXES,
  type AthleteProfile,
  type AthleteProfileFields,
  type BoardVisibility,
  type ResultsVisibility,
  type Sex,
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

/** A profile's fields as both adapters store them: one column each, null when unknown. */
export interface ProfileRow {
  birth_date: string | null;
  sex: string | null;
  weight_kg: number | null;
  height_cm: number | null;
  max_heart_rate: number | null;
  resting_heart_rate: number | null;
  ftp_watts: number | null;
  results_visibility: string;
  board_visibility: string;
  board_alias: string | null;
  /** 0 or 1 as written; SQLite reads it back as a number, PostgreSQL as a boolean. */
  leaderboards: number | boolean;
}

function checkRange(param: string, value: number | undefined, min: number, max: number, integer: boolean): number | null {
  if (value === undefined) return null;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
    throw invalid(param, `must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}`);
  }
  return value;
}

function checkOneOf<T extends string>(param: string, value: unknown, allowed: readonly T[]): T {
  if (!(allowed as readonly unknown[]).includes(value)) throw invalid(param, `must be one of ${allowed.join(', ')}`);
  return value as T;
}

function checkFlag(param: string, value: unknown): number {
  if (typeof value !== 'boolean') throw invalid(param, 'must be true or false');
  return value ? 1 : 0;
}

/** Checks every field of a profile (the API has checked them too; the store does not trust its callers). */
export function checkProfile(fields: AthleteProfileFields, today: string): ProfileRow {
  let birthDate: string | null = null;
  if (fields.birthDate !== undefined) {
    const parsed = /^(\d{4})-(\d{2})-(\d{2})$/.exec(fields.birthDate);
    const date = parsed ? new Date(Date.UTC(Number(parsed[1]), Number(parsed[2]) - 1, Number(parsed[3]))) : undefined;
    if (!date || date.toISOString().slice(0, 10) !== fields.birthDate) throw invalid('birthDate', 'must be a date YYYY-MM-DD');
    if (fields.birthDate < '1900-01-01' || fields.birthDate > today) throw invalid('birthDate', 'must be between 1900-01-01 and today');
    birthDate = fields.birthDate;
  }
  return {
    birth_date: birthDate,
    sex: fields.sex === undefined ? null : checkOneOf('sex', fields.sex, SEXES),
    weight_kg: checkRange('weightKg', fields.weightKg, 20, 400, false),
    height_cm: checkRange('heightCm', fields.heightCm, 50, 260, false),
    max_heart_rate: checkRange('maxHeartRate', fields.maxHeartRate, 100, 240, true),
    resting_heart_rate: checkRange('restingHeartRate', fields.restingHeartRate, 25, 120, true),
    ftp_watts: checkRange('ftpWatts', fields.ftpWatts, 30, 700, true),
    results_visibility: checkOneOf('resultsVisibility', fields.resultsVisibility, RESULTS_VISIBILITY),
    board_visibility: checkOneOf('boardVisibility', fields.boardVisibility, BOARD_VISIBILITY),
    board_alias: fields.boardAlias === undefined ? null : checkText('boardAlias', fields.boardAlias, 32).trim(),
    leaderboards: checkFlag('leaderboards', fields.leaderboards ?? false),
  };
}

export function toProfile(userId: string, row: ProfileRow, updatedAt: number): AthleteProfile {
  const profile: AthleteProfile = {
    userId,
    resultsVisibility: row.results_visibility as ResultsVisibility,
    boardVisibility: row.board_visibility as BoardVisibility,
    leaderboards: row.leaderboards === true || Number(row.leaderboards) === 1,
    updatedAt,
  };
  if (row.birth_date !== null) profile.birthDate = row.birth_date;
  if (row.sex !== null) profile.sex = row.sex as Sex;
  if (row.weight_kg !== null) profile.weightKg = Number(row.weight_kg);
  if (row.height_cm !== null) profile.heightCm = Number(row.height_cm);
  if (row.max_heart_rate !== null) profile.maxHeartRate = Number(row.max_heart_rate);
  if (row.resting_heart_rate !== null) profile.restingHeartRate = Number(row.resting_heart_rate);
  if (row.ftp_watts !== null) profile.ftpWatts = Number(row.ftp_watts);
  if (row.board_alias !== null) profile.boardAlias = row.board_alias;
  return profile;
}

export const PROFILE_COLUMNS = [
  'birth_date',
  'sex',
  'weight_kg',
  'height_cm',
  'max_heart_rate',
  'resting_heart_rate',
  'ftp_watts',
  'results_visibility',
  'board_visibility',
  'board_alias',
  'leaderboards',
] as const satisfies readonly (keyof ProfileRow)[];
