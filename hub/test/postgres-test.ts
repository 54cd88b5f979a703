/**
 * The PostgreSQL of the adapter tests (PG_URL, started by scripts/test-services.sh): a missing server is a
 * missing service, each test takes a schema of its own, and one small admin pool reads and drops them.
 */
import { randomBytes } from 'node:crypto';
import { after, before } from 'node:test';
import pg from 'pg';
import { missingService } from '../../test/services.ts';

export interface TestPostgres {
  /** PG_URL; only read in tests that do not skip. */
  readonly url: string;
  /** The `skip` option of tests that need the server. */
  readonly skip: string | false;
  /** A pool on the test database, for reading what an adapter wrote; open while the file's tests run. */
  admin(): pg.Pool;
  /** A schema name no other test or process uses. */
  freshSchema(): string;
  dropSchema(schema: string): Promise<void>;
}

/** Registers the file's before/after hooks for the admin pool; `prefix` names the file's schemas. */
export function testPostgres(prefix: string): TestPostgres {
  const url = process.env['PG_URL'];
  let pool: pg.Pool | undefined;
  before(() => {
    if (url) pool = new pg.Pool({ connectionString: url, max: 2 });
  });
  after(async () => {
    await pool?.end();
  });
  const admin = (): pg.Pool => {
    if (!pool) throw new Error('the admin pool is only open while the tests run, and needs PG_URL');
    return pool;
  };
  return {
    url: url ?? '',
    skip: missingService(url ? false : 'PG_URL not set (run the tests through scripts/test-services.sh to start PostgreSQL)'),
    admin,
    freshSchema: () => `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`,
    dropSchema: async (schema) => {
      await admin().query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    },
  };
}
