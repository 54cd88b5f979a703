/** SqliteDocumentStore passes the DocumentStore contract on a fresh database file per test. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteDocumentStore } from '../../src/documents/sqlite-document-store.ts';
import { CONTRACT_COLLECTIONS, documentStoreContract } from './document-contract.ts';

documentStoreContract('sqlite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pb-documents-'));
  const path = join(dir, 'documents.db');
  let store = new SqliteDocumentStore({ path });
  await store.start(CONTRACT_COLLECTIONS);
  return {
    store,
    async reopen() {
      await store.stop();
      store = new SqliteDocumentStore({ path });
      return store;
    },
    async cleanup() {
      await store.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
