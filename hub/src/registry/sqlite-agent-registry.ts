/**
 * The embedded agent registry: one table in the hub's state database. Credentials (ids, secrets and their
 * scrypt hashes) are agent-credentials.ts, shared with the PostgreSQL adapter.
 */
import type { Database, Statement } from 'better-sqlite3';
import type { Logger } from 'pino';
import type { SensorInfo, StatusMessage } from '@pulsebridge/protocol';
import type { AgentRecord, AgentRegistry, EnrollmentCode, IssueEnrollmentOptions } from './agent-registry.ts';
import { DEFAULT_SCRYPT_COST, RegistryError, SecretChecker, checkIds, newSecret, type ScryptCost } from './agent-credentials.ts';
import { DEFAULT_ENROLLMENT_TTL_MS, enrollmentCodeHash, newEnrollmentCode, normalizeEnrollmentCode } from './enrollment-code.ts';

export { DEFAULT_SCRYPT_COST, RegistryError, isGymId, type RegistryErrorCode, type ScryptCost } from './agent-credentials.ts';

interface AgentRow {
  id: string;
  gym: string;
  /** Null while the agent waits for its enrollment code to be redeemed. */
  secret_hash: string | null;
  disabled: number;
  created_at: number;
  last_seen: number | null;
  status: string | null;
  inventory: string | null;
}

export interface SqliteAgentRegistryOptions {
  /** The hub's state database (WAL); the registry owns the `agents` table in it. */
  db: Database;
  log: Logger;
  /**
   * How often in-memory last-seen times are written to the database, all in one transaction: at most one write
   * per agent per interval, and what a crash can lose.
   */
  flushIntervalMs?: number;
  /**
   * How long a successful authentication is remembered, so a reconnect storm does not queue hundreds of
   * scrypt runs. Removing an agent forgets it at once. 0 disables the cache.
   */
  authCacheMs?: number;
  scryptCost?: ScryptCost;
  /** How long an enrollment code stays valid when the caller does not say; default 15 minutes. */
  enrollmentTtlMs?: number;
  now?: () => number;
}

interface CodeRow {
  agent: string;
  expires_at: number;
}

interface Statements {
  insert: Statement<[string, string, string | null, number]>;
  insertCode: Statement<[string, string, number, number]>;
  codeByHash: Statement<[string], CodeRow>;
  deleteCodesOf: Statement<[string]>;
  deleteExpiredCodes: Statement<[number]>;
  setSecret: Statement<[string | null, string]>;
  setDisabled: Statement<[number, string]>;
  remove: Statement<[string]>;
  get: Statement<[string], AgentRow>;
  list: Statement<[], AgentRow>;
  status: Statement<[string, number, string]>;
  inventory: Statement<[string, string]>;
  lastSeen: Statement<[number, string]>;
}

/** A few seconds of last-seen is what a crash may lose; one transaction per interval is what it costs. */
export const DEFAULT_LAST_SEEN_FLUSH_MS = 5_000;

export class SqliteAgentRegistry implements AgentRegistry {
  private readonly db: Database;
  private readonly log: Logger;
  private readonly flushIntervalMs: number;
  private readonly credentials: SecretChecker;
  private readonly enrollmentTtlMs: number;
  private readonly now: () => number;
  private statements: Statements | undefined;
  private readonly pendingLastSeen = new Map<string, number>();
  private readonly online = new Set<string>();
  private flushTimer: NodeJS.Timeout | undefined;

  constructor(options: SqliteAgentRegistryOptions) {
    this.db = options.db;
    this.log = options.log.child({ ns: 'registry' });
    this.flushIntervalMs = options.flushIntervalMs ?? DEFAULT_LAST_SEEN_FLUSH_MS;
    this.enrollmentTtlMs = options.enrollmentTtlMs ?? DEFAULT_ENROLLMENT_TTL_MS;
    this.now = options.now ?? Date.now;
    this.credentials = new SecretChecker(options.scryptCost ?? DEFAULT_SCRYPT_COST, options.authCacheMs ?? 60_000, this.now);
  }

