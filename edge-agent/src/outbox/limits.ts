/**
 * The outbox's bounds: payload bytes and age. Beyond them the oldest chunks go first, and every reading
 * removed is counted by why.
 */
import { readingsIn, type ChunkHead, type OutboxDatabase, type RemovedChunk } from './storage.ts';

export interface Removal {
  rows: RemovedChunk[];
  /** Readings removed because the outbox held more than maxBytes. */
  overflow: number;
  /** Readings removed because they were older than maxAgeMs. */
  expired: number;
}

export interface Bounds {
  maxBytes: number;
  maxAgeMs: number;
  /** Payload bytes held, including what is being added. */
  bytes: number;
  /** The oldest chunk held (or being added). */
  head: ChunkHead | undefined;
  /** Elapsed real time since a chunk's oldest reading. */
  ageOf: (chunk: ChunkHead) => number;
}

/** How many head chunks one pass reads. */
const LIMIT_SCAN_CHUNKS = 64;

/** Deletes the oldest chunks while over maxBytes or older than maxAgeMs. Runs inside the caller's transaction. */
export function removeOverLimits(db: OutboxDatabase, bounds: Bounds): Removal {
  const removal: Removal = { rows: [], overflow: 0, expired: 0 };
  let bytes = bounds.bytes;
  // The common case, decided from memory: scanning the head costs more than the rest of a flush.
  if (bytes <= bounds.maxBytes && (!bounds.head || bounds.ageOf(bounds.head) <= bounds.maxAgeMs)) return removal;
  for (;;) {
    const heads = db.oldest(LIMIT_SCAN_CHUNKS);
    let through: number | undefined;
    let stopped = false;
    for (const chunk of heads) {
      if (bytes > bounds.maxBytes) removal.overflow += readingsIn(chunk);
      else if (bounds.ageOf(chunk) > bounds.maxAgeMs) removal.expired += readingsIn(chunk);
      else {
        stopped = true;
        break;
      }
      bytes -= chunk.bytes;
      through = chunk.id;
    }
    if (through !== undefined) removal.rows.push(...db.deleteThrough(through));
    if (stopped || heads.length < LIMIT_SCAN_CHUNKS) return removal;
  }
}

const headOf = (c: ChunkHead): ChunkHead => ({ id: c.id, last: c.last, epoch: c.epoch, createdAt: c.createdAt, bytes: c.bytes });

/** Running totals of what the file holds, and its oldest chunk: what the bounds are checked against. */
export class HeldChunks {
  chunks = 0;
  readings = 0;
  bytes = 0;
  head: ChunkHead | undefined;

  /** Counts what a freshly opened file holds; returns the last sequence number held (null when empty). */
  load(db: OutboxDatabase): number | null {
    const totals = db.totals();
    this.chunks = totals.chunks;
    this.readings = totals.readings;
    this.bytes = totals.bytes;
    this.head = db.oldest(1)[0];
    return totals.maxLast;
  }

  clear(): void {
    this.chunks = 0;
    this.readings = 0;
    this.bytes = 0;
    this.head = undefined;
  }

  added(chunks: readonly ChunkHead[]): void {
    for (const chunk of chunks) {
      this.readings += readingsIn(chunk);
      this.bytes += chunk.bytes;
    }
    this.chunks += chunks.length;
    if (!this.head && chunks[0]) this.head = headOf(chunks[0]);
  }

  /** Keeps the totals and the head in step with deleted rows; returns the readings removed. */
  removed(db: OutboxDatabase, rows: readonly RemovedChunk[]): number {
    if (rows.length === 0) return 0;
    let readings = 0;
    let headGone = false;
    for (const row of rows) {
      readings += readingsIn(row);
      this.bytes -= row.bytes;
      if (row.id === this.head?.id) headGone = true;
    }
    this.chunks -= rows.length;
    this.readings -= readings;
    if (headGone) this.head = db.oldest(1)[0];
    return readings;
  }
}
