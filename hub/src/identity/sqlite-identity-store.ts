// Over 500 lines: one adapter of the whole IdentityStore port, kept in one place so every method shares its error mapping and SQL dialect.
/**
 * The embedded IdentityStore: one SQLite file (better-sqlite3, WAL), for the demo and a single box.
 * Migrations run in BEGIN IMMEDIATE transactions, so two processes opening the same file apply each once.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { Database as SqliteDatabase } from 'better-sqlite3';
import { errorMessage } from '@pulsebridge/runtime';
import { DELETED_USER, mentions, redacted, tracesOf } from './erasure.ts';
import {
  IdentityStoreError,
  type AppliedMigration,
  type AthleteProfile,
  type AthleteProfileFields,
  type AuditEvent,
  type AuditPage,
  type AuditQuery,
  type IdentityStore,
  type Membership,
  type NewAuditEvent,
  type NewOneTimeToken,
  type NewUser,
  type OidcModelStore,
  type OidcPayload,
  type OneTimeToken,
  type OneTimeTokenKind,
  type PasswordCredential,
  type Role,
  type SigningKey,
  type TotpFactor,
  type User,
} from './identity-store.ts';
import {
  PROFILE_COLUMNS,
  auditPage,
  checkProfile,
  toProfile,
  type ProfileRow,
  checkAuditEvent,
  checkAuditQuery,
  checkCredential,
  checkDetailField,
  checkEmail,
  checkFederatedLink,
  checkHash,
  checkMembership,
  checkNewOneTimeToken,
  checkNewSigningKey,
  checkNewUser,
  checkOidcUpsert,
  checkRecoveryHashes,
  checkSecretValue,
  checkText,
  checkTime,
  checkTokenKind,
  checkTotpSecret,
  checkTotpStep,
  oidcIndexes,
} from './identity-input.ts';
import { SQLITE_MIGRATIONS, type Migration } from './migrations.ts';

export interface SqliteIdentityStoreOptions {
  /** The database file, e.g. `<dataDir>/identity.db`; its folder is created if missing. */
  path: string;
  /** Milliseconds since the epoch; tests move it to expire oidc-provider instances. */
  clock?: () => number;
  /** Replaces the migration list; only tests use it, to check what a later version does. */
  migrations?: readonly Migration[];
}

type UserRow = { id: string; email: string; display_name: string; created_at: number; disabled: number };
type MembershipRow = { user_id: string; gym: string; role: Role; created_at: number };
type AuditRow = { id: number; at: number; type: string; actor_user_id: string | null; gym: string | null; detail: string };
type OidcRow = { payload: string; consumed_at: number | null };
type TotpRow = { user_id: string; secret: string; confirmed: number; created_at: number; last_used_step: number | null };
type TokenRow = { kind: OneTimeTokenKind; hash: string; created_at: number; expires_at: number; user_id: string | null; gym: string | null; detail: string };
type SigningKeyRow = { kid: string; alg: string; private_jwk: string; created_at: number; retired_at: number | null };

const toUser = (row: UserRow): User => ({ id: row.id, email: row.email, displayName: row.display_name, createdAt: row.created_at, disabled: row.disabled === 1 });
const toMembership = (row: MembershipRow): Membership => ({ userId: row.user_id, gym: row.gym, role: row.role, createdAt: row.created_at });
const toAudit = (row: AuditRow): AuditEvent => ({
  id: String(row.id),
  at: row.at,
  type: row.type,
  actorUserId: row.actor_user_id ?? undefined,
  gym: row.gym ?? undefined,
  detail: JSON.parse(row.detail) as Record<string, unknown>,
});

