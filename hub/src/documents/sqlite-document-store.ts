/**
 * The embedded DocumentStore: one SQLite file, a table per collection holding each document as JSON, with
 * expression indexes on the declared fields (`json_extract(body, '$.field')`), unique and partial where the
 * spec says.
 *
 * better-sqlite3 is synchronous and writes go through one connection, so a transaction whose work awaits would
 * otherwise take in every other write made meanwhile. Transactions therefore run one at a time, and a write
 * from outside a transaction waits while one is open. Reads from outside a transaction go to a second,
 * read-only connection, which in WAL mode sees the last committed state and never waits for a transaction
 * (an in-memory database has one connection only, so there reads wait too). Statements are prepared once per
 * connection and SQL text.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { TObject } from '@sinclair/typebox';
import Database from 'better-sqlite3';
import {
  DocumentChecks,
  DocumentStoreError,
  applyChange,
  checkFields,
  findLimit,
  parseCondition,
  specProblems,
  type Change,
  type Collection,
  type CollectionSpec,
  type DocumentOf,
  type DocumentSession,
  type DocumentStore,
  type FindOptions,
  type Scalar,
  type Where,
} from './document-store.ts';

export interface SqliteDocumentStoreOptions {
  /** The database file, or ':memory:'. */
  path: string;
}

type Row = { body: string };
type Statement = Database.Statement<unknown[]>;

/** Distinct SQL texts kept prepared per connection; past it the cache starts again (conditions vary in shape). */
const MAX_PREPARED = 512;

/** A value as SQLite compares it with json_extract's result: JSON true and false come out as 1 and 0. */
function sqlValue(value: Scalar): string | number | null {
  if (value === true) return 1;
  if (value === false) return 0;
  return value;
}

function column(field: string): string {
  // Field names are checked against the schema (checkFields) before they reach SQL.
  return field === 'id' ? 'id' : `json_extract(body, '$.${field}')`;
}

function literal(value: string | number | boolean): string {
  if (typeof value === 'boolean') return value ? '1' : '0';
  if (typeof value === 'number') return String(value);
  return `'${value.replaceAll("'", "''")}'`;
}

const RANGE_SQL = { lt: '<', lte: '<=', gt: '>', gte: '>=' } as const;

function whereSql(spec: CollectionSpec, where: Where): { sql: string; params: (string | number | null)[] } {
  checkFields(
    spec,
    Object.keys(where).filter((f) => f !== 'id'),
  );
  const clauses: string[] = [];
  const params: (string | number | null)[] = [];
  for (const [field, raw] of Object.entries(where)) {
    const condition = parseCondition(field, raw);
    const col = column(field);
    switch (condition.op) {
      case 'eq':
        if (condition.value === null) clauses.push(`${col} IS NULL`);
        else {
          clauses.push(`${col} = ?`);
          params.push(sqlValue(condition.value));
        }
        break;
      case 'ne':
        if (condition.value === null) clauses.push(`${col} IS NOT NULL`);
        else {
          clauses.push(`(${col} IS NULL OR ${col} != ?)`);
          params.push(sqlValue(condition.value));
        }
        break;
      case 'in': {
        const values = condition.values.filter((v) => v !== null);
        const parts: string[] = [];
        if (values.length > 0) {
          parts.push(`${col} IN (${values.map(() => '?').join(', ')})`);
          params.push(...values.map(sqlValue));
        }
        if (values.length !== condition.values.length) parts.push(`${col} IS NULL`);
        clauses.push(parts.length === 0 ? '0' : `(${parts.join(' OR ')})`);
        break;
      }
      case 'range':
        for (const [op, value] of condition.bounds) {
          // Like MongoDB, a range only matches values of the bound's type.
          clauses.push(`(${col} ${RANGE_SQL[op]} ? AND typeof(${col}) = ?)`);
          params.push(value, typeof value === 'number' ? (Number.isInteger(value) ? 'integer' : 'real') : 'text');
        }
        break;
    }
  }
  return { sql: clauses.length === 0 ? '1' : clauses.join(' AND '), params };
}

export class SqliteDocumentStore implements DocumentStore {
  private readonly path: string;
  private db: Database.Database | undefined;
  /** Reads outside transactions; undefined for an in-memory database. */
  private reader: Database.Database | undefined;
  private readonly prepared = new WeakMap<Database.Database, Map<string, Statement>>();
  private readonly checks = new DocumentChecks();
  private readonly specs = new Map<string, CollectionSpec>();
  /** The transaction that runs now, or the last one; the next one starts after it. */
  private tail: Promise<unknown> = Promise.resolve();
  private transactionOpen = false;

