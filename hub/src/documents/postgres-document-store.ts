/**
 * The DocumentStore on PostgreSQL (`pg`), for several hub replicas sharing one database: a table per
 * collection, `doc_<name> (id TEXT COLLATE "C" PRIMARY KEY, body JSONB)`, with expression indexes on the typed
 * reads of the declared fields (postgres-document-sql.ts says why those and not JSONB's own order), unique
 * and partial where the spec says. JSONB rather than a column per field: a spec grows fields without a table
 * migration, and the port queries only top-level fields, which an expression index serves as a column would.
 *
 * Start creates what is missing in one transaction under an advisory lock (per schema), so replicas starting
 * together do it once; an index whose declaration changed (its statement is kept as the index's comment) is
 * dropped and made again, as the MongoDB adapter does.
 *
 * Transactions are SERIALIZABLE: what SQLite gives by running them one at a time. A transaction PostgreSQL
 * cannot serialise (40001) or chose as a deadlock victim (40P01) is rolled back and `work` runs again, as
 * MongoDB's driver does on a write conflict, so `work` must read what it decides on inside it. Each write in a
 * transaction runs under a savepoint: a refused write (a unique clash the work catches) leaves the
 * transaction usable, as in SQLite. Outside a transaction a call is one statement; `update`, which checks
 * each changed document against the schema, locks what it changes (SELECT ... FOR UPDATE) in a transaction of
 * its own, so concurrent updates never lose one another's changes.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { TObject } from '@sinclair/typebox';
import pg from 'pg';
import { Backoff, errorMessage } from '@pulsebridge/runtime';
import {
  DocumentChecks,
  DocumentStoreError,
  applyChange,
  checkFields,
  findLimit,
  specProblems,
  type Change,
  type Collection,
  type CollectionSpec,
  type DocumentOf,
  type DocumentSession,
  type DocumentStore,
  type FindOptions,
  type Where,
} from './document-store.ts';
import { Params, afterSql, createIndexSql, encodeText, fromJsonText, indexNameOf, orderSql, tableOf, toJsonText, whereSql } from './postgres-document-sql.ts';

export interface PostgresDocumentStoreOptions {
  /** postgres://user:password@host:port/database */
  url: string;
  /** The schema the tables live in (created if missing); the user's default search path when unset. */
  schema?: string;
  /** Connections at most, per hub replica; default 10. */
  poolSize?: number;
  /** How long a transaction that keeps meeting concurrent ones is run again before it fails as unavailable; default 10 s. */
  retryForMs?: number;
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
const UNIQUE_VIOLATION = '23505';
const SERIALIZATION_FAILURE = '40001';
const DEADLOCK_DETECTED = '40P01';
const DUPLICATE_SCHEMA = '42P06';
/** Too large for an index entry, and the like. */
const PROGRAM_LIMIT_EXCEEDED = '54000';

function pgCode(err: unknown): string | undefined {
  return err instanceof pg.DatabaseError ? err.code : undefined;
}

function isRetryable(err: unknown): boolean {
  const code = pgCode(err);
  return code === SERIALIZATION_FAILURE || code === DEADLOCK_DETECTED;
}

/** The port's error for what PostgreSQL answered: a clash names the spec's index, a value PostgreSQL refuses is invalid. */
export function postgresErrorOf(err: unknown, spec?: CollectionSpec): unknown {
  if (err instanceof DocumentStoreError || !(err instanceof Error)) return err;
  const code = pgCode(err);
  if (code === UNIQUE_VIOLATION) {
    const constraint = (err as pg.DatabaseError).constraint;
    const index = spec !== undefined && constraint === `${tableOf(spec)}_pkey` ? 'id' : (spec?.indexes.find((i) => indexNameOf(spec, i) === constraint)?.name ?? 'unique');
    return new DocumentStoreError('conflict', `a ${spec?.name ?? ''} document with this ${index} exists`, { index, cause: err });
  }
  // Class 22: data exceptions (an unpaired surrogate, a number out of range) are about the document, not the database.
  if (code !== undefined && (code.startsWith('22') || code === PROGRAM_LIMIT_EXCEEDED))
    return new DocumentStoreError('invalid', `a ${spec?.name ?? ''} document PostgreSQL cannot store: ${err.message}`, { cause: err });
  return new DocumentStoreError('unavailable', `PostgreSQL: ${errorMessage(err)}`, { cause: err });
}