const toTotp = (row: TotpRow): TotpFactor => ({
  userId: row.user_id,
  secret: row.secret,
  confirmed: row.confirmed === 1,
  createdAt: row.created_at,
  lastUsedStep: row.last_used_step ?? undefined,
});
const toToken = (row: TokenRow): OneTimeToken => ({
  kind: row.kind,
  hash: row.hash,
  createdAt: row.created_at,
  expiresAt: row.expires_at,
  userId: row.user_id ?? undefined,
  gym: row.gym ?? undefined,
  detail: JSON.parse(row.detail) as Record<string, unknown>,
});
const toSigningKey = (row: SigningKeyRow): SigningKey => ({
  kid: row.kid,
  alg: row.alg,
  privateJwk: JSON.parse(row.private_jwk) as Record<string, unknown>,
  createdAt: row.created_at,
  retiredAt: row.retired_at ?? undefined,
});

function sqliteCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : undefined;
}

export class SqliteIdentityStore implements IdentityStore {
  private db: SqliteDatabase | undefined;
  private readonly clock: () => number;
  private readonly migrationList: readonly Migration[];

  constructor(private readonly options: SqliteIdentityStoreOptions) {
    this.clock = options.clock ?? Date.now;
    this.migrationList = options.migrations ?? SQLITE_MIGRATIONS;
  }

  async start(): Promise<void> {
    if (this.db) return;
    let db: SqliteDatabase | undefined;
    try {
      mkdirSync(dirname(this.options.path), { recursive: true });
      db = new Database(this.options.path);
      db.pragma('journal_mode = WAL');
      db.pragma('foreign_keys = ON');
      db.pragma('busy_timeout = 5000');
      this.migrate(db);
    } catch (err) {
      db?.close();
      if (err instanceof IdentityStoreError) throw err;
      throw new IdentityStoreError('unavailable', `identity database ${this.options.path}: ${errorMessage(err)}`, { cause: err });
    }
    this.db = db;
  }

  async stop(): Promise<void> {
    this.db?.close();
    this.db = undefined;
  }

