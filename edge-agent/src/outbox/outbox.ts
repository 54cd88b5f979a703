/**
 * The agent's outbox: every reading a source produces is kept here until the hub confirms it stored it.
 *
 * Readings are buffered in memory and committed as one row (a "chunk") per flush, at least every
 * `flushIntervalMs`: one small WAL commit instead of one per reading spares SD cards. Each chunk gets a
 * contiguous range of sequence numbers; the uplink sends chunks, and deletes them by range once the hub
 * acknowledges them. A committed chunk survives a crash (WAL, synchronous=NORMAL: a killed process loses
 * nothing committed; a power cut may lose the last commits but never corrupts the file).
 *
 * Bounded by payload bytes and by age: the oldest chunks are dropped first and every dropped reading is
 * counted. A damaged file is moved aside and replaced by a fresh one (a new stream), and the agent carries on.
 *
 * The outbox also stores the clock's epochs and boot offsets (it implements ClockStore), since a chunk is
 * only correctable with the epoch it was stamped in: readings and their clock state live and die together.
 */
import { EventEmitter } from 'node:events';
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import {
  METRICS,
  decodeReadingSet,
  encodeReadingSet,
  groupReadings,
  isMetricId,
  mergeSeries,
  type Reading,
  type SeriesReadings,
} from '@pulsebridge/protocol';
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Clock, ClockEpoch, ClockStore, StoredBoot, TrueOffset } from '../clock/clock.ts';
import { DropReporter, type OutboxDropReport } from './drop-report.ts';
import { OutboxError, isCorruption } from './errors.ts';
import { OutboxDatabase, moveAside, type ChunkHead, type NewChunk, type RemovedChunk } from './storage.ts';

export const OutboxConfig = Type.Object(
  {
    path: Type.String({ default: 'data/agent/outbox.db', minLength: 1, description: 'SQLite file; -wal and -shm files live next to it' }),
    flushIntervalMs: Type.Integer({ default: 250, minimum: 1, maximum: 60_000, description: 'longest time a reading waits in memory before it is committed' }),
    maxChunkReadings: Type.Integer({ default: 5_000, minimum: 1, maximum: 100_000, description: 'readings that trigger a flush before the interval is over' }),
    maxBytes: Type.Integer({ default: 268_435_456, minimum: 1, description: 'payload bytes kept at most; the oldest chunks are dropped beyond' }),
    maxAgeMs: Type.Integer({ default: 604_800_000, minimum: 1, description: 'age after which unsent readings are dropped' }),
  },
  { additionalProperties: false, default: {} },
);
export type OutboxConfig = Static<typeof OutboxConfig>;

export interface PendingChunk {
  id: number;
  first: number;
  last: number;
  /** Wall-clock UTC ms (uncorrected) of the chunk's oldest reading. */
  createdAt: number;
  /** Payload bytes at rest. */
  bytes: number;
}

export interface LoadedReadings {
  series: SeriesReadings[];
  /** True if any loaded chunk was stamped in a boot whose true time is still unknown (sent uncorrected). */
  clockUnsynced: boolean;
  /** The chunks actually loaded, oldest first: asked-for ids already deleted are missing here. */
  chunks: PendingChunk[];
  readings: number;
}

export interface OutboxDropped {
  /** Oldest chunks dropped because the outbox held more than maxBytes. */
  overflow: number;
  /** Chunks older than maxAgeMs. */
  expired: number;
  /** Readings the hub refused for good (reject()). */
  rejected: number;
  /** Readings refused by append(): unknown metric, value out of range, bad time or sensor id. */
  invalid: number;
  /** Readings lost with a damaged database file or an undecodable chunk. */
  corrupt: number;
}

export interface OutboxStats {
  readings: number;
  chunks: number;
  bytes: number;
  oldestAgeMs: number;
  appended: number;
  acknowledged: number;
  buffered: number;
  dropped: OutboxDropped;
  corruptRecoveries: number;
  /** Storage failures other than corruption (disk full, I/O errors); the readings stay buffered. */
  errors: number;
}

export interface OutboxRecovery {
  previousStream: string | undefined;
  stream: string;
  /** Where the damaged file was moved. */
  movedTo: string;
  /** Readings the damaged file was known to hold. */
  lostReadings: number;
}

export type OutboxEvents = {
  /** A chunk was committed: the uplink can send it. */
  flushed: [PendingChunk];
  /** The database was damaged and replaced: sequence numbers restart in a new stream. */
  recovered: [OutboxRecovery];
  /** Readings were dropped since the last report (at most one report per DROP_REPORT_INTERVAL_MS). */
  dropped: [OutboxDropReport];
};