type BodyRow = { body: string };

/** A transaction in progress: its connection, whether its session may still be used, whether it must run again. */
interface OpenTransaction {
  readonly client: pg.PoolClient;
  open: boolean;
  retry: boolean;
}

export class PostgresDocumentStore implements DocumentStore {
  private readonly options: PostgresDocumentStoreOptions;
  private pool: pg.Pool | undefined;
  private readonly checks = new DocumentChecks();
  private readonly specs = new Map<string, CollectionSpec>();

  constructor(options: PostgresDocumentStoreOptions) {
    if (options.schema !== undefined && !SCHEMA_NAME.test(options.schema))
      throw new DocumentStoreError('invalid', `schema: '${options.schema}' is not a lower-case SQL identifier`);
    this.options = options;
  }

  async start(specs: readonly CollectionSpec[]): Promise<void> {
    const problems = specs.flatMap(specProblems);
    if (problems.length > 0) throw new DocumentStoreError('invalid', problems.join('; '));
    const { schema } = this.options;
    const pool =
      this.pool ?? new pg.Pool({ connectionString: this.options.url, max: this.options.poolSize ?? 10, ...(schema === undefined ? {} : { options: `-c search_path=${schema}` }) });
    // An idle connection the server drops must not crash the process; the next query gets a new one.
    pool.on('error', () => {});
    try {
      if (schema !== undefined) await createSchema(pool, schema);
      await migrate(pool, specs);
    } catch (err) {
      if (this.pool === undefined) await pool.end().catch(() => {});
      // Unreachable, or the data breaks an index declared since (a duplicate under a new unique index): the message says which.
      throw new DocumentStoreError('unavailable', `document database ${this.where}: ${errorMessage(err)}`, { cause: err });
    }
    this.pool = pool;
    for (const spec of specs) this.specs.set(spec.name, spec);
  }

  async stop(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    await pool?.end();
  }

  async ping(): Promise<void> {
    const pool = this.database();
    await translated(() => pool.query('SELECT 1'));
  }

  collection<S extends TObject>(spec: CollectionSpec<S>): Collection<DocumentOf<S>> {
    return this.collectionIn(spec, undefined);
  }

  async transaction<R>(work: (session: DocumentSession) => Promise<R>): Promise<R> {
    const pool = this.database();
    const deadline = Date.now() + (this.options.retryForMs ?? 10_000);
    const backoff = new Backoff({ initialMs: 2, maxMs: 100 });
    for (;;) {
      const client = await translated(() => pool.connect());
      const tx: OpenTransaction = { client, open: true, retry: false };
      const session: DocumentSession = { collection: <S extends TObject>(spec: CollectionSpec<S>) => this.collectionIn(spec, tx) };
      let failure: unknown;
      let ended = false;
      try {
        await translated(() => client.query('BEGIN ISOLATION LEVEL SERIALIZABLE'));
        // The work's own errors pass as it threw them; the collections' calls have translated theirs.
        const result = await work(session);
        tx.open = false;
        if (!tx.retry) {
          ended = true;
          await client.query('COMMIT');
          return result;
        }
      } catch (err) {
        failure = err;
        if (isRetryable(err)) tx.retry = true;
        else if (ended) failure = postgresErrorOf(err);
      } finally {
        tx.open = false;
        // A connection that cannot even roll back is broken: the pool drops it rather than hand it out again.
        const usable =
          ended ||
          (await client.query('ROLLBACK').then(
            () => true,
            () => false,
          ));
        client.release(!usable);
      }
      if (!tx.retry) throw failure;
      if (Date.now() >= deadline)
        throw new DocumentStoreError('unavailable', `a transaction met concurrent ones ${backoff.attempts + 1} times and was given up`, { cause: failure });
      await sleep(backoff.next());
    }
  }

  private get where(): string {
    const url = new URL(this.options.url);
    return `PostgreSQL ${url.host}${url.pathname}${this.options.schema ? ` schema ${this.options.schema}` : ''}`;
  }