  constructor(options: SqliteDocumentStoreOptions) {
    this.path = options.path;
  }

  async start(specs: readonly CollectionSpec[]): Promise<void> {
    const problems = specs.flatMap(specProblems);
    if (problems.length > 0) throw new DocumentStoreError('invalid', problems.join('; '));
    if (this.db === undefined) {
      if (this.path !== ':memory:') mkdirSync(dirname(this.path), { recursive: true });
      const db = new Database(this.path);
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.pragma('busy_timeout = 5000');
      this.db = db;
    }
    const db = this.db;
    db.transaction(() => {
      for (const spec of specs) {
        this.specs.set(spec.name, spec);
        db.exec(`CREATE TABLE IF NOT EXISTS doc_${spec.name} (id TEXT PRIMARY KEY, body TEXT NOT NULL) WITHOUT ROWID`);
        for (const index of spec.indexes) {
          const partial = Object.entries(index.partial ?? {});
          const where = partial.length === 0 ? '' : ` WHERE ${partial.map(([field, value]) => `${column(field)} = ${literal(value)}`).join(' AND ')}`;
          db.exec(`CREATE ${index.unique ? 'UNIQUE ' : ''}INDEX IF NOT EXISTS doc_${spec.name}_${index.name} ON doc_${spec.name} (${index.fields.map(column).join(', ')})${where}`);
        }
      }
    })();
  }

  async stop(): Promise<void> {
    await this.tail.catch(() => {});
    this.reader?.close();
    this.reader = undefined;
    this.db?.close();
    this.db = undefined;
  }

  async ping(): Promise<void> {
    this.database().prepare('SELECT 1').get();
  }

  collection<S extends TObject>(spec: CollectionSpec<S>): Collection<DocumentOf<S>> {
    return this.collectionIn(spec, false);
  }

  transaction<R>(work: (session: DocumentSession) => Promise<R>): Promise<R> {
    const run = async (): Promise<R> => {
      const db = this.database();
      let open = true;
      const session: DocumentSession = {
        collection: <S extends TObject>(spec: CollectionSpec<S>) => {
          if (!open) throw new DocumentStoreError('invalid', 'a transaction session was used after its transaction ended');
          return this.collectionIn(spec, true);
        },
      };
      db.exec('BEGIN IMMEDIATE');
      this.transactionOpen = true;
      try {
        const result = await work(session);
        db.exec('COMMIT');
        return result;
      } catch (err) {
        if (db.inTransaction) db.exec('ROLLBACK');
        throw err;
      } finally {
        open = false;
        this.transactionOpen = false;
      }
    };
    const result = this.tail.then(run, run);
    this.tail = result.catch(() => {});
    return result;
  }

  private database(): Database.Database {
    if (this.db === undefined) throw new DocumentStoreError('unavailable', 'the document store is not started');
    return this.db;
  }

  /**
   * Runs `work` on the connection for a call. Outside a transaction, a write waits for an open one to end (its
   * writes must not take in this call's), and a read takes the read-only connection, which sees only what was
   * committed.
   */
  private async using<R>(inTransaction: boolean, write: boolean, work: (db: Database.Database) => R): Promise<R> {
    if (inTransaction) return work(this.database());
    if (!write && this.reader !== undefined && this.db !== undefined) return work(this.reader);
    while (this.transactionOpen) await this.tail;
    // In the same turn as the check: no transaction can begin between it and the work.
    return work(this.database());
  }

  private statement(db: Database.Database, sql: string): Statement {
    let cache = this.prepared.get(db);
    if (cache === undefined) {
      cache = new Map();
      this.prepared.set(db, cache);
    }
    let statement = cache.get(sql);
    if (statement === undefined) {
      if (cache.size >= MAX_PREPARED) cache.clear();
      statement = db.prepare(sql);
      cache.set(sql, statement);
    }
    return statement;
  }