export type OutboxOptions = Partial<OutboxConfig> & { clock: Clock; log: Logger; metrics?: Registry | undefined };

interface Segment {
  epoch: ClockEpoch;
  readings: Reading[];
}

interface KnownEpoch {
  boot: string;
  id: number;
  wallMinusMono: number;
}

interface Removal {
  rows: RemovedChunk[];
  overflow: number;
  expired: number;
}

const SENSOR_ID_MAX_LENGTH = 64;
/** Readings kept in memory while the disk refuses writes, in multiples of maxChunkReadings. */
const BUFFER_LIMIT_CHUNKS = 4;
/** How many head chunks one pass of the limit check reads. */
const LIMIT_SCAN_CHUNKS = 64;
const REOPEN_INTERVAL_MS = 5_000;
/**
 * A reading at most this much older than its series' last one is moved just past it. Anything older is
 * left alone: it comes from a clock step, which the clock epochs correct, not from a queue of frames.
 */
const SPREAD_WINDOW_MS = 1_000;
const REPEAT_WARNING_MS = 60_000;

const readingsIn = (c: { id: number; last: number }): number => c.last - c.id + 1;
const headOf = (c: ChunkHead): ChunkHead => ({ id: c.id, last: c.last, epoch: c.epoch, createdAt: c.createdAt, bytes: c.bytes });
const toPending = (c: ChunkHead): PendingChunk => ({ id: c.id, first: c.id, last: c.last, createdAt: c.createdAt, bytes: c.bytes });
const epochKey = (boot: string, id: number): string => `${boot}\u0000${id}`;

export class Outbox extends EventEmitter<OutboxEvents> {
  readonly #config: OutboxConfig;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #registry: Registry | undefined;
  readonly #metricNames: string[] = [];
  readonly #clockStore: ClockStore;

  #db: OutboxDatabase | undefined;
  #stream: string | undefined;
  #started = false;
  #timer: NodeJS.Timeout | undefined;
  #dbDepth = 0;
  #lastOpenAttempt = Number.NEGATIVE_INFINITY;
  #lastFlushFailure = Number.NEGATIVE_INFINITY;
  readonly #lastWarning = new Map<string, number>();

  #segments: Segment[] = [];
  #buffered = 0;

  #nextSeq = 0;
  #chunks = 0;
  #readings = 0;
  #bytes = 0;
  #head: ChunkHead | undefined;

  #sensorIds = new Map<string, number>();
  #sensorNames = new Map<string, string>();
  #nextSensorId = 0;
  #epochRows = new Map<number, KnownEpoch>();
  #epochRowIds = new Map<string, number>();
  #offsets = new Map<string, TrueOffset>();

  #appended = 0;
  /** Last time stamped per series (sensor + metric) in this process. */
  readonly #lastTs = new Map<string, number>();
  #acknowledged = 0;
  readonly #dropped: OutboxDropped = { overflow: 0, expired: 0, rejected: 0, invalid: 0, corrupt: 0 };
  #corruptRecoveries = 0;
  #errors = 0;
  readonly #dropReporter = new DropReporter();

