/**
 * One-time links on top of the identity port: gym invites (sign-up, or a new membership for an existing
 * account) and password reset. A link carries a random token; the store keeps only its SHA-256, consumes it
 * atomically (single use) and refuses it once expired.
 *
 * Neither a token nor a link is ever logged or audited. Mail goes through the `Mailer` port; the demo's
 * `FileMailer` writes each mail to a file and logs only where it is.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { IdentityStoreError, type IdentityStore, type OneTimeTokenKind } from './identity-store.ts';
import { mentions } from './erasure.ts';
import { checkEmail, checkText } from './identity-input.ts';
import { PASSWORD_PARAMS, checkNewPassword, hashPassword } from './passwords.ts';

/** 32 random bytes, base64url: 256 bits, safe in a URL path or query without escaping. */
export function newOneTimeSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** What the store keeps of a one-time secret: SHA-256, lower-case hex. */
export function hashOneTimeSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

// Anything else is no token of ours: refused without touching the store.
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;

async function consume(store: IdentityStore, kind: OneTimeTokenKind, token: string, now: number) {
  if (typeof token !== 'string' || !TOKEN_SHAPE.test(token)) return undefined;
  return store.consumeOneTimeToken(kind, hashOneTimeSecret(token), now);
}

function checkTtl(ttlMs: number): number {
  if (!Number.isSafeInteger(ttlMs) || ttlMs <= 0) throw new IdentityStoreError('invalid_input', 'ttlMs: must be a positive number of milliseconds', { param: 'ttlMs' });
  return ttlMs;
}

export const INVITED_ROLES = ['athlete', 'coach'] as const;
export type InvitedRole = (typeof INVITED_ROLES)[number];

export interface InviteRequest {
  email: string;
  gym: string;
  role: InvitedRole;
  /** The user id of the coach or admin who invites. */
  invitedBy: string;
  ttlMs: number;
  /** Defaults to Date.now(). */
  now?: number;
}

/** Stores an invite and returns its token, for the link the caller sends. */
export async function createInvite(store: IdentityStore, request: InviteRequest): Promise<string> {
  const { email } = checkEmail(request.email);
  const gym = checkText('gym', request.gym);
  if (!(INVITED_ROLES as readonly string[]).includes(request.role)) {
    throw new IdentityStoreError('invalid_input', `role: an invite is for ${INVITED_ROLES.join(' or ')}, not ${JSON.stringify(request.role)}`, { param: 'role' });
  }
  const invitedBy = checkText('invitedBy', request.invitedBy);
  const token = newOneTimeSecret();
  await store.createOneTimeToken({
    kind: 'invite',
    hash: hashOneTimeSecret(token),
    expiresAt: (request.now ?? Date.now()) + checkTtl(request.ttlMs),
    gym,
    detail: { email, role: request.role, invitedBy },
  });
  await store.appendAudit({ type: 'invite.created', actorUserId: invitedBy, gym, detail: { email, role: request.role } });
  return token;
}

export interface InviteAccepted {
  userId: string;
  gym: string;
  role: InvitedRole;
  /** False when the email belonged to an account already: it got the membership and kept its password. */
  newUser: boolean;
}

/**
 * Redeems an invite: a new account with this display name and password, or, when an account with the invited
 * email exists, only the membership (its password stays as it is). Undefined when the token is unknown, used
 * or expired. The password rules are checked before the token is spent, so a too-short password does not burn
 * the invite (a PulsebridgeError with a PasswordRuleCode, from passwords.ts).
 */
export async function acceptInvite(store: IdentityStore, token: string, account: { displayName: string; password: string }, now: number): Promise<InviteAccepted | undefined> {
  checkNewPassword(account.password);
  checkText('displayName', account.displayName);
  const hash = await hashPassword(account.password);
  const invite = await consume(store, 'invite', token, now);
  if (!invite) return undefined;
  const email = String(invite.detail['email']);
  const role = invite.detail['role'] as InvitedRole;
  const gym = invite.gym!;

  let user = await store.findUserByEmail(email);
  const newUser = user === undefined;
  if (!user) {
    try {
      user = await store.createUser({ email, displayName: account.displayName });
    } catch (err) {
      // The same email signed up by another route in the meantime: the invite then joins that account.
      if (!(err instanceof IdentityStoreError && err.code === 'conflict')) throw err;
      user = (await store.findUserByEmail(email))!;
    }
    await store.setPassword(user.id, { hash, paramsVersion: PASSWORD_PARAMS.version });
  }
  try {
    await store.addMembership({ userId: user.id, gym, role });
  } catch (err) {
    if (!(err instanceof IdentityStoreError && err.code === 'conflict')) throw err;
  }
  await store.appendAudit({ type: 'invite.accepted', actorUserId: user.id, gym, detail: { role, newUser, invitedBy: invite.detail['invitedBy'] } });
  return { userId: user.id, gym, role, newUser };
}