  private database(): pg.Pool {
    if (this.pool === undefined) throw new DocumentStoreError('unavailable', 'the document store is not started');
    return this.pool;
  }

  private collectionIn<S extends TObject>(spec: CollectionSpec<S>, tx: OpenTransaction | undefined): Collection<DocumentOf<S>> {
    type T = DocumentOf<S>;
    if (this.specs.get(spec.name) !== spec) throw new DocumentStoreError('invalid', `collection ${spec.name} was not declared at start`);
    if (tx !== undefined && !tx.open) throw new DocumentStoreError('invalid', 'a transaction session was used after its transaction ended');
    const pool = this.database();
    const table = tableOf(spec);
    const checks = this.checks;
    /** Runs `body` on the transaction's connection, or (outside one) on the pool or a connection of its own. */
    const run = async <R>(body: (db: pg.Pool | pg.PoolClient) => Promise<R>, write: 'read' | 'write' | 'atomic'): Promise<R> => {
      if (tx !== undefined) {
        if (!tx.open) throw new DocumentStoreError('invalid', 'a transaction session was used after its transaction ended');
        if (write === 'read') return inTransaction(tx, spec, () => body(tx.client));
        return inTransaction(tx, spec, () => savepoint(tx.client, () => body(tx.client)));
      }
      if (write !== 'atomic') return translated(() => body(pool), spec);
      return atomically(pool, spec, body);
    };
    const select = async (where: Where, find: FindOptions | undefined): Promise<T[]> => {
      const params = new Params();
      let sql = whereSql(spec, where, params);
      const orderBy = [...(find?.orderBy ?? []), 'id'];
      checkFields(
        spec,
        orderBy.filter((field) => field !== 'id'),
      );
      const descending = find?.descending ?? false;
      if (find?.after !== undefined) sql += ` AND ${afterSql(spec, orderBy, find.after, descending, params)}`;
      const limit = params.add(findLimit(find), 'integer');
      const text = `SELECT body::text AS body FROM ${table} WHERE ${sql} ORDER BY ${orderSql(spec, orderBy, descending)} LIMIT ${limit}`;
      const { rows } = await run((db) => db.query<BodyRow>(text, params.values), 'read');
      return rows.map((row) => fromJsonText<T>(row.body));
    };
    return {
      async insert(doc) {
        checks.check(spec, doc);
        await run((db) => db.query(`INSERT INTO ${table} (id, body) VALUES ($1::text, $2::jsonb)`, [encodeText(doc.id), toJsonText(doc)]), 'write');
      },
      async get(id) {
        const { rows } = await run((db) => db.query<BodyRow>(`SELECT body::text AS body FROM ${table} WHERE id = $1::text`, [encodeText(id)]), 'read');
        return rows[0] === undefined ? undefined : fromJsonText<T>(rows[0].body);
      },
      async findOne(where) {
        return (await select(where, { limit: 1 }))[0];
      },
      find: select,
      async count(where) {
        const params = new Params();
        const text = `SELECT count(*) AS n FROM ${table} WHERE ${whereSql(spec, where, params)}`;
        const { rows } = await run((db) => db.query<{ n: string }>(text, params.values), 'read');
        return Number(rows[0]!.n);
      },
      async replace(doc, where = {}) {
        checks.check(spec, doc);
        const params = new Params();
        const body = params.add(toJsonText(doc), 'jsonb');
        const id = params.add(encodeText(doc.id), 'text');
        const text = `UPDATE ${table} SET body = ${body} WHERE id = ${id} AND ${whereSql(spec, where, params)}`;
        const result = await run((db) => db.query(text, params.values), 'write');
        return (result.rowCount ?? 0) > 0;
      },
      async update(where, change: Change<T>) {
        const params = new Params();
        // Locked in id order, so two updates of overlapping sets wait for each other instead of deadlocking.
        const text = `SELECT id, body::text AS body FROM ${table} WHERE ${whereSql(spec, where, params)} ORDER BY id FOR UPDATE`;
        return run(async (db) => {
          const { rows } = await db.query<BodyRow & { id: string }>(text, params.values);
          for (const row of rows) {
            const next = applyChange(fromJsonText<T>(row.body), change);
            checks.check(spec, next);
            await db.query(`UPDATE ${table} SET body = $1::jsonb WHERE id = $2::text`, [toJsonText(next), row.id]);
          }
          return rows.length;
        }, 'atomic');
      },
      async delete(where) {
        const params = new Params();
        const text = `DELETE FROM ${table} WHERE ${whereSql(spec, where, params)}`;
        return (await run((db) => db.query(text, params.values), 'write')).rowCount ?? 0;
      },
    };
  }
}

