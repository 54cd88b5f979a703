/** What Dedupe has persisted in the state database: how the tests see its ranges without asking Dedupe. */
import type Database from 'better-sqlite3';

/** The ranges recorded for one stream, lowest first. */
export function storedRanges(db: Database.Database, agent: string, stream: string): Array<[number, number]> {
  const rows = db.prepare('SELECT first, last FROM ingest_dedupe_ranges WHERE agent = ? AND stream = ? ORDER BY first').all(agent, stream) as { first: number; last: number }[];
  return rows.map((r) => [r.first, r.last]);
}

/** The streams recorded for one agent, most recently recorded first. */
export function storedStreams(db: Database.Database, agent: string): string[] {
  return (db.prepare('SELECT stream FROM ingest_dedupe_streams WHERE agent = ? ORDER BY used DESC').all(agent) as { stream: string }[]).map((r) => r.stream);
}