  private migrate(db: SqliteDatabase): void {
    db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)');
    for (const migration of this.migrationList) {
      db.transaction(() => {
        // Checked inside the write transaction: another process may have applied it since we looked.
        if (db.prepare('SELECT 1 FROM schema_migrations WHERE version = ?').get(migration.version)) return;
        db.exec(migration.sql);
        db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(migration.version, migration.name, this.clock());
      }).immediate();
    }
  }

  private get open(): SqliteDatabase {
    if (!this.db) throw new IdentityStoreError('not_started', 'the identity store is not started');
    return this.db;
  }

  /** Runs a statement, turning SQLite's errors into the store's. */
  private run<T>(what: string, body: (db: SqliteDatabase) => T): T {
    const db = this.open;
    try {
      return body(db);
    } catch (err) {
      if (err instanceof IdentityStoreError) throw err;
      throw new IdentityStoreError('unavailable', `${what}: ${errorMessage(err)}`, { cause: err });
    }
  }

  async migrations(): Promise<AppliedMigration[]> {
    return this.run('reading schema_migrations', (db) =>
      (db.prepare('SELECT version, name, applied_at FROM schema_migrations ORDER BY version').all() as { version: number; name: string; applied_at: number }[]).map((r) => ({
        version: r.version,
        name: r.name,
        appliedAt: r.applied_at,
      })),
    );
  }

  async createUser(input: NewUser): Promise<User> {
    const { email, emailKey, displayName } = checkNewUser(input);
    const user: User = { id: randomUUID(), email, displayName, createdAt: this.clock(), disabled: false };
    return this.run('creating a user', (db) => {
      try {
        db.prepare('INSERT INTO users (id, email, email_key, display_name, created_at, disabled) VALUES (?, ?, ?, ?, ?, 0)').run(
          user.id,
          email,
          emailKey,
          displayName,
          user.createdAt,
        );
      } catch (err) {
        if (sqliteCode(err) === 'SQLITE_CONSTRAINT_UNIQUE') throw new IdentityStoreError('conflict', `email: a user with ${email} exists already`, { param: 'email', cause: err });
        throw err;
      }
      return user;
    });
  }

  async getUser(id: string): Promise<User | undefined> {
    checkText('id', id);
    return this.run('reading a user', (db) => {
      const row = db.prepare('SELECT * FROM users WHERE id = ?').get(id) as UserRow | undefined;
      return row && toUser(row);
    });
  }

  async findUserByEmail(email: string): Promise<User | undefined> {
    const { key } = checkEmail(email);
    return this.run('reading a user', (db) => {
      const row = db.prepare('SELECT * FROM users WHERE email_key = ?').get(key) as UserRow | undefined;
      return row && toUser(row);
    });
  }

  async setUserDisabled(id: string, disabled: boolean): Promise<void> {
    checkText('id', id);
    this.run('updating a user', (db) => {
      if (db.prepare('UPDATE users SET disabled = ? WHERE id = ?').run(disabled ? 1 : 0, id).changes === 0) throw unknownUser('id', id);
    });
  }

  async setDisplayName(id: string, displayName: string): Promise<void> {
    checkText('id', id);
    const name = checkText('displayName', displayName).trim();
    this.run('renaming a user', (db) => {
      if (db.prepare('UPDATE users SET display_name = ? WHERE id = ?').run(name, id).changes === 0) throw unknownUser('id', id);
    });
  }

  async deleteUser(id: string): Promise<boolean> {
    checkText('id', id);
    return this.run('erasing a user', (db) =>
      db.transaction(() => {
        const row = db.prepare('SELECT * FROM users WHERE id = ?').get(id) as UserRow | undefined;
        if (!row) return false;
        const user = toUser(row);
        const traces = tracesOf(user);
        const emailKey = user.email.toLowerCase();
        // oidc-provider keeps the account in its payloads (accountId, and nested in interactions' results);
        // the grants' codes and tokens go with their grant.
        db.prepare(
          `DELETE FROM oidc_models WHERE grant_id IN (SELECT id FROM oidc_models WHERE model = 'Grant' AND json_extract(payload, '$.accountId') = @id)
             OR json_extract(payload, '$.accountId') = @id OR instr(payload, @id) > 0`,
        ).run({ id });
        // Invites to their email die with them; the cascade takes the tokens naming them as user.
        db.prepare("DELETE FROM one_time_tokens WHERE lower(json_extract(detail, '$.email')) = ?").run(emailKey);
        const tokens = db.prepare('SELECT kind, hash, detail FROM one_time_tokens WHERE user_id IS NOT ? ').all(id) as { kind: string; hash: string; detail: string }[];
        for (const token of tokens.filter((t) => mentions(t.detail, traces))) {
          db.prepare('UPDATE one_time_tokens SET detail = ? WHERE kind = ? AND hash = ?').run(JSON.stringify(redacted(JSON.parse(token.detail), traces)), token.kind, token.hash);
        }
        const entries = db.prepare('SELECT id, actor_user_id, detail FROM audit_log').all() as { id: number; actor_user_id: string | null; detail: string }[];
        for (const entry of entries.filter((e) => e.actor_user_id === id || mentions(e.detail, traces))) {
          db.prepare('UPDATE audit_log SET actor_user_id = ?, detail = ? WHERE id = ?').run(
            entry.actor_user_id === id ? DELETED_USER : entry.actor_user_id,
            JSON.stringify(redacted(JSON.parse(entry.detail), traces)),
            entry.id,
          );
        }
        // Password, second factor, recovery codes, profile, memberships, federated links and their other
        // one-time tokens reference users(id) ON DELETE CASCADE.
        db.prepare('DELETE FROM users WHERE id = ?').run(id);
        return true;
      })(),
    );
  }

  async getProfile(userId: string): Promise<AthleteProfile | undefined> {
    checkText('userId', userId);
    return this.run('reading a profile', (db) => {
      const row = db.prepare('SELECT * FROM athlete_profiles WHERE user_id = ?').get(userId) as (ProfileRow & { updated_at: number }) | undefined;
      return row && toProfile(userId, row, row.updated_at);
    });
  }

  async saveProfile(userId: string, fields: AthleteProfileFields): Promise<AthleteProfile> {
    checkText('userId', userId);
    const now = this.clock();
    const row = checkProfile(fields, new Date(now).toISOString().slice(0, 10));
    const columns = PROFILE_COLUMNS.join(', ');
    this.run('saving a profile', (db) => {
      try {
        db.prepare(
          `INSERT INTO athlete_profiles (user_id, ${columns}, updated_at) VALUES (?, ${PROFILE_COLUMNS.map(() => '?').join(', ')}, ?)
           ON CONFLICT (user_id) DO UPDATE SET ${PROFILE_COLUMNS.map((c) => `${c} = excluded.${c}`).join(', ')}, updated_at = excluded.updated_at`,
        ).run(userId, ...PROFILE_COLUMNS.map((c) => row[c]), now);
      } catch (err) {
        if (sqliteCode(err) === 'SQLITE_CONSTRAINT_FOREIGNKEY') throw unknownUser('userId', userId, err);
        throw err;
      }
    });
    return toProfile(userId, row, now);
  }

  async setPassword(userId: string, credential: { hash: string; paramsVersion: number }): Promise<void> {
    checkText('userId', userId);
    const { hash, paramsVersion } = checkCredential(credential);
    this.run('setting a password', (db) => {
      try {
        db.prepare(
          `INSERT INTO password_credentials (user_id, hash, params_version, updated_at) VALUES (?, ?, ?, ?)
           ON CONFLICT (user_id) DO UPDATE SET hash = excluded.hash, params_version = excluded.params_version, updated_at = excluded.updated_at`,
        ).run(userId, hash, paramsVersion, this.clock());
      } catch (err) {
        if (sqliteCode(err) === 'SQLITE_CONSTRAINT_FOREIGNKEY') throw unknownUser('userId', userId, err);
        throw err;
      }
    });
  }

  async getPassword(userId: string): Promise<PasswordCredential | undefined> {
    checkText('userId', userId);
    return this.run('reading a password', (db) => {
      const row = db.prepare('SELECT hash, params_version, updated_at FROM password_credentials WHERE user_id = ?').get(userId) as
        { hash: string; params_version: number; updated_at: number } | undefined;
      return row && { userId, hash: row.hash, paramsVersion: row.params_version, updatedAt: row.updated_at };
    });
  }

  async addMembership(input: { userId: string; gym: string; role: Role }): Promise<Membership> {
    const { userId, gym, role } = checkMembership(input);
    const membership: Membership = { userId, gym, role, createdAt: this.clock() };
    return this.run('adding a membership', (db) => {
      try {
        db.prepare('INSERT INTO memberships (user_id, gym, role, created_at) VALUES (?, ?, ?, ?)').run(userId, gym, role, membership.createdAt);
      } catch (err) {
        const code = sqliteCode(err);
        if (code === 'SQLITE_CONSTRAINT_FOREIGNKEY') throw unknownUser('userId', userId, err);
        if (code === 'SQLITE_CONSTRAINT_PRIMARYKEY')
          throw new IdentityStoreError('conflict', `membership: user ${userId} is ${role} of gym ${gym} already`, { param: 'membership', cause: err });
        throw err;
      }
      return membership;
    });
  }

  async removeMembership(input: { userId: string; gym: string; role: Role }): Promise<boolean> {
    const { userId, gym, role } = checkMembership(input);
    return this.run('removing a membership', (db) => db.prepare('DELETE FROM memberships WHERE user_id = ? AND gym = ? AND role = ?').run(userId, gym, role).changes > 0);
  }

  async listMembershipsOfUser(userId: string): Promise<Membership[]> {
    checkText('userId', userId);
    return this.run('listing memberships', (db) => (db.prepare('SELECT * FROM memberships WHERE user_id = ? ORDER BY gym, role').all(userId) as MembershipRow[]).map(toMembership));
  }

  async listMembershipsOfGym(gym: string): Promise<Membership[]> {
    checkText('gym', gym);
    return this.run('listing memberships', (db) => (db.prepare('SELECT * FROM memberships WHERE gym = ? ORDER BY user_id, role').all(gym) as MembershipRow[]).map(toMembership));
  }

  async setTotp(userId: string, secret: string): Promise<void> {
    checkText('userId', userId);
    checkTotpSecret(secret);
    this.run('setting a TOTP factor', (db) => {
      try {
        db.prepare(
          `INSERT INTO totp_factors (user_id, secret, confirmed, created_at, last_used_step) VALUES (?, ?, 0, ?, NULL)
           ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret, confirmed = 0, created_at = excluded.created_at, last_used_step = NULL`,
        ).run(userId, secret, this.clock());
      } catch (err) {
        if (sqliteCode(err) === 'SQLITE_CONSTRAINT_FOREIGNKEY') throw unknownUser('userId', userId, err);
        throw err;
      }
    });
  }

  async getTotp(userId: string): Promise<TotpFactor | undefined> {
    checkText('userId', userId);
    return this.run('reading a TOTP factor', (db) => {
      const row = db.prepare('SELECT * FROM totp_factors WHERE user_id = ?').get(userId) as TotpRow | undefined;
      return row && toTotp(row);
    });
  }

  async confirmTotp(userId: string): Promise<boolean> {
    checkText('userId', userId);
    return this.run('confirming a TOTP factor', (db) => db.prepare('UPDATE totp_factors SET confirmed = 1 WHERE user_id = ?').run(userId).changes > 0);
  }

  async removeTotp(userId: string): Promise<boolean> {
    checkText('userId', userId);
    return this.run('removing a TOTP factor', (db) =>
      db.transaction(() => {
        db.prepare('DELETE FROM recovery_codes WHERE user_id = ?').run(userId);
        return db.prepare('DELETE FROM totp_factors WHERE user_id = ?').run(userId).changes > 0;
      })(),
    );
  }

  async useTotpStep(userId: string, step: number): Promise<boolean> {
    checkText('userId', userId);
    checkTotpStep(step);
    // One conditional UPDATE: of two processes accepting the same code, only one changes the row.
    return this.run(
      'recording a TOTP step',
      (db) =>
        db.prepare('UPDATE totp_factors SET last_used_step = @step WHERE user_id = @userId AND (last_used_step IS NULL OR last_used_step < @step)').run({ userId, step }).changes >
        0,
    );
  }

  async replaceRecoveryCodes(userId: string, hashes: readonly string[]): Promise<void> {
    checkText('userId', userId);
    const checked = checkRecoveryHashes(hashes);
    this.run('replacing recovery codes', (db) => {
      db.transaction(() => {
        if (!db.prepare('SELECT 1 FROM users WHERE id = ?').get(userId)) throw unknownUser('userId', userId);
        db.prepare('DELETE FROM recovery_codes WHERE user_id = ?').run(userId);
        const insert = db.prepare('INSERT INTO recovery_codes (user_id, hash, used_at) VALUES (?, ?, NULL)');
        for (const hash of checked) insert.run(userId, hash);
      })();
    });
  }

  async useRecoveryCode(userId: string, hash: string): Promise<boolean> {
    checkText('userId', userId);
    checkHash(hash);
    return this.run(
      'using a recovery code',
      (db) => db.prepare('UPDATE recovery_codes SET used_at = ? WHERE user_id = ? AND hash = ? AND used_at IS NULL').run(this.clock(), userId, hash).changes > 0,
    );
  }

  async countRecoveryCodes(userId: string): Promise<number> {
    checkText('userId', userId);
    return this.run(
      'counting recovery codes',
      (db) => (db.prepare('SELECT COUNT(*) AS n FROM recovery_codes WHERE user_id = ? AND used_at IS NULL').get(userId) as { n: number }).n,
    );
  }

  async createOneTimeToken(input: NewOneTimeToken): Promise<OneTimeToken> {
    const t = checkNewOneTimeToken(input);
    const token: OneTimeToken = { kind: t.kind, hash: t.hash, createdAt: this.clock(), expiresAt: t.expiresAt, userId: t.userId, gym: t.gym, detail: t.detail };
    return this.run('creating a one-time token', (db) => {
      try {
        db.prepare('INSERT INTO one_time_tokens (kind, hash, created_at, expires_at, used_at, user_id, gym, detail) VALUES (?, ?, ?, ?, NULL, ?, ?, ?)').run(
          token.kind,
          token.hash,
          token.createdAt,
          token.expiresAt,
          token.userId ?? null,
          token.gym ?? null,
          JSON.stringify(token.detail),
        );
      } catch (err) {
        const code = sqliteCode(err);
        if (code === 'SQLITE_CONSTRAINT_FOREIGNKEY') throw unknownUser('userId', token.userId!, err);
        if (code === 'SQLITE_CONSTRAINT_PRIMARYKEY')
          throw new IdentityStoreError('conflict', `hash: a ${token.kind} token with this hash exists already`, { param: 'hash', cause: err });
        throw err;
      }
      return token;
    });
  }

  async consumeOneTimeToken(kind: OneTimeTokenKind, hash: string, now: number): Promise<OneTimeToken | undefined> {
    checkTokenKind(kind);
    checkHash(hash);
    checkTime('now', now);
    return this.run('consuming a one-time token', (db) => {
      const row = db
        .prepare(
          `UPDATE one_time_tokens SET used_at = @now WHERE kind = @kind AND hash = @hash AND used_at IS NULL AND expires_at > @now
           RETURNING kind, hash, created_at, expires_at, user_id, gym, detail`,
        )
        .get({ kind, hash, now }) as TokenRow | undefined;
      return row && toToken(row);
    });
  }

  async revokeOneTimeTokens(kind: OneTimeTokenKind, field: string, value: string): Promise<number> {
    checkTokenKind(kind);
    const path = `$.${checkDetailField(field)}`;
    checkText('value', value, 1000);
    return this.run(
      'revoking one-time tokens',
      (db) => db.prepare('DELETE FROM one_time_tokens WHERE kind = ? AND used_at IS NULL AND json_extract(detail, ?) = ?').run(kind, path, value).changes,
    );
  }

  async linkFederatedIdentity(input: { issuer: string; subject: string; userId: string }): Promise<void> {
    const { issuer, subject, userId } = checkFederatedLink(input);
    this.run('linking a federated identity', (db) => {
      try {
        db.prepare('INSERT INTO federated_identities (issuer, subject, user_id, created_at) VALUES (?, ?, ?, ?)').run(issuer, subject, userId, this.clock());
      } catch (err) {
        const code = sqliteCode(err);
        if (code === 'SQLITE_CONSTRAINT_FOREIGNKEY') throw unknownUser('userId', userId, err);
        if (code === 'SQLITE_CONSTRAINT_PRIMARYKEY')
          throw new IdentityStoreError('conflict', `subject: ${subject} of ${issuer} is linked already`, { param: 'subject', cause: err });
        throw err;
      }
    });
  }

  async findFederatedUser(issuer: string, subject: string): Promise<string | undefined> {
    checkText('issuer', issuer, 1000);
    checkText('subject', subject, 1000);
    return this.run('reading a federated link', (db) => {
      const row = db.prepare('SELECT user_id FROM federated_identities WHERE issuer = ? AND subject = ?').get(issuer, subject) as { user_id: string } | undefined;
      return row?.user_id;
    });
  }

  async addSigningKey(input: { kid: string; alg: string; privateJwk: Record<string, unknown> }): Promise<SigningKey> {
    const { kid, alg, privateJwk } = checkNewSigningKey(input);
    const key: SigningKey = { kid, alg, privateJwk, createdAt: this.clock(), retiredAt: undefined };
    return this.run('adding a signing key', (db) => {
      try {
        db.prepare('INSERT INTO signing_keys (kid, alg, private_jwk, created_at, retired_at) VALUES (?, ?, ?, ?, NULL)').run(kid, alg, JSON.stringify(privateJwk), key.createdAt);
      } catch (err) {
        if (sqliteCode(err) === 'SQLITE_CONSTRAINT_UNIQUE') throw new IdentityStoreError('conflict', `kid: a signing key ${kid} exists already`, { param: 'kid', cause: err });
        throw err;
      }
      return key;
    });
  }

  async listSigningKeys(): Promise<SigningKey[]> {
    return this.run('listing signing keys', (db) => (db.prepare('SELECT * FROM signing_keys ORDER BY seq DESC').all() as SigningKeyRow[]).map(toSigningKey));
  }

  async retireSigningKeysExcept(kid: string, at: number): Promise<void> {
    checkText('kid', kid);
    checkTime('at', at);
    this.run('retiring signing keys', (db) => db.prepare('UPDATE signing_keys SET retired_at = ? WHERE kid <> ? AND retired_at IS NULL').run(at, kid));
  }

  async deleteSigningKeysRetiredBefore(before: number): Promise<number> {
    checkTime('before', before);
    return this.run('deleting retired signing keys', (db) => db.prepare('DELETE FROM signing_keys WHERE retired_at IS NOT NULL AND retired_at < ?').run(before).changes);
  }

  async getOrCreateSecret(name: string, create: () => string): Promise<string> {
    checkText('name', name);
    const read = (): string | undefined =>
      this.run('reading a named secret', (db) => (db.prepare('SELECT value FROM named_secrets WHERE name = ?').get(name) as { value: string } | undefined)?.value);
    const existing = read();
    if (existing !== undefined) return existing;
    // create() runs outside run(): its own errors are the caller's, not a database failure.
    const value = checkSecretValue(create());
    // Another process may insert between the read and ours: DO NOTHING, then everyone reads the winner.
    this.run('creating a named secret', (db) =>
      db.prepare('INSERT INTO named_secrets (name, value, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING').run(name, value, this.clock()),
    );
    return read()!;
  }

  async appendAudit(input: NewAuditEvent): Promise<AuditEvent> {
    const event = checkAuditEvent(input, this.clock());
    return this.run('appending to the audit log', (db) => {
      const { lastInsertRowid } = db
        .prepare('INSERT INTO audit_log (at, type, actor_user_id, gym, detail) VALUES (?, ?, ?, ?, ?)')
        .run(event.at, event.type, event.actorUserId ?? null, event.gym ?? null, JSON.stringify(event.detail));
      return { id: String(lastInsertRowid), at: event.at, type: event.type, actorUserId: event.actorUserId, gym: event.gym, detail: event.detail };
    });
  }

  async listAudit(query: AuditQuery): Promise<AuditPage> {
    const { gym, userId, limit, before } = checkAuditQuery(query);
    return this.run('reading the audit log', (db) => {
      const rows = db
        .prepare(
          `SELECT * FROM audit_log
           WHERE (@gym IS NULL OR gym = @gym) AND (@userId IS NULL OR actor_user_id = @userId) AND (@before IS NULL OR id < @before)
           ORDER BY id DESC LIMIT @limit`,
        )
        .all({ gym: gym ?? null, userId: userId ?? null, before: before ?? null, limit: limit + 1 }) as AuditRow[];
      return auditPage(rows.map(toAudit), limit);
    });
  }

  oidc(model: string): OidcModelStore {
    checkText('model', model);
    return new SqliteOidcModel(this, model);
  }

  async pruneExpiredOidc(): Promise<number> {
    return this.run('pruning oidc-provider instances', (db) => db.prepare('DELETE FROM oidc_models WHERE expires_at <= ?').run(this.clock()).changes);
  }

  /** For SqliteOidcModel. */
  oidcStatement<T>(what: string, body: (db: SqliteDatabase, now: number) => T): T {
    return this.run(what, (db) => body(db, this.clock()));
  }
}

