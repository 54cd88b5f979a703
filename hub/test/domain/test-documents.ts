/**
 * The document store of a test domain: SQLite in memory by default; PostgreSQL when PB_TEST_DOCUMENTS=postgres
 * (and PG_URL, from scripts/test-services.sh), each domain in a schema of its own, dropped at cleanup. The
 * domain and API tests then run unchanged on the adapter that several hub replicas share:
 *
 *   PB_TEST_DOCUMENTS=postgres bash scripts/test-services.sh run node --import tsx --test hub/test/api/classes.test.ts
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { DocumentStore } from '../../src/documents/document-store.ts';
import { PostgresDocumentStore } from '../../src/documents/postgres-document-store.ts';
import { SqliteDocumentStore } from '../../src/documents/sqlite-document-store.ts';
import { DOMAIN_COLLECTIONS } from '../../src/domain/collections.ts';

export interface TestDocuments {
  documents: DocumentStore;
  /** Stops the store and removes what it kept. */
  cleanup(): Promise<void>;
}

export async function testDocuments(env: NodeJS.ProcessEnv = process.env): Promise<TestDocuments> {
  const kind = env['PB_TEST_DOCUMENTS'] ?? 'sqlite';
  if (kind === 'sqlite') {
    const documents = new SqliteDocumentStore({ path: ':memory:' });
    await documents.start(DOMAIN_COLLECTIONS);
    return { documents, cleanup: () => documents.stop() };
  }
  const url = env['PG_URL'];
  if (kind !== 'postgres' || url === undefined) throw new Error(`PB_TEST_DOCUMENTS=${kind}: sqlite, or postgres with PG_URL set`);
  const schema = `pb_test_domain_${process.pid}_${randomBytes(4).toString('hex')}`;
  const documents = new PostgresDocumentStore({ url, schema, poolSize: 4 });
  const dropSchema = async () => {
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    } finally {
      await admin.end();
    }
  };
  try {
    await documents.start(DOMAIN_COLLECTIONS);
  } catch (err) {
    await dropSchema();
    throw err;
  }
  return {
    documents,
    async cleanup() {
      await documents.stop();
      await dropSchema();
    },
  };
}
