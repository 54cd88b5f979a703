/**
 * MongoDocumentStore. The contract suite runs against a real MongoDB when MONGO_URL is set (a replica set:
 * transactions need one), each test in a database of its own, dropped afterwards. What the adapter adds to the
 * driver (schema, filter, update and error translations) is checked here without a server.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, test } from 'node:test';
import { Type, type TObject } from '@sinclair/typebox';
import { BSON, MongoClient, MongoInvalidArgumentError, MongoNetworkError, MongoServerError, MongoServerSelectionError, type Document } from 'mongodb';
import { DocumentStoreError, parseCondition, type CollectionSpec, type Where } from '../../src/documents/document-store.ts';
import { createDocumentStore, documentsConfigProblems, DocumentsConfig } from '../../src/documents/index.ts';
import {
  documentStoreErrorOf,
  mongoAfterFilter,
  mongoCondition,
  mongoFilter,
  mongoIndexes,
  mongoJsonSchema,
  mongoUpdate,
  MongoDocumentStore,
} from '../../src/documents/mongo-document-store.ts';
import { DOMAIN_COLLECTIONS } from '../../src/domain/collections.ts';
import { Value } from '@sinclair/typebox/value';
import { Claims, CONTRACT_COLLECTIONS, documentStoreContract, Things } from './document-contract.ts';

const MONGO_URL = process.env.MONGO_URL;
// Not missingService(): CI cannot install MongoDB either, and the suite is meant to show as skipped there.
const NO_MONGO = MONGO_URL ? false : 'MONGO_URL not set: no MongoDB server on this machine (the adapter needs a replica set for transactions)';

let sharedClient: MongoClient | undefined;
after(async () => {
  await sharedClient?.close();
});

documentStoreContract(
  'mongodb',
  async () => {
    sharedClient ??= new MongoClient(MONGO_URL!);
    const client = sharedClient;
    const database = `pb_test_${process.pid}_${randomBytes(4).toString('hex')}`;
    let store = new MongoDocumentStore({ url: MONGO_URL!, database, client });
    await store.start(CONTRACT_COLLECTIONS);
    return {
      store,
      async reopen() {
        await store.stop();
        store = new MongoDocumentStore({ url: MONGO_URL!, database, client });
        return store;
      },
      async cleanup() {
        await store.stop();
        await client.db(database).dropDatabase();
      },
    };
  },
  { skip: NO_MONGO },
);

async function refused(what: () => unknown, code: string): Promise<DocumentStoreError> {
  let caught: unknown;
  try {
    await what();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof DocumentStoreError, `expected a DocumentStoreError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  return caught;
}

/** The keywords MongoDB's $jsonSchema accepts (docs: "$jsonSchema", available keywords). */
const JSON_SCHEMA_KEYWORDS = new Set([
  'bsonType',
  'enum',
  'type',
  'allOf',
  'anyOf',
  'oneOf',
  'not',
  'multipleOf',
  'maximum',
  'exclusiveMaximum',
  'minimum',
  'exclusiveMinimum',
  'maxLength',
  'minLength',
  'pattern',
  'maxProperties',
  'minProperties',
  'required',
  'additionalProperties',
  'properties',
  'patternProperties',
  'dependencies',
  'additionalItems',
  'items',
  'maxItems',
  'minItems',
  'uniqueItems',
  'title',
  'description',
]);
const BSON_TYPES = new Set(['double', 'string', 'object', 'array', 'binData', 'objectId', 'bool', 'date', 'null', 'regex', 'int', 'timestamp', 'long', 'decimal', 'number']);

