/**
 * Which sequence ranges of each agent's outbox streams the hub has already stored, so a batch the agent
 * sends again (its ack was lost, it restarted) is acknowledged as a duplicate instead of written twice.
 *
 * Per (agent, stream) the hub keeps a sorted list of disjoint inclusive ranges; touching or overlapping
 * ranges are merged, so an agent that sends in order leaves a single range per stream. The ranges live in
 * two tables of the hub's state database and are loaded once at start; every `record()` is one transaction.
 *
 * Memory is bounded, and forgetting is always safe: stores key readings by (agent, sensor, metric, ts), so a
 * forgotten range that comes back is only written again, never stored twice.
 *  - Ranges entirely below a batch's `floor` are dropped: the agent promised never to send them again.
 *  - At most `maxRangesPerStream` ranges per stream (gaps left by batches the agent dropped); beyond that the
 *    lowest ranges are forgotten first, because the agent resends its oldest data least often.
 *  - At most `maxStreamsPerAgent` streams per agent. An agent opens a new stream only when it starts a fresh
 *    outbox, so the streams beyond the few most recently recorded ones are dead; the least recently
 *    recorded are forgotten first.
 */
import type { Database, Statement } from 'better-sqlite3';
import { PulsebridgeError } from '@pulsebridge/runtime';

export interface DedupeRange {
  agent: string;
  stream: string;
  first: number;
  last: number;
  /** The batch's floor: ranges wholly below it can be forgotten. */
  floor: number;
}

export interface DedupeOptions {
  /** The hub's state database (better-sqlite3); the tables are created if missing. */
  db: Database;
  maxStreamsPerAgent?: number;
  maxRangesPerStream?: number;
}

export class DedupeError extends PulsebridgeError<'not_loaded'> {}

/** Inclusive [first, last]. */
type Range = readonly [number, number];

interface StreamState {
  /** Sorted by first, disjoint and not touching. */
  ranges: Range[];
  /** Logical clock of the last record() that touched the stream: orders streams for eviction. */
  used: number;
}

export const DEDUPE_DEFAULT_MAX_STREAMS_PER_AGENT = 8;
export const DEDUPE_DEFAULT_MAX_RANGES_PER_STREAM = 256;

const isSequenceNumber = (n: number): boolean => Number.isSafeInteger(n) && n >= 0;
const isSequenceRange = (e: DedupeRange): boolean => isSequenceNumber(e.first) && isSequenceNumber(e.last) && isSequenceNumber(e.floor) && e.last >= e.first;

const streamKey = (agent: string, stream: string): string => `${agent}\u0000${stream}`;

/** Index of the last range whose first is <= seq, or -1. */
function rangeAtOrBefore(ranges: readonly Range[], seq: number): number {
  let lo = 0;
  let hi = ranges.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (ranges[mid]![0] <= seq) {
      found = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found;
}

/** A new list with [first, last] added, merging everything it overlaps or touches. */
function addRange(ranges: readonly Range[], first: number, last: number): Range[] {
  const out: Range[] = [];
  let lo = first;
  let hi = last;
  let placed = false;
  for (const r of ranges) {
    if (r[1] + 1 < lo) {
      out.push(r);
    } else if (hi + 1 < r[0]) {
      if (!placed) {
        out.push([lo, hi]);
        placed = true;
      }
      out.push(r);
    } else {
      lo = Math.min(lo, r[0]);
      hi = Math.max(hi, r[1]);
    }
  }
  if (!placed) out.push([lo, hi]);
  return out;
}

export class Dedupe {
  private readonly db: Database;
  private readonly maxStreamsPerAgent: number;
  private readonly maxRangesPerStream: number;
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
    this.maxStreamsPerAgent = Math.max(1, o.maxStreamsPerAgent ?? DEDUPE_DEFAULT_MAX_STREAMS_PER_AGENT);
    this.maxRangesPerStream = Math.max(1, o.maxRangesPerStream ?? DEDUPE_DEFAULT_MAX_RANGES_PER_STREAM);
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
    if (!state || last < first) return false;
    const i = rangeAtOrBefore(state.ranges, first);
    return i >= 0 && state.ranges[i]![1] >= last;
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
    const skipped = entries.filter((e) => !isSequenceRange(e));
    if (skipped.length > 0) entries = entries.filter(isSequenceRange);
    if (entries.length === 0) return skipped;

    // Work on copies so a failed transaction leaves memory consistent with the database.
    const tick = this.clock + 1;
    const next = new Map<string, { agent: string; stream: string; before: Range[]; after: Range[] }>();
    for (const e of entries) {
      const key = streamKey(e.agent, e.stream);
      let change = next.get(key);
      if (!change) {
        const before = this.agents.get(e.agent)?.get(e.stream)?.ranges ?? [];
        change = { agent: e.agent, stream: e.stream, before, after: before };
        next.set(key, change);
      }
      let after = addRange(change.after, e.first, e.last);
      if (e.floor > 0) after = after.filter((r) => r[1] >= e.floor);
      if (after.length > this.maxRangesPerStream) after = after.slice(after.length - this.maxRangesPerStream);
      change.after = after;
    }

    // Streams to forget: per agent, those beyond the cap once the touched ones count as most recent.
    const evicted: { agent: string; stream: string }[] = [];
    const touchedAgents = new Set([...next.values()].map((c) => c.agent));
    for (const agent of touchedAgents) {
      const current = this.agents.get(agent);
      const touched = new Set([...next.values()].filter((c) => c.agent === agent).map((c) => c.stream));
      const untouched = [...(current?.entries() ?? [])].filter(([stream]) => !touched.has(stream)).sort((a, b) => b[1].used - a[1].used);
      const room = Math.max(0, this.maxStreamsPerAgent - touched.size);
      for (const [stream] of untouched.slice(room)) evicted.push({ agent, stream });
      // More streams in one call than the cap allows: keep the last ones named (the newest data).
      if (touched.size > this.maxStreamsPerAgent) {
        const order = [...touched];
        for (const stream of order.slice(0, order.length - this.maxStreamsPerAgent)) {
          evicted.push({ agent, stream });
          next.delete(streamKey(agent, stream));
        }
      }
    }

    this.db.transaction(() => {
      for (const c of next.values()) {
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
    for (const c of next.values()) this.streamsOf(c.agent).set(c.stream, { ranges: c.after, used: tick });
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
