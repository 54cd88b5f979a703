import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { IdentityStoreError } from '../../src/identity/identity-store.ts';
import { SQLITE_MIGRATIONS } from '../../src/identity/migrations.ts';
import { SqliteIdentityStore } from '../../src/identity/sqlite-identity-store.ts';
import { identityStoreContract } from './identity-contract.ts';

identityStoreContract('sqlite', async (clock) => {
  const dir = mkdtempSync(join(tmpdir(), 'pb-identity-sqlite-'));
  const path = join(dir, 'nested', 'identity.db');
  let store = new SqliteIdentityStore({ path, clock });
  await store.start();
  return {
    store,
    async reopen() {
      await store.stop();
      store = new SqliteIdentityStore({ path, clock });
      await store.start();
      return store;
    },
    async cleanup() {
      await store.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

test('a migration that fails leaves neither its tables nor its schema_migrations row, and start() says unavailable', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pb-identity-sqlite-'));
  const path = join(dir, 'identity.db');
  try {
    const broken = [...SQLITE_MIGRATIONS, { version: SQLITE_MIGRATIONS.length + 1, name: 'broken', sql: 'CREATE TABLE half_done (x INTEGER); SELECT * FROM no_such_table;' }];
    const store = new SqliteIdentityStore({ path, migrations: broken });
    await assert.rejects(store.start(), (err: unknown) => err instanceof IdentityStoreError && err.code === 'unavailable' && /no_such_table/.test(err.message));
    const db = new Database(path, { readonly: true });
    try {
      assert.deepEqual(
        (db.prepare('SELECT version FROM schema_migrations ORDER BY version').all() as { version: number }[]).map((r) => r.version),
        SQLITE_MIGRATIONS.map((m) => m.version),
      );
      assert.equal(db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'half_done'").get(), undefined);
    } finally {
      db.close();
    }
    const fixed = new SqliteIdentityStore({ path });
    await fixed.start();
    assert.equal((await fixed.migrations()).length, SQLITE_MIGRATIONS.length);
    await fixed.stop();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