/** Every problem MongoDB would find with a $jsonSchema document, by path. */
function bsonSchemaProblems(schema: Document, path = ''): string[] {
  const problems: string[] = [];
  for (const [keyword, value] of Object.entries(schema)) {
    const at = `${path}/${keyword}`;
    if (!JSON_SCHEMA_KEYWORDS.has(keyword)) problems.push(`${at}: not a $jsonSchema keyword`);
    if (keyword === 'type') problems.push(`${at}: use bsonType (JSON Schema's integer is not a $jsonSchema type)`);
    if (keyword === 'bsonType') for (const t of [value].flat() as string[]) if (!BSON_TYPES.has(t)) problems.push(`${at}: ${t} is not a BSON type`);
    if ((keyword === 'exclusiveMinimum' || keyword === 'exclusiveMaximum') && typeof value !== 'boolean') problems.push(`${at}: must be a boolean (draft 4)`);
    if (keyword === 'required' && (!Array.isArray(value) || value.length === 0)) problems.push(`${at}: must be a non-empty list`);
    if (keyword === 'properties' || keyword === 'patternProperties')
      for (const [name, sub] of Object.entries(value as Record<string, Document>)) problems.push(...bsonSchemaProblems(sub, `${at}/${name}`));
    if (keyword === 'items') for (const [i, sub] of [value].flat().entries()) problems.push(...bsonSchemaProblems(sub as Document, `${at}/${i}`));
    if (keyword === 'allOf' || keyword === 'anyOf' || keyword === 'oneOf')
      for (const [i, sub] of (value as Document[]).entries()) problems.push(...bsonSchemaProblems(sub, `${at}/${i}`));
    if ((keyword === 'not' || keyword === 'additionalProperties' || keyword === 'additionalItems') && typeof value === 'object')
      problems.push(...bsonSchemaProblems(value as Document, at));
  }
  return problems;
}

describe('the $jsonSchema validator of a collection', () => {
  const specs: readonly CollectionSpec[] = [...DOMAIN_COLLECTIONS, ...CONTRACT_COLLECTIONS];

  test('of every domain and contract collection uses only what $jsonSchema accepts, keys on _id and allows no other field', () => {
    assert.ok(DOMAIN_COLLECTIONS.length > 0);
    for (const spec of specs) {
      const validator = mongoJsonSchema(spec);
      assert.deepEqual(bsonSchemaProblems(validator), [], spec.name);
      assert.equal(validator['bsonType'], 'object', spec.name);
      assert.equal(validator['additionalProperties'], false, spec.name);
      const properties = validator['properties'] as Record<string, Document>;
      assert.deepEqual(properties['_id'], { bsonType: 'string' }, spec.name);
      assert.equal(properties['id'], undefined, `${spec.name}: id is stored as _id`);
      assert.deepEqual(Object.keys(properties).sort(), ['_id', ...Object.keys(spec.schema.properties).filter((f) => f !== 'id')].sort(), spec.name);
      assert.deepEqual(validator['required'], ['_id', ...(spec.schema.required ?? []).filter((f: string) => f !== 'id')], spec.name);
    }
  });

  test('maps integers to whole numbers of any BSON number type, optional fields out of required, arrays by their items', () => {
    assert.deepEqual(mongoJsonSchema(Things), {
      bsonType: 'object',
      required: ['_id', 'gym', 'code', 'n', 'active'],
      properties: {
        _id: { bsonType: 'string' },
        gym: { bsonType: 'string' },
        code: { bsonType: 'string' },
        n: { bsonType: ['int', 'long', 'double'], multipleOf: 1 },
        active: { bsonType: 'bool' },
        label: { bsonType: 'string' },
        tags: { bsonType: 'array', items: { bsonType: 'string' } },
      },
      additionalProperties: false,
    });
  });

  test('drops keywords $jsonSchema lacks and converts const, unions of literals, exclusive bounds, records and nested objects', () => {
    const Odd = {
      name: 'odd',
      schema: Type.Object(
        {
          id: Type.String({ $id: 'OddId', examples: ['x'] }),
          at: Type.String({ format: 'date-time', description: 'when' }),
          status: Type.Union([Type.Literal('in_service'), Type.Literal('out_of_order')], { default: 'in_service' }),
          weight: Type.Number({ exclusiveMinimum: 0, maximum: 500 }),
          count: Type.Integer({ minimum: 0, multipleOf: 5 }),
          attributes: Type.Record(Type.String(), Type.Union([Type.String(), Type.Number(), Type.Null()])),
          steps: Type.Array(Type.Object({ zone: Type.Integer(), note: Type.Optional(Type.String({ maxLength: 10 })) }, { additionalProperties: false }), { minItems: 1 }),
        },
        { additionalProperties: false, $id: 'Odd' },
      ),
      indexes: [],
    } satisfies CollectionSpec;
    const validator = mongoJsonSchema(Odd);
    assert.deepEqual(bsonSchemaProblems(validator), []);
    const properties = validator['properties'] as Record<string, Document>;
    assert.deepEqual(properties['_id'], { bsonType: 'string' });
    assert.deepEqual(properties['at'], { bsonType: 'string', description: 'when' });
    assert.deepEqual(properties['status'], {
      anyOf: [
        { enum: ['in_service'], bsonType: 'string' },
        { enum: ['out_of_order'], bsonType: 'string' },
      ],
    });
    assert.deepEqual(properties['weight'], { minimum: 0, exclusiveMinimum: true, maximum: 500, bsonType: ['int', 'long', 'double', 'decimal'] });
    assert.deepEqual(properties['count'], { minimum: 0, multipleOf: 5, bsonType: ['int', 'long', 'double'] });
    assert.deepEqual(properties['attributes'], {
      bsonType: 'object',
      patternProperties: { '^(.*)$': { anyOf: [{ bsonType: 'string' }, { bsonType: ['int', 'long', 'double', 'decimal'] }, { bsonType: 'null' }] } },
    });
    assert.deepEqual(properties['steps'], {
      minItems: 1,
      bsonType: 'array',
      items: {
        additionalProperties: false,
        bsonType: 'object',
        properties: { zone: { bsonType: ['int', 'long', 'double'], multipleOf: 1 }, note: { maxLength: 10, bsonType: 'string' } },
        required: ['zone'],
      },
    });
    assert.deepEqual(validator['required'], ['_id', 'at', 'status', 'weight', 'count', 'attributes', 'steps']);
    assert.equal(JSON.stringify(validator).includes('$id'), false);
    assert.deepEqual(
      mongoJsonSchema({ name: 'typed', schema: Type.Object({ id: Type.String(), at: Type.Date(), v: Type.Union([Type.String(), Type.Integer()]) }), indexes: [] })['properties'],
      {
        _id: { bsonType: 'string' },
        at: {},
        v: { anyOf: [{ bsonType: 'string' }, { bsonType: ['int', 'long', 'double'], multipleOf: 1 }] },
      },
    );
  });

  test('indexes keep the spec names, key id as _id, and a partial index covers documents equal to its values', () => {
    assert.deepEqual(mongoIndexes(Claims), [
      { name: 'one_current', key: { slot: 1, who: 1 }, unique: true, partialFilterExpression: { current: { $eq: true } } },
      { name: 'by_slot', key: { slot: 1, state: 1 } },
    ]);
    assert.deepEqual(mongoIndexes({ name: 'x', schema: Things.schema, indexes: [{ name: 'by_id_gym', fields: ['gym', 'id'] }] }), [{ name: 'by_id_gym', key: { gym: 1, _id: 1 } }]);
  });
});

