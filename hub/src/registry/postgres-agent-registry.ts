/**
 * The agent registry on PostgreSQL (`pg`), shared by several hub replicas.
 *
 * What each replica keeps in memory, and how stale it may be:
 *  - Credentials: nothing that can go stale. Every authentication reads the agent's row; only the result of
 *    the scrypt run is remembered, and only while the row still holds the same hash and is enabled
 *    (agent-credentials.ts SecretChecker). A rotation, revocation, disable or removal on any replica is
 *    refused by every replica at its next check.
 *  - Last-seen times: buffered per replica and written every `flushIntervalMs` (GREATEST, so a replica with
 *    an older time never moves it back). This replica's reads include its own buffer; another replica's
 *    buffered times reach the others within one interval.
 *  - Presence (`online`): shared, not per replica. With several replicas the agent's connection and its status
 *    messages reach one replica, not all (MQTT shared subscriptions), so the replica that hears of a change
 *    writes it to the agent's row with the hub time of the change; a change older than the one stored is
 *    ignored, so two replicas racing cannot leave an agent back in an earlier state. Every replica reads
 *    presence from the row. With the external broker (the deployment that runs replicas) the broker publishes
 *    an agent's last will when its connection drops, even when the replica that heard it connect has died, so
 *    some replica records it offline. Writes are queued per agent in order; this replica's own reads wait for
 *    its queued presence writes, so it reads what it just wrote.
 */
import type pg from 'pg';
import type { Logger } from 'pino';
import type { SensorInfo, StatusMessage } from '@pulsebridge/protocol';
import { errorMessage } from '@pulsebridge/runtime';
import type { AgentRecord, AgentRegistry, EnrollmentCode, IssueEnrollmentOptions } from './agent-registry.ts';
import { DEFAULT_SCRYPT_COST, RegistryError, SecretChecker, checkIds, newSecret, type ScryptCost } from './agent-credentials.ts';
import { DEFAULT_ENROLLMENT_TTL_MS, enrollmentCodeHash, newEnrollmentCode, normalizeEnrollmentCode } from './enrollment-code.ts';
import { PostgresStateError, checkStateSchema, inTransaction, openStatePool, pgCode, stateWhere, type PostgresStateOptions, type StateMigration } from './postgres-state.ts';
import { DEFAULT_LAST_SEEN_FLUSH_MS } from './sqlite-agent-registry.ts';

export interface PostgresAgentRegistryOptions extends PostgresStateOptions {
  log: Logger;
  /** How often buffered last-seen times are written, all in one statement; what a crash can lose. */
  flushIntervalMs?: number;
  /** How long a successful scrypt check is remembered (see the file comment); 0 disables it. */
  authCacheMs?: number;
  scryptCost?: ScryptCost;
  /** How long an enrollment code stays valid when the caller does not say; default 15 minutes. */
  enrollmentTtlMs?: number;
  now?: () => number;
}

export const AGENT_REGISTRY_MIGRATIONS: readonly StateMigration[] = [
  {
    version: 1,
    name: 'agents and enrollment codes',
    sql: `
      CREATE TABLE agents (
        id TEXT PRIMARY KEY,
        gym TEXT NOT NULL,
        secret_hash TEXT,
        disabled BOOLEAN NOT NULL DEFAULT FALSE,
        created_at BIGINT NOT NULL,
        last_seen BIGINT,
        status TEXT,
        status_at BIGINT,
        inventory TEXT,
        online BOOLEAN NOT NULL DEFAULT FALSE,
        online_at BIGINT
      );
      CREATE INDEX agents_by_gym ON agents (gym);
      CREATE TABLE agent_enrollment_codes (
        code_hash TEXT PRIMARY KEY,
        agent TEXT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
        expires_at BIGINT NOT NULL,
        created_at BIGINT NOT NULL
      );
      CREATE INDEX agent_enrollment_codes_by_agent ON agent_enrollment_codes (agent);
    `,
  },
];

interface AgentRow {
  id: string;
  gym: string;
  secret_hash: string | null;
  disabled: boolean;
  created_at: string;
  last_seen: string | null;
  status: string | null;
  inventory: string | null;
  online: boolean;
}

const COLUMNS = 'id, gym, secret_hash, disabled, created_at, last_seen, status, inventory, online';
const UNIQUE_VIOLATION = '23505';

