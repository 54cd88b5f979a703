/**
 * PostgresDocumentStore against a real PostgreSQL (PG_URL, started by scripts/test-services.sh): the contract
 * suite, each test in a schema of its own (dropped afterwards), then what only several replicas on one
 * database show, and the SQL translations without a server.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { DocumentStoreError, type CollectionSpec } from '../../src/documents/document-store.ts';
import { createDocumentStore, documentsConfigProblems, DocumentsConfig } from '../../src/documents/index.ts';
import { ConfigError } from '@pulsebridge/runtime';
import { loadHubConfig, redactConfig } from '../../src/config.ts';
import { PostgresDocumentStore } from '../../src/documents/postgres-document-store.ts';
import { decodeText, encodeText, fieldKind, fromJsonText, Params, pgIdentifier, toJsonText, whereSql } from '../../src/documents/postgres-document-sql.ts';
import { DOMAIN_COLLECTIONS } from '../../src/domain/collections.ts';
import { testPostgres } from '../postgres-test.ts';
import { Claims, CONTRACT_COLLECTIONS, documentStoreContract, Slots, Things } from './document-contract.ts';

const postgres = testPostgres('pb_test_docs');
const PG_URL = postgres.url;
const NO_PG = postgres.skip;

documentStoreContract(
  'postgres',
  async () => {
    const schema = postgres.freshSchema();
    let store = new PostgresDocumentStore({ url: PG_URL!, schema });
    try {
      await store.start(CONTRACT_COLLECTIONS);
    } catch (err) {
      await postgres.dropSchema(schema);
      throw err;
    }
    return {
      store,
      async reopen() {
        await store.stop();
        store = new PostgresDocumentStore({ url: PG_URL!, schema });
        return store;
      },
      async cleanup() {
        await store.stop();
        await postgres.dropSchema(schema);
      },
    };
  },
  { skip: NO_PG },
);

async function refused(promise: Promise<unknown>, code: string): Promise<DocumentStoreError> {
  const err = await promise.then(
    () => assert.fail(`expected a DocumentStoreError ${code}`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof DocumentStoreError, `expected a DocumentStoreError, got ${String(err)}`);
  assert.equal(err.code, code, err.message);
  return err;
}

/** Two replicas: two stores, each with its own pool, on one schema; started together. */
async function withReplicas(use: (a: PostgresDocumentStore, b: PostgresDocumentStore) => Promise<void>, specs: readonly CollectionSpec[] = CONTRACT_COLLECTIONS): Promise<void> {
  const schema = postgres.freshSchema();
  const replicas = [0, 1].map(() => new PostgresDocumentStore({ url: PG_URL!, schema, poolSize: 4 }));
  try {
    await Promise.all(replicas.map((store) => store.start(specs)));
    await use(replicas[0]!, replicas[1]!);
  } finally {
    await Promise.all(replicas.map((store) => store.stop()));
    await postgres.dropSchema(schema);
  }
}