describe('conditions as MongoDB filters', () => {
  test('each kind of condition becomes exactly its operator, and id becomes _id', () => {
    assert.deepEqual(mongoCondition(parseCondition('f', 'x')), { $eq: 'x' });
    assert.deepEqual(mongoCondition(parseCondition('f', 3)), { $eq: 3 });
    assert.deepEqual(mongoCondition(parseCondition('f', false)), { $eq: false });
    assert.deepEqual(mongoCondition(parseCondition('f', null)), { $eq: null });
    assert.deepEqual(mongoCondition(parseCondition('f', { ne: 'x' })), { $ne: 'x' });
    assert.deepEqual(mongoCondition(parseCondition('f', { ne: null })), { $ne: null });
    assert.deepEqual(mongoCondition(parseCondition('f', { in: ['y', null] })), { $in: ['y', null] });
    assert.deepEqual(mongoCondition(parseCondition('f', { in: [] })), { $in: [] });
    assert.deepEqual(mongoCondition(parseCondition('f', { gte: 2, lt: 4 })), { $gte: 2, $lt: 4, $type: 'number' });
    assert.deepEqual(mongoCondition(parseCondition('f', { gt: 'c-b' })), { $gt: 'c-b', $type: 'string' });
    assert.deepEqual(mongoCondition(parseCondition('f', { gt: 1, lt: 'z' })), { $in: [] });
    assert.deepEqual(mongoFilter(Things, { id: { in: ['a', 'd'] }, gym: 'g1', n: { gt: 1 } }), {
      _id: { $in: ['a', 'd'] },
      gym: { $eq: 'g1' },
      n: { $gt: 1, $type: 'number' },
    });
    assert.deepEqual(mongoFilter(Things, {}), {});
  });

  test('a value that looks like an operator stays a plain value under $eq, and an operator object or a path never reaches the filter', async () => {
    assert.deepEqual(mongoFilter(Things, { label: '$where' }), { label: { $eq: '$where' } });
    assert.deepEqual(mongoFilter(Things, { label: { ne: '$where' } }), { label: { $ne: '$where' } });
    assert.deepEqual(mongoFilter(Things, { label: { in: ['$gt', '{"$ne":null}'] } }), { label: { $in: ['$gt', '{"$ne":null}'] } });
    await refused(() => mongoFilter(Things, { gym: { $gt: '' } } as unknown as Where), 'invalid');
    await refused(() => mongoFilter(Things, { gym: { in: [{ $gt: '' }] } } as unknown as Where), 'invalid');
    await refused(() => mongoFilter(Things, { gym: { ne: { $ne: null } } } as unknown as Where), 'invalid');
    await refused(() => mongoFilter(Things, { gym: ['g1'] } as unknown as Where), 'invalid');
    await refused(() => mongoFilter(Things, { $where: 'sleep(1000)' }), 'invalid');
    await refused(() => mongoFilter(Things, { 'label.x': 1 }), 'invalid');
    await refused(() => mongoFilter(Things, { _id: 'a' }), 'invalid');
  });

  test('a page cursor continues past the last document in the sort of its keys then _id, null sorting first', () => {
    assert.deepEqual(mongoAfterFilter(['n', '_id'], [3, 't07'], false), {
      $or: [{ n: { $gt: 3 } }, { n: { $eq: 3 }, _id: { $gt: 't07' } }],
    });
    assert.deepEqual(mongoAfterFilter(['n', '_id'], [3, 't07'], true), {
      $or: [{ n: { $lt: 3 } }, { n: { $eq: null } }, { n: { $eq: 3 }, _id: { $lt: 't07' } }, { n: { $eq: 3 }, _id: { $eq: null } }],
    });
    assert.deepEqual(mongoAfterFilter(['label', '_id'], [null, 'a'], false), {
      $or: [{ label: { $ne: null } }, { label: { $eq: null }, _id: { $gt: 'a' } }],
    });
    assert.deepEqual(mongoAfterFilter(['label', '_id'], [null, 'a'], true), {
      $or: [
        { label: { $eq: null }, _id: { $lt: 'a' } },
        { label: { $eq: null }, _id: { $eq: null } },
      ],
    });
    assert.deepEqual(mongoAfterFilter(['_id'], ['a'], false), { $or: [{ _id: { $gt: 'a' } }] });
  });
});