function unknownUser(param: string, userId: string, cause?: unknown): IdentityStoreError {
  return new IdentityStoreError('not_found', `${param}: no user ${userId}`, { param, cause });
}

const LIVE = '(expires_at IS NULL OR expires_at > @now)';

function toPayload(row: OidcRow | undefined): OidcPayload | undefined {
  if (!row) return undefined;
  const payload = JSON.parse(row.payload) as OidcPayload;
  return row.consumed_at === null ? payload : { ...payload, consumed: row.consumed_at };
}

class SqliteOidcModel implements OidcModelStore {
  constructor(
    private readonly store: SqliteIdentityStore,
    private readonly model: string,
  ) {}

  async upsert(id: string, payload: OidcPayload, expiresIn?: number): Promise<void> {
    checkOidcUpsert(id, payload, expiresIn);
    this.store.oidcStatement('storing an oidc-provider instance', (db, now) => {
      db.prepare(
        `INSERT INTO oidc_models (model, id, payload, grant_id, user_code, uid, expires_at, consumed_at)
         VALUES (@model, @id, @payload, @grantId, @userCode, @uid, @expiresAt, NULL)
         ON CONFLICT (model, id) DO UPDATE SET payload = excluded.payload, grant_id = excluded.grant_id, user_code = excluded.user_code,
           uid = excluded.uid, expires_at = excluded.expires_at, consumed_at = NULL`,
      ).run({
        model: this.model,
        id,
        payload: JSON.stringify(payload),
        ...oidcIndexes(this.model, payload),
        expiresAt: expiresIn === undefined ? null : now + Math.round(expiresIn * 1000),
      });
    });
  }