describe('PostgresDocumentStore: several replicas on one database', { skip: NO_PG }, () => {
  test('replicas starting at once on an empty schema all start, and declare every table and index once', () =>
    withReplicas(async (a, b) => {
      await a.collection(Things).insert({ id: 'x', gym: 'g', code: 'c', n: 1, active: true });
      assert.equal((await b.collection(Things).get('x'))?.code, 'c');
      const schema = (await postgres.admin().query<{ s: string }>(`SELECT nspname AS s FROM pg_namespace WHERE nspname LIKE 'pb_test_docs_${process.pid}_%'`)).rows.map((r) => r.s);
      assert.equal(schema.length, 1);
      const { rows } = await postgres.admin().query<{ indexname: string }>(`SELECT indexname FROM pg_indexes WHERE schemaname = $1 ORDER BY indexname`, [schema[0]]);
      assert.deepEqual(
        rows.map((r) => r.indexname),
        ['doc_claims_by_slot', 'doc_claims_one_current', 'doc_claims_pkey', 'doc_slots_pkey', 'doc_things_by_code', 'doc_things_by_n', 'doc_things_pkey'],
      );
    }));

  test('replicas racing to insert the same unique value: exactly one wins, every other gets a conflict naming the index', () =>
    withReplicas(async (a, b) => {
      const attempts = Array.from({ length: 20 }, (_, i) =>
        (i % 2 === 0 ? a : b)
          .collection(Things)
          .insert({ id: `t${i}`, gym: 'g', code: 'same', n: i, active: true })
          .then(
            () => 'won',
            (err: unknown) => (err instanceof DocumentStoreError && err.code === 'conflict' ? err.index : String(err)),
          ),
      );
      const outcomes = await Promise.all(attempts);
      assert.equal(outcomes.filter((o) => o === 'won').length, 1, outcomes.join(', '));
      assert.equal(outcomes.filter((o) => o === 'by_code').length, 19, outcomes.join(', '));
      assert.equal(await a.collection(Things).count({ code: 'same' }), 1);
    }));

  test('transactions on two replicas taking places of 15 leave exactly 15 taken, and every other claim waiting', () =>
    withReplicas(async (a, b) => {
      await a.collection(Slots).insert({ id: 's', capacity: 15, taken: 0 });
      const outcomes = await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          (i % 2 === 0 ? a : b).transaction(async (tx) => {
            // Read inside the transaction, decided on inside it: a retried attempt reads again.
            const slot = await tx.collection(Slots).get('s');
            const took = slot !== undefined && slot.taken < slot.capacity && (await tx.collection(Slots).update({ id: 's', taken: { lt: 15 } }, { inc: { taken: 1 } })) === 1;
            const state = took ? 'booked' : 'waiting';
            await tx.collection(Claims).insert({ id: `c${i}`, slot: 's', who: `p${i}`, state, current: true });
            return state;
          }),
        ),
      );
      assert.equal(outcomes.filter((s) => s === 'booked').length, 15);
      assert.equal(await b.collection(Claims).count({ slot: 's', state: 'booked' }), 15);
      assert.equal(await a.collection(Claims).count({ slot: 's', state: 'waiting' }), 25);
      assert.equal((await b.collection(Slots).get('s'))?.taken, 15);
    }));

  test('updates of one document from two replicas outside transactions lose none of each other’s increments', () =>
    withReplicas(async (a, b) => {
      await a.collection(Slots).insert({ id: 's', capacity: 100, taken: 0 });
      await Promise.all(Array.from({ length: 30 }, (_, i) => (i % 2 === 0 ? a : b).collection(Slots).update({ id: 's' }, { inc: { taken: 1 } })));
      assert.equal((await a.collection(Slots).get('s'))?.taken, 30);
    }));

  test('a transaction that reads a count and writes on its result is serialised against another doing the same (no write skew)', () =>
    withReplicas(async (a, b) => {
      // Each books "the last place" if fewer than one claim is current: only one may succeed.
      const book = (store: PostgresDocumentStore, who: string) =>
        store.transaction(async (tx) => {
          if ((await tx.collection(Claims).count({ slot: 's', state: 'booked' })) >= 1) return false;
          await tx.collection(Claims).insert({ id: who, slot: 's', who, state: 'booked', current: true });
          return true;
        });
      const results = await Promise.all([book(a, 'ann'), book(b, 'bob'), book(a, 'cy'), book(b, 'di')]);
      assert.equal(results.filter(Boolean).length, 1, String(results));
      assert.equal(await a.collection(Claims).count({ slot: 's', state: 'booked' }), 1);
    }));
});