describe('changes as MongoDB updates', () => {
  type Thing = Record<string, unknown> & { id: string };
  const update = (change: Parameters<typeof mongoUpdate>[1]) => mongoUpdate(Things as CollectionSpec<TObject>, change);

  test('set, inc and unset become $set, $inc and $unset; id is never changed; an empty change is none', () => {
    assert.deepEqual(update({ set: { active: false, id: 'other' }, inc: { n: 10 }, unset: ['label'] }), { $set: { active: false }, $inc: { n: 10 }, $unset: { label: '' } });
    assert.equal(update({}), null);
    assert.equal(update({ set: { id: 'other' } }), null);
  });

  test('what applyChange does to one field twice is written once: undefined removes, unset wins over set, set then inc adds', () => {
    assert.deepEqual(update({ set: { label: undefined } as Partial<Thing> }), { $unset: { label: '' } });
    assert.deepEqual(update({ set: { label: 'x' }, unset: ['label'] }), { $unset: { label: '' } });
    assert.deepEqual(update({ set: { n: 5 }, inc: { n: 2 } }), { $set: { n: 7 } });
  });

  test('a value the field schema refuses, an unknown field, removing a required field and incrementing a non-number are invalid', async () => {
    await refused(() => update({ set: { n: 'x' } }), 'invalid');
    await refused(() => update({ set: { n: 1.5 } }), 'invalid');
    await refused(() => update({ set: { extra: 1 } }), 'invalid');
    await refused(() => update({ set: { $where: 1 } }), 'invalid');
    await refused(() => update({ unset: ['gym'] }), 'invalid');
    await refused(() => update({ unset: ['id'] }), 'invalid');
    await refused(() => update({ inc: { code: 1 } }), 'invalid');
    await refused(() => update({ inc: { n: 0.5 } }), 'invalid');
    await refused(() => update({ inc: { n: Number.NaN } }), 'invalid');
  });
});