  private findWhere(column: 'id' | 'user_code' | 'uid', value: string): OidcPayload | undefined {
    checkText(column, value, 1000);
    return this.store.oidcStatement('reading an oidc-provider instance', (db, now) =>
      toPayload(
        db.prepare(`SELECT payload, consumed_at FROM oidc_models WHERE model = @model AND ${column} = @value AND ${LIVE}`).get({ model: this.model, value, now }) as
          OidcRow | undefined,
      ),
    );
  }

  async find(id: string): Promise<OidcPayload | undefined> {
    return this.findWhere('id', id);
  }

  async findByUserCode(userCode: string): Promise<OidcPayload | undefined> {
    return this.findWhere('user_code', userCode);
  }

  async findByUid(uid: string): Promise<OidcPayload | undefined> {
    return this.findWhere('uid', uid);
  }

  async consume(id: string): Promise<void> {
    checkText('id', id, 1000);
    this.store.oidcStatement('consuming an oidc-provider instance', (db, now) => {
      db.prepare('UPDATE oidc_models SET consumed_at = @consumed WHERE model = @model AND id = @id').run({ consumed: Math.floor(now / 1000), model: this.model, id });
    });
  }

  async destroy(id: string): Promise<void> {
    checkText('id', id, 1000);
    this.store.oidcStatement('removing an oidc-provider instance', (db) => db.prepare('DELETE FROM oidc_models WHERE model = ? AND id = ?').run(this.model, id));
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    checkText('grantId', grantId, 1000);
    this.store.oidcStatement('revoking a grant', (db) => db.prepare('DELETE FROM oidc_models WHERE grant_id = ?').run(grantId));
  }
}