describe('PostgresDocumentStore: what goes beyond the contract', { skip: NO_PG }, () => {
  async function withStore(use: (store: PostgresDocumentStore, schema: string) => Promise<void>, specs: readonly CollectionSpec[] = CONTRACT_COLLECTIONS): Promise<void> {
    const schema = postgres.freshSchema();
    const store = new PostgresDocumentStore({ url: PG_URL!, schema });
    try {
      await store.start(specs);
      await use(store, schema);
    } finally {
      await store.stop();
      await postgres.dropSchema(schema);
    }
  }

  test('a conflict the work catches inside a transaction leaves the transaction usable, and its other writes commit', () =>
    withStore(async (store) => {
      await store.collection(Things).insert({ id: 'a', gym: 'g', code: 'x', n: 1, active: true });
      const caught = await store.transaction(async (tx) => {
        await tx.collection(Slots).insert({ id: 's', capacity: 1, taken: 0 });
        const err = await tx
          .collection(Things)
          .insert({ id: 'b', gym: 'g', code: 'x', n: 2, active: true })
          .then(
            () => undefined,
            (e: unknown) => e,
          );
        await tx.collection(Slots).update({ id: 's' }, { inc: { taken: 1 } });
        return err;
      });
      assert.ok(caught instanceof DocumentStoreError && caught.code === 'conflict', String(caught));
      assert.equal((await store.collection(Slots).get('s'))?.taken, 1);
      assert.equal(await store.collection(Things).get('b'), undefined);
    }));

  test('an update whose result fails the schema for one match changes none of them', () =>
    withStore(async (store) => {
      const slots = store.collection(Slots);
      await slots.insert({ id: 'a', capacity: 5, taken: 3 });
      await slots.insert({ id: 'b', capacity: 5, taken: 0 });
      await refused(slots.update({}, { inc: { taken: -1 } }), 'invalid');
      assert.deepEqual(
        (await slots.find({})).map((s) => s.taken),
        [3, 0],
      );
    }));

  test('strings holding U+0000 and U+0001 round-trip, match exactly, and sort in code point order as in SQLite', () =>
    withStore(async (store) => {
      const things = store.collection(Things);
      const labels = ['', '\u0000', '\u0000\u0000', '\u0001', '\u0001\u0001', '\u0001\u0002', '\u0002', 'a\u0000b', 'a', '\\u0000', 'é', '\u{1F600}'];
      for (const [i, label] of labels.entries()) await things.insert({ id: `id\u0000${i}`, gym: 'g', code: label, n: i, active: true, label, tags: [label] });
      for (const [i, label] of labels.entries()) {
        const found = await things.find({ label });
        assert.deepEqual(
          found.map((t) => t.n),
          [i],
          JSON.stringify(label),
        );
        assert.deepEqual(found[0], { id: `id\u0000${i}`, gym: 'g', code: label, n: i, active: true, label, tags: [label] });
      }
      const byCode = (await things.find({}, { orderBy: ['code'] })).map((t) => t.code);
      const codePointOrder = [...labels].sort((x, y) => {
        const [a, b] = [[...x].map((c) => c.codePointAt(0)!), [...y].map((c) => c.codePointAt(0)!)];
        for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
        return a.length - b.length;
      });
      assert.deepEqual(byCode, codePointOrder);
      assert.equal(await things.count({ code: { gt: '\u0000', lt: '\u0002' } }), 4);
      assert.equal((await things.get('id\u00000'))?.n, 0);
    }));

  test('a field of several types is compared as JSON: equality by type, ranges on the values of the bound’s type only', async () => {
    const Mixed = {
      name: 'mixed',
      schema: Type.Object({
        id: Type.String(),
        v: Type.Optional(Type.Union([Type.String(), Type.Number(), Type.Boolean(), Type.Null()])),
        o: Type.Optional(Type.Object({ x: Type.Number() })),
      }),
      indexes: [{ name: 'by_v', fields: ['v'] }],
    } as const satisfies CollectionSpec;
    await withStore(
      async (store) => {
        const mixed = store.collection(Mixed);
        const values = [1, 2, '1', '2', true, null, undefined] as const;
        for (const [i, v] of values.entries()) await mixed.insert({ id: `m${i}`, ...(v === undefined ? {} : { v }) });
        const ids = async (where: Parameters<typeof mixed.find>[0]) => (await mixed.find(where)).map((m) => m.id);
        assert.deepEqual(await ids({ v: 1 }), ['m0']);
        assert.deepEqual(await ids({ v: '1' }), ['m2']);
        assert.deepEqual(await ids({ v: true }), ['m4']);
        assert.deepEqual(await ids({ v: null }), ['m5', 'm6']);
        assert.deepEqual(await ids({ v: { ne: 1 } }), ['m1', 'm2', 'm3', 'm4', 'm5', 'm6']);
        assert.deepEqual(await ids({ v: { in: [2, '2', null] } }), ['m1', 'm3', 'm5', 'm6']);
        assert.deepEqual(await ids({ v: { gte: 1 } }), ['m0', 'm1']);
        assert.deepEqual(await ids({ v: { gt: '1' } }), ['m3']);
        assert.deepEqual(await ids({ o: { gt: 1 } }), []);
        assert.deepEqual(await ids({ o: null }), ['m0', 'm1', 'm2', 'm3', 'm4', 'm5', 'm6']);
      },
      [Mixed],
    );
  });

  test('an index declared differently than before is made again at start: a unique index added later is enforced', async () => {
    const schema = postgres.freshSchema();
    const loose = { ...Things, indexes: [{ name: 'by_code', fields: ['gym', 'code'] }] } satisfies CollectionSpec;
    const first = new PostgresDocumentStore({ url: PG_URL!, schema });
    const second = new PostgresDocumentStore({ url: PG_URL!, schema });
    try {
      await first.start([loose]);
      await first.collection(loose).insert({ id: 'a', gym: 'g', code: 'x', n: 1, active: true });
      await first.collection(loose).insert({ id: 'b', gym: 'g', code: 'x', n: 1, active: true });
      // The data breaks the new unique index: start refuses rather than run without it.
      assert.match((await refused(second.start([Things]), 'unavailable')).message, /could not create unique index/);
      await first.collection(loose).delete({ id: 'b' });
      await second.start([Things]);
      assert.equal((await refused(second.collection(Things).insert({ id: 'c', gym: 'g', code: 'x', n: 1, active: true }), 'conflict')).index, 'by_code');
    } finally {
      await first.stop();
      await second.stop();
      await postgres.dropSchema(schema);
    }
  });

  test('a string too long for an index entry is refused as invalid, not as unavailable', () =>
    withStore(async (store) => {
      await refused(store.collection(Things).insert({ id: 'a', gym: 'g', code: 'x'.repeat(10_000) + randomBytes(4000).toString('base64'), n: 1, active: true }), 'invalid');
    }));

  test('every domain collection is created, and its indexes are on typed reads for the fields the domain queries', () =>
    withStore(async (store) => {
      await store.ping();
    }, DOMAIN_COLLECTIONS));
});

