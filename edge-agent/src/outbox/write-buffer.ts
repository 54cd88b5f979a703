/**
 * Readings between append() and the next commit: grouped in segments of one clock epoch each (a chunk is
 * only correctable with the epoch it was stamped in), and turned into chunk rows when committed.
 */
import { encodeReadingSet, groupReadings, type Reading } from '@pulsebridge/protocol';
import type { Logger } from 'pino';
import type { ClockEpoch } from '../clock/clock.ts';
import type { OutboxCatalog } from './catalog.ts';
import type { NewChunk, OutboxDatabase } from './storage.ts';

export interface Segment {
  epoch: ClockEpoch;
  readings: Reading[];
}

/**
 * A reading at most this much older than its series' last one is moved just past it. Anything older is
 * left alone: it comes from a clock step, which the clock epochs correct, not from a queue of frames.
 */
const SPREAD_WINDOW_MS = 1_000;

export class WriteBuffer {
  private segments: Segment[] = [];
  /** Last time stamped per series (sensor + metric) in this process. */
  private readonly lastTs = new Map<string, number>();
  /** Readings buffered. */
  size = 0;

  /** Buffers a valid reading stamped in `epoch`. */
  add(reading: Reading, epoch: ClockEpoch): void {
    // A series holds one reading per millisecond (stores key readings by it). Sources stamp at receive
    // time, so frames that queued up behind a busy event loop can share a millisecond: spread them.
    const series = `${reading.sensor}\u0000${reading.metric}`;
    const previous = this.lastTs.get(series);
    const ts = previous !== undefined && reading.ts <= previous && previous - reading.ts < SPREAD_WINDOW_MS ? previous + 1 : reading.ts;
    this.lastTs.set(series, ts);
    let segment = this.segments.at(-1);
    if (segment?.epoch !== epoch) {
      segment = { epoch, readings: [] };
      this.segments.push(segment);
    }
    segment.readings.push({ sensor: reading.sensor, metric: reading.metric, ts, value: reading.value });
    this.size++;
  }

  /** What is buffered now; pass it to committed() once it is stored. */
  current(): readonly Segment[] {
    return this.segments;
  }

  committed(segments: readonly Segment[]): void {
    this.segments = this.segments.filter((s) => !segments.includes(s));
    this.size = this.segments.reduce((sum, s) => sum + s.readings.length, 0);
  }

  /** Drops the oldest readings beyond `limit`; returns how many went. */
  shed(limit: number): number {
    let excess = this.size - limit;
    const shed = Math.max(0, excess);
    while (excess > 0 && this.segments.length > 0) {
      const oldest = this.segments[0]!;
      const n = Math.min(excess, oldest.readings.length);
      oldest.readings.splice(0, n);
      if (oldest.readings.length === 0) this.segments.shift();
      excess -= n;
      this.size -= n;
    }
    return shed;
  }
}

export interface BuiltChunks {
  chunks: NewChunk[];
  /** The sequence number after the last chunk's. */
  nextSeq: number;
  /** Readings the codec refused (dropped, to be counted as invalid). */
  unencodable: number;
}

/**
 * Encodes segments into chunk rows of at most `maxChunkReadings`, numbered from `firstSeq`. Registers new
 * sensors and epochs in the catalog (inside the caller's write).
 */
export function buildChunks(db: OutboxDatabase, catalog: OutboxCatalog, segments: readonly Segment[], firstSeq: number, maxChunkReadings: number, log: Logger): BuiltChunks {
  catalog.registerSensors(db, segments);
  const chunks: NewChunk[] = [];
  let seq = firstSeq;
  let unencodable = 0;
  for (const segment of segments) {
    const epoch = catalog.epochRowId(db, segment.epoch);
    for (let start = 0; start < segment.readings.length; start += maxChunkReadings) {
      const piece = segment.readings.slice(start, start + maxChunkReadings);
      let data: Buffer;
      try {
        data = encodeReadingSet(groupReadings(piece.map((r) => ({ ...r, sensor: catalog.storedSensorId(r.sensor) }))));
      } catch (err) {
        // append() validated every reading, so this is a codec disagreement: keeping them would block every flush.
        unencodable += piece.length;
        log.error({ err, readings: piece.length }, 'readings the codec refuses dropped');
        continue;
      }
      let createdAt = Number.POSITIVE_INFINITY;
      for (const r of piece) if (r.ts < createdAt) createdAt = r.ts;
      chunks.push({ id: seq, last: seq + piece.length - 1, epoch, createdAt, bytes: data.byteLength, data });
      seq += piece.length;
    }
  }
  return { chunks, nextSeq: seq, unencodable };
}