async function translated<R>(what: () => Promise<R>, spec?: CollectionSpec): Promise<R> {
  try {
    return await what();
  } catch (err) {
    throw postgresErrorOf(err, spec);
  }
}

/** One call of a transaction's work; a failure PostgreSQL wants retried marks the transaction to run again. */
async function inTransaction<R>(tx: OpenTransaction, spec: CollectionSpec, what: () => Promise<R>): Promise<R> {
  try {
    return await what();
  } catch (err) {
    if (isRetryable(err)) {
      tx.retry = true;
      throw new DocumentStoreError('unavailable', 'the transaction met a concurrent one and will run again', { cause: err });
    }
    throw postgresErrorOf(err, spec);
  }
}

/** Runs `what` so that its failure undoes only what it did, and the transaction goes on. */
async function savepoint<R>(client: pg.PoolClient, what: () => Promise<R>): Promise<R> {
  await client.query('SAVEPOINT pb_write');
  try {
    const result = await what();
    await client.query('RELEASE SAVEPOINT pb_write');
    return result;
  } catch (err) {
    // A serialisation failure is not undone by a savepoint: the whole transaction runs again anyway.
    if (!isRetryable(err)) await client.query('ROLLBACK TO SAVEPOINT pb_write').catch(() => {});
    throw err;
  }
}

/** A call of several statements outside a transaction, in one of its own; run again when chosen as a deadlock victim. */
async function atomically<R>(pool: pg.Pool, spec: CollectionSpec, body: (client: pg.PoolClient) => Promise<R>): Promise<R> {
  const backoff = new Backoff({ initialMs: 2, maxMs: 100 });
  for (;;) {
    const client = await translated(() => pool.connect(), spec);
    try {
      await client.query('BEGIN');
      const result = await body(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      if (!isRetryable(err) || backoff.attempts >= 10) throw postgresErrorOf(err, spec);
    } finally {
      client.release();
    }
    await sleep(backoff.next());
  }
}

async function createSchema(pool: pg.Pool, schema: string): Promise<void> {
  try {
    await pool.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
  } catch (err) {
    // Another replica created it at the same moment.
    if (pgCode(err) !== UNIQUE_VIOLATION && pgCode(err) !== DUPLICATE_SCHEMA) throw err;
  }
}

/** Creates the tables and indexes `specs` declare, and makes again an index whose declaration changed. */
async function migrate(pool: pg.Pool, specs: readonly CollectionSpec[]): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    // Even CREATE TABLE IF NOT EXISTS can fail when two sessions run it at once, so it takes the lock too.
    await client.query(`SELECT pg_advisory_xact_lock(hashtext('pulsebridge documents ' || current_schema()))`);
    for (const spec of specs) await client.query(`CREATE TABLE IF NOT EXISTS ${tableOf(spec)} (id TEXT COLLATE "C" PRIMARY KEY, body JSONB NOT NULL)`);
    const { rows } = await client.query<{ name: string; statement: string | null }>(
      `SELECT c.relname AS name, obj_description(c.oid, 'pg_class') AS statement
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = current_schema() AND c.relkind = 'i'`,
    );
    const existing = new Map(rows.map((row) => [row.name, row.statement]));
    for (const spec of specs) {
      for (const index of spec.indexes) {
        const name = indexNameOf(spec, index);
        const statement = createIndexSql(spec, index);
        if (existing.get(name) === statement) continue;
        if (existing.has(name)) await client.query(`DROP INDEX ${name}`);
        await client.query(statement);
        await client.query(`COMMENT ON INDEX ${name} IS '${statement.replaceAll("'", "''")}'`);
      }
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}