  private collectionIn<S extends TObject>(spec: CollectionSpec<S>, inTransaction: boolean): Collection<DocumentOf<S>> {
    type T = DocumentOf<S>;
    const known = this.specs.get(spec.name);
    if (known !== spec) throw new DocumentStoreError('invalid', `collection ${spec.name} was not declared at start`);
    const table = `doc_${spec.name}`;
    const checks = this.checks;
    const reading = <R>(work: (db: Database.Database) => R) => this.using(inTransaction, false, work);
    const writingTo = <R>(work: (db: Database.Database) => R) => this.using(inTransaction, true, work);
    const stmt = (db: Database.Database, text: string) => this.statement(db, text);
    const writing = <R>(what: () => R): R => {
      try {
        return what();
      } catch (err) {
        throw conflictOf(err, spec) ?? err;
      }
    };
    const selectRows = (db: Database.Database, where: Where, options: FindOptions | undefined): T[] => {
      const { sql, params } = whereSql(spec, where);
      const orderBy = [...(options?.orderBy ?? []), 'id'];
      checkFields(
        spec,
        orderBy.filter((f) => f !== 'id'),
      );
      const direction = options?.descending ? 'DESC' : 'ASC';
      let after = '';
      if (options?.after !== undefined) {
        if (options.after.length !== orderBy.length) throw new DocumentStoreError('invalid', `after needs ${orderBy.length} values (${orderBy.join(', ')})`);
        after = ` AND (${orderBy.map(column).join(', ')}) ${options.descending ? '<' : '>'} (${orderBy.map(() => '?').join(', ')})`;
        params.push(...options.after.map(sqlValue));
      }
      const rows = stmt(db, `SELECT body FROM ${table} WHERE ${sql}${after} ORDER BY ${orderBy.map((f) => `${column(f)} ${direction}`).join(', ')} LIMIT ?`).all(
        ...params,
        findLimit(options),
      ) as Row[];
      return rows.map((row) => JSON.parse(row.body) as T);
    };
    return {
      async insert(doc) {
        checks.check(spec, doc);
        await writingTo((db) => writing(() => stmt(db, `INSERT INTO ${table} (id, body) VALUES (?, ?)`).run(doc.id, JSON.stringify(doc))));
      },
      async get(id) {
        const row = await reading((db) => stmt(db, `SELECT body FROM ${table} WHERE id = ?`).get(id) as Row | undefined);
        return row === undefined ? undefined : (JSON.parse(row.body) as T);
      },
      async findOne(where) {
        return (await reading((db) => selectRows(db, where, { limit: 1 })))[0];
      },
      async find(where, options) {
        return reading((db) => selectRows(db, where, options));
      },
      async count(where) {
        const { sql, params } = whereSql(spec, where);
        return reading((db) => (stmt(db, `SELECT count(*) AS n FROM ${table} WHERE ${sql}`).get(...params) as { n: number }).n);
      },
      async replace(doc, where = {}) {
        checks.check(spec, doc);
        const { sql, params } = whereSql(spec, where);
        const result = await writingTo((db) => writing(() => stmt(db, `UPDATE ${table} SET body = ? WHERE id = ? AND ${sql}`).run(JSON.stringify(doc), doc.id, ...params)));
        return result.changes > 0;
      },
      async update(where, change: Change<T>) {
        const { sql, params } = whereSql(spec, where);
        // Read, change and write back in one synchronous step, so the schema check sees each whole document.
        return writingTo((db) =>
          writing(() =>
            db.transaction(() => {
              const rows = stmt(db, `SELECT id, body FROM ${table} WHERE ${sql}`).all(...params) as (Row & { id: string })[];
              const write = stmt(db, `UPDATE ${table} SET body = ? WHERE id = ?`);
              for (const row of rows) {
                const next = applyChange(JSON.parse(row.body) as T, change);
                checks.check(spec, next);
                write.run(JSON.stringify(next), row.id);
              }
              return rows.length;
            })(),
          ),
        );
      },
      async delete(where) {
        const { sql, params } = whereSql(spec, where);
        return writingTo((db) => stmt(db, `DELETE FROM ${table} WHERE ${sql}`).run(...params).changes);
      },
    };
  }
}

function conflictOf(err: unknown, spec: CollectionSpec): DocumentStoreError | undefined {
  const code = (err as { code?: unknown }).code;
  if (code !== 'SQLITE_CONSTRAINT_UNIQUE' && code !== 'SQLITE_CONSTRAINT_PRIMARYKEY') return undefined;
  const message = (err as Error).message;
  const index = code === 'SQLITE_CONSTRAINT_PRIMARYKEY' ? 'id' : (spec.indexes.find((i) => message.includes(`doc_${spec.name}_${i.name}`))?.name ?? 'unique');
  return new DocumentStoreError('conflict', `a ${spec.name} document with this ${index} exists`, { index, cause: err });
}