  async start(): Promise<void> {
    this.prepared();
    if (this.flushIntervalMs > 0 && !this.flushTimer) {
      this.flushTimer = setInterval(() => this.flushLastSeen(), this.flushIntervalMs);
      this.flushTimer.unref();
    }
  }

  async stop(): Promise<void> {
    if (this.flushTimer) clearInterval(this.flushTimer);
    this.flushTimer = undefined;
    if (this.db.open) this.flushLastSeen();
    this.credentials.clear();
  }

  async create(id: string, gym: string): Promise<{ agent: AgentRecord; secret: string }> {
    checkIds(id, gym);
    const secret = newSecret();
    const hash = await this.credentials.hash(secret);
    const createdAt = this.now();
    this.insert(id, gym, hash, createdAt);
    this.log.info({ agent: id, gym }, 'agent created');
    return { agent: { id, gym, createdAt, online: false, disabled: false, enrolled: true }, secret };
  }

  async createForEnrollment(id: string, gym: string, options: { ttlMs?: number } = {}): Promise<{ agent: AgentRecord; enrollment: EnrollmentCode }> {
    checkIds(id, gym);
    const createdAt = this.now();
    const enrollment = this.db.transaction(() => {
      this.insert(id, gym, null, createdAt);
      return this.storeCode(id, options.ttlMs);
    })();
    this.log.info({ agent: id, gym, expiresAt: enrollment.expiresAt }, 'agent created, waiting for enrollment');
    return { agent: { id, gym, createdAt, online: false, disabled: false, enrolled: false }, enrollment };
  }

  async issueEnrollment(id: string, options: IssueEnrollmentOptions = {}): Promise<EnrollmentCode | undefined> {
    const statements = this.prepared();
    const enrollment = this.db.transaction(() => {
      if (!statements.get.get(id)) return undefined;
      statements.deleteCodesOf.run(id);
      if (options.revokeSecret) statements.setSecret.run(null, id);
      return this.storeCode(id, options.ttlMs);
    })();
    if (!enrollment) return undefined;
    if (options.revokeSecret) this.credentials.forget(id);
    this.log.info({ agent: id, expiresAt: enrollment.expiresAt, secretRevoked: options.revokeSecret === true }, 'enrollment code issued');
    return enrollment;
  }

  async redeemEnrollment(code: string, now: number): Promise<{ agent: AgentRecord; secret: string } | undefined> {
    const normalized = normalizeEnrollmentCode(code);
    if (normalized === undefined) return undefined;
    const hash = enrollmentCodeHash(normalized);
    const statements = this.prepared();
    // Checked before scrypt runs, so that guessing codes costs the hub no hashing.
    const found = statements.codeByHash.get(hash);
    if (!found || found.expires_at <= now) return undefined;
    const secret = newSecret();
    const secretHash = await this.credentials.hash(secret);
    // Synchronous, so of two redemptions of one code racing through scrypt exactly one finds the code still there.
    const row = this.db.transaction(() => {
      const code = statements.codeByHash.get(hash);
      if (!code || code.expires_at <= now) return undefined;
      const agent = statements.get.get(code.agent);
      if (!agent || agent.disabled !== 0) return undefined;
      statements.deleteCodesOf.run(code.agent);
      statements.setSecret.run(secretHash, code.agent);
      return statements.get.get(code.agent);
    })();
    if (!row) return undefined;
    this.credentials.forget(row.id);
    this.log.info({ agent: row.id, gym: row.gym }, 'enrollment code redeemed');
    return { agent: this.toRecord(row), secret };
  }

  async disable(id: string): Promise<boolean> {
    const changed = this.prepared().setDisabled.run(1, id).changes > 0;
    this.credentials.forget(id);
    if (changed) this.log.info({ agent: id }, 'agent disabled');
    return changed;
  }

  async enable(id: string): Promise<boolean> {
    const changed = this.prepared().setDisabled.run(0, id).changes > 0;
    if (changed) this.log.info({ agent: id }, 'agent enabled');
    return changed;
  }

  async rotateSecret(id: string): Promise<string | undefined> {
    const secret = newSecret();
    const hash = await this.credentials.hash(secret);
    const changed = this.prepared().setSecret.run(hash, id).changes > 0;
    this.credentials.forget(id);
    if (!changed) return undefined;
    this.log.info({ agent: id }, 'agent secret rotated');
    return secret;
  }

