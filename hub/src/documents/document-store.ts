/**
 * The document store port: where the gym domain keeps its documents (gyms, equipment, groups, friendships,
 * trainings, classes, bookings, sensor bindings). Two adapters pass one contract suite
 * (hub/test/documents/document-contract.ts): SQLite, embedded (sqlite-document-store.ts), and MongoDB
 * (mongo-document-store.ts).
 *
 * The port is small on purpose, close to what both engines do natively:
 * - a collection is declared once (CollectionSpec): its TypeBox schema, which every write is checked
 *   against (and which becomes MongoDB's `$jsonSchema` validator), and its indexes, unique where the domain
 *   needs uniqueness;
 * - queries are equality and range conditions on top-level fields (Where), built by the hub's code. Values
 *   are scalars only, so input from a request can never become a query operator (the API also refuses body
 *   keys that start with `$` or contain `.`: api/body.ts);
 * - `transaction(work)` runs a change that spans documents atomically. SQLite runs transactions one at a time;
 *   MongoDB retries a transaction that met a write conflict, so `work` must read what it decides on inside it.
 *
 * Personal data (names, birth dates, weights, heart rates, privacy choices) is not kept here but with
 * identity in the SQL store (identity-store.ts, profiles).
 */
import type { Static, TObject } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { PulsebridgeError } from '@pulsebridge/runtime';

export type Scalar = string | number | boolean | null;

/**
 * A condition on one field: a value (equality; null also matches a missing field), or one operator object.
 * Ranges compare numbers with numbers and strings with strings.
 */
export type Condition = Scalar | { readonly in: readonly Scalar[] } | { readonly ne: Scalar } | RangeCondition;
export interface RangeCondition {
  readonly lt?: number | string;
  readonly lte?: number | string;
  readonly gt?: number | string;
  readonly gte?: number | string;
}
/** Every condition must hold. Keys are top-level fields of the collection's schema, or `id`. */
export type Where = Readonly<Record<string, Condition>>;

export interface IndexSpec {
  readonly name: string;
  readonly fields: readonly string[];
  readonly unique?: boolean;
  /**
   * Only documents whose fields equal these values are indexed (and, when unique, must be unique), e.g. a
   * sensor's one active binding: `{ active: true }`. Declare optional fields of a unique index this way:
   * SQLite lets any number of documents lack a unique field, MongoDB only one.
   */
  readonly partial?: Readonly<Record<string, string | number | boolean>>;
}

/** A collection, declared once: its name (letters, digits, underscores), the schema of its documents, its indexes. */
export interface CollectionSpec<S extends TObject = TObject> {
  readonly name: string;
  readonly schema: S;
  readonly indexes: readonly IndexSpec[];
}

export type DocumentOf<S extends TObject> = Static<S> & { id: string };

export interface FindOptions {
  /** Fields to sort by, all ascending or all descending; `id` is always the last key. Default: id. */
  readonly orderBy?: readonly string[];
  readonly descending?: boolean;
  /** At most this many documents (default and maximum: MAX_FIND). */
  readonly limit?: number;
  /** Start after the document with these values of `orderBy` then `id` (a page cursor: pageAfter()). */
  readonly after?: readonly Scalar[];
}

export const MAX_FIND = 1000;

export interface Change<T> {
  readonly set?: Partial<T>;
  /** Adds to number fields. */
  readonly inc?: Partial<Record<keyof T & string, number>>;
  /** Removes optional fields. */
  readonly unset?: readonly (keyof T & string)[];
}

export interface Collection<T extends { id: string }> {
  /** Throws DocumentStoreError 'conflict' when the id or a unique index value is taken. */
  insert(doc: T): Promise<void>;
  get(id: string): Promise<T | undefined>;
  findOne(where: Where): Promise<T | undefined>;
  find(where: Where, options?: FindOptions): Promise<T[]>;
  count(where: Where): Promise<number>;
  /** Replaces the document of `doc.id` when it also matches `where`; false when none did. 'conflict' as insert. */
  replace(doc: T, where?: Where): Promise<boolean>;
  /** Changes every document matching `where`; returns how many matched. 'conflict' as insert. */
  update(where: Where, change: Change<T>): Promise<number>;
  /** Deletes every document matching `where`; returns how many. */
  delete(where: Where): Promise<number>;
}

/** What a transaction's work gets: collections whose every call is part of the transaction. */
export interface DocumentSession {
  collection<S extends TObject>(spec: CollectionSpec<S>): Collection<DocumentOf<S>>;
}

export interface DocumentStore extends DocumentSession {
  /** Opens the database and creates what `specs` declare (tables or collections, indexes, validators); safe to repeat. */
  start(specs: readonly CollectionSpec[]): Promise<void>;
  stop(): Promise<void>;
  /** Runs `work` in one transaction: all of its writes happen or none. Its result is the transaction's. */
  transaction<R>(work: (session: DocumentSession) => Promise<R>): Promise<R>;
  /** Throws when the database cannot be used (readiness). */
  ping(): Promise<void>;
}

export type DocumentStoreErrorCode =
  /** A document id or unique index value is taken. `index` names the index. */
  | 'conflict'
  /** A document does not match its collection's schema, or a query names an unknown field: a programming mistake. */
  | 'invalid'
  /** The database cannot be reached or answered an error: retry later. */
  | 'unavailable';