test('a store whose server cannot be reached fails start, ping and transactions as unavailable', async () => {
  const store = new PostgresDocumentStore({ url: 'postgres://nobody:x@127.0.0.1:1/none?connect_timeout=1' });
  await refused(store.ping(), 'unavailable');
  await refused(
    store.transaction(async () => 1),
    'unavailable',
  );
  await refused(store.start(CONTRACT_COLLECTIONS), 'unavailable');
  await refused(store.ping(), 'unavailable');
  await store.stop();
});

describe('PostgreSQL translations', () => {
  test('a field is read by the one JSON type its schema allows (null aside), or as JSON', () => {
    assert.equal(fieldKind(Type.String()), 'string');
    assert.equal(fieldKind(Type.Optional(Type.Integer())), 'number');
    assert.equal(fieldKind(Type.Union([Type.Literal('a'), Type.Literal('b')])), 'string');
    assert.equal(fieldKind(Type.Union([Type.Number(), Type.Null()])), 'number');
    assert.equal(fieldKind(Type.Boolean()), 'boolean');
    assert.equal(fieldKind(Type.Union([Type.String(), Type.Number()])), 'json');
    assert.equal(fieldKind(Type.Array(Type.String())), 'json');
    assert.equal(fieldKind(Type.Object({})), 'json');
  });

  test('text encoding is reversible, keeps code point order, and never leaves U+0000', () => {
    const samples = ['', '\u0000', '\u0001', '\u0001\u0001', '\u0001\u0002', '\u0002', 'x\u0000\u0001y', '\\u0000'];
    for (const s of samples) {
      assert.equal(decodeText(encodeText(s)), s);
      assert.equal(encodeText(s).includes('\u0000'), false);
    }
    for (const x of samples) for (const y of samples) assert.equal(Math.sign(cmp(encodeText(x), encodeText(y))), Math.sign(cmp(x, y)), `${JSON.stringify(x)} ${JSON.stringify(y)}`);
    const doc = { id: 'a\u0000', nested: { 'k\u0000': ['\u0001', '\\u0000', '\\\u0000'] } };
    const text = toJsonText(doc);
    assert.deepEqual(JSON.parse(text), { id: 'a\u0001\u0001', nested: { 'k\u0001\u0001': ['\u0001\u0002', '\\u0000', '\\\u0001\u0001'] } });
    // PostgreSQL writes U+0001 back as \u0001, as JSON.stringify does.
    assert.deepEqual(fromJsonText(text), doc);
  });

  test('a condition never puts a caller’s value in the SQL text, and a value of another type than the field matches nothing', () => {
    const params = new Params();
    const sql = whereSql(Things, { gym: "g'; DROP TABLE x; --", n: { gt: '' }, code: { ne: 3 }, label: { in: ['a', null] } }, params);
    assert.ok(!sql.includes('DROP'));
    assert.match(sql, /FALSE/);
    assert.deepEqual(params.values, ["g'; DROP TABLE x; --", 'a']);
    assert.throws(() => whereSql(Things, { 'label->>0': 'x' }, new Params()), DocumentStoreError);
  });

  test('names longer than PostgreSQL keeps are shortened, distinctly', () => {
    const long = `doc_${'a'.repeat(62)}_${'b'.repeat(62)}`;
    assert.equal(pgIdentifier('doc_things'), 'doc_things');
    assert.ok(pgIdentifier(long).length <= 63, pgIdentifier(long));
    assert.notEqual(pgIdentifier(long), pgIdentifier(`${long}c`));
  });
});

