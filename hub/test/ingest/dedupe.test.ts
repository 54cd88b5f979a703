/** The SQLite Dedupe (the embedded default) against the DedupeStore contract, on a state database file. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Dedupe } from '../../src/ingest/dedupe.ts';
import { dedupeContract } from './dedupe-contract.ts';
import { storedRanges, storedStreams } from './dedupe-state.ts';

dedupeContract('sqlite', async (limits) => {
  const dir = mkdtempSync(join(tmpdir(), 'pb-dedupe-'));
  const path = join(dir, 'hub.db');
  const connections: Database.Database[] = [];
  const open = (): { db: Database.Database; dedupe: Dedupe } => {
    const db = new Database(path);
    connections.push(db);
    return { db, dedupe: new Dedupe({ db, ...limits }) };
  };
  const first = open();
  first.dedupe.load();
  let db = first.db;
  return {
    dedupe: first.dedupe,
    async reopen() {
      db.close();
      const next = open();
      db = next.db;
      next.dedupe.load();
      return next.dedupe;
    },
    unloaded: async () => open().dedupe,
    storedRanges: async (agent, stream) => storedRanges(db, agent, stream),
    storedStreams: async (agent) => storedStreams(db, agent),
    async breakStorage() {
      db.exec('DROP TABLE ingest_dedupe_streams');
    },
    async cleanup() {
      for (const c of connections) if (c.open) c.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