describe('driver errors as DocumentStoreErrors', () => {
  test('a duplicate key is a conflict naming the spec index, or id for _id', () => {
    const duplicate = (index: string) =>
      documentStoreErrorOf(
        new MongoServerError({ message: `E11000 duplicate key error collection: db.things index: ${index} dup key: { gym: "g1", code: "x" }`, code: 11000 }),
        Things,
      );
    for (const [index, expected] of [
      ['by_code', 'by_code'],
      ['_id_', 'id'],
      ['someone_elses', 'unique'],
    ]) {
      const err = duplicate(index!);
      assert.ok(err instanceof DocumentStoreError);
      assert.equal(err.code, 'conflict');
      assert.equal(err.index, expected);
    }
  });

  test('a validator or driver refusal is invalid, a network error unavailable, and errors that are not the driver pass unchanged', () => {
    const invalid = documentStoreErrorOf(new MongoServerError({ message: 'Document failed validation', code: 121 }), Things);
    assert.ok(invalid instanceof DocumentStoreError && invalid.code === 'invalid');
    const down = documentStoreErrorOf(new MongoNetworkError('connection refused'), Things);
    assert.ok(down instanceof DocumentStoreError && down.code === 'unavailable');
    for (const refusal of [new BSON.BSONError('Document is larger than the maximum size 16777216'), new MongoInvalidArgumentError('Document is larger than the maximum size')]) {
      const err = documentStoreErrorOf(refusal, Things);
      assert.ok(err instanceof DocumentStoreError && err.code === 'invalid', String(err));
    }
    const mine = new Error('changed my mind');
    assert.equal(documentStoreErrorOf(mine, Things), mine);
  });

  test('a store whose server cannot be reached fails start, ping and transactions as unavailable', async () => {
    // Port 1 on loopback: nothing listens, so server selection gives up after its (short) timeout.
    const store = new MongoDocumentStore({ url: 'mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=200&connectTimeoutMS=200', database: 'pb_none' });
    try {
      await refused(() => store.ping(), 'unavailable');
      await refused(() => store.transaction(async () => 1), 'unavailable');
      const err = await refused(() => store.start(CONTRACT_COLLECTIONS), 'unavailable');
      assert.ok(err.cause instanceof MongoServerSelectionError, String(err.cause));
      await refused(() => store.ping(), 'unavailable');
    } finally {
      await store.stop();
    }
  });

  test('a spec with a bad name is refused at start before any connection is made', async () => {
    const store = new MongoDocumentStore({ url: 'mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=200', database: 'pb_none' });
    await refused(() => store.start([{ name: 'Bad-Name', schema: Things.schema, indexes: [] }]), 'invalid');
    await store.stop();
  });
});

describe('documents configuration', () => {
  test('kind mongodb requires a url, defaults the database, and builds a MongoDocumentStore from the secret', () => {
    const config = Value.Default(DocumentsConfig, { kind: 'mongodb' }) as DocumentsConfig;
    assert.equal(config.mongodb.database, 'pulsebridge');
    assert.deepEqual(documentsConfigProblems(config, '/documents'), [
      '/documents/mongodb/url: is required when kind is mongodb (mongodb://user:password@host:27017/?replicaSet=rs0: transactions need a replica set)',
    ]);
    const withUrl = { ...config, mongodb: { ...config.mongodb, url: { env: 'PB_TEST_MONGO_URL' } } };
    assert.deepEqual(documentsConfigProblems(withUrl, '/documents'), []);
    assert.ok(Value.Check(DocumentsConfig, withUrl));
    const store = createDocumentStore(withUrl, { dataDir: '/nonexistent', env: { PB_TEST_MONGO_URL: 'mongodb://127.0.0.1:1/' } });
    assert.ok(store instanceof MongoDocumentStore);
    assert.deepEqual(documentsConfigProblems(Value.Default(DocumentsConfig, {}) as DocumentsConfig, '/documents'), []);
  });
});
