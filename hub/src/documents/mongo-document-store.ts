/**
 * The DocumentStore on MongoDB, through the `mongodb` driver: a collection per spec with a `$jsonSchema`
 * validator derived from the spec's TypeBox schema, the spec's indexes under the spec's names (unique and
 * partial where it says), the document id as `_id`.
 *
 * Transactions (`transaction(work)`) are MongoDB multi-document transactions, which need a replica set or a
 * sharded cluster: a standalone server refuses them (a one-member replica set is enough for development).
 * The driver's `withTransaction` runs `work` again after a transient error (a write conflict with a concurrent
 * transaction, a primary stepping down), so `work` must read what it decides on inside the transaction.
 *
 * The adapter stays close to the driver on purpose: no MongoDB server runs where the project is developed, so
 * what it adds to the driver (the translations below) is pure and tested without one; the contract suite runs
 * against a real server when MONGO_URL is set.
 */
import type { TObject, TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { BSON, MongoClient, MongoError, MongoInvalidArgumentError, type ClientSession, type Db, type Document, type Filter, type IndexDescription, type Sort } from 'mongodb';
import {
  DocumentChecks,
  DocumentStoreError,
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
  type ParsedCondition,
  type Scalar,
  type Where,
} from './document-store.ts';

export interface MongoDocumentStoreOptions {
  /** mongodb:// or mongodb+srv:// connection string; transactions need it to name a replica set (or mongos). */
  url: string;
  database: string;
  /** Connections at most, per hub replica (the driver's maxPoolSize). */
  poolSize?: number;
  /** A client made elsewhere (the tests share one): the store connects it if needed and leaves it open at stop. */
  client?: MongoClient;
}

// ---------------------------------------------------------------------------------------------------------
// TypeBox schema -> $jsonSchema. MongoDB's dialect is JSON Schema draft 4 with `bsonType`, without `$ref`,
// `$schema`, `default`, `definitions`, `format`, `id`/`$id`, `const` and later drafts' keywords. Keywords it
// lacks are dropped: the validator is the server's net, DocumentChecks (TypeBox, before each write) the full
// check.

/** Keywords $jsonSchema accepts as JSON Schema writes them (type, const and the exclusive bounds are converted). */
const KEPT_KEYWORDS = new Set([
  'title',
  'description',
  'enum',
  'multipleOf',
  'maximum',
  'minimum',
  'maxLength',
  'minLength',
  'pattern',
  'maxProperties',
  'minProperties',
  'required',
  'maxItems',
  'minItems',
  'uniqueItems',
]);
const SCHEMA_KEYWORDS = new Set(['additionalProperties', 'additionalItems', 'not']);
const SCHEMA_LIST_KEYWORDS = new Set(['allOf', 'anyOf', 'oneOf']);
const SCHEMA_MAP_KEYWORDS = new Set(['properties', 'patternProperties']);

/**
 * The driver writes a JS number as a 32-bit int when it is an integer in that range and as a double otherwise
 * (hub times in ms are doubles), and `$inc` past 2^31 makes a long: an integer is any of the three whose value
 * is whole.
 */
const INTEGER = { bsonType: ['int', 'long', 'double'], multipleOf: 1 } as const;
const BSON_TYPES: Readonly<Record<string, string | readonly string[]>> = {
  string: 'string',
  number: ['int', 'long', 'double', 'decimal'],
  integer: ['int', 'long', 'double'],
  boolean: 'bool',
  null: 'null',
  object: 'object',
  array: 'array',
};

/** One (sub)schema in MongoDB's $jsonSchema dialect. */
export function toBsonSchema(schema: TSchema): Document {
  const out: Document = {};
  const source = schema as Record<string, unknown>;
  for (const [keyword, value] of Object.entries(source)) {
    if (keyword === 'type') {
      if (value === 'integer') Object.assign(out, INTEGER);
      // TypeBox's own types beyond JSON (Date, Uint8Array, ...) never reach a document store: left unconstrained.
      else if (typeof value === 'string' && value in BSON_TYPES) out['bsonType'] = BSON_TYPES[value];
      else if (Array.isArray(value) && value.every((t) => typeof t === 'string' && t in BSON_TYPES)) out['bsonType'] = [...new Set(value.flatMap((t: string) => BSON_TYPES[t]!))];
    } else if (keyword === 'const') out['enum'] = [value];
    else if ((keyword === 'exclusiveMinimum' || keyword === 'exclusiveMaximum') && typeof value === 'number') {
      out[keyword === 'exclusiveMinimum' ? 'minimum' : 'maximum'] = value;
      out[keyword] = true;
    } else if (KEPT_KEYWORDS.has(keyword)) out[keyword] ??= value;
    else if (SCHEMA_KEYWORDS.has(keyword)) out[keyword] = typeof value === 'object' && value !== null ? toBsonSchema(value as TSchema) : value;
    else if (SCHEMA_LIST_KEYWORDS.has(keyword)) out[keyword] = (value as TSchema[]).map(toBsonSchema);
    else if (SCHEMA_MAP_KEYWORDS.has(keyword)) out[keyword] = Object.fromEntries(Object.entries(value as Record<string, TSchema>).map(([name, sub]) => [name, toBsonSchema(sub)]));
    else if (keyword === 'items') out[keyword] = Array.isArray(value) ? value.map(toBsonSchema) : toBsonSchema(value as TSchema);
  }
  // A schema's own multipleOf (kept above) is stricter than INTEGER's 1 only when it is whole; keep it then.
  if (source['type'] === 'integer' && typeof source['multipleOf'] === 'number') out['multipleOf'] = Number.isInteger(source['multipleOf']) ? source['multipleOf'] : 1;
  return out;
}

/** The collection's validator: the spec's schema with `id` stored as `_id`, no other field allowed. */
export function mongoJsonSchema(spec: CollectionSpec): Document {
  const converted = toBsonSchema(spec.schema);
  const { id: idSchema, ...fields } = converted['properties'] as Record<string, Document>;
  return {
    ...converted,
    bsonType: 'object',
    required: ['_id', ...((converted['required'] as string[] | undefined) ?? []).filter((field) => field !== 'id')],
    properties: { _id: idSchema ?? { bsonType: 'string' }, ...fields },
    additionalProperties: false,
  };
}

/** The spec's indexes as createIndexes takes them; a partial index covers documents whose fields equal its values. */
export function mongoIndexes(spec: CollectionSpec): IndexDescription[] {
  return spec.indexes.map((index) => ({
    name: index.name,
    key: Object.fromEntries(index.fields.map((field) => [mongoField(field), 1])),
    ...(index.unique ? { unique: true } : {}),
    ...(index.partial === undefined
      ? {}
      : { partialFilterExpression: Object.fromEntries(Object.entries(index.partial).map(([field, value]) => [mongoField(field), { $eq: value }])) }),
  }));
}

// ---------------------------------------------------------------------------------------------------------
// Conditions -> filters. Every operator comes from here; a value from a caller only ever sits under one as a
// scalar (parseCondition refuses anything else), so it is matched as the plain value it is.

export function mongoField(field: string): string {
  return field === 'id' ? '_id' : field;
}

/**
 * One condition as MongoDB matches it with the port's semantics: `$eq: null` and `$in` with null also match a
 * missing field, `$ne` with a value matches a missing field and `$ne: null` does not (as in SQLite). A range
 * matches values of its bound's type only (MongoDB compares within a type anyway; `$type` says so), and bounds
 * of different types match nothing.
 */
export function mongoCondition(condition: ParsedCondition): Document {
  switch (condition.op) {
    case 'eq':
      return { $eq: condition.value };
    case 'ne':
      return { $ne: condition.value };
    case 'in':
      return { $in: [...condition.values] };
    case 'range': {
      const types = new Set(condition.bounds.map(([, value]) => typeof value));
      if (types.size > 1) return { $in: [] };
      const out: Document = {};
      for (const [op, value] of condition.bounds) out[`$${op}`] = value;
      out['$type'] = types.has('number') ? 'number' : 'string';
      return out;
    }
  }
}

/** A Where as a MongoDB filter; throws 'invalid' for fields the schema lacks or conditions the port does not know. */
export function mongoFilter(spec: CollectionSpec, where: Where): Document {
  checkFields(
    spec,
    Object.keys(where).filter((field) => field !== 'id'),
  );
  const filter: Document = {};
  for (const [field, condition] of Object.entries(where)) filter[mongoField(field)] = mongoCondition(parseCondition(field, condition));
  return filter;
}

/**
 * Documents after a cursor in the sort of `fields` (MongoDB names, `_id` last): an $or over the keys, each
 * branch equal on the keys before it and past the cursor on its own. MongoDB sorts null and missing first, so
 * ascending, past null is "not null"; descending, before a value includes null and nothing is before null.
 */
export function mongoAfterFilter(fields: readonly string[], after: readonly Scalar[], descending: boolean): Document {
  const branches: Document[] = [];
  for (const [i, field] of fields.entries()) {
    const equal: Document = {};
    for (const [j, before] of fields.slice(0, i).entries()) equal[before] = { $eq: after[j] };
    const value = after[i]!;
    if (!descending) branches.push({ ...equal, [field]: value === null ? { $ne: null } : { $gt: value } });
    else if (value !== null) branches.push({ ...equal, [field]: { $lt: value } }, { ...equal, [field]: { $eq: null } });
  }
  return branches.length === 0 ? { _id: { $in: [] } } : { $or: branches };
}

// ---------------------------------------------------------------------------------------------------------
// Changes -> update documents, checked on the client as far as one field at a time tells (the validator
// checks the whole result on the server).

function fieldSchema(spec: CollectionSpec, field: string): TSchema {
  checkFields(spec, [field]);
  return spec.schema.properties[field]!;
}

function isOptional(spec: CollectionSpec, field: string): boolean {
  return !(spec.schema.required ?? []).includes(field);
}

/** A change as updateMany takes it; null when it changes nothing. Throws 'invalid' for what the schema refuses. */
export function mongoUpdate(spec: CollectionSpec, change: Change<Record<string, unknown> & { id: string }>): Document | null {
  const invalid = (message: string) => new DocumentStoreError('invalid', `${spec.name}: ${message}`);
  const unset = new Set<string>(change.unset ?? []);
  const set: Document = {};
  const inc: Document = {};
  for (const [field, value] of Object.entries(change.set ?? {})) {
    // As in SQLite, a change never moves a document to another id.
    if (field === 'id') continue;
    // JSON (SQLite) drops an undefined field; here it would be dropped from $set and the old value kept.
    if (value === undefined) unset.add(field);
    else if (!unset.has(field)) set[field] = value;
  }
  for (const [field, by] of Object.entries(change.inc ?? {})) {
    const schema = fieldSchema(spec, field);
    const type = (schema as { type?: unknown }).type;
    if ((type !== 'number' && type !== 'integer') || typeof by !== 'number' || !Number.isFinite(by) || (type === 'integer' && !Number.isInteger(by)))
      throw invalid(`${field} cannot be incremented by ${String(by)}`);
    // Set then incremented, as applyChange does it; MongoDB refuses both operators on one field.
    if (field in set) set[field] = (typeof set[field] === 'number' ? (set[field] as number) : 0) + by;
    else inc[field] = by;
  }
  for (const [field, value] of Object.entries(set)) {
    if (!Value.Check(fieldSchema(spec, field), value)) throw invalid(`${field} does not match its schema`);
  }
  for (const field of unset) {
    fieldSchema(spec, field);
    if (field === 'id' || !isOptional(spec, field)) throw invalid(`${field} is required and cannot be removed`);
  }
  const update: Document = {};
  if (Object.keys(set).length > 0) update['$set'] = set;
  if (Object.keys(inc).length > 0) update['$inc'] = inc;
  if (unset.size > 0) update['$unset'] = Object.fromEntries([...unset].map((field) => [field, '']));
  return Object.keys(update).length === 0 ? null : update;
}

// ---------------------------------------------------------------------------------------------------------
// Errors

const DUPLICATE_KEY = 11000;
const DOCUMENT_VALIDATION_FAILURE = 121;
const NAMESPACE_EXISTS = 48;
const INDEX_OPTIONS_CONFLICT = 85;
const INDEX_KEY_SPECS_CONFLICT = 86;

/**
 * The port's error for what the driver threw: a clash names the spec's index ('id' for _id), a document the
 * validator or the driver refuses (too large, not serialisable) is 'invalid', anything else of MongoDB's is
 * 'unavailable'.
 */
export function documentStoreErrorOf(err: unknown, spec?: CollectionSpec): unknown {
  if (BSON.BSONError.isBSONError(err) || err instanceof MongoInvalidArgumentError)
    return new DocumentStoreError('invalid', `a ${spec?.name ?? ''} document the driver cannot write: ${err.message}`, { cause: err });
  if (!(err instanceof MongoError)) return err;
  if (err.code === DUPLICATE_KEY) {
    const name = /index: (\S+) dup key/.exec(err.message)?.[1];
    const index = name === '_id_' ? 'id' : (spec?.indexes.find((i) => i.name === name)?.name ?? 'unique');
    return new DocumentStoreError('conflict', `a ${spec?.name ?? ''} document with this ${index} exists`, { index, cause: err });
  }
  if (err.code === DOCUMENT_VALIDATION_FAILURE)
    return new DocumentStoreError('invalid', `a ${spec?.name ?? ''} document does not match its schema (MongoDB validator)`, { cause: err });
  return new DocumentStoreError('unavailable', `MongoDB: ${err.message}`, { cause: err });
}

async function translated<R>(what: () => Promise<R>, spec?: CollectionSpec): Promise<R> {
  try {
    return await what();
  } catch (err) {
    throw documentStoreErrorOf(err, spec);
  }
}

type Stored = Document & { _id: string };

/** The translations build filters as plain documents; the driver's filter type follows the stored type. */
function asFilter(filter: Document): Filter<Stored> {
  return filter as Filter<Stored>;
}

function toStored(doc: { id: string }): Stored {
  const { id, ...fields } = doc;
  return { _id: id, ...fields };
}

function fromStored<T>(stored: Document): T {
  const { _id, ...fields } = stored;
  return { id: _id, ...fields } as T;
}

export class MongoDocumentStore implements DocumentStore {
  private readonly options: MongoDocumentStoreOptions;
  private client: MongoClient | undefined;
  private db: Db | undefined;
  private readonly checks = new DocumentChecks();
  private readonly specs = new Map<string, CollectionSpec>();

  constructor(options: MongoDocumentStoreOptions) {
    this.options = options;
  }

  async start(specs: readonly CollectionSpec[]): Promise<void> {
    const problems = specs.flatMap(specProblems);
    if (problems.length > 0) throw new DocumentStoreError('invalid', problems.join('; '));
    // ignoreUndefined: an undefined field is left out, as JSON leaves it out in SQLite (not stored as null).
    this.client ??=
      this.options.client ?? new MongoClient(this.options.url, { ignoreUndefined: true, ...(this.options.poolSize === undefined ? {} : { maxPoolSize: this.options.poolSize }) });
    const client = this.client;
    await translated(async () => {
      await client.connect();
      const db = client.db(this.options.database, { ignoreUndefined: true });
      const existing = new Set((await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name));
      for (const spec of specs) {
        await ensureCollection(db, spec, existing.has(spec.name));
        for (const index of mongoIndexes(spec)) await ensureIndex(db, spec, index);
        this.specs.set(spec.name, spec);
      }
      this.db = db;
    });
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.db = undefined;
    this.client = undefined;
    if (client !== undefined && client !== this.options.client) await client.close();
  }

  async ping(): Promise<void> {
    const db = this.database();
    await translated(() => db.admin().command({ ping: 1 }));
  }

  collection<S extends TObject>(spec: CollectionSpec<S>): Collection<DocumentOf<S>> {
    return this.collectionIn(spec, undefined);
  }

  async transaction<R>(work: (session: DocumentSession) => Promise<R>): Promise<R> {
    this.database();
    const client = this.client!;
    return translated(() =>
      client.withSession((session) =>
        session.withTransaction(
          async () => {
            let open = true;
            const attempt: DocumentSession = {
              collection: <S extends TObject>(spec: CollectionSpec<S>) => {
                if (!open) throw new DocumentStoreError('invalid', 'a transaction session was used after its transaction ended');
                return this.collectionIn(spec, session);
              },
            };
            try {
              return await work(attempt);
            } finally {
              open = false;
            }
          },
          // Snapshot reads: what an attempt decides on stays as it read it, or the attempt is retried.
          { readConcern: { level: 'snapshot' }, writeConcern: { w: 'majority' } },
        ),
      ),
    );
  }

  private database(): Db {
    if (this.db === undefined) throw new DocumentStoreError('unavailable', 'the document store is not started');
    return this.db;
  }

  private collectionIn<S extends TObject>(spec: CollectionSpec<S>, session: ClientSession | undefined): Collection<DocumentOf<S>> {
    type T = DocumentOf<S>;
    if (this.specs.get(spec.name) !== spec) throw new DocumentStoreError('invalid', `collection ${spec.name} was not declared at start`);
    const collection = this.database().collection<Stored>(spec.name, { ignoreUndefined: true });
    const checks = this.checks;
    const options = session === undefined ? {} : { session };
    const run = async <R>(what: () => Promise<R>): Promise<R> => {
      try {
        return await what();
      } catch (err) {
        // withTransaction retries on these labels: they must reach it as the driver threw them.
        if (session !== undefined && err instanceof MongoError && err.hasErrorLabel('TransientTransactionError')) throw err;
        throw documentStoreErrorOf(err, spec);
      }
    };
    // async: a refused query rejects like every other call, it does not throw at the caller.
    const select = async (where: Where, find: FindOptions | undefined): Promise<T[]> => {
      const filter = mongoFilter(spec, where);
      const orderBy = [...(find?.orderBy ?? []), 'id'];
      checkFields(
        spec,
        orderBy.filter((field) => field !== 'id'),
      );
      const fields = orderBy.map(mongoField);
      if (find?.after !== undefined) {
        if (find.after.length !== orderBy.length) throw new DocumentStoreError('invalid', `after needs ${orderBy.length} values (${orderBy.join(', ')})`);
        filter['$and'] = [mongoAfterFilter(fields, find.after, find.descending ?? false)];
      }
      const direction = find?.descending ? -1 : 1;
      const sort: Sort = Object.fromEntries(fields.map((field) => [field, direction]));
      const limit = findLimit(find);
      return run(async () => (await collection.find(asFilter(filter), { ...options, sort, limit }).toArray()).map((stored) => fromStored<T>(stored)));
    };
    return {
      async insert(doc) {
        checks.check(spec, doc);
        await run(() => collection.insertOne(toStored(doc), options));
      },
      async get(id) {
        const stored = await run(() => collection.findOne({ _id: { $eq: id } }, options));
        return stored === null ? undefined : fromStored<T>(stored);
      },
      async findOne(where) {
        return (await select(where, { limit: 1 }))[0];
      },
      find: select,
      async count(where) {
        const filter = mongoFilter(spec, where);
        return run(() => collection.countDocuments(asFilter(filter), options));
      },
      async replace(doc, where = {}) {
        checks.check(spec, doc);
        const conditions = mongoFilter(spec, where);
        const filter = Object.keys(conditions).length === 0 ? { _id: { $eq: doc.id } } : { $and: [{ _id: { $eq: doc.id } }, conditions] };
        const result = await run(() => collection.replaceOne(asFilter(filter), toStored(doc), options));
        return result.matchedCount > 0;
      },
      async update(where, change: Change<T>) {
        const filter = mongoFilter(spec, where);
        const update = mongoUpdate(spec, change as Change<Record<string, unknown> & { id: string }>);
        if (update === null) return run(() => collection.countDocuments(asFilter(filter), options));
        // Outside a transaction a clash or validation failure part way leaves the documents before it changed.
        const result = await run(() => collection.updateMany(asFilter(filter), update, options));
        return result.matchedCount;
      },
      async delete(where) {
        const filter = mongoFilter(spec, where);
        return (await run(() => collection.deleteMany(asFilter(filter), options))).deletedCount;
      },
    };
  }
}

const VALIDATION = { validationLevel: 'strict', validationAction: 'error' } as const;

/** Creates the collection with its validator, or brings an existing one's validator up to the spec (collMod). */
async function ensureCollection(db: Db, spec: CollectionSpec, exists: boolean): Promise<void> {
  const validator = { $jsonSchema: mongoJsonSchema(spec) };
  if (!exists) {
    try {
      await db.createCollection(spec.name, { validator, ...VALIDATION });
      return;
    } catch (err) {
      // Another hub replica created it meanwhile.
      if (!(err instanceof MongoError && err.code === NAMESPACE_EXISTS)) throw err;
    }
  }
  await db.command({ collMod: spec.name, validator, ...VALIDATION });
}

/** Creates the index; one of that name declared differently before is dropped and made again as the spec says now. */
async function ensureIndex(db: Db, spec: CollectionSpec, index: IndexDescription): Promise<void> {
  const collection = db.collection(spec.name);
  const { key, ...options } = index;
  try {
    await collection.createIndex(key, options);
  } catch (err) {
    if (!(err instanceof MongoError && (err.code === INDEX_OPTIONS_CONFLICT || err.code === INDEX_KEY_SPECS_CONFLICT))) throw err;
    await collection.dropIndex(index.name!);
    await collection.createIndex(key, options);
  }
}
