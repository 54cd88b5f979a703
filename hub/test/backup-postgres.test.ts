/**
 * The PostgreSQL backup and restore of docs/operations.md, against the real PostgreSQL (PG_URL): pg_dump of the
 * identity store's schema while users are being created, pg_restore into a database without that schema, and
 * a user read back through the store. The test role may not create databases, so the restore target is the
 * same database after the original schema was renamed away: the restore still starts from nothing.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, test } from 'node:test';
import pg from 'pg';
import { PostgresIdentityStore } from '../src/identity/postgres-identity-store.ts';
import { missingService } from '../../test/services.ts';

const run = promisify(execFile);
const PG_URL = process.env.PG_URL;
/** Debian's postgresql-client, which scripts/test-services.sh installs with the server. */
const PG_BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';
const NO_PG = missingService(
  !PG_URL ? 'PG_URL not set (run the tests through scripts/test-services.sh to start PostgreSQL)' : !existsSync(join(PG_BIN, 'pg_dump')) ? `no pg_dump in ${PG_BIN}` : false,
);

const dir = mkdtempSync(join(tmpdir(), 'pb-pg-backup-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('pg_dump of the identity schema taken while users are created restores into an empty target and the users read back', { skip: NO_PG }, async () => {
  const schema = `pb_backup_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Pool({ connectionString: PG_URL!, max: 2 });
  const store = new PostgresIdentityStore({ url: PG_URL!, schema });
  await store.start();
  try {
    const before = await store.createUser({ email: 'before@example.org', displayName: 'Before Backup' });
    // The store keeps writing while pg_dump runs: pg_dump reads one snapshot, so its copy is consistent.
    let writing = true;
    let during = 0;
    const writer = (async () => {
      while (writing) await store.createUser({ email: `during-${during++}@example.org`, displayName: 'During' });
    })();
    const dump = join(dir, 'identity.dump');
    await run(join(PG_BIN, 'pg_dump'), ['--format=custom', `--schema=${schema}`, `--file=${dump}`, `--dbname=${PG_URL!}`]);
    writing = false;
    await writer;
    assert.ok(during > 0, 'users were created while pg_dump ran');
    await store.stop();

    // The loss: the schema is gone from where the store looks.
    await admin.query(`ALTER SCHEMA ${schema} RENAME TO ${schema}_lost`);
    await run(join(PG_BIN, 'pg_restore'), ['--no-owner', '--exit-on-error', `--dbname=${PG_URL!}`, dump]);

    const restored = new PostgresIdentityStore({ url: PG_URL!, schema });
    await restored.start();
    try {
      const user = await restored.findUserByEmail('before@example.org');
      assert.equal(user?.id, before.id);
      assert.equal(user?.displayName, 'Before Backup');
      const { rows } = await admin.query<{ n: string }>(`SELECT count(*) AS n FROM ${schema}.schema_migrations`);
      assert.ok(Number(rows[0]!.n) > 0, 'the migrations table came back, so the store does not migrate again');
      // The users created during the dump are in the copy up to its snapshot, in creation order: no gaps.
      const restoredDuring: number[] = [];
      for (let i = 0; i < during; i++) if (await restored.findUserByEmail(`during-${i}@example.org`)) restoredDuring.push(i);
      assert.deepEqual(
        restoredDuring,
        restoredDuring.map((_, i) => i),
      );
    } finally {
      await restored.stop();
    }
  } finally {
    await store.stop();
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.query(`DROP SCHEMA IF EXISTS ${schema}_lost CASCADE`);
    await admin.end();
  }
});