  constructor(options: OutboxOptions) {
    super();
    const { clock, log, metrics, ...config } = options;
    const withDefaults: unknown = Value.Default(OutboxConfig, Value.Clone(config));
    if (!Value.Check(OutboxConfig, withDefaults)) {
      const problems = [...Value.Errors(OutboxConfig, withDefaults)].map((e) => `${e.path || '/'}: ${e.message}`);
      throw new OutboxError('invalid_config', `invalid outbox options: ${problems.join('; ')}`);
    }
    this.#config = withDefaults;
    this.#clock = clock;
    this.#log = log.child({ ns: 'outbox' });
    this.#registry = metrics;
    this.#clockStore = {
      loadBoot: (boot) => this.#loadBoot(boot),
      saveEpoch: (epoch) => {
        this.#withDb('save a clock epoch', (db) => this.#epochRowId(db, epoch), undefined);
      },
      saveOffset: (boot, offset) => {
        this.#offsets.set(boot, offset);
        this.#withDb('save the clock offset', (db) => db.saveOffset(boot, offset.trueMinusMono, offset.source), undefined);
      },
    };
  }

  /** The outbox's stream id: sequence numbers are unique within it. */
  get stream(): string {
    if (this.#stream === undefined) throw new OutboxError('not_started', 'the outbox stream is known once start() has opened the database');
    return this.#stream;
  }

  /** Opens, creates or recovers the database. Throws OutboxError('open_failed') if no database can be opened at all. */
  start(): void {
    if (this.#started) return;
    const failure = this.#open();
    if (!this.#db) throw new OutboxError('open_failed', `cannot open the outbox database ${this.#config.path}: ${messageOf(failure)}`, { cause: failure });
    this.#started = true;
    this.#dropReporter.baseline(this.#dropped);
    // Not unref'd: a process must not exit quietly with readings still in memory; stop() flushes them.
    this.#timer = setInterval(() => this.#tick(), this.#config.flushIntervalMs);
    if (this.#registry) this.#registerMetrics(this.#registry);
  }

  /** Commits what is buffered and closes the file. */
  stop(): void {
    if (!this.#started) return;
    this.#started = false;
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.flush();
    if (this.#buffered > 0) this.#log.warn({ readings: this.#buffered }, 'outbox stopped with readings it could not commit');
    this.#clock.detach(this.#clockStore);
    this.#close();
    for (const name of this.#metricNames) this.#registry?.removeSingleMetric(name);
    this.#metricNames.length = 0;
  }

  /** Buffers one reading. Never throws: an invalid reading is counted in dropped.invalid and skipped. */
  append(reading: Reading): void {
    try {
      if (!this.#isValid(reading)) {
        this.#dropped.invalid++;
        this.#warnRepeated('invalid', { reading: describe(reading), invalid: this.#dropped.invalid }, 'invalid reading skipped');
        return;
      }
      // A series holds one reading per millisecond (stores key readings by it). Sources stamp at receive
      // time, so frames that queued up behind a busy event loop can share a millisecond: spread them.
      const series = `${reading.sensor}\u0000${reading.metric}`;
      const previous = this.#lastTs.get(series);
      const ts = previous !== undefined && reading.ts <= previous && previous - reading.ts < SPREAD_WINDOW_MS ? previous + 1 : reading.ts;
      this.#lastTs.set(series, ts);
      const epoch = this.#clock.epoch;
      let segment = this.#segments.at(-1);
      if (segment?.epoch !== epoch) {
        segment = { epoch, readings: [] };
        this.#segments.push(segment);
      }
      segment.readings.push({ sensor: reading.sensor, metric: reading.metric, ts, value: reading.value });
      this.#buffered++;
      this.#appended++;
      if (this.#buffered >= this.#config.maxChunkReadings && this.#clock.mono() - this.#lastFlushFailure >= this.#config.flushIntervalMs) this.flush();
      if (this.#buffered > this.#config.maxChunkReadings * BUFFER_LIMIT_CHUNKS) this.#shedBuffer();
    } catch (err) {
      this.#errors++;
      this.#log.error({ err }, 'append failed');
    }
  }

  /** Commits the buffered readings now (one chunk per clock epoch). Never throws. */
  flush(): void {
    if (this.#buffered === 0 || !this.#db) return;
    const now = this.#clock.now();
    const current = this.#clock.epoch;
    const segments = this.#segments;
    const opened = this.#db;
    let done = this.#withDb('commit readings', (db) => this.#commit(db, segments, now, current), false);
    // A damaged file was replaced meanwhile: the readings are still in memory, commit them to the new one.
    if (!done && this.#db && this.#db !== opened) done = this.#withDb('commit readings', (db) => this.#commit(db, segments, now, current), false);
    if (!done) this.#lastFlushFailure = this.#clock.mono();
  }

  /** Chunk metadata in id order, skipping `exclude` (chunks in flight). */
  pending(limit: number, order: 'oldest' | 'newest', exclude?: ReadonlySet<number>): PendingChunk[] {
    if (!Number.isSafeInteger(limit) || limit <= 0) return [];
    return this.#withDb(
      'read pending chunks',
      (db) => {
        const out: PendingChunk[] = [];
        for (const chunk of db.iterate(order === 'newest' ? 'newest' : 'oldest')) {
          if (exclude?.has(chunk.id)) continue;
          out.push(toPending(chunk));
          if (out.length >= limit) break;
        }
        return out;
      },
      [],
    );
  }

  /**
   * The readings of those chunks, merged per series, oldest first, with timestamps corrected to true time
   * where the clock knows it. Ids no longer held are skipped; a chunk that cannot be decoded is dropped and
   * counted in dropped.corrupt.
   */
  load(ids: readonly number[]): LoadedReadings {
    const empty: LoadedReadings = { series: [], clockUnsynced: false, chunks: [], readings: 0 };
    const wanted = [...new Set(ids)].filter((id) => Number.isSafeInteger(id)).sort((a, b) => a - b);
    if (wanted.length === 0) return empty;
    return this.#withDb(
      'load chunks',
      (db) => {
        const lists: SeriesReadings[][] = [];
        const chunks: PendingChunk[] = [];
        const broken: { chunk: ChunkHead; err: unknown }[] = [];
        let clockUnsynced = false;
        let readings = 0;
        for (const id of wanted) {
          const chunk = db.chunk(id);
          if (!chunk) continue;
          let series: SeriesReadings[];
          try {
            series = this.#decode(chunk.data, readingsIn(chunk));
          } catch (err) {
            broken.push({ chunk, err });
            continue;
          }
          const correction = this.#correction(chunk.epoch);
          if (correction === undefined) clockUnsynced = true;
          else if (correction !== 0) for (const s of series) for (let i = 0; i < s.ts.length; i++) s.ts[i] = s.ts[i]! + correction;
          lists.push(series);
          chunks.push(toPending(chunk));
          readings += readingsIn(chunk);
        }
        if (broken.length > 0) this.#dropBroken(db, broken);
        return { series: mergeSeries(lists), clockUnsynced, chunks, readings };
      },
      empty,
    );
  }

  /** Lowest sequence number still held, or the next one to be given when nothing is held. */
  floor(): number {
    return this.#head?.id ?? this.#nextSeq;
  }

  /** The hub stored [first, last]: deletes every chunk lying inside it. Returns the readings removed. */
  acknowledge(first: number, last: number): number {
    const removed = this.#removeRange(first, last, 'acknowledge');
    this.#acknowledged += removed;
    return removed;
  }

  /** The hub can never store [first, last]: deletes those chunks like acknowledge(), counted as rejected. */
  reject(first: number, last: number, reason: string): number {
    const removed = this.#removeRange(first, last, 'reject');
    this.#dropped.rejected += removed;
    if (removed > 0) this.#log.warn({ first, last, readings: removed, reason }, 'readings rejected by the hub dropped');
    return removed;
  }

  stats(): OutboxStats {
    return {
      readings: this.#readings,
      chunks: this.#chunks,
      bytes: this.#bytes,
      oldestAgeMs: this.#oldestAgeMs(),
      appended: this.#appended,
      acknowledged: this.#acknowledged,
      buffered: this.#buffered,
      dropped: { ...this.#dropped },
      corruptRecoveries: this.#corruptRecoveries,
      errors: this.#errors,
    };
  }

  // ---- opening, recovery ----

  /** Opens the database, recovering from a damaged file; returns what went wrong if none is open after. */
  #open(): unknown {
    this.#lastOpenAttempt = this.#clock.mono();
    try {
      this.#load(OutboxDatabase.open(this.#config.path));
      return undefined;
    } catch (err) {
      if (isCorruption(err)) {
        this.#recover(err, 'open');
        return err;
      }
      this.#errors++;
      this.#log.error({ err, path: this.#config.path }, 'cannot open the outbox database');
      return err;
    }
  }

  #load(db: OutboxDatabase): void {
    try {
      db.prune(this.#clock.bootId);
      const totals = db.totals();
      this.#chunks = totals.chunks;
      this.#readings = totals.readings;
      this.#bytes = totals.bytes;
      this.#nextSeq = Math.max(db.storedNextSeq(), totals.maxLast === null ? 0 : totals.maxLast + 1);
      this.#head = db.oldest(1)[0];
      this.#sensorIds = new Map();
      this.#sensorNames = new Map();
      this.#nextSensorId = 0;
      for (const s of db.sensors()) {
        this.#sensorIds.set(s.name, s.id);
        this.#sensorNames.set(s.id.toString(36), s.name);
        this.#nextSensorId = Math.max(this.#nextSensorId, s.id + 1);
      }
      this.#epochRows = new Map();
      this.#epochRowIds = new Map();
      for (const e of db.epochs()) {
        this.#epochRows.set(e.rowId, { boot: e.boot, id: e.id, wallMinusMono: e.wallMinusMono });
        this.#epochRowIds.set(epochKey(e.boot, e.id), e.rowId);
      }
      this.#offsets = new Map();
      for (const o of db.offsets()) this.#offsets.set(o.boot, { trueMinusMono: o.trueMinusMono, source: o.source === 'hub' ? 'hub' : 'jump' });
    } catch (err) {
      db.close();
      throw err;
    }
    this.#db = db;
    this.#stream = db.stream;
    this.#log.info({ path: this.#config.path, stream: db.stream, chunks: this.#chunks, readings: this.#readings, bytes: this.#bytes, next: this.#nextSeq }, 'outbox open');
    this.#clock.attach(this.#clockStore);
  }

  #close(): void {
    const db = this.#db;
    this.#db = undefined;
    try {
      db?.close();
    } catch (err) {
      this.#log.warn({ err }, 'closing the outbox database failed');
    }
  }

  /** Moves a damaged file aside and continues with a fresh one. Buffered readings are kept. */
  #recover(err: unknown, where: string): void {
    const previousStream = this.#db?.stream;
    const lostReadings = this.#db ? this.#readings : 0;
    this.#close();
    this.#chunks = 0;
    this.#readings = 0;
    this.#bytes = 0;
    this.#head = undefined;
    let movedTo: string;
    try {
      movedTo = moveAside(this.#config.path, 'corrupt', new Date());
    } catch (moveErr) {
      this.#errors++;
      this.#log.fatal({ err: moveErr, path: this.#config.path }, 'the outbox database is damaged and cannot be moved aside; readings stay in memory only');
      return;
    }
    this.#corruptRecoveries++;
    this.#dropped.corrupt += lostReadings;
    this.#log.error({ err, where, path: this.#config.path, movedTo, lostReadings }, 'outbox database damaged: moved aside, continuing with a fresh one');
    try {
      this.#load(OutboxDatabase.open(this.#config.path));
    } catch (openErr) {
      this.#errors++;
      this.#log.fatal({ err: openErr, path: this.#config.path }, 'cannot create a fresh outbox database; readings stay in memory only');
      return;
    }
    const recovery: OutboxRecovery = { previousStream, stream: this.#db!.stream, movedTo, lostReadings };
    this.#emitSafely('recovered', recovery);
  }

  /**
   * Runs one storage operation. Corruption is recovered from (the operation is not retried), any other
   * failure is logged and counted; either way the fallback is returned and nothing is thrown.
   */
  #withDb<T>(what: string, operation: (db: OutboxDatabase) => T, fallback: T): T {
    const db = this.#db;
    if (!db) return fallback;
    // Nested calls (a clock callback during a flush) are covered by the outer call's handling.
    if (this.#dbDepth > 0) return operation(db);
    let failure: unknown;
    this.#dbDepth++;
    try {
      return operation(db);
    } catch (err) {
      failure = err;
    } finally {
      this.#dbDepth--;
    }
    if (isCorruption(failure)) {
      this.#recover(failure, what);
    } else {
      this.#errors++;
      this.#log.error({ err: failure, what }, 'outbox storage operation failed');
    }
    return fallback;
  }

  #tick(): void {
    // First, so drops are reported while the disk refuses writes too; this tick's own drops go in the next one.
    const report = this.#dropReporter.check(this.#dropped, this.#clock.mono());
    if (report) this.#emitSafely('dropped', report);
    if (!this.#db) {
      if (this.#clock.mono() - this.#lastOpenAttempt >= REOPEN_INTERVAL_MS) this.#open();
      if (!this.#db) return;
    }
    this.flush();
    const now = this.#clock.now();
    const current = this.#clock.epoch;
    if (this.#head && this.#ageOf(this.#head, now, current) > this.#config.maxAgeMs) {
      this.#withDb(
        'drop expired chunks',
        (db) => {
          const removal = db.transaction(() => this.#enforceLimits(db, 0, now, current));
          this.#applyRemoval(db, removal);
        },
        undefined,
      );
    }
  }

  // ---- writing ----

  #isValid(reading: Reading): boolean {
    if (typeof reading !== 'object' || reading === null) return false;
    const { sensor, metric, ts, value } = reading;
    if (typeof sensor !== 'string' || sensor.length === 0 || sensor.length > SENSOR_ID_MAX_LENGTH) return false;
    if (typeof metric !== 'string' || !isMetricId(metric)) return false;
    if (typeof ts !== 'number' || !Number.isSafeInteger(ts) || ts < 0) return false;
    if (typeof value !== 'number' || !Number.isFinite(value)) return false;
    const spec = METRICS[metric];
    return value >= spec.min && value <= spec.max;
  }

  #commit(db: OutboxDatabase, segments: readonly Segment[], now: number, current: ClockEpoch): boolean {
    this.#registerSensors(db, segments);
    const max = this.#config.maxChunkReadings;
    const chunks: NewChunk[] = [];
    let seq = this.#nextSeq;
    let unencodable = 0;
    for (const segment of segments) {
      const epoch = this.#epochRowId(db, segment.epoch);
      for (let start = 0; start < segment.readings.length; start += max) {
        const piece = segment.readings.slice(start, start + max);
        let data: Buffer;
        try {
          data = encodeReadingSet(groupReadings(piece.map((r) => ({ ...r, sensor: this.#sensorIds.get(r.sensor)!.toString(36) }))));
        } catch (err) {
          // append() validated every reading, so this is a codec disagreement: keeping them would block every flush.
          unencodable += piece.length;
          this.#log.error({ err, readings: piece.length }, 'readings the codec refuses dropped');
          continue;
        }
        let createdAt = Number.POSITIVE_INFINITY;
        for (const r of piece) if (r.ts < createdAt) createdAt = r.ts;
        chunks.push({ id: seq, last: seq + piece.length - 1, epoch, createdAt, bytes: data.byteLength, data });
        seq += piece.length;
      }
    }
    const added = chunks.reduce((sum, c) => sum + c.bytes, 0);
    const removal = db.transaction(() => {
      for (const chunk of chunks) db.insertChunk(chunk);
      const limits = this.#enforceLimits(db, added, now, current, chunks[0]);
      // The counter lives in the chunks themselves (max(last) + 1) unless the newest chunk is gone.
      if (limits.rows.some((r) => r.last === seq - 1)) db.setNextSeq(seq);
      return limits;
    });
    this.#segments = this.#segments.filter((s) => !segments.includes(s));
    this.#buffered = this.#segments.reduce((sum, s) => sum + s.readings.length, 0);
    this.#dropped.invalid += unencodable;
    this.#nextSeq = seq;
    this.#chunks += chunks.length;
    this.#readings += chunks.reduce((sum, c) => sum + readingsIn(c), 0);
    this.#bytes += added;
    if (!this.#head && chunks[0]) this.#head = headOf(chunks[0]);
    this.#applyRemoval(db, removal);
    const removedIds = new Set(removal.rows.map((r) => r.id));
    for (const chunk of chunks) if (!removedIds.has(chunk.id)) this.#emitSafely('flushed', toPending(chunk));
    return true;
  }

  /** Gives every new sensor a row id, committed before any chunk refers to it. */
  #registerSensors(db: OutboxDatabase, segments: readonly Segment[]): void {
    const fresh: { id: number; name: string }[] = [];
    const seen = new Set<string>();
    let next = this.#nextSensorId;
    for (const segment of segments) {
      for (const r of segment.readings) {
        if (this.#sensorIds.has(r.sensor) || seen.has(r.sensor)) continue;
        seen.add(r.sensor);
        fresh.push({ id: next++, name: r.sensor });
      }
    }
    if (fresh.length === 0) return;
    db.insertSensors(fresh);
    for (const s of fresh) {
      this.#sensorIds.set(s.name, s.id);
      this.#sensorNames.set(s.id.toString(36), s.name);
    }
    this.#nextSensorId = next;
  }

  #epochRowId(db: OutboxDatabase, epoch: ClockEpoch): number {
    const key = epochKey(epoch.boot, epoch.id);
    const known = this.#epochRowIds.get(key);
    if (known !== undefined) return known;
    const stored = db.ensureEpoch(epoch.boot, epoch.id, epoch.wallMinusMono);
    this.#epochRowIds.set(key, stored.rowId);
    this.#epochRows.set(stored.rowId, { boot: epoch.boot, id: epoch.id, wallMinusMono: stored.wallMinusMono });
    return stored.rowId;
  }

  /** Drops the oldest chunks while over maxBytes or older than maxAgeMs. Runs inside a transaction. */
  #enforceLimits(db: OutboxDatabase, addedBytes: number, now: number, current: ClockEpoch, firstAdded?: ChunkHead): Removal {
    const removal: Removal = { rows: [], overflow: 0, expired: 0 };
    let bytes = this.#bytes + addedBytes;
    // The common case, decided from memory: scanning the head costs more than the rest of a flush.
    const head = this.#head ?? firstAdded;
    if (bytes <= this.#config.maxBytes && (!head || this.#ageOf(head, now, current) <= this.#config.maxAgeMs)) return removal;
    for (;;) {
      const heads = db.oldest(LIMIT_SCAN_CHUNKS);
      let through: number | undefined;
      let stopped = false;
      for (const chunk of heads) {
        if (bytes > this.#config.maxBytes) removal.overflow += readingsIn(chunk);
        else if (this.#ageOf(chunk, now, current) > this.#config.maxAgeMs) removal.expired += readingsIn(chunk);
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

  #applyRemoval(db: OutboxDatabase, removal: Removal): void {
    this.#forget(db, removal.rows);
    this.#dropped.overflow += removal.overflow;
    this.#dropped.expired += removal.expired;
    if (removal.overflow > 0) this.#warnRepeated('overflow', { readings: removal.overflow, total: this.#dropped.overflow, maxBytes: this.#config.maxBytes }, 'outbox full: oldest readings dropped');
    if (removal.expired > 0) this.#warnRepeated('expired', { readings: removal.expired, total: this.#dropped.expired, maxAgeMs: this.#config.maxAgeMs }, 'unsent readings expired and dropped');
  }

  /** Keeps the running totals and the head in step with deleted rows; returns the readings removed. */
  #forget(db: OutboxDatabase, rows: readonly RemovedChunk[]): number {
    if (rows.length === 0) return 0;
    let readings = 0;
    let headGone = false;
    for (const row of rows) {
      readings += readingsIn(row);
      this.#bytes -= row.bytes;
      if (row.id === this.#head?.id) headGone = true;
    }
    this.#chunks -= rows.length;
    this.#readings -= readings;
    if (headGone) this.#head = db.oldest(1)[0];
    return readings;
  }

  #removeRange(first: number, last: number, what: string): number {
    if (!Number.isSafeInteger(first) || !Number.isSafeInteger(last) || first < 0 || last < first) {
      this.#log.warn({ first, last }, `${what}: invalid sequence range ignored`);
      return 0;
    }
    return this.#withDb(
      `${what} readings`,
      (db) => {
        const rows = db.transaction(() => {
          const deleted = db.deleteRange(first, last);
          if (deleted.some((r) => r.last === this.#nextSeq - 1)) db.setNextSeq(this.#nextSeq);
          return deleted;
        });
        return this.#forget(db, rows);
      },
      0,
    );
  }

  /** Readings over the in-memory limit (the disk has been refusing writes): the oldest go, counted. */
  #shedBuffer(): void {
    let excess = this.#buffered - this.#config.maxChunkReadings * BUFFER_LIMIT_CHUNKS;
    const shed = excess;
    while (excess > 0 && this.#segments.length > 0) {
      const oldest = this.#segments[0]!;
      const n = Math.min(excess, oldest.readings.length);
      oldest.readings.splice(0, n);
      if (oldest.readings.length === 0) this.#segments.shift();
      excess -= n;
      this.#buffered -= n;
    }
    this.#dropped.overflow += shed;
    this.#warnRepeated('buffer', { readings: shed, total: this.#dropped.overflow }, 'outbox cannot write: oldest buffered readings dropped');
  }

  // ---- reading ----

  #decode(data: Buffer, expected: number): SeriesReadings[] {
    const series = decodeReadingSet(data);
    let count = 0;
    for (const s of series) {
      const name = this.#sensorNames.get(s.sensor);
      if (name === undefined) throw new OutboxError('corrupt', `chunk refers to unknown sensor ${s.sensor}`);
      s.sensor = name;
      count += s.ts.length;
    }
    if (count !== expected) throw new OutboxError('corrupt', `chunk holds ${count} readings, its range says ${expected}`);
    return series;
  }

  #dropBroken(db: OutboxDatabase, broken: readonly { chunk: ChunkHead; err: unknown }[]): void {
    const rows = db.transaction(() => {
      const removed: RemovedChunk[] = [];
      for (const { chunk } of broken) {
        const row = db.deleteChunk(chunk.id);
        if (row) removed.push(row);
      }
      if (removed.some((r) => r.last === this.#nextSeq - 1)) db.setNextSeq(this.#nextSeq);
      return removed;
    });
    const readings = this.#forget(db, rows);
    this.#dropped.corrupt += readings;
    for (const { chunk, err } of broken) {
      this.#log.error({ err, first: chunk.id, last: chunk.last }, 'undecodable chunk dropped');
    }
  }

  /** What to add to a stamp of the chunk's epoch; undefined while that boot's true time is unknown. */
  #correction(epochRowId: number): number | undefined {
    const epoch = this.#epochRows.get(epochRowId);
    if (!epoch) return undefined;
    const offset = (epoch.boot === this.#clock.bootId ? this.#clock.offset : undefined) ?? this.#offsets.get(epoch.boot);
    return offset ? offset.trueMinusMono - epoch.wallMinusMono : undefined;
  }

  /**
   * Elapsed real time since the chunk's oldest reading. Within one boot monotonic time gives it exactly,
   * whatever the wall clock did; across boots it needs both boots' true time, else the raw stamps are all
   * there is.
   */
  #ageOf(chunk: ChunkHead, now: number, current: ClockEpoch): number {
    const epoch = this.#epochRows.get(chunk.epoch);
    if (epoch?.boot === current.boot) return now - current.wallMinusMono - (chunk.createdAt - epoch.wallMinusMono);
    const then = this.#correction(chunk.epoch);
    const offsetNow = this.#clock.correctionFor(current);
    if (then !== undefined && offsetNow !== undefined) return now + offsetNow - (chunk.createdAt + then);
    return now - chunk.createdAt;
  }

  #oldestAgeMs(): number {
    if (!this.#head) return 0;
    return Math.max(0, Math.round(this.#ageOf(this.#head, this.#clock.now(), this.#clock.epoch)));
  }

  // ---- clock persistence ----

  #loadBoot(boot: string): StoredBoot {
    const epochs: ClockEpoch[] = [];
    for (const e of this.#epochRows.values()) if (e.boot === boot) epochs.push({ boot, id: e.id, wallMinusMono: e.wallMinusMono });
    epochs.sort((a, b) => a.id - b.id);
    return { epochs, offset: this.#offsets.get(boot) };
  }

  // ---- reporting ----

  #warnRepeated(kind: string, details: Record<string, unknown>, message: string): void {
    const now = this.#clock.mono();
    const last = this.#lastWarning.get(kind);
    if (last !== undefined && now - last < REPEAT_WARNING_MS) return;
    this.#lastWarning.set(kind, now);
    this.#log.warn(details, message);
  }

  #emitSafely<K extends keyof OutboxEvents>(event: K, ...args: OutboxEvents[K]): void {
    // Listeners run inside append()/flush(), which must not throw.
    try {
      (this.emit as (event: K, ...args: OutboxEvents[K]) => boolean)(event, ...args);
    } catch (err) {
      this.#log.error({ err, event }, 'outbox event listener failed');
    }
  }

  #registerMetrics(registry: Registry): void {
    // Values are read at scrape time from the same counters stats() reports.
    const current = (): OutboxStats => this.stats();
    const metrics = [
      new Gauge({ name: 'pb_agent_outbox_readings', help: 'Readings committed and not yet acknowledged', registers: [registry], collect() { this.set(current().readings); } }),
      new Gauge({ name: 'pb_agent_outbox_chunks', help: 'Chunks committed and not yet acknowledged', registers: [registry], collect() { this.set(current().chunks); } }),
      new Gauge({ name: 'pb_agent_outbox_bytes', help: 'Payload bytes of the chunks held', registers: [registry], collect() { this.set(current().bytes); } }),
      new Gauge({ name: 'pb_agent_outbox_buffered', help: 'Readings in memory waiting for the next flush', registers: [registry], collect() { this.set(current().buffered); } }),
      new Gauge({
        name: 'pb_agent_outbox_oldest_age_seconds',
        help: 'Age of the oldest reading held',
        registers: [registry],
        collect() {
          this.set(current().oldestAgeMs / 1000);
        },
      }),
      new Counter({
        name: 'pb_agent_outbox_appended_total',
        help: 'Readings accepted by the outbox',
        registers: [registry],
        collect() {
          this.reset();
          this.inc(current().appended);
        },
      }),
      new Counter({
        name: 'pb_agent_outbox_acknowledged_total',
        help: 'Readings deleted after the hub confirmed storing them',
        registers: [registry],
        collect() {
          this.reset();
          this.inc(current().acknowledged);
        },
      }),
      new Counter({
        name: 'pb_agent_outbox_dropped_total',
        help: 'Readings dropped, by reason',
        labelNames: ['reason'],
        registers: [registry],
        collect() {
          this.reset();
          for (const [reason, count] of Object.entries(current().dropped)) this.inc({ reason }, count);
        },
      }),
      new Counter({
        name: 'pb_agent_outbox_corrupt_recoveries_total',
        help: 'Damaged outbox databases moved aside and replaced',
        registers: [registry],
        collect() {
          this.reset();
          this.inc(current().corruptRecoveries);
        },
      }),
    ];
    this.#metricNames.push(...metrics.map((metric) => metricName(metric)));
  }
}

function metricName(metric: Gauge | Counter): string {
  // prom-client keeps the name on the instance but does not declare it in its types.
  return (metric as unknown as { name: string }).name;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function describe(reading: unknown): unknown {
  if (typeof reading !== 'object' || reading === null) return reading;
  const { sensor, metric, ts, value } = reading as Record<string, unknown>;
  return { sensor, metric, ts, value };
}
