/**
 * The one DocumentStore contract: each adapter runs it from its own *.test.ts against its real database.
 * `make` gives a started store on a fresh, empty database with CONTRACT_COLLECTIONS declared.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Type } from '@sinclair/typebox';
import { DocumentStoreError, pageAfter, type CollectionSpec, type DocumentStore, type DocumentStoreErrorCode, type Scalar } from '../../src/documents/document-store.ts';

export const Things = {
  name: 'things',
  schema: Type.Object(
    {
      id: Type.String(),
      gym: Type.String(),
      code: Type.String(),
      n: Type.Integer(),
      active: Type.Boolean(),
      label: Type.Optional(Type.String()),
      tags: Type.Optional(Type.Array(Type.String())),
    },
    { additionalProperties: false },
  ),
  indexes: [
    { name: 'by_code', fields: ['gym', 'code'], unique: true },
    { name: 'by_n', fields: ['gym', 'n'] },
  ],
} as const satisfies CollectionSpec;

export const Slots = {
  name: 'slots',
  schema: Type.Object({ id: Type.String(), capacity: Type.Integer(), taken: Type.Integer({ minimum: 0 }) }, { additionalProperties: false }),
  indexes: [],
} as const satisfies CollectionSpec;

export const Claims = {
  name: 'claims',
  schema: Type.Object({ id: Type.String(), slot: Type.String(), who: Type.String(), state: Type.String(), current: Type.Boolean() }, { additionalProperties: false }),
  indexes: [
    { name: 'one_current', fields: ['slot', 'who'], unique: true, partial: { current: true } },
    { name: 'by_slot', fields: ['slot', 'state'] },
  ],
} as const satisfies CollectionSpec;

export const CONTRACT_COLLECTIONS: readonly CollectionSpec[] = [Things, Slots, Claims];

export interface FreshDocumentStore {
  store: DocumentStore;
  /** Stops the store and starts a new one on the same database. */
  reopen(): Promise<DocumentStore>;
  cleanup(): Promise<void>;
}

export type DocumentStoreFactory = () => Promise<FreshDocumentStore>;

