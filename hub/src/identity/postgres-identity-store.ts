// Over 500 lines: one adapter of the whole IdentityStore port, kept in one place so every method shares its error mapping and SQL dialect.
/**
 * The IdentityStore on PostgreSQL (`pg`), for several hub replicas sharing one database.
 *
 * Migrations: each version is applied in its own transaction that first takes a transaction-scoped advisory
 * lock (per schema), then checks `schema_migrations` again, so replicas starting together apply it once and
 * the others wait for it, and a failed migration leaves nothing half done.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
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
import { POSTGRES_MIGRATIONS, type Migration } from './migrations.ts';

export interface PostgresIdentityStoreOptions {
  /** postgres://user:password@host:port/database */
  url: string;
  /** The schema the tables live in (created if missing); the user's default search path when unset. */
  schema?: string;
  /** Connections at most; default 5. */
  poolSize?: number;
  /** Milliseconds since the epoch; tests move it to expire oidc-provider instances. */
  clock?: () => number;
  /** Replaces the migration list; only tests use it, to check what a later version does. */
  migrations?: readonly Migration[];
}

type UserRow = { id: string; email: string; display_name: string; created_at: string; disabled: boolean };
type MembershipRow = { user_id: string; gym: string; role: Role; created_at: string };
type AuditRow = { id: string; at: string; type: string; actor_user_id: string | null; gym: string | null; detail: Record<string, unknown> };
type OidcRow = { payload: OidcPayload; consumed_at: string | null };
type TotpRow = { user_id: string; secret: string; confirmed: boolean; created_at: string; last_used_step: string | null };
type TokenRow = { kind: OneTimeTokenKind; hash: string; created_at: string; expires_at: string; user_id: string | null; gym: string | null; detail: Record<string, unknown> };
type SigningKeyRow = { kid: string; alg: string; private_jwk: Record<string, unknown>; created_at: string; retired_at: string | null };

const toUser = (row: UserRow): User => ({ id: row.id, email: row.email, displayName: row.display_name, createdAt: Number(row.created_at), disabled: row.disabled });
const toMembership = (row: MembershipRow): Membership => ({ userId: row.user_id, gym: row.gym, role: row.role, createdAt: Number(row.created_at) });
const toAudit = (row: AuditRow): AuditEvent => ({
  id: row.id,
  at: Number(row.at),
  type: row.type,
  actorUserId: row.actor_user_id ?? undefined,
  gym: row.gym ?? undefined,
  detail: row.detail,
});
const toTotp = (row: TotpRow): TotpFactor => ({
  userId: row.user_id,
  secret: row.secret,
  confirmed: row.confirmed,
  createdAt: Number(row.created_at),
  lastUsedStep: row.last_used_step === null ? undefined : Number(row.last_used_step),
});
const toToken = (row: TokenRow): OneTimeToken => ({
  kind: row.kind,
  hash: row.hash,
  createdAt: Number(row.created_at),
  expiresAt: Number(row.expires_at),
  userId: row.user_id ?? undefined,
  gym: row.gym ?? undefined,
  detail: row.detail,
});
const toSigningKey = (row: SigningKeyRow): SigningKey => ({
  kid: row.kid,
  alg: row.alg,
  privateJwk: row.private_jwk,
  createdAt: Number(row.created_at),
  retiredAt: row.retired_at === null ? undefined : Number(row.retired_at),
});

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
const UNIQUE_VIOLATION = '23505';
const FOREIGN_KEY_VIOLATION = '23503';
const DUPLICATE_SCHEMA = '42P06';

function pgCode(err: unknown): string | undefined {
  return err instanceof pg.DatabaseError ? err.code : undefined;
}

function unknownUser(param: string, userId: string, cause?: unknown): IdentityStoreError {
  return new IdentityStoreError('not_found', `${param}: no user ${userId}`, { param, cause });
}

export class PostgresIdentityStore implements IdentityStore {
  private pool: pg.Pool | undefined;
  private readonly clock: () => number;
  private readonly migrationList: readonly Migration[];

  constructor(private readonly options: PostgresIdentityStoreOptions) {
    if (options.schema !== undefined && !SCHEMA_NAME.test(options.schema)) {
      throw new IdentityStoreError('invalid_input', `schema: '${options.schema}' is not a lower-case SQL identifier`, { param: 'schema' });
    }
    this.clock = options.clock ?? Date.now;
    this.migrationList = options.migrations ?? POSTGRES_MIGRATIONS;
  }