export class PostgresAgentRegistry implements AgentRegistry {
  private pool: pg.Pool | undefined;
  private readonly log: Logger;
  private readonly flushIntervalMs: number;
  private readonly enrollmentTtlMs: number;
  private readonly now: () => number;
  private readonly credentials: SecretChecker;
  private readonly pendingLastSeen = new Map<string, number>();
  /** Per agent, the last queued presence write: the next one waits for it, so they land in order. */
  private readonly presenceWrites = new Map<string, Promise<void>>();
  private flushTimer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;

  constructor(private readonly options: PostgresAgentRegistryOptions) {
    checkStateSchema(options.schema);
    this.log = options.log.child({ ns: 'registry' });
    this.flushIntervalMs = options.flushIntervalMs ?? DEFAULT_LAST_SEEN_FLUSH_MS;
    this.enrollmentTtlMs = options.enrollmentTtlMs ?? DEFAULT_ENROLLMENT_TTL_MS;
    this.now = options.now ?? Date.now;
    this.credentials = new SecretChecker(options.scryptCost ?? DEFAULT_SCRYPT_COST, options.authCacheMs ?? 60_000, this.now);
  }

  async start(): Promise<void> {
    if (this.pool) return;
    this.pool = await openStatePool(this.options, 'agent registry', AGENT_REGISTRY_MIGRATIONS, this.now);
    if (this.flushIntervalMs > 0) {
      this.flushTimer = setInterval(() => void this.flushLastSeen(), this.flushIntervalMs);
      this.flushTimer.unref();
    }
  }

  async stop(): Promise<void> {
    if (this.flushTimer) clearInterval(this.flushTimer);
    this.flushTimer = undefined;
    const pool = this.pool;
    if (!pool) return;
    await this.presenceSettled();
    await this.flushLastSeen();
    this.pool = undefined;
    this.credentials.clear();
    await pool.end();
  }

  /** Whether the database answers now: for readiness. */
  async ping(): Promise<boolean> {
    try {
      await this.started().query('SELECT 1');
      return true;
    } catch {
      return false;
    }
  }

  async create(id: string, gym: string): Promise<{ agent: AgentRecord; secret: string }> {
    checkIds(id, gym);
    const secret = newSecret();
    const hash = await this.credentials.hash(secret);
    const createdAt = this.now();
    await this.insert(this.started(), id, gym, hash, createdAt);
    this.log.info({ agent: id, gym }, 'agent created');
    return { agent: { id, gym, createdAt, online: false, disabled: false, enrolled: true }, secret };
  }

  async createForEnrollment(id: string, gym: string, options: { ttlMs?: number } = {}): Promise<{ agent: AgentRecord; enrollment: EnrollmentCode }> {
    checkIds(id, gym);
    const createdAt = this.now();
    const enrollment = await inTransaction(this.started(), async (client) => {
      await this.insert(client, id, gym, null, createdAt);
      return this.storeCode(client, id, options.ttlMs);
    });
    this.log.info({ agent: id, gym, expiresAt: enrollment.expiresAt }, 'agent created, waiting for enrollment');
    return { agent: { id, gym, createdAt, online: false, disabled: false, enrolled: false }, enrollment };
  }

  async issueEnrollment(id: string, options: IssueEnrollmentOptions = {}): Promise<EnrollmentCode | undefined> {
    const enrollment = await inTransaction(this.started(), async (client) => {
      if (!(await client.query('SELECT 1 FROM agents WHERE id = $1 FOR UPDATE', [id])).rowCount) return undefined;
      await client.query('DELETE FROM agent_enrollment_codes WHERE agent = $1', [id]);
      if (options.revokeSecret) await client.query('UPDATE agents SET secret_hash = NULL WHERE id = $1', [id]);
      return this.storeCode(client, id, options.ttlMs);
    });
    if (!enrollment) return undefined;
    if (options.revokeSecret) this.credentials.forget(id);
    this.log.info({ agent: id, expiresAt: enrollment.expiresAt, secretRevoked: options.revokeSecret === true }, 'enrollment code issued');
    return enrollment;
  }

