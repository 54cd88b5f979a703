/**
 * The PostgreSQL side of the hub's per-process state (agent registry, ingest dedupe ranges), shared by several
 * hub replicas: one pool per component, its tables in the configured schema, created by versioned migrations.
 *
 * Migrations: each version is applied in its own transaction that first takes a transaction-scoped advisory
 * lock (per schema and component), then checks `state_migrations` again, so replicas starting together apply
 * it once and the others wait for it, and a failed migration leaves nothing half done. Same scheme as the
 * identity store (identity/postgres-identity-store.ts); its own table, so both can share one schema.
 */
import pg from 'pg';
import { PulsebridgeError, errorMessage } from '@pulsebridge/runtime';

export interface PostgresStateOptions {
  /** postgres://user:password@host:port/database */
  url: string;
  /** The schema the tables live in (created if missing); the user's default search path when unset. */
  schema?: string;
  /** Connections at most; default 4. */
  poolSize?: number;
}

export interface StateMigration {
  version: number;
  name: string;
  sql: string;
}

export type PostgresStateErrorCode = 'invalid_schema' | 'unavailable' | 'not_started';

export class PostgresStateError extends PulsebridgeError<PostgresStateErrorCode> {}

export const STATE_SCHEMA_PATTERN = '^[a-z_][a-z0-9_]{0,62}$';
const SCHEMA_NAME = new RegExp(STATE_SCHEMA_PATTERN);
const UNIQUE_VIOLATION = '23505';
const DUPLICATE_SCHEMA = '42P06';

export function pgCode(err: unknown): string | undefined {
  return err instanceof pg.DatabaseError ? err.code : undefined;
}

/** Where the state lives, for messages: host, database and schema, never the password. */
export function stateWhere(options: PostgresStateOptions): string {
  const url = new URL(options.url);
  return `PostgreSQL ${url.host}${url.pathname}${options.schema ? ` schema ${options.schema}` : ''}`;
}

export function checkStateSchema(schema: string | undefined): void {
  if (schema !== undefined && !SCHEMA_NAME.test(schema)) throw new PostgresStateError('invalid_schema', `schema: '${schema}' is not a lower-case SQL identifier`);
}

/**
 * A started pool with the component's migrations applied; `component` names the migration list (its advisory
 * lock and its rows in state_migrations).
 */
export async function openStatePool(options: PostgresStateOptions, component: string, migrations: readonly StateMigration[], now: () => number): Promise<pg.Pool> {
  checkStateSchema(options.schema);
  const { schema } = options;
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolSize ?? 4,
    ...(schema ? { options: `-c search_path=${schema}` } : {}),
  });
  // An idle connection the server drops must not crash the process; the next query gets a new one.
  pool.on('error', () => {});
  try {
    if (schema) await createSchema(pool, schema);
    await migrate(pool, component, migrations, now);
  } catch (err) {
    await pool.end().catch(() => {});
    throw new PostgresStateError('unavailable', `${component} database ${stateWhere(options)}: ${errorMessage(err)}`, { cause: err });
  }
  return pool;
}

async function migrate(pool: pg.Pool, component: string, migrations: readonly StateMigration[], now: () => number): Promise<void> {
  // Even CREATE TABLE IF NOT EXISTS can fail when two sessions run it at once, so it takes the lock too.
  const lock = `SELECT pg_advisory_xact_lock(hashtext('pulsebridge state migrations ' || current_schema()))`;
  await inTransaction(pool, async (client) => {
    await client.query(lock);
    await client.query(
      'CREATE TABLE IF NOT EXISTS state_migrations (component TEXT NOT NULL, version INTEGER NOT NULL, name TEXT NOT NULL, applied_at BIGINT NOT NULL, PRIMARY KEY (component, version))',
    );
  });
  for (const migration of migrations) {
    await inTransaction(pool, async (client) => {
      await client.query(lock);
      if ((await client.query('SELECT 1 FROM state_migrations WHERE component = $1 AND version = $2', [component, migration.version])).rowCount) return;
      await client.query(migration.sql);
      await client.query('INSERT INTO state_migrations (component, version, name, applied_at) VALUES ($1, $2, $3, $4)', [component, migration.version, migration.name, now()]);
    });
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

export async function inTransaction<T>(pool: pg.Pool, body: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await body(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}
