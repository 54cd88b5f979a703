/**
 * The embedded DedupeStore (dedupe-store.ts: what it keeps and what it forgets): the ranges live in two tables
 * of the hub's state database and in memory, loaded once at start, so isDuplicate() is a lookup in memory and
 * every `record()` is one transaction. One hub process owns the file, so memory never goes stale.
 */
import type { Database, Statement } from 'better-sqlite3';
import { DedupeError, addRange, covers, dedupeLimits, planRecord, type DedupeLimits, type DedupeRange, type DedupeStore, type Range } from './dedupe-store.ts';

export { DEDUPE_DEFAULT_MAX_RANGES_PER_STREAM, DEDUPE_DEFAULT_MAX_STREAMS_PER_AGENT, DedupeError, type DedupeRange, type DedupeStore } from './dedupe-store.ts';

export interface DedupeOptions extends DedupeLimits {
  /** The hub's state database (better-sqlite3); the tables are created if missing. */
  db: Database;
}

interface StreamState {
  /** Sorted by first, disjoint and not touching. */
  ranges: Range[];
  /** Logical clock of the last record() that touched the stream: orders streams for eviction. */
  used: number;
}

export class Dedupe implements DedupeStore {
  private readonly db: Database;
  private readonly limits: ReturnType<typeof dedupeLimits>;
  /** agent -> stream -> state */
  private readonly agents = new Map<string, Map<string, StreamState>>();
  private clock = 0;
  private loaded = false;
  private statements:
    | {
        upsertRange: Statement<[string, string, number, number]>;
        deleteRange: Statement<[string, string, number]>;
        upsertStream: Statement<[string, string, number]>;
        deleteStreamRanges: Statement<[string, string]>;
        deleteStream: Statement<[string, string]>;
      }
    | undefined;

  constructor(o: DedupeOptions) {
    this.db = o.db;
    this.limits = dedupeLimits(o);
  }

  /** Creates the tables if missing and reads every recorded range. Calling it again does nothing. */
  load(): void {
    if (this.loaded) return;
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS ingest_dedupe_streams (
        agent TEXT NOT NULL,
        stream TEXT NOT NULL,
        used INTEGER NOT NULL,
        PRIMARY KEY (agent, stream)
      ) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS ingest_dedupe_ranges (
        agent TEXT NOT NULL,
        stream TEXT NOT NULL,
        first INTEGER NOT NULL,
        last INTEGER NOT NULL,
        PRIMARY KEY (agent, stream, first)
      ) WITHOUT ROWID;
    `);
    this.statements = {
      upsertRange: this.db.prepare('INSERT OR REPLACE INTO ingest_dedupe_ranges (agent, stream, first, last) VALUES (?, ?, ?, ?)'),
      deleteRange: this.db.prepare('DELETE FROM ingest_dedupe_ranges WHERE agent = ? AND stream = ? AND first = ?'),
      upsertStream: this.db.prepare('INSERT OR REPLACE INTO ingest_dedupe_streams (agent, stream, used) VALUES (?, ?, ?)'),
      deleteStreamRanges: this.db.prepare('DELETE FROM ingest_dedupe_ranges WHERE agent = ? AND stream = ?'),
      deleteStream: this.db.prepare('DELETE FROM ingest_dedupe_streams WHERE agent = ? AND stream = ?'),
    };

    this.agents.clear();
    const streams = this.db.prepare('SELECT agent, stream, used FROM ingest_dedupe_streams').all() as { agent: string; stream: string; used: number }[];
    for (const s of streams) {
      this.streamsOf(s.agent).set(s.stream, { ranges: [], used: s.used });
      if (s.used > this.clock) this.clock = s.used;
    }
    const rows = this.db.prepare('SELECT agent, stream, first, last FROM ingest_dedupe_ranges ORDER BY agent, stream, first').all() as {
      agent: string;
      stream: string;
      first: number;
      last: number;
    }[];
    for (const r of rows) {
      const streamsOfAgent = this.streamsOf(r.agent);
      let state = streamsOfAgent.get(r.stream);
      if (!state) {
        // A range without its stream row (written by hand, or an older layout): keep it, as least recent.
        state = { ranges: [], used: 0 };
        streamsOfAgent.set(r.stream, state);
      }
      // Rows come sorted by first; addRange also repairs overlaps a hand edit might have introduced.
      state.ranges = addRange(state.ranges, r.first, r.last);
    }
    this.loaded = true;
  }

  /** True when every sequence number in [first, last] is inside ranges already recorded. */
  isDuplicate(agent: string, stream: string, first: number, last: number): boolean {
    const state = this.agents.get(agent)?.get(stream);
    return state !== undefined && covers(state.ranges, first, last);
  }

  /**
   * Records stored ranges, in memory and in the database, in one transaction. If the transaction fails,
   * memory is left as it was and the error is thrown.
   *
   * An entry that is not a sequence range (reversed, fractional, negative or beyond exact integers) is left
   * out and returned, while the others are recorded: the entries of one call are the batches of one grouped
   * store write, often from several agents, and one agent's bad batch must not make the hub forget the others.
   */
  record(entries: readonly DedupeRange[]): DedupeRange[] {
    const statements = this.requireLoaded();
    // Work on copies so a failed transaction leaves memory consistent with the database.
    const { skipped, changes, dropped, roomByAgent } = planRecord(entries, (agent, stream) => this.agents.get(agent)?.get(stream)?.ranges ?? [], this.limits);
    if (changes.length === 0 && dropped.length === 0) return skipped;
    const tick = this.clock + 1;

    // Streams to forget: per agent, the untouched ones beyond the room the touched ones leave, least recent first.
    const evicted = [...dropped];
    for (const [agent, room] of roomByAgent) {
      const touched = new Set(changes.filter((c) => c.agent === agent).map((c) => c.stream));
      const untouched = [...(this.agents.get(agent)?.entries() ?? [])].filter(([stream]) => !touched.has(stream)).sort((a, b) => b[1].used - a[1].used);
      for (const [stream] of untouched.slice(room)) evicted.push({ agent, stream });
    }

    this.db.transaction(() => {
      for (const c of changes) {
        const afterByFirst = new Map(c.after.map((r) => [r[0], r[1]]));
        const beforeByFirst = new Map(c.before.map((r) => [r[0], r[1]]));
        for (const [first] of beforeByFirst) if (!afterByFirst.has(first)) statements.deleteRange.run(c.agent, c.stream, first);
        for (const [first, last] of afterByFirst) if (beforeByFirst.get(first) !== last) statements.upsertRange.run(c.agent, c.stream, first, last);
        statements.upsertStream.run(c.agent, c.stream, tick);
      }
      for (const { agent, stream } of evicted) {
        statements.deleteStreamRanges.run(agent, stream);
        statements.deleteStream.run(agent, stream);
      }
    })();

    this.clock = tick;
    for (const c of changes) this.streamsOf(c.agent).set(c.stream, { ranges: c.after, used: tick });
    for (const { agent, stream } of evicted) {
      const streams = this.agents.get(agent);
      streams?.delete(stream);
      if (streams?.size === 0) this.agents.delete(agent);
    }
    return skipped;
  }

  private streamsOf(agent: string): Map<string, StreamState> {
    let streams = this.agents.get(agent);
    if (!streams) {
      streams = new Map();
      this.agents.set(agent, streams);
    }
    return streams;
  }

  private requireLoaded(): NonNullable<Dedupe['statements']> {
    if (!this.loaded || !this.statements) throw new DedupeError('not_loaded', 'Dedupe.load() must run before ranges are recorded');
    return this.statements;
  }
}
