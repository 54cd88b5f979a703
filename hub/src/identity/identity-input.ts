/** The argument checks both identity adapters share, so they refuse the same input with the same error. */
import { IdentityStoreError, MAX_AUDIT_PAGE, ROLES, type AuditQuery, type NewAuditEvent, type NewUser, type OidcPayload, type Role } from './identity-store.ts';

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