export class DocumentStoreError extends PulsebridgeError<DocumentStoreErrorCode> {
  readonly index: string | undefined;

  constructor(code: DocumentStoreErrorCode, message: string, options: { index?: string; cause?: unknown } = {}) {
    super(code, message, options.cause === undefined ? {} : { cause: options.cause });
    this.index = options.index;
  }
}

const NAME = /^[a-z][a-z0-9_]{0,62}$/;
const FIELD = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;

/** Checks a spec once, at start: names the database can use, indexed fields the schema has. */
export function specProblems(spec: CollectionSpec): string[] {
  const problems: string[] = [];
  if (!NAME.test(spec.name)) problems.push(`collection ${spec.name}: the name must match ${NAME.source}`);
  if (!('id' in spec.schema.properties)) problems.push(`collection ${spec.name}: the schema must have an id property`);
  for (const index of spec.indexes) {
    if (!NAME.test(index.name)) problems.push(`collection ${spec.name}, index ${index.name}: the name must match ${NAME.source}`);
    for (const field of [...index.fields, ...Object.keys(index.partial ?? {})]) {
      if (!(field in spec.schema.properties)) problems.push(`collection ${spec.name}, index ${index.name}: ${field} is not a field of the schema`);
    }
  }
  return problems;
}

/** The fields a query may name: the schema's top-level ones. Throws 'invalid' for any other (a programming mistake). */
export function checkFields(spec: CollectionSpec, fields: Iterable<string>): void {
  for (const field of fields) {
    if (!FIELD.test(field) || !(field in spec.schema.properties)) throw new DocumentStoreError('invalid', `${spec.name} has no field ${field} to query`);
  }
}

const OPERATORS = new Set(['in', 'ne', 'lt', 'lte', 'gt', 'gte']);

/** A condition as the adapters read it; throws 'invalid' for anything that is not a scalar or one known operator object. */
export type ParsedCondition =
  | { op: 'eq'; value: Scalar }
  | { op: 'in'; values: readonly Scalar[] }
  | { op: 'ne'; value: Scalar }
  | { op: 'range'; bounds: readonly (readonly ['lt' | 'lte' | 'gt' | 'gte', number | string])[] };

function isScalar(value: unknown): value is Scalar {
  return value === null || typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value));
}

export function parseCondition(field: string, condition: Condition): ParsedCondition {
  if (isScalar(condition)) return { op: 'eq', value: condition };
  if (typeof condition !== 'object' || Array.isArray(condition)) throw new DocumentStoreError('invalid', `${field}: a condition is a scalar or an operator object`);
  const keys = Object.keys(condition);
  if (keys.length === 0 || keys.some((key) => !OPERATORS.has(key))) throw new DocumentStoreError('invalid', `${field}: unknown condition ${keys.join(', ')}`);
  if ('in' in condition) {
    if (keys.length !== 1 || !Array.isArray(condition.in) || !condition.in.every(isScalar)) throw new DocumentStoreError('invalid', `${field}: in takes a list of scalars`);
    return { op: 'in', values: condition.in };
  }
  if ('ne' in condition) {
    if (keys.length !== 1 || !isScalar(condition.ne)) throw new DocumentStoreError('invalid', `${field}: ne takes a scalar`);
    return { op: 'ne', value: condition.ne };
  }
  const bounds = keys.map((key) => {
    const value = (condition as Record<string, unknown>)[key];
    if (!(typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value))))
      throw new DocumentStoreError('invalid', `${field}: ${key} takes a number or a string`);
    return [key as 'lt' | 'lte' | 'gt' | 'gte', value] as const;
  });
  return { op: 'range', bounds };
}

/** The `after` of the next page: the sort values of the last document of this one. */
export function pageAfter<T extends { id: string }>(doc: T, orderBy: readonly string[] = []): Scalar[] {
  return [...orderBy.map((field) => ((doc as Record<string, unknown>)[field] ?? null) as Scalar), doc.id];
}

export function findLimit(options: FindOptions | undefined): number {
  const limit = options?.limit ?? MAX_FIND;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_FIND) throw new DocumentStoreError('invalid', `limit must be 1..${MAX_FIND}`);
  return limit;
}

/** Checks documents against their collection's schema before each write, in both adapters alike. */
export class DocumentChecks {
  private readonly compiled = new Map<string, TypeCheck<TObject>>();

  check(spec: CollectionSpec, doc: unknown): void {
    let check = this.compiled.get(spec.name);
    if (check === undefined) {
      check = TypeCompiler.Compile(spec.schema);
      this.compiled.set(spec.name, check);
    }
    if (check.Check(doc)) return;
    const first = check.Errors(doc).First();
    throw new DocumentStoreError('invalid', `a ${spec.name} document does not match its schema: ${first ? `${first.path || '/'} ${first.message}` : 'invalid'}`);
  }
}

/** A change applied to one document, as every adapter applies it. */
export function applyChange<T extends { id: string }>(doc: T, change: Change<T>): T {
  const next: Record<string, unknown> = { ...doc, ...change.set };
  for (const [field, by] of Object.entries(change.inc ?? {})) {
    const current = next[field];
    next[field] = (typeof current === 'number' ? current : 0) + (by as number);
  }
  for (const field of change.unset ?? []) delete next[field];
  next['id'] = doc.id;
  return next as T;
}