  async redeemEnrollment(code: string, now: number): Promise<{ agent: AgentRecord; secret: string } | undefined> {
    const normalized = normalizeEnrollmentCode(code);
    if (normalized === undefined) return undefined;
    const hash = enrollmentCodeHash(normalized);
    const pool = this.started();
    // Checked before scrypt runs, so that guessing codes costs the hub no hashing.
    const found = await pool.query('SELECT 1 FROM agent_enrollment_codes WHERE code_hash = $1 AND expires_at > $2', [hash, now]);
    if (!found.rowCount) return undefined;
    const secret = newSecret();
    const secretHash = await this.credentials.hash(secret);
    // The DELETE takes the code's row lock: of redemptions racing on any replicas, the others wait for it and
    // then find the row gone, so exactly one gets the code. A disabled agent's code is left in place, as before.
    const row = await inTransaction(pool, async (client) => {
      const taken = await client.query<{ agent: string }>(
        `DELETE FROM agent_enrollment_codes WHERE code_hash = $1 AND expires_at > $2
           AND agent IN (SELECT id FROM agents WHERE NOT disabled) RETURNING agent`,
        [hash, now],
      );
      const agent = taken.rows[0]?.agent;
      if (agent === undefined) return undefined;
      await client.query('DELETE FROM agent_enrollment_codes WHERE agent = $1', [agent]);
      const updated = await client.query<AgentRow>(`UPDATE agents SET secret_hash = $1 WHERE id = $2 RETURNING ${COLUMNS}`, [secretHash, agent]);
      return updated.rows[0];
    });
    if (!row) return undefined;
    this.credentials.forget(row.id);
    this.log.info({ agent: row.id, gym: row.gym }, 'enrollment code redeemed');
    return { agent: this.toRecord(row), secret };
  }

  async disable(id: string): Promise<boolean> {
    const changed = ((await this.started().query('UPDATE agents SET disabled = TRUE WHERE id = $1', [id])).rowCount ?? 0) > 0;
    this.credentials.forget(id);
    if (changed) this.log.info({ agent: id }, 'agent disabled');
    return changed;
  }

  async enable(id: string): Promise<boolean> {
    const changed = ((await this.started().query('UPDATE agents SET disabled = FALSE WHERE id = $1', [id])).rowCount ?? 0) > 0;
    if (changed) this.log.info({ agent: id }, 'agent enabled');
    return changed;
  }

  async rotateSecret(id: string): Promise<string | undefined> {
    const secret = newSecret();
    const hash = await this.credentials.hash(secret);
    const changed = ((await this.started().query('UPDATE agents SET secret_hash = $1 WHERE id = $2', [hash, id])).rowCount ?? 0) > 0;
    this.credentials.forget(id);
    if (!changed) return undefined;
    this.log.info({ agent: id }, 'agent secret rotated');
    return secret;
  }

  async remove(id: string): Promise<boolean> {
    this.credentials.forget(id);
    this.pendingLastSeen.delete(id);
    await this.presenceWrites.get(id);
    // The codes go with the agent (ON DELETE CASCADE), and so does its presence: a new agent of that id starts offline.
    const removed = ((await this.started().query('DELETE FROM agents WHERE id = $1', [id])).rowCount ?? 0) > 0;
    if (removed) this.log.info({ agent: id }, 'agent removed');
    return removed;
  }

  async get(id: string): Promise<AgentRecord | undefined> {
    const pool = this.started();
    await this.presenceWrites.get(id);
    const { rows } = await pool.query<AgentRow>(`SELECT ${COLUMNS} FROM agents WHERE id = $1`, [id]);
    return rows[0] && this.toRecord(rows[0]);
  }

  async list(): Promise<AgentRecord[]> {
    const pool = this.started();
    await this.presenceSettled();
    const { rows } = await pool.query<AgentRow>(`SELECT ${COLUMNS} FROM agents ORDER BY id COLLATE "C"`);
    return rows.map((row) => this.toRecord(row));
  }

  async authenticate(id: string, secret: string): Promise<AgentRecord | undefined> {
    const pool = this.started();
    const row = await this.credentials.check(id, secret, async (agent) => {
      const { rows } = await pool.query<AgentRow>(`SELECT ${COLUMNS} FROM agents WHERE id = $1`, [agent]);
      return rows[0] && { ...rows[0], secretHash: rows[0].secret_hash };
    });
    return row && this.toRecord(row);
  }

  async recordStatus(id: string, status: StatusMessage, at: number): Promise<void> {
    const { rowCount } = await this.started().query('UPDATE agents SET status = $1, status_at = $2 WHERE id = $3', [JSON.stringify(status), at, id]);
    if (!rowCount) this.log.debug({ agent: id }, 'status for an unknown agent ignored');
  }

  async recordInventory(id: string, sensors: SensorInfo[]): Promise<void> {
    const { rowCount } = await this.started().query('UPDATE agents SET inventory = $1 WHERE id = $2', [JSON.stringify(sensors), id]);
    if (!rowCount) this.log.debug({ agent: id }, 'inventory for an unknown agent ignored');
  }

