/**
 * The dedupe port: which sequence ranges of each agent's outbox streams the hub has already stored, so a batch
 * the agent sends again (its ack was lost, it restarted) is acknowledged as a duplicate instead of written twice.
 * Adapters: SQLite in the hub's state database (dedupe.ts, the embedded default, answering from memory) and
 * PostgreSQL shared by hub replicas (postgres-dedupe.ts, answering from the shared table).
 *
 * Per (agent, stream) the store keeps a sorted list of disjoint inclusive ranges; touching or overlapping ranges
 * are merged, so an agent that sends in order leaves a single range per stream.
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
import { PulsebridgeError } from '@pulsebridge/runtime';

export interface DedupeRange {
  agent: string;
  stream: string;
  first: number;
  last: number;
  /** The batch's floor: ranges wholly below it can be forgotten. */
  floor: number;
}

export class DedupeError extends PulsebridgeError<'not_loaded'> {}

/**
 * Synchronous answers where the adapter has them (SQLite: memory), promises where it must ask (PostgreSQL);
 * callers await both. An adapter that needs I/O to start is started before Ingest calls `load()`.
 */
export interface DedupeStore {
  /** Makes the ranges available; Ingest calls it on start. Calling it again does nothing. */
  load(): void;
  /** True when every sequence number in [first, last] is inside ranges already recorded; false before load(). */
  isDuplicate(agent: string, stream: string, first: number, last: number): boolean | Promise<boolean>;
  /**
   * Records stored ranges, all in one transaction; throws (rejects) when it fails, leaving what was recorded
   * before as it was. Entries that are not sequence ranges are left out and returned; the others are recorded.
   */
  record(entries: readonly DedupeRange[]): DedupeRange[] | Promise<DedupeRange[]>;
}

export interface DedupeLimits {
  maxStreamsPerAgent?: number;
  maxRangesPerStream?: number;
}

export const DEDUPE_DEFAULT_MAX_STREAMS_PER_AGENT = 8;
export const DEDUPE_DEFAULT_MAX_RANGES_PER_STREAM = 256;

export function dedupeLimits(limits: DedupeLimits): Required<DedupeLimits> {
  return {
    maxStreamsPerAgent: Math.max(1, limits.maxStreamsPerAgent ?? DEDUPE_DEFAULT_MAX_STREAMS_PER_AGENT),
    maxRangesPerStream: Math.max(1, limits.maxRangesPerStream ?? DEDUPE_DEFAULT_MAX_RANGES_PER_STREAM),
  };
}

/** Inclusive [first, last]. */
export type Range = readonly [number, number];

const isSequenceNumber = (n: number): boolean => Number.isSafeInteger(n) && n >= 0;
export const isSequenceRange = (e: DedupeRange): boolean => isSequenceNumber(e.first) && isSequenceNumber(e.last) && isSequenceNumber(e.floor) && e.last >= e.first;

export const streamKey = (agent: string, stream: string): string => `${agent}\u0000${stream}`;

/** Whether sorted disjoint `ranges` cover [first, last] entirely. */
export function covers(ranges: readonly Range[], first: number, last: number): boolean {
  if (last < first) return false;
  const i = rangeAtOrBefore(ranges, first);
  return i >= 0 && ranges[i]![1] >= last;
}

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
export function addRange(ranges: readonly Range[], first: number, last: number): Range[] {
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

export interface StreamChange {
  agent: string;
  stream: string;
  before: Range[];
  after: Range[];
}

export interface RecordPlan {
  /** Entries that are not sequence ranges: left out. */
  skipped: DedupeRange[];
  /** Per touched stream, in the order first named: its ranges before and after. */
  changes: StreamChange[];
  /** Streams named in this one call beyond the cap per agent (the earliest named): forgotten at once. */
  dropped: { agent: string; stream: string }[];
  /** Per touched agent, how many of its other (untouched) streams may stay. */
  roomByAgent: Map<string, number>;
}

/**
 * What recording `entries` changes, from the current ranges of the streams they touch: merges, floors and the
 * caps. Shared by every adapter, so they forget exactly alike; eviction of the untouched streams is theirs
 * (by `roomByAgent`), since only they know those streams' recency.
 */
export function planRecord(entries: readonly DedupeRange[], current: (agent: string, stream: string) => Range[], limits: Required<DedupeLimits>): RecordPlan {
  const skipped = entries.filter((e) => !isSequenceRange(e));
  const valid = skipped.length > 0 ? entries.filter(isSequenceRange) : entries;
  const next = new Map<string, StreamChange>();
  for (const e of valid) {
    const key = streamKey(e.agent, e.stream);
    let change = next.get(key);
    if (!change) {
      const before = current(e.agent, e.stream);
      change = { agent: e.agent, stream: e.stream, before, after: before };
      next.set(key, change);
    }
    let after = addRange(change.after, e.first, e.last);
    if (e.floor > 0) after = after.filter((r) => r[1] >= e.floor);
    if (after.length > limits.maxRangesPerStream) after = after.slice(after.length - limits.maxRangesPerStream);
    change.after = after;
  }
  const dropped: { agent: string; stream: string }[] = [];
  const roomByAgent = new Map<string, number>();
  const touchedByAgent = new Map<string, string[]>();
  for (const c of next.values()) touchedByAgent.set(c.agent, [...(touchedByAgent.get(c.agent) ?? []), c.stream]);
  for (const [agent, touched] of touchedByAgent) {
    roomByAgent.set(agent, Math.max(0, limits.maxStreamsPerAgent - touched.length));
    // More streams in one call than the cap allows: keep the last ones named (the newest data).
    for (const stream of touched.slice(0, Math.max(0, touched.length - limits.maxStreamsPerAgent))) {
      dropped.push({ agent, stream });
      next.delete(streamKey(agent, stream));
    }
  }
  return { skipped, changes: [...next.values()], dropped, roomByAgent };
}