  private get where(): string {
    const url = new URL(this.options.url);
    return `PostgreSQL ${url.host}${url.pathname}${this.options.schema ? ` schema ${this.options.schema}` : ''}`;
  }

  async start(): Promise<void> {
    if (this.pool) return;
    const { schema } = this.options;
    const pool = new pg.Pool({
      connectionString: this.options.url,
      max: this.options.poolSize ?? 5,
      ...(schema ? { options: `-c search_path=${schema}` } : {}),
    });
    // An idle connection the server drops must not crash the process; the next query gets a new one.
    pool.on('error', () => {});
    try {
      if (schema) await createSchema(pool, schema);
      await this.migrate(pool);
    } catch (err) {
      await pool.end().catch(() => {});
      throw new IdentityStoreError('unavailable', `identity database ${this.where}: ${errorMessage(err)}`, { cause: err });
    }
    this.pool = pool;
  }

  async stop(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    await pool?.end();
  }

  private async migrate(pool: pg.Pool): Promise<void> {
    // Even CREATE TABLE IF NOT EXISTS can fail when two sessions run it at once, so it takes the lock too.
    const lock = `SELECT pg_advisory_xact_lock(hashtext('pulsebridge identity migrations ' || current_schema()))`;
    await inTransaction(pool, async (client) => {
      await client.query(lock);
      await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)');
    });
    for (const migration of this.migrationList) {
      await inTransaction(pool, async (client) => {
        await client.query(lock);
        if ((await client.query('SELECT 1 FROM schema_migrations WHERE version = $1', [migration.version])).rowCount) return;
        await client.query(migration.sql);
        await client.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [migration.version, migration.name, this.clock()]);
      });
    }
  }

  /** One query on the pool, with the database's errors turned into the store's. */
  async query<R extends pg.QueryResultRow>(
    what: string,
    sql: string,
    params: unknown[] = [],
    onError?: (err: unknown) => IdentityStoreError | undefined,
  ): Promise<pg.QueryResult<R>> {
    const pool = this.pool;
    if (!pool) throw new IdentityStoreError('not_started', 'the identity store is not started');
    try {
      return await pool.query<R>(sql, params);
    } catch (err) {
      throw onError?.(err) ?? new IdentityStoreError('unavailable', `${what} (${this.where}): ${errorMessage(err)}`, { cause: err });
    }
  }

  /** Several statements in one transaction, with the database's errors turned into the store's. */
  private async transaction<T>(what: string, body: (client: pg.PoolClient) => Promise<T>, onError?: (err: unknown) => IdentityStoreError | undefined): Promise<T> {
    const pool = this.pool;
    if (!pool) throw new IdentityStoreError('not_started', 'the identity store is not started');
    let result: T | undefined;
    try {
      await inTransaction(pool, async (client) => {
        result = await body(client);
      });
    } catch (err) {
      if (err instanceof IdentityStoreError) throw err;
      throw onError?.(err) ?? new IdentityStoreError('unavailable', `${what} (${this.where}): ${errorMessage(err)}`, { cause: err });
    }
    return result as T;
  }

  get now(): number {
    return this.clock();
  }

  async migrations(): Promise<AppliedMigration[]> {
    const { rows } = await this.query<{ version: number; name: string; applied_at: string }>(
      'reading schema_migrations',
      'SELECT version, name, applied_at FROM schema_migrations ORDER BY version',
    );
    return rows.map((r) => ({ version: r.version, name: r.name, appliedAt: Number(r.applied_at) }));
  }

  async createUser(input: NewUser): Promise<User> {
    const { email, emailKey, displayName } = checkNewUser(input);
    const user: User = { id: randomUUID(), email, displayName, createdAt: this.clock(), disabled: false };
    await this.query(
      'creating a user',
      'INSERT INTO users (id, email, email_key, display_name, created_at, disabled) VALUES ($1, $2, $3, $4, $5, FALSE)',
      [user.id, email, emailKey, displayName, user.createdAt],
      (err) => (pgCode(err) === UNIQUE_VIOLATION ? new IdentityStoreError('conflict', `email: a user with ${email} exists already`, { param: 'email', cause: err }) : undefined),
    );
    return user;
  }

  async getUser(id: string): Promise<User | undefined> {
    checkText('id', id);
    const { rows } = await this.query<UserRow>('reading a user', 'SELECT * FROM users WHERE id = $1', [id]);
    return rows[0] && toUser(rows[0]);
  }

  async deleteUser(id: string): Promise<boolean> {
    checkText('id', id);
    return this.transaction('erasing a user', async (client) => {
      const { rows } = await client.query<UserRow>('SELECT * FROM users WHERE id = $1 FOR UPDATE', [id]);
      if (!rows[0]) return false;
      const user = toUser(rows[0]);
      const traces = tracesOf(user);
      // oidc-provider keeps the account in its payloads (accountId, and nested in interactions' results);
      // the grants' codes and tokens go with their grant.
      await client.query(
        `DELETE FROM oidc_models WHERE grant_id IN (SELECT id FROM oidc_models WHERE model = 'Grant' AND payload->>'accountId' = $1)
           OR payload->>'accountId' = $1 OR position($1 in payload::text) > 0`,
        [id],
      );
      // Invites to their email die with them; the cascade takes the tokens naming them as user.
      await client.query("DELETE FROM one_time_tokens WHERE lower(detail->>'email') = $1", [user.email.toLowerCase()]);
      const tokens = await client.query<{ kind: string; hash: string; detail: Record<string, unknown> }>(
        'SELECT kind, hash, detail FROM one_time_tokens WHERE user_id IS DISTINCT FROM $1',
        [id],
      );
      for (const token of tokens.rows.filter((t) => mentions(JSON.stringify(t.detail), traces))) {
        await client.query('UPDATE one_time_tokens SET detail = $1 WHERE kind = $2 AND hash = $3', [JSON.stringify(redacted(token.detail, traces)), token.kind, token.hash]);
      }
      const entries = await client.query<{ id: string; actor_user_id: string | null; detail: Record<string, unknown> }>('SELECT id, actor_user_id, detail FROM audit_log');
      for (const entry of entries.rows.filter((e) => e.actor_user_id === id || mentions(JSON.stringify(e.detail), traces))) {
        await client.query('UPDATE audit_log SET actor_user_id = $1, detail = $2 WHERE id = $3', [
          entry.actor_user_id === id ? DELETED_USER : entry.actor_user_id,
          JSON.stringify(redacted(entry.detail, traces)),
          entry.id,
        ]);
      }
      // Password, second factor, recovery codes, profile, memberships, federated links and their other
      // one-time tokens reference users(id) ON DELETE CASCADE.
      await client.query('DELETE FROM users WHERE id = $1', [id]);
      return true;
    });
  }

  async findUserByEmail(email: string): Promise<User | undefined> {
    const { key } = checkEmail(email);
    const { rows } = await this.query<UserRow>('reading a user', 'SELECT * FROM users WHERE email_key = $1', [key]);
    return rows[0] && toUser(rows[0]);
  }

  async setUserDisabled(id: string, disabled: boolean): Promise<void> {
    checkText('id', id);
    const { rowCount } = await this.query('updating a user', 'UPDATE users SET disabled = $1 WHERE id = $2', [disabled, id]);
    if (!rowCount) throw unknownUser('id', id);
  }

  async setDisplayName(id: string, displayName: string): Promise<void> {
    checkText('id', id);
    const name = checkText('displayName', displayName).trim();
    const { rowCount } = await this.query('renaming a user', 'UPDATE users SET display_name = $1 WHERE id = $2', [name, id]);
    if (!rowCount) throw unknownUser('id', id);
  }

  async getProfile(userId: string): Promise<AthleteProfile | undefined> {
    checkText('userId', userId);
    const { rows } = await this.query<ProfileRow & { updated_at: string }>('reading a profile', 'SELECT * FROM athlete_profiles WHERE user_id = $1', [userId]);
    return rows[0] && toProfile(userId, rows[0], Number(rows[0].updated_at));
  }

  async saveProfile(userId: string, fields: AthleteProfileFields): Promise<AthleteProfile> {
    checkText('userId', userId);
    const now = this.clock();
    const row = checkProfile(fields, new Date(now).toISOString().slice(0, 10));
    const n = PROFILE_COLUMNS.length;
    await this.query(
      'saving a profile',
      `INSERT INTO athlete_profiles (user_id, ${PROFILE_COLUMNS.join(', ')}, updated_at) VALUES ($1, ${PROFILE_COLUMNS.map((_, i) => `$${i + 2}`).join(', ')}, $${n + 2})
       ON CONFLICT (user_id) DO UPDATE SET ${PROFILE_COLUMNS.map((c) => `${c} = excluded.${c}`).join(', ')}, updated_at = excluded.updated_at`,
      [userId, ...PROFILE_COLUMNS.map((c) => row[c]), now],
      (err) => (pgCode(err) === FOREIGN_KEY_VIOLATION ? unknownUser('userId', userId, err) : undefined),
    );
    return toProfile(userId, row, now);
  }

  async setPassword(userId: string, credential: { hash: string; paramsVersion: number }): Promise<void> {
    checkText('userId', userId);
    const { hash, paramsVersion } = checkCredential(credential);
    await this.query(
      'setting a password',
      `INSERT INTO password_credentials (user_id, hash, params_version, updated_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (user_id) DO UPDATE SET hash = excluded.hash, params_version = excluded.params_version, updated_at = excluded.updated_at`,
      [userId, hash, paramsVersion, this.clock()],
      (err) => (pgCode(err) === FOREIGN_KEY_VIOLATION ? unknownUser('userId', userId, err) : undefined),
    );
  }

  async getPassword(userId: string): Promise<PasswordCredential | undefined> {
    checkText('userId', userId);
    const { rows } = await this.query<{ hash: string; params_version: number; updated_at: string }>(
      'reading a password',
      'SELECT hash, params_version, updated_at FROM password_credentials WHERE user_id = $1',
      [userId],
    );
    const row = rows[0];
    return row && { userId, hash: row.hash, paramsVersion: row.params_version, updatedAt: Number(row.updated_at) };
  }

  async addMembership(input: { userId: string; gym: string; role: Role }): Promise<Membership> {
    const { userId, gym, role } = checkMembership(input);
    const membership: Membership = { userId, gym, role, createdAt: this.clock() };
    await this.query(
      'adding a membership',
      'INSERT INTO memberships (user_id, gym, role, created_at) VALUES ($1, $2, $3, $4)',
      [userId, gym, role, membership.createdAt],
      (err) => {
        if (pgCode(err) === FOREIGN_KEY_VIOLATION) return unknownUser('userId', userId, err);
        if (pgCode(err) === UNIQUE_VIOLATION)
          return new IdentityStoreError('conflict', `membership: user ${userId} is ${role} of gym ${gym} already`, { param: 'membership', cause: err });
        return undefined;
      },
    );
    return membership;
  }

  async removeMembership(input: { userId: string; gym: string; role: Role }): Promise<boolean> {
    const { userId, gym, role } = checkMembership(input);
    const { rowCount } = await this.query('removing a membership', 'DELETE FROM memberships WHERE user_id = $1 AND gym = $2 AND role = $3', [userId, gym, role]);
    return (rowCount ?? 0) > 0;
  }

  async listMembershipsOfUser(userId: string): Promise<Membership[]> {
    checkText('userId', userId);
    // COLLATE "C": the same byte order as SQLite, whatever the database's locale.
    const { rows } = await this.query<MembershipRow>('listing memberships', 'SELECT * FROM memberships WHERE user_id = $1 ORDER BY gym COLLATE "C", role COLLATE "C"', [userId]);
    return rows.map(toMembership);
  }

  async listMembershipsOfGym(gym: string): Promise<Membership[]> {
    checkText('gym', gym);
    const { rows } = await this.query<MembershipRow>('listing memberships', 'SELECT * FROM memberships WHERE gym = $1 ORDER BY user_id COLLATE "C", role COLLATE "C"', [gym]);
    return rows.map(toMembership);
  }

  async setTotp(userId: string, secret: string): Promise<void> {
    checkText('userId', userId);
    checkTotpSecret(secret);
    await this.query(
      'setting a TOTP factor',
      `INSERT INTO totp_factors (user_id, secret, confirmed, created_at, last_used_step) VALUES ($1, $2, FALSE, $3, NULL)
       ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret, confirmed = FALSE, created_at = excluded.created_at, last_used_step = NULL`,
      [userId, secret, this.clock()],
      (err) => (pgCode(err) === FOREIGN_KEY_VIOLATION ? unknownUser('userId', userId, err) : undefined),
    );
  }

  async getTotp(userId: string): Promise<TotpFactor | undefined> {
    checkText('userId', userId);
    const { rows } = await this.query<TotpRow>('reading a TOTP factor', 'SELECT * FROM totp_factors WHERE user_id = $1', [userId]);
    return rows[0] && toTotp(rows[0]);
  }

  async confirmTotp(userId: string): Promise<boolean> {
    checkText('userId', userId);
    const { rowCount } = await this.query('confirming a TOTP factor', 'UPDATE totp_factors SET confirmed = TRUE WHERE user_id = $1', [userId]);
    return (rowCount ?? 0) > 0;
  }

  async removeTotp(userId: string): Promise<boolean> {
    checkText('userId', userId);
    return this.transaction('removing a TOTP factor', async (client) => {
      await client.query('DELETE FROM recovery_codes WHERE user_id = $1', [userId]);
      return ((await client.query('DELETE FROM totp_factors WHERE user_id = $1', [userId])).rowCount ?? 0) > 0;
    });
  }

  async useTotpStep(userId: string, step: number): Promise<boolean> {
    checkText('userId', userId);
    checkTotpStep(step);
    // One conditional UPDATE: the row lock makes a second replica's UPDATE re-check the condition and change nothing.
    const { rowCount } = await this.query(
      'recording a TOTP step',
      'UPDATE totp_factors SET last_used_step = $2 WHERE user_id = $1 AND (last_used_step IS NULL OR last_used_step < $2)',
      [userId, step],
    );
    return (rowCount ?? 0) > 0;
  }

  async replaceRecoveryCodes(userId: string, hashes: readonly string[]): Promise<void> {
    checkText('userId', userId);
    const checked = checkRecoveryHashes(hashes);
    await this.transaction('replacing recovery codes', async (client) => {
      if (!(await client.query('SELECT 1 FROM users WHERE id = $1', [userId])).rowCount) throw unknownUser('userId', userId);
      await client.query('DELETE FROM recovery_codes WHERE user_id = $1', [userId]);
      await client.query('INSERT INTO recovery_codes (user_id, hash, used_at) SELECT $1, unnest($2::text[]), NULL', [userId, checked]);
    });
  }

  async useRecoveryCode(userId: string, hash: string): Promise<boolean> {
    checkText('userId', userId);
    checkHash(hash);
    const { rowCount } = await this.query('using a recovery code', 'UPDATE recovery_codes SET used_at = $3 WHERE user_id = $1 AND hash = $2 AND used_at IS NULL', [
      userId,
      hash,
      this.clock(),
    ]);
    return (rowCount ?? 0) > 0;
  }

  async countRecoveryCodes(userId: string): Promise<number> {
    checkText('userId', userId);
    const { rows } = await this.query<{ n: string }>('counting recovery codes', 'SELECT COUNT(*) AS n FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL', [userId]);
    return Number(rows[0]!.n);
  }

  async createOneTimeToken(input: NewOneTimeToken): Promise<OneTimeToken> {
    const t = checkNewOneTimeToken(input);
    const token: OneTimeToken = { kind: t.kind, hash: t.hash, createdAt: this.clock(), expiresAt: t.expiresAt, userId: t.userId, gym: t.gym, detail: t.detail };
    await this.query(
      'creating a one-time token',
      'INSERT INTO one_time_tokens (kind, hash, created_at, expires_at, used_at, user_id, gym, detail) VALUES ($1, $2, $3, $4, NULL, $5, $6, $7)',
      [token.kind, token.hash, token.createdAt, token.expiresAt, token.userId ?? null, token.gym ?? null, JSON.stringify(token.detail)],
      (err) => {
        if (pgCode(err) === FOREIGN_KEY_VIOLATION) return unknownUser('userId', token.userId!, err);
        if (pgCode(err) === UNIQUE_VIOLATION) return new IdentityStoreError('conflict', `hash: a ${token.kind} token with this hash exists already`, { param: 'hash', cause: err });
        return undefined;
      },
    );
    return token;
  }

  async consumeOneTimeToken(kind: OneTimeTokenKind, hash: string, now: number): Promise<OneTimeToken | undefined> {
    checkTokenKind(kind);
    checkHash(hash);
    checkTime('now', now);
    const { rows } = await this.query<TokenRow>(
      'consuming a one-time token',
      `UPDATE one_time_tokens SET used_at = $3 WHERE kind = $1 AND hash = $2 AND used_at IS NULL AND expires_at > $3
       RETURNING kind, hash, created_at, expires_at, user_id, gym, detail`,
      [kind, hash, now],
    );
    return rows[0] && toToken(rows[0]);
  }

  async revokeOneTimeTokens(kind: OneTimeTokenKind, field: string, value: string): Promise<number> {
    checkTokenKind(kind);
    checkDetailField(field);
    checkText('value', value, 1000);
    const { rowCount } = await this.query('revoking one-time tokens', 'DELETE FROM one_time_tokens WHERE kind = $1 AND used_at IS NULL AND detail ->> $2 = $3', [
      kind,
      field,
      value,
    ]);
    return rowCount ?? 0;
  }

  async linkFederatedIdentity(input: { issuer: string; subject: string; userId: string }): Promise<void> {
    const { issuer, subject, userId } = checkFederatedLink(input);
    await this.query(
      'linking a federated identity',
      'INSERT INTO federated_identities (issuer, subject, user_id, created_at) VALUES ($1, $2, $3, $4)',
      [issuer, subject, userId, this.clock()],
      (err) => {
        if (pgCode(err) === FOREIGN_KEY_VIOLATION) return unknownUser('userId', userId, err);
        if (pgCode(err) === UNIQUE_VIOLATION) return new IdentityStoreError('conflict', `subject: ${subject} of ${issuer} is linked already`, { param: 'subject', cause: err });
        return undefined;
      },
    );
  }

  async findFederatedUser(issuer: string, subject: string): Promise<string | undefined> {
    checkText('issuer', issuer, 1000);
    checkText('subject', subject, 1000);
    const { rows } = await this.query<{ user_id: string }>('reading a federated link', 'SELECT user_id FROM federated_identities WHERE issuer = $1 AND subject = $2', [
      issuer,
      subject,
    ]);
    return rows[0]?.user_id;
  }

  async addSigningKey(input: { kid: string; alg: string; privateJwk: Record<string, unknown> }): Promise<SigningKey> {
    const { kid, alg, privateJwk } = checkNewSigningKey(input);
    const key: SigningKey = { kid, alg, privateJwk, createdAt: this.clock(), retiredAt: undefined };
    await this.query(
      'adding a signing key',
      'INSERT INTO signing_keys (kid, alg, private_jwk, created_at, retired_at) VALUES ($1, $2, $3, $4, NULL)',
      [kid, alg, JSON.stringify(privateJwk), key.createdAt],
      (err) => (pgCode(err) === UNIQUE_VIOLATION ? new IdentityStoreError('conflict', `kid: a signing key ${kid} exists already`, { param: 'kid', cause: err }) : undefined),
    );
    return key;
  }

  async listSigningKeys(): Promise<SigningKey[]> {
    const { rows } = await this.query<SigningKeyRow>('listing signing keys', 'SELECT kid, alg, private_jwk, created_at, retired_at FROM signing_keys ORDER BY seq DESC');
    return rows.map(toSigningKey);
  }

  async retireSigningKeysExcept(kid: string, at: number): Promise<void> {
    checkText('kid', kid);
    checkTime('at', at);
    await this.query('retiring signing keys', 'UPDATE signing_keys SET retired_at = $2 WHERE kid <> $1 AND retired_at IS NULL', [kid, at]);
  }

  async deleteSigningKeysRetiredBefore(before: number): Promise<number> {
    checkTime('before', before);
    const { rowCount } = await this.query('deleting retired signing keys', 'DELETE FROM signing_keys WHERE retired_at IS NOT NULL AND retired_at < $1', [before]);
    return rowCount ?? 0;
  }

  async getOrCreateSecret(name: string, create: () => string): Promise<string> {
    checkText('name', name);
    const read = async (): Promise<string | undefined> =>
      (await this.query<{ value: string }>('reading a named secret', 'SELECT value FROM named_secrets WHERE name = $1', [name])).rows[0]?.value;
    const existing = await read();
    if (existing !== undefined) return existing;
    // Replicas racing here all insert; DO NOTHING keeps the first, and the SELECT after it returns that one to all.
    await this.query('creating a named secret', 'INSERT INTO named_secrets (name, value, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING', [
      name,
      checkSecretValue(create()),
      this.clock(),
    ]);
    const value = await read();
    if (value === undefined) throw new IdentityStoreError('unavailable', `named secret ${name} vanished right after it was created`);
    return value;
  }

  async appendAudit(input: NewAuditEvent): Promise<AuditEvent> {
    const event = checkAuditEvent(input, this.clock());
    const { rows } = await this.query<{ id: string }>(
      'appending to the audit log',
      'INSERT INTO audit_log (at, type, actor_user_id, gym, detail) VALUES ($1, $2, $3, $4, $5) RETURNING id',
      [event.at, event.type, event.actorUserId ?? null, event.gym ?? null, JSON.stringify(event.detail)],
    );
    return { id: rows[0]!.id, at: event.at, type: event.type, actorUserId: event.actorUserId, gym: event.gym, detail: event.detail };
  }

  async listAudit(query: AuditQuery): Promise<AuditPage> {
    const { gym, userId, limit, before } = checkAuditQuery(query);
    const { rows } = await this.query<AuditRow>(
      'reading the audit log',
      `SELECT * FROM audit_log
       WHERE ($1::text IS NULL OR gym = $1) AND ($2::text IS NULL OR actor_user_id = $2) AND ($3::bigint IS NULL OR id < $3)
       ORDER BY id DESC LIMIT $4`,
      [gym ?? null, userId ?? null, before ?? null, limit + 1],
    );
    return auditPage(rows.map(toAudit), limit);
  }

  oidc(model: string): OidcModelStore {
    checkText('model', model);
    return new PostgresOidcModel(this, model);
  }

  async pruneExpiredOidc(): Promise<number> {
    const { rowCount } = await this.query('pruning oidc-provider instances', 'DELETE FROM oidc_models WHERE expires_at <= $1', [this.clock()]);
    return rowCount ?? 0;
  }
}