async function refused(promise: Promise<unknown>, code: DocumentStoreErrorCode): Promise<DocumentStoreError> {
  const err = await promise.then(
    () => assert.fail(`expected a DocumentStoreError ${code}`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof DocumentStoreError, `expected a DocumentStoreError, got ${String(err)}`);
  assert.equal(err.code, code, err.message);
  return err;
}

function thing(id: string, gym: string, n: number, extra: { code?: string; active?: boolean; label?: string } = {}) {
  return { id, gym, code: extra.code ?? `c-${id}`, n, active: extra.active ?? true, ...(extra.label === undefined ? {} : { label: extra.label }) };
}

export function documentStoreContract(name: string, make: DocumentStoreFactory, options: { skip?: string | false } = {}): void {
  describe(`DocumentStore contract: ${name}`, { skip: options.skip }, () => {
    async function withStore(use: (store: DocumentStore, fresh: FreshDocumentStore) => Promise<void>): Promise<void> {
      const fresh = await make();
      try {
        await use(fresh.store, fresh);
      } finally {
        await fresh.cleanup();
      }
    }

    test('an inserted document is found by id and by its fields, and a second one with its id is refused as a conflict on id', () =>
      withStore(async (store) => {
        const things = store.collection(Things);
        await things.insert(thing('a', 'g1', 1, { label: 'first' }));
        assert.deepEqual(await things.get('a'), thing('a', 'g1', 1, { label: 'first' }));
        assert.equal(await things.get('missing'), undefined);
        assert.equal((await things.findOne({ gym: 'g1', code: 'c-a' }))?.id, 'a');
        const err = await refused(things.insert(thing('a', 'g2', 2)), 'conflict');
        assert.equal(err.index, 'id');
        assert.equal((await things.get('a'))?.gym, 'g1');
      }));

    test('a unique index refuses a second document with the same values, by insert, replace and update, and names the index', () =>
      withStore(async (store) => {
        const things = store.collection(Things);
        await things.insert(thing('a', 'g1', 1, { code: 'x' }));
        await things.insert(thing('b', 'g2', 1, { code: 'x' }));
        assert.equal((await refused(things.insert(thing('c', 'g1', 1, { code: 'x' })), 'conflict')).index, 'by_code');
        await things.insert(thing('c', 'g1', 2, { code: 'y' }));
        assert.equal((await refused(things.replace({ ...thing('c', 'g1', 2), code: 'x' }), 'conflict')).index, 'by_code');
        assert.equal((await refused(things.update({ id: 'c' }, { set: { code: 'x' } }), 'conflict')).index, 'by_code');
        assert.equal((await things.get('c'))?.code, 'y');
      }));

    test('a partial unique index holds only among the documents it covers', () =>
      withStore(async (store) => {
        const claims = store.collection(Claims);
        await claims.insert({ id: '1', slot: 's', who: 'ann', state: 'ended', current: false });
        await claims.insert({ id: '2', slot: 's', who: 'ann', state: 'ended', current: false });
        await claims.insert({ id: '3', slot: 's', who: 'ann', state: 'booked', current: true });
        assert.equal((await refused(claims.insert({ id: '4', slot: 's', who: 'ann', state: 'booked', current: true }), 'conflict')).index, 'one_current');
        await claims.update({ id: '3' }, { set: { current: false, state: 'ended' } });
        await claims.insert({ id: '4', slot: 's', who: 'ann', state: 'booked', current: true });
        assert.equal(await claims.count({ slot: 's', who: 'ann' }), 4);
      }));

    test('a document that does not match its schema, and a query on a field the schema lacks, are refused as invalid', () =>
      withStore(async (store) => {
        const things = store.collection(Things);
        await refused(things.insert({ ...thing('a', 'g1', 1), n: 1.5 }), 'invalid');
        await refused(things.insert({ ...thing('a', 'g1', 1), extra: 1 } as never), 'invalid');
        await things.insert(thing('a', 'g1', 1));
        await refused(things.update({ id: 'a' }, { set: { n: 'x' as never } }), 'invalid');
        await refused(things.find({ nothing: 1 }), 'invalid');
        await refused(things.find({ 'label.x': 1 }), 'invalid');
        await refused(things.find({ gym: { $gt: '' } as never }), 'invalid');
        await refused(things.find({ gym: { eq: 'g1' } as never }), 'invalid');
        await refused(things.find({}, { orderBy: ['$natural'] }), 'invalid');
        assert.equal((await things.get('a'))?.n, 1);
      }));

    test('values that look like operators or paths are stored and matched as the plain strings they are', () =>
      withStore(async (store) => {
        const things = store.collection(Things);
        const odd = ['$where', 'a.b', "it's", '{"$ne":null}', '\u0000x'];
        for (const [i, label] of odd.entries()) await things.insert(thing(String(i), 'g1', i, { label, code: label }));
        for (const [i, label] of odd.entries()) {
          assert.deepEqual(
            (await things.find({ label })).map((t) => t.id),
            [String(i)],
            label,
          );
        }
        assert.equal(await things.count({ label: { ne: '$where' } }), odd.length - 1);
      }));

    test('conditions: equality, null for a missing field, in, ne and ranges of numbers and of strings', () =>
      withStore(async (store) => {
        const things = store.collection(Things);
        await things.insert(thing('a', 'g1', 1, { label: 'x' }));
        await things.insert(thing('b', 'g1', 2, { active: false }));
        await things.insert(thing('c', 'g1', 3, { label: 'y' }));
        await things.insert(thing('d', 'g2', 4, { label: 'x' }));
        const ids = async (where: Parameters<typeof things.find>[0]) => (await things.find(where)).map((t) => t.id);
        assert.deepEqual(await ids({ gym: 'g1' }), ['a', 'b', 'c']);
        assert.deepEqual(await ids({ active: false }), ['b']);
        assert.deepEqual(await ids({ active: true, gym: 'g1' }), ['a', 'c']);
        assert.deepEqual(await ids({ label: null }), ['b']);
        assert.deepEqual(await ids({ label: { ne: null } }), ['a', 'c', 'd']);
        assert.deepEqual(await ids({ label: { ne: 'x' } }), ['b', 'c']);
        assert.deepEqual(await ids({ label: { in: ['y', null] } }), ['b', 'c']);
        assert.deepEqual(await ids({ id: { in: ['a', 'd', 'zz'] } }), ['a', 'd']);
        assert.deepEqual(await ids({ label: { in: [] } }), []);
        assert.deepEqual(await ids({ n: { gte: 2, lt: 4 } }), ['b', 'c']);
        assert.deepEqual(await ids({ code: { gt: 'c-b' } }), ['c', 'd']);
        // A range of numbers never matches strings, and one of strings never matches numbers.
        assert.deepEqual(await ids({ n: { gt: '' } }), []);
        assert.deepEqual(await ids({ code: { gt: 0 } }), []);
        assert.equal(await things.count({ gym: 'g1', n: { gt: 1 } }), 2);
      }));

    test('pages by a sort key then id visit every document exactly once, ascending and descending', () =>
      withStore(async (store) => {
        const things = store.collection(Things);
        const all: string[] = [];
        for (let i = 0; i < 23; i++) {
          const id = `t${String(i).padStart(2, '0')}`;
          all.push(id);
          await things.insert(thing(id, 'g1', i % 5));
        }
        for (const descending of [false, true]) {
          const seen: string[] = [];
          let after: Scalar[] | undefined;
          let ns: number[] = [];
          for (;;) {
            const page = await things.find({ gym: 'g1' }, { orderBy: ['n'], descending, limit: 4, ...(after ? { after } : {}) });
            seen.push(...page.map((t) => t.id));
            ns = [...ns, ...page.map((t) => t.n)];
            if (page.length < 4) break;
            after = pageAfter(page.at(-1)!, ['n']);
          }
          assert.deepEqual([...seen].sort(), all, `every document once (descending: ${descending})`);
          assert.deepEqual(
            ns,
            [...ns].sort((x, y) => (descending ? y - x : x - y)),
          );
        }
        await refused(things.find({}, { limit: 0 }), 'invalid');
      }));

    test('update sets, increments and removes fields of every match and says how many; delete says how many it removed', () =>
      withStore(async (store) => {
        const things = store.collection(Things);
        await things.insert(thing('a', 'g1', 1, { label: 'x' }));
        await things.insert(thing('b', 'g1', 2, { label: 'y' }));
        await things.insert(thing('c', 'g2', 3));
        assert.equal(await things.update({ gym: 'g1' }, { inc: { n: 10 }, unset: ['label'], set: { active: false } }), 2);
        assert.deepEqual(await things.get('a'), { ...thing('a', 'g1', 11), active: false });
        assert.equal(await things.update({ gym: 'none' }, { inc: { n: 1 } }), 0);
        assert.equal(await things.replace({ ...thing('a', 'g1', 5) }, { n: 99 }), false);
        assert.equal(await things.replace({ ...thing('a', 'g1', 5) }, { n: 11 }), true);
        assert.equal(await things.replace(thing('zz', 'g1', 5)), false);
        assert.equal(await things.delete({ gym: 'g1' }), 2);
        assert.equal(await things.delete({ gym: 'g1' }), 0);
        assert.deepEqual(
          (await things.find({})).map((t) => t.id),
          ['c'],
        );
      }));

    test('a transaction commits all of its writes together, and one that throws leaves nothing behind', () =>
      withStore(async (store) => {
        const result = await store.transaction(async (tx) => {
          await tx.collection(Things).insert(thing('a', 'g1', 1));
          await tx.collection(Slots).insert({ id: 's', capacity: 1, taken: 0 });
          return 'done';
        });
        assert.equal(result, 'done');
        await assert.rejects(
          store.transaction(async (tx) => {
            await tx.collection(Things).insert(thing('b', 'g1', 2));
            await tx.collection(Slots).update({ id: 's' }, { inc: { taken: 1 } });
            throw new Error('changed my mind');
          }),
          /changed my mind/,
        );
        assert.equal(await store.collection(Things).get('b'), undefined);
        assert.equal((await store.collection(Slots).get('s'))?.taken, 0);
        // A conflict inside a transaction undoes the writes before it.
        await refused(
          store.transaction(async (tx) => {
            await tx.collection(Slots).update({ id: 's' }, { inc: { taken: 1 } });
            await tx.collection(Things).insert(thing('a', 'g9', 9));
          }),
          'conflict',
        );
        assert.equal((await store.collection(Slots).get('s'))?.taken, 0);
      }));

    test('a read from outside a transaction never sees its writes before they commit, nor after it rolled back', () =>
      withStore(async (store) => {
        let release!: () => void;
        const gate = new Promise<void>((resolve) => (release = resolve));
        let inserted!: () => void;
        const insertedYet = new Promise<void>((resolve) => (inserted = resolve));
        const rolledBack = store.transaction(async (tx) => {
          await tx.collection(Things).insert(thing('ghost', 'g1', 1));
          inserted();
          await gate;
          throw new Error('rolled back');
        });
        await insertedYet;
        const outside = store.collection(Things).get('ghost');
        release();
        await assert.rejects(rolledBack, /rolled back/);
        assert.equal(await outside, undefined);
        assert.equal(await store.collection(Things).count({}), 0);
      }));

    test('50 concurrent transactions taking places of 20 leave exactly 20 taken and 30 waiting', () =>
      withStore(async (store) => {
        await store.collection(Slots).insert({ id: 's', capacity: 20, taken: 0 });
        const outcomes = await Promise.all(
          Array.from({ length: 50 }, (_, i) =>
            store.transaction(async (tx) => {
              const slots = tx.collection(Slots);
              const claims = tx.collection(Claims);
              // The guarded increment is where concurrent transactions meet: it either takes a place or matches nothing.
              const took = (await slots.update({ id: 's', taken: { lt: 20 } }, { inc: { taken: 1 } })) === 1;
              const state = took ? 'booked' : 'waiting';
              await claims.insert({ id: `c${i}`, slot: 's', who: `p${i}`, state, current: true });
              return state;
            }),
          ),
        );
        assert.equal(outcomes.filter((s) => s === 'booked').length, 20);
        assert.equal(await store.collection(Claims).count({ slot: 's', state: 'booked' }), 20);
        assert.equal(await store.collection(Claims).count({ slot: 's', state: 'waiting' }), 30);
        assert.equal((await store.collection(Slots).get('s'))?.taken, 20);
      }));

    test('documents and indexes survive a restart, and starting again changes nothing', () =>
      withStore(async (store, fresh) => {
        await store.collection(Things).insert(thing('a', 'g1', 1, { code: 'x' }));
        const again = await fresh.reopen();
        await again.start(CONTRACT_COLLECTIONS);
        assert.equal((await again.collection(Things).get('a'))?.code, 'x');
        await refused(again.collection(Things).insert(thing('b', 'g1', 2, { code: 'x' })), 'conflict');
        await again.ping();
      }));
  });
}