  private insert(id: string, gym: string, secretHash: string | null, createdAt: number): void {
    try {
      this.prepared().insert.run(id, gym, secretHash, createdAt);
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') throw new RegistryError('exists', `agent "${id}" already exists`);
      throw err;
    }
  }

  /** Within the caller's transaction. Expired codes of every agent go at the same time, so the table stays small. */
  private storeCode(id: string, ttlMs = this.enrollmentTtlMs): EnrollmentCode {
    const statements = this.prepared();
    const now = this.now();
    statements.deleteExpiredCodes.run(now);
    const code = newEnrollmentCode();
    const expiresAt = now + ttlMs;
    statements.insertCode.run(enrollmentCodeHash(normalizeEnrollmentCode(code)!), id, expiresAt, now);
    return { code, expiresAt };
  }

  async remove(id: string): Promise<boolean> {
    this.credentials.forget(id);
    this.pendingLastSeen.delete(id);
    this.online.delete(id);
    const statements = this.prepared();
    // Not left to ON DELETE CASCADE: SQLite enforces foreign keys only where the connection turned them on.
    const removed = this.db.transaction(() => {
      statements.deleteCodesOf.run(id);
      return statements.remove.run(id).changes > 0;
    })();
    if (removed) this.log.info({ agent: id }, 'agent removed');
    return removed;
  }

  async get(id: string): Promise<AgentRecord | undefined> {
    const row = this.prepared().get.get(id);
    return row ? this.toRecord(row) : undefined;
  }

  async list(): Promise<AgentRecord[]> {
    return this.prepared()
      .list.all()
      .map((row) => this.toRecord(row));
  }

  async authenticate(id: string, secret: string): Promise<AgentRecord | undefined> {
    const statements = this.prepared();
    const row = await this.credentials.check(id, secret, async (agent) => {
      const found = statements.get.get(agent);
      return found && { ...found, secretHash: found.secret_hash, disabled: found.disabled !== 0 };
    });
    return row && this.toRecord({ ...row, disabled: 0 });
  }

  async recordStatus(id: string, status: StatusMessage, at: number): Promise<void> {
    const changed = this.prepared().status.run(JSON.stringify(status), at, id).changes;
    if (changed === 0) this.log.debug({ agent: id }, 'status for an unknown agent ignored');
  }

  async recordInventory(id: string, sensors: SensorInfo[]): Promise<void> {
    const changed = this.prepared().inventory.run(JSON.stringify(sensors), id).changes;
    if (changed === 0) this.log.debug({ agent: id }, 'inventory for an unknown agent ignored');
  }

  touch(id: string, at: number): void {
    const known = this.pendingLastSeen.get(id);
    if (known === undefined || at > known) this.pendingLastSeen.set(id, at);
  }

  setOnline(id: string, online: boolean): void {
    if (online) this.online.add(id);
    else this.online.delete(id);
  }

  /** Writes pending last-seen times in one transaction; called periodically and on stop. */
  flushLastSeen(): void {
    if (this.pendingLastSeen.size === 0) return;
    const pending = [...this.pendingLastSeen];
    this.pendingLastSeen.clear();
    const statement = this.prepared().lastSeen;
    try {
      this.db.transaction(() => {
        for (const [id, at] of pending) statement.run(at, id);
      })();
    } catch (err) {
      // Keep them for the next flush: last-seen times are worth a retry, not a crash.
      for (const [id, at] of pending) this.touch(id, at);
      this.log.warn({ err }, 'could not write last-seen times');
    }
  }

  private toRecord(row: AgentRow): AgentRecord {
    const record: AgentRecord = {
      id: row.id,
      gym: row.gym,
      createdAt: row.created_at,
      online: this.online.has(row.id),
      disabled: row.disabled !== 0,
      enrolled: row.secret_hash !== null,
    };
    const pending = this.pendingLastSeen.get(row.id);
    const lastSeen = Math.max(row.last_seen ?? -Infinity, pending ?? -Infinity);
    if (Number.isFinite(lastSeen)) record.lastSeen = lastSeen;
    if (row.status !== null) {
      record.status = JSON.parse(row.status) as StatusMessage;
    }
    if (row.inventory !== null) record.inventory = JSON.parse(row.inventory) as SensorInfo[];
    return record;
  }

