/**
 * PostgresIdentityStore against a real PostgreSQL (PG_URL, started by scripts/test-services.sh). Each test
 * gets a schema of its own, dropped afterwards.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { IdentityStoreError } from '../../src/identity/identity-store.ts';
import { POSTGRES_MIGRATIONS } from '../../src/identity/migrations.ts';
import { PostgresIdentityStore } from '../../src/identity/postgres-identity-store.ts';
import { identityStoreContract } from './identity-contract.ts';
import { testPostgres } from '../postgres-test.ts';

const postgres = testPostgres('pb_test');
const PG_URL = postgres.url;
const NO_PG = postgres.skip;

identityStoreContract(
  'postgres',
  async (clock) => {
    const schema = postgres.freshSchema();
    let store = new PostgresIdentityStore({ url: PG_URL!, schema, clock });
    try {
      await store.start();
    } catch (err) {
      await postgres.dropSchema(schema);
      throw err;
    }
    return {
      store,
      async reopen() {
        await store.stop();
        store = new PostgresIdentityStore({ url: PG_URL!, schema, clock });
        await store.start();
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

test('replicas starting at once on an empty schema apply each migration once and all start', { skip: NO_PG }, async () => {
  const schema = postgres.freshSchema();
  const stores = Array.from({ length: 4 }, () => new PostgresIdentityStore({ url: PG_URL!, schema, poolSize: 2 }));
  try {
    await Promise.all(stores.map((s) => s.start()));
    const { rows } = await postgres.admin().query<{ version: number }>(`SELECT version FROM ${schema}.schema_migrations ORDER BY version`);
    assert.deepEqual(
      rows.map((r) => r.version),
      POSTGRES_MIGRATIONS.map((m) => m.version),
    );
    const ada = await stores[0]!.createUser({ email: 'ada@example.org', displayName: 'Ada' });
    assert.deepEqual(await stores[3]!.findUserByEmail('ADA@example.org'), ada);
  } finally {
    await Promise.all(stores.map((s) => s.stop()));
    await postgres.dropSchema(schema);
  }
});

test('replicas racing getOrCreateSecret on an empty table all get the one value that won', { skip: NO_PG }, async () => {
  const schema = postgres.freshSchema();
  const stores = Array.from({ length: 4 }, () => new PostgresIdentityStore({ url: PG_URL!, schema, poolSize: 2 }));
  try {
    await Promise.all(stores.map((s) => s.start()));
    const values = await Promise.all(stores.flatMap((s, i) => [0, 1].map((j) => s.getOrCreateSecret('cookie-keys', () => `replica-${i}-${j}`))));
    assert.equal(new Set(values).size, 1, values.join(', '));
    const { rows } = await postgres.admin().query<{ value: string }>(`SELECT value FROM ${schema}.named_secrets`);
    assert.deepEqual(
      rows.map((r) => r.value),
      [values[0]],
    );
  } finally {
    await Promise.all(stores.map((s) => s.stop()));
    await postgres.dropSchema(schema);
  }
});

test('a migration that fails leaves neither its tables nor its schema_migrations row, and start() says unavailable', { skip: NO_PG }, async () => {
  const schema = postgres.freshSchema();
  try {
    const broken = [...POSTGRES_MIGRATIONS, { version: POSTGRES_MIGRATIONS.length + 1, name: 'broken', sql: 'CREATE TABLE half_done (x INTEGER); SELECT * FROM no_such_table;' }];
    const store = new PostgresIdentityStore({ url: PG_URL!, schema, migrations: broken });
    await assert.rejects(store.start(), (err: unknown) => err instanceof IdentityStoreError && err.code === 'unavailable' && /no_such_table/.test(err.message));
    const { rows } = await postgres.admin().query<{ version: number }>(`SELECT version FROM ${schema}.schema_migrations ORDER BY version`);
    assert.deepEqual(
      rows.map((r) => r.version),
      POSTGRES_MIGRATIONS.map((m) => m.version),
    );
    assert.equal((await postgres.admin().query(`SELECT 1 FROM information_schema.tables WHERE table_schema = $1 AND table_name = 'half_done'`, [schema])).rowCount, 0);
  } finally {
    await postgres.dropSchema(schema);
  }
});

test('an unreachable server makes start() fail with unavailable, naming the server and not the password', async () => {
  const store = new PostgresIdentityStore({ url: 'postgres://pb:secret-word@127.0.0.1:1/identity' });
  const err = await store.start().then(
    () => assert.fail('start() should fail'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof IdentityStoreError && err.code === 'unavailable', String(err));
  assert.match(err.message, /127\.0\.0\.1:1\/identity/);
  assert.doesNotMatch(err.message, /secret-word/);
});

test('a schema name that is not a plain identifier is refused before anything is sent', () => {
  assert.throws(
    () => new PostgresIdentityStore({ url: 'postgres://127.0.0.1/x', schema: 'a; DROP TABLE users' }),
    (err: unknown) => err instanceof IdentityStoreError && err.code === 'invalid_input' && err.param === 'schema',
  );
});