  touch(id: string, at: number): void {
    const known = this.pendingLastSeen.get(id);
    if (known === undefined || at > known) this.pendingLastSeen.set(id, at);
  }

  setOnline(id: string, online: boolean): void {
    const pool = this.pool;
    if (!pool) return;
    const at = this.now();
    const write = (this.presenceWrites.get(id) ?? Promise.resolve())
      .then(() => pool.query('UPDATE agents SET online = $2, online_at = $3 WHERE id = $1 AND (online_at IS NULL OR online_at <= $3)', [id, online, at]))
      .then(
        () => {},
        (err: unknown) => this.log.warn({ agent: id, online, err: errorMessage(err) }, 'could not record whether the agent is online'),
      );
    this.presenceWrites.set(id, write);
    void write.then(() => {
      if (this.presenceWrites.get(id) === write) this.presenceWrites.delete(id);
    });
  }

  /** Writes buffered last-seen times in one statement; periodically, and on stop. Never rejects. */
  flushLastSeen(): Promise<void> {
    this.flushing ??= this.writeLastSeen().finally(() => (this.flushing = undefined));
    return this.flushing;
  }

  private async writeLastSeen(): Promise<void> {
    const pool = this.pool;
    if (!pool || this.pendingLastSeen.size === 0) return;
    const pending = [...this.pendingLastSeen];
    this.pendingLastSeen.clear();
    try {
      await pool.query(
        `UPDATE agents SET last_seen = GREATEST(COALESCE(agents.last_seen, 0), seen.at)
           FROM unnest($1::text[], $2::bigint[]) AS seen (id, at) WHERE agents.id = seen.id`,
        [pending.map(([id]) => id), pending.map(([, at]) => at)],
      );
    } catch (err) {
      // Keep them for the next flush: last-seen times are worth a retry, not a crash.
      for (const [id, at] of pending) this.touch(id, at);
      this.log.warn({ err: errorMessage(err) }, 'could not write last-seen times');
    }
  }

  private async presenceSettled(): Promise<void> {
    await Promise.all(this.presenceWrites.values());
  }

  private async insert(db: pg.Pool | pg.PoolClient, id: string, gym: string, secretHash: string | null, createdAt: number): Promise<void> {
    try {
      await db.query('INSERT INTO agents (id, gym, secret_hash, created_at) VALUES ($1, $2, $3, $4)', [id, gym, secretHash, createdAt]);
    } catch (err) {
      if (pgCode(err) === UNIQUE_VIOLATION) throw new RegistryError('exists', `agent "${id}" already exists`, { cause: err });
      throw err;
    }
  }

  /** Within the caller's transaction. Expired codes of every agent go at the same time, so the table stays small. */
  private async storeCode(client: pg.PoolClient, id: string, ttlMs = this.enrollmentTtlMs): Promise<EnrollmentCode> {
    const now = this.now();
    await client.query('DELETE FROM agent_enrollment_codes WHERE expires_at <= $1', [now]);
    const code = newEnrollmentCode();
    const expiresAt = now + ttlMs;
    await client.query('INSERT INTO agent_enrollment_codes (code_hash, agent, expires_at, created_at) VALUES ($1, $2, $3, $4)', [
      enrollmentCodeHash(normalizeEnrollmentCode(code)!),
      id,
      expiresAt,
      now,
    ]);
    return { code, expiresAt };
  }

  private started(): pg.Pool {
    if (!this.pool) throw new PostgresStateError('not_started', `the agent registry (${stateWhere(this.options)}) is not started`);
    return this.pool;
  }

  private toRecord(row: AgentRow): AgentRecord {
    const record: AgentRecord = {
      id: row.id,
      gym: row.gym,
      createdAt: Number(row.created_at),
      online: row.online,
      disabled: row.disabled,
      enrolled: row.secret_hash !== null,
    };
    const pending = this.pendingLastSeen.get(row.id);
    const lastSeen = Math.max(row.last_seen === null ? -Infinity : Number(row.last_seen), pending ?? -Infinity);
    if (Number.isFinite(lastSeen)) record.lastSeen = lastSeen;
    if (row.status !== null) record.status = JSON.parse(row.status) as StatusMessage;
    if (row.inventory !== null) record.inventory = JSON.parse(row.inventory) as SensorInfo[];
    return record;
  }
}