/**
 * CREATE SCHEMA IF NOT EXISTS is not safe against itself: of replicas running it at once on a new schema, the
 * losers fail with a unique violation on pg_namespace. That failure means the schema is there, which is all we need.
 */
async function createSchema(pool: pg.Pool, schema: string): Promise<void> {
  try {
    await pool.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
  } catch (err) {
    if (pgCode(err) !== UNIQUE_VIOLATION && pgCode(err) !== DUPLICATE_SCHEMA) throw err;
  }
}

async function inTransaction(pool: pg.Pool, body: (client: pg.PoolClient) => Promise<void>): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await body(client);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

const LIVE = '(expires_at IS NULL OR expires_at > $3)';

function toPayload(row: OidcRow | undefined): OidcPayload | undefined {
  if (!row) return undefined;
  return row.consumed_at === null ? row.payload : { ...row.payload, consumed: Number(row.consumed_at) };
}

class PostgresOidcModel implements OidcModelStore {
  constructor(
    private readonly store: PostgresIdentityStore,
    private readonly model: string,
  ) {}

  async upsert(id: string, payload: OidcPayload, expiresIn?: number): Promise<void> {
    checkOidcUpsert(id, payload, expiresIn);
    const { grantId, userCode, uid } = oidcIndexes(this.model, payload);
    const expiresAt = expiresIn === undefined ? null : this.store.now + Math.round(expiresIn * 1000);
    await this.store.query(
      'storing an oidc-provider instance',
      `INSERT INTO oidc_models (model, id, payload, grant_id, user_code, uid, expires_at, consumed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, NULL)
       ON CONFLICT (model, id) DO UPDATE SET payload = excluded.payload, grant_id = excluded.grant_id, user_code = excluded.user_code,
         uid = excluded.uid, expires_at = excluded.expires_at, consumed_at = NULL`,
      [this.model, id, JSON.stringify(payload), grantId, userCode, uid, expiresAt],
    );
  }

  private async findWhere(column: 'id' | 'user_code' | 'uid', value: string): Promise<OidcPayload | undefined> {
    checkText(column, value, 1000);
    const { rows } = await this.store.query<OidcRow>(
      'reading an oidc-provider instance',
      `SELECT payload, consumed_at FROM oidc_models WHERE model = $1 AND ${column} = $2 AND ${LIVE}`,
      [this.model, value, this.store.now],
    );
    return toPayload(rows[0]);
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
    await this.store.query('consuming an oidc-provider instance', 'UPDATE oidc_models SET consumed_at = $1 WHERE model = $2 AND id = $3', [
      Math.floor(this.store.now / 1000),
      this.model,
      id,
    ]);
  }

  async destroy(id: string): Promise<void> {
    checkText('id', id, 1000);
    await this.store.query('removing an oidc-provider instance', 'DELETE FROM oidc_models WHERE model = $1 AND id = $2', [this.model, id]);
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    checkText('grantId', grantId, 1000);
    await this.store.query('revoking a grant', 'DELETE FROM oidc_models WHERE grant_id = $1', [grantId]);
  }
}