  /** Creates the table on first use, so a registry works without start() in tools and tests. */
  private prepared(): Statements {
    if (this.statements) return this.statements;
    migrateAgentTables(this.db);
    const columns = 'id, gym, secret_hash, disabled, created_at, last_seen, status, inventory';
    this.statements = {
      insert: this.db.prepare('INSERT INTO agents (id, gym, secret_hash, created_at) VALUES (?, ?, ?, ?)'),
      insertCode: this.db.prepare('INSERT INTO agent_enrollment_codes (code_hash, agent, expires_at, created_at) VALUES (?, ?, ?, ?)'),
      codeByHash: this.db.prepare('SELECT agent, expires_at FROM agent_enrollment_codes WHERE code_hash = ?'),
      deleteCodesOf: this.db.prepare('DELETE FROM agent_enrollment_codes WHERE agent = ?'),
      deleteExpiredCodes: this.db.prepare('DELETE FROM agent_enrollment_codes WHERE expires_at <= ?'),
      setSecret: this.db.prepare('UPDATE agents SET secret_hash = ? WHERE id = ?'),
      setDisabled: this.db.prepare('UPDATE agents SET disabled = ? WHERE id = ?'),
      remove: this.db.prepare('DELETE FROM agents WHERE id = ?'),
      get: this.db.prepare(`SELECT ${columns} FROM agents WHERE id = ?`),
      list: this.db.prepare(`SELECT ${columns} FROM agents ORDER BY id`),
      status: this.db.prepare('UPDATE agents SET status = ?, status_at = ? WHERE id = ?'),
      inventory: this.db.prepare('UPDATE agents SET inventory = ? WHERE id = ?'),
      lastSeen: this.db.prepare('UPDATE agents SET last_seen = MAX(COALESCE(last_seen, 0), ?) WHERE id = ?'),
    };
    return this.statements;
  }
}

const AGENTS_TABLE = `
  CREATE TABLE IF NOT EXISTS agents (
    id TEXT PRIMARY KEY,
    gym TEXT NOT NULL,
    secret_hash TEXT,
    disabled INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    last_seen INTEGER,
    status TEXT,
    status_at INTEGER,
    inventory TEXT
  ) STRICT`;

/**
 * Creates the registry's tables, or brings an older hub.db up to date keeping every agent: the first schema
 * required a secret (agents now may wait for enrollment without one) and had no `disabled` flag. SQLite cannot
 * relax NOT NULL in place, so that table is copied once. Safe to run on every start.
 */
export function migrateAgentTables(db: Database): void {
  db.transaction(() => {
    const columns = db.prepare<[], { name: string; notnull: number }>('SELECT name, "notnull" FROM pragma_table_info(\'agents\')').all();
    const secretRequired = columns.find((c) => c.name === 'secret_hash')?.notnull === 1;
    if (columns.length > 0 && (secretRequired || !columns.some((c) => c.name === 'disabled'))) {
      db.exec('ALTER TABLE agents RENAME TO agents_before_enrollment');
      db.exec(AGENTS_TABLE);
      db.exec(`
        INSERT INTO agents (id, gym, secret_hash, created_at, last_seen, status, status_at, inventory)
          SELECT id, gym, secret_hash, created_at, last_seen, status, status_at, inventory FROM agents_before_enrollment;
        DROP TABLE agents_before_enrollment;
      `);
    }
    db.exec(`
      ${AGENTS_TABLE};
      CREATE INDEX IF NOT EXISTS agents_by_gym ON agents (gym);
      CREATE TABLE IF NOT EXISTS agent_enrollment_codes (
        code_hash TEXT PRIMARY KEY,
        agent TEXT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
        expires_at INTEGER NOT NULL,
        created_at INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX IF NOT EXISTS agent_enrollment_codes_by_agent ON agent_enrollment_codes (agent);
    `);
  })();
}