export interface Mail {
  to: string;
  subject: string;
  text: string;
}

/** Sends mail; the hub's pages and services only know this port. */
export interface Mailer {
  send(mail: Mail): Promise<void>;
  /** A mailer that keeps mail (the demo's FileMailer) removes what names an erased person; returns how many. */
  forget?(traces: readonly string[]): Promise<number>;
}

/** The little of a pino logger FileMailer needs. */
export interface MailLog {
  info(fields: object, message: string): void;
}

/**
 * A Mailer for the demo and tests: each mail becomes a file (mode 0600, as it holds a live link) in `dir`
 * (created 0700). The log line says where the file is, never what is in it.
 */
export class FileMailer implements Mailer {
  constructor(
    private readonly dir: string,
    private readonly log?: MailLog,
  ) {}

  async send(mail: Mail): Promise<void> {
    await this.write(mail);
  }

  /** Deletes every mail that names the person (an id, email or name, in any case): to them or about them. */
  async forget(traces: readonly string[]): Promise<number> {
    const names = await readdir(this.dir).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return [];
      throw err;
    });
    let removed = 0;
    for (const name of names) {
      const path = join(this.dir, name);
      if (!mentions(await readFile(path, 'utf8'), traces)) continue;
      await rm(path, { force: true });
      removed++;
    }
    return removed;
  }

  /** Writes the mail and returns the file's path. */
  async write(mail: Mail): Promise<string> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const path = join(this.dir, `${new Date().toISOString().replace(/[:.]/g, '-')}-${randomUUID()}.txt`);
    await writeFile(path, `To: ${mail.to}\nSubject: ${mail.subject}\n\n${mail.text}\n`, { mode: 0o600, flag: 'wx' });
    this.log?.info({ file: path }, `mail "${mail.subject}" written to ${path}`);
    return path;
  }
}

export interface PasswordResetRequest {
  email: string;
  /** The page link for a token, e.g. `(t) => \`https://hub.example/reset/${t}\`` */
  resetUrl: (token: string) => string;
  ttlMs: number;
  /** Defaults to Date.now(). */
  now?: number;
}

/**
 * Mails a reset link when an enabled account has this email, and does nothing visible otherwise: the caller
 * shows the same answer either way, so the form does not tell which emails have accounts. (The mail itself
 * takes time; a caller that must not leak even that sends without awaiting.)
 */
export async function requestPasswordReset(store: IdentityStore, mailer: Mailer, request: PasswordResetRequest): Promise<void> {
  const { email } = checkEmail(request.email);
  const ttlMs = checkTtl(request.ttlMs);
  const user = await store.findUserByEmail(email);
  if (!user || user.disabled) return;
  const token = newOneTimeSecret();
  await store.createOneTimeToken({ kind: 'password_reset', hash: hashOneTimeSecret(token), expiresAt: (request.now ?? Date.now()) + ttlMs, userId: user.id });
  await store.appendAudit({ type: 'password_reset.requested', actorUserId: user.id });
  const minutes = Math.max(1, Math.round(ttlMs / 60_000));
  await mailer.send({
    to: user.email,
    subject: 'Reset your Pulsebridge password',
    text: [
      `Hello ${user.displayName},`,
      '',
      `Someone asked to reset the password of your Pulsebridge account. To choose a new one, open this link within ${minutes} minutes:`,
      '',
      request.resetUrl(token),
      '',
      'If it was not you, ignore this mail: your password stays as it is.',
    ].join('\n'),
  });
}

/**
 * Sets a new password with a reset token: single use, refused once expired (undefined then). Returns the
 * user's id. The password rules are checked before the token is spent. Signing the user's existing sessions
 * out is not done here: oidc-provider's sessions belong to the sign-in part.
 */
export async function completePasswordReset(store: IdentityStore, token: string, newPassword: string, now: number): Promise<string | undefined> {
  const hash = await hashPassword(newPassword);
  const reset = await consume(store, 'password_reset', token, now);
  if (!reset?.userId) return undefined;
  await store.setPassword(reset.userId, { hash, paramsVersion: PASSWORD_PARAMS.version });
  await store.appendAudit({ type: 'password_reset.completed', actorUserId: reset.userId });
  return reset.userId;
}