describe('documents configuration: postgres', () => {
  test('kind postgres requires a url and builds a PostgresDocumentStore from the secret, in its schema', () => {
    const config = Value.Default(DocumentsConfig, { kind: 'postgres' }) as DocumentsConfig;
    assert.deepEqual(documentsConfigProblems(config, '/documents'), ['/documents/postgres/url: is required when kind is postgres (postgres://user:password@host:port/database)']);
    const withUrl = { ...config, postgres: { ...config.postgres, url: { env: 'PB_TEST_PG_URL' }, schema: 'documents' } };
    assert.ok(Value.Check(DocumentsConfig, withUrl), 'the postgres section is valid');
    assert.deepEqual(documentsConfigProblems(withUrl, '/documents'), []);
    assert.equal(Value.Check(DocumentsConfig, { ...withUrl, postgres: { ...withUrl.postgres, schema: 'Bad-Schema' } }), false);
    const store = createDocumentStore(withUrl, { dataDir: '/nonexistent', env: { PB_TEST_PG_URL: 'postgres://127.0.0.1:1/x' } });
    assert.ok(store instanceof PostgresDocumentStore, 'a PostgresDocumentStore');
  });
});

test('the hub configuration tries the documents postgres URL secret, and --print-config masks it when written inline', () => {
  const env = { PB_HUB_DOCUMENTS__KIND: 'postgres', PB_HUB_DOCUMENTS__POSTGRES__URL: '{"env":"PB_DOCUMENTS_URL_NOT_SET_ANYWHERE"}' };
  const err = (() => {
    try {
      loadHubConfig({ env });
    } catch (e) {
      return e;
    }
    return undefined;
  })();
  assert.ok(err instanceof ConfigError, String(err));
  assert.ok(
    err.problems.some((p) => p.startsWith('/documents/postgres/url: ')),
    err.problems.join('\n'),
  );
  const inline = loadHubConfig({ env: { PB_HUB_DOCUMENTS__KIND: 'postgres', PB_HUB_DOCUMENTS__POSTGRES__URL: 'postgres://u:secret@db/pb' } });
  assert.equal(inline.documents.postgres.url, 'postgres://u:secret@db/pb');
  assert.equal(redactConfig(inline).documents.postgres.url, '[redacted]');
});

function cmp(x: string, y: string): number {
  const [a, b] = [[...x].map((c) => c.codePointAt(0)!), [...y].map((c) => c.codePointAt(0)!)];
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}
