// Over 500 lines: one class owns the outbox state (buffer, file, counters, recovery) so the counters stay exact across append, flush, ack and recovery; its parts live in the sibling files.
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
 * counted. A damaged chunk (checksum) is dropped unsent and counted. A damaged file is moved aside and
 * replaced by a fresh one (a new stream), its readings counted as lost (damaged-file.ts), and the agent
 * carries on. The file belongs to one agent id and one process at a time (ownership.ts).
 *
 * A file that cannot be opened (disk full, read-only, not mounted yet) or written does not stop the agent:
 * readings wait in memory, bounded by maxBufferedReadings (the oldest dropped and counted beyond), stats()
 * says why storage is not ok, and opening or writing is retried with backoff until the disk takes them.
 *
 * The outbox also stores the clock's epochs and boot offsets (it implements ClockStore), since a chunk is
 * only correctable with the epoch it was stamped in: readings and their clock state live and die together.
 */
import { EventEmitter } from 'node:events';
import { Value } from '@sinclair/typebox/value';
import { mergeSeries, type Reading, type SeriesReadings } from '@pulsebridge/protocol';
import { LogRepeats, errorMessage } from '@pulsebridge/runtime';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Clock, ClockEpoch, ClockStore } from '../clock/clock.ts';
import { OutboxCatalog } from './catalog.ts';
import { countLostReadings, describeLoss, emptyFile, exactLoss } from './damaged-file.ts';
import { DropReporter } from './drop-report.ts';
import { OutboxError, isCorruption, isOwnershipConflict } from './errors.ts';
import { HeldChunks, removeOverLimits, type Removal } from './limits.ts';
import { registerOutboxMetrics } from './metrics.ts';
import { OutboxLock, claimOutbox } from './ownership.ts';
import { OutboxDatabase, moveAside, readingsIn, type ChunkHead, type RemovedChunk } from './storage.ts';
import { StorageHealth } from './storage-health.ts';
import { OutboxConfig, type LoadedReadings, type OutboxDropped, type OutboxEvents, type OutboxOptions, type OutboxRecovery, type OutboxStats, type PendingChunk } from './types.ts';
import { describeReading, readingRefusal } from './valid-reading.ts';
import { WriteBuffer, buildChunks, type Segment } from './write-buffer.ts';

export { OutboxConfig, type LoadedReadings, type OutboxDropped, type OutboxEvents, type OutboxOptions, type OutboxRecovery, type OutboxStats, type PendingChunk } from './types.ts';
export type { OutboxLimits, OutboxStorageState } from './types.ts';
export type { OutboxDropReport } from './drop-report.ts';

/** Readings kept in memory while the disk refuses writes, in multiples of maxChunkReadings, unless configured. */
const BUFFER_LIMIT_CHUNKS = 4;
/** A storage error or drop warning that repeats is written once, then counted into one line per interval. */
const REPEAT_LOG_INTERVAL_MS = 60_000;

const toPending = (c: ChunkHead): PendingChunk => ({ id: c.id, first: c.id, last: c.last, createdAt: c.createdAt, bytes: c.bytes });
/** A chunk as the uplink plans it: naming the boot whose clock stamped it while that boot's true time is unknown. */
function withClockState(chunk: ChunkHead, catalog: OutboxCatalog): PendingChunk {
  const pending = toPending(chunk);
  const unsyncedBoot = catalog.unsyncedBoot(chunk.epoch);
  if (unsyncedBoot !== undefined) pending.unsyncedBoot = unsyncedBoot;
  return pending;
}

export class Outbox extends EventEmitter<OutboxEvents> {
  private readonly config: OutboxConfig;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly registry: Registry | undefined;
  private readonly metricNames: string[] = [];
  private readonly clockStore: ClockStore;
  private readonly agent: string | undefined;

  private lock: OutboxLock | undefined;
  private db: OutboxDatabase | undefined;
  private streamId: string | undefined;
  private started = false;
  private timer: NodeJS.Timeout | undefined;
  private dbDepth = 0;
  private readonly storage = new StorageHealth();
  private readonly repeats: LogRepeats;
  private readonly maxBuffered: number;

  private readonly buffer = new WriteBuffer();

  private nextSeq = 0;
  private readonly held = new HeldChunks();
  private readonly catalog: OutboxCatalog;

  private appended = 0;
  /** Readings committed to earlier streams: damaged files this one replaced (kept in its meta). */
  private committedBefore = 0;
  private acknowledged = 0;
  private readonly dropped: OutboxDropped = { overflow: 0, expired: 0, rejected: 0, invalid: 0, invalidSensor: 0, corrupt: 0 };
  private corruptRecoveries = 0;
  private damagedChunks = 0;
  /** Damaged files moved aside whose readings could not all be counted. */
  private uncountedLosses = 0;
  private lastRecovery: OutboxRecovery | null = null;
  private errors = 0;
  private readonly dropReporter = new DropReporter();

  constructor(options: OutboxOptions) {
    super();
    const { clock, log, metrics, agent, ...config } = options;
    const withDefaults: unknown = Value.Default(OutboxConfig, Value.Clone(config));
    if (!Value.Check(OutboxConfig, withDefaults)) {
      const problems = [...Value.Errors(OutboxConfig, withDefaults)].map((e) => `${e.path || '/'}: ${e.message}`);
      throw new OutboxError('invalid_config', `invalid outbox options: ${problems.join('; ')}`);
    }
    this.config = withDefaults;
    this.maxBuffered = withDefaults.maxBufferedReadings ?? withDefaults.maxChunkReadings * BUFFER_LIMIT_CHUNKS;
    this.clock = clock;
    this.log = log.child({ ns: 'outbox' });
    this.repeats = new LogRepeats(this.log, { intervalMs: REPEAT_LOG_INTERVAL_MS });
    this.registry = metrics;
    this.agent = agent;
    this.catalog = new OutboxCatalog(clock);
    this.clockStore = {
      loadBoot: (boot) => this.catalog.loadBoot(boot),
      saveEpoch: (epoch) => {
        this.withDb('save a clock epoch', (db) => this.catalog.epochRowId(db, epoch), undefined);
      },
      saveOffset: (boot, offset) => {
        this.catalog.setOffset(boot, offset);
        this.withDb('save the clock offset', (db) => db.saveOffset(boot, offset.trueMinusMono, offset.source), undefined);
      },
    };
  }

  /** The outbox's stream id: sequence numbers are unique within it. */
  get stream(): string {
    if (this.streamId === undefined) throw new OutboxError('not_started', 'the outbox stream is known once the database has been opened');
    return this.streamId;
  }

  /**
   * Opens, creates or recovers the database. Throws OutboxError 'in_use' while another process has the file
   * and 'other_agent' when it holds readings recorded by another agent id (see ownership.ts): refusals for
   * the operator. Never throws for storage: a file that cannot be opened leaves the outbox 'unopened' (see
   * stats().storage), keeping readings in memory and retrying with backoff.
   */
  start(): void {
    if (this.started) return;
    const refusal = this.openDatabase();
    if (refusal) {
      this.releaseLock();
      throw refusal;
    }
    this.started = true;
    this.dropReporter.baseline(this.dropped);
    // Not unref'd: a process must not exit quietly with readings still in memory; stop() flushes them.
    this.timer = setInterval(() => this.tick(), this.config.flushIntervalMs);
    if (this.registry) this.metricNames.push(...registerOutboxMetrics(this.registry, () => this.stats()));
  }

  /** Commits what is buffered and closes the file. */
  stop(): void {
    if (!this.started) return;
    this.started = false;
    clearInterval(this.timer);
    this.timer = undefined;
    this.flush();
    if (this.buffer.size > 0) this.log.warn({ readings: this.buffer.size }, 'outbox stopped with readings it could not commit');
    this.clock.detach(this.clockStore);
    this.closeDatabase();
    this.releaseLock();
    this.repeats.flush();
    for (const name of this.metricNames) this.registry?.removeSingleMetric(name);
    this.metricNames.length = 0;
  }

  /**
   * Buffers one reading. Never throws: a reading the hub would refuse is counted in dropped.invalid or
   * dropped.invalidSensor and skipped, so it never costs the batch it would have travelled in.
   */
  append(reading: Reading): void {
    try {
      const refusal = readingRefusal(reading);
      if (refusal !== undefined) {
        this.dropped[refusal]++;
        const message = refusal === 'invalidSensor' ? 'reading with a sensor id the hub refuses skipped' : 'invalid reading skipped';
        this.warnRepeated(refusal, { reading: describeReading(reading), [refusal]: this.dropped[refusal] }, message);
        return;
      }
      this.buffer.add(reading, this.clock.epoch);
      this.appended++;
      if (this.buffer.size >= this.config.maxChunkReadings && this.storage.mayTry(this.clock.mono())) this.flush();
      if (this.buffer.size > this.maxBuffered) this.shedBuffer();
    } catch (err) {
      this.errors++;
      this.repeats.error(`append\u0000${errorMessage(err)}`, { err }, 'append failed');
    }
  }

  /** Commits the buffered readings now (one chunk per clock epoch). Never throws. */
  flush(): void {
    if (this.buffer.size === 0 || !this.db) return;
    const now = this.clock.now();
    const current = this.clock.epoch;
    const segments = this.buffer.current();
    const opened = this.db;
    let done = this.withDb('commit readings', (db) => this.commit(db, segments, now, current), false);
    // A damaged file was replaced meanwhile: the readings are still in memory, commit them to the new one.
    if (!done && this.db && this.db !== opened) done = this.withDb('commit readings', (db) => this.commit(db, segments, now, current), false);
    if (!done) this.storage.retryLater(this.clock.mono());
  }

  /** Chunk metadata in id order, skipping `exclude` (chunks in flight). */
  pending(limit: number, order: 'oldest' | 'newest', exclude?: ReadonlySet<number>): PendingChunk[] {
    if (!Number.isSafeInteger(limit) || limit <= 0) return [];
    return this.withDb(
      'read pending chunks',
      (db) => {
        const out: PendingChunk[] = [];
        for (const chunk of db.iterate(order === 'newest' ? 'newest' : 'oldest')) {
          if (exclude?.has(chunk.id)) continue;
          out.push(withClockState(chunk, this.catalog));
          if (out.length >= limit) break;
        }
        return out;
      },
      [],
    );
  }

  /**
   * The readings of those chunks, merged per series, oldest first, with timestamps corrected to true time
   * where the clock knows it. Ids no longer held are skipped; a chunk that fails its checksum or cannot be
   * decoded is dropped, never sent: counted in damagedChunks and its readings in dropped.corrupt. Loading
   * stops at the first chunk whose clock state differs from the first loaded chunk's (see LoadedReadings.chunks).
   */
  load(ids: readonly number[]): LoadedReadings {
    const empty: LoadedReadings = { series: [], clockUnsynced: false, chunks: [], readings: 0 };
    const wanted = [...new Set(ids)].filter((id) => Number.isSafeInteger(id)).sort((a, b) => a - b);
    if (wanted.length === 0) return empty;
    return this.withDb(
      'load chunks',
      (db) => {
        const lists: SeriesReadings[][] = [];
        const chunks: PendingChunk[] = [];
        const broken: { chunk: ChunkHead; err: unknown }[] = [];
        let unsyncedBoot: string | undefined;
        let readings = 0;
        for (const id of wanted) {
          const chunk = db.chunk(id);
          if (!chunk) continue;
          if (!chunk.intact) {
            broken.push({ chunk, err: new OutboxError('corrupt', 'chunk does not match its checksum: its bytes changed since it was written') });
            continue;
          }
          const pending = withClockState(chunk, this.catalog);
          // The batch's flag and boot speak for every reading in it: stop where the clock state changes.
          if (chunks.length > 0 && pending.unsyncedBoot !== unsyncedBoot) break;
          let series: SeriesReadings[];
          try {
            series = this.catalog.decode(chunk.data, readingsIn(chunk));
          } catch (err) {
            broken.push({ chunk, err });
            continue;
          }
          const correction = this.catalog.correction(chunk.epoch);
          if (correction !== undefined && correction !== 0) for (const s of series) for (let i = 0; i < s.ts.length; i++) s.ts[i] = s.ts[i]! + correction;
          unsyncedBoot = pending.unsyncedBoot;
          lists.push(series);
          chunks.push(pending);
          readings += readingsIn(chunk);
        }
        if (broken.length > 0) this.dropBroken(db, broken);
        const loaded: LoadedReadings = { series: mergeSeries(lists), clockUnsynced: unsyncedBoot !== undefined, chunks, readings };
        if (unsyncedBoot !== undefined) loaded.boot = unsyncedBoot;
        return loaded;
      },
      empty,
    );
  }

  /** Lowest sequence number still held, or the next one to be given when nothing is held. */
  floor(): number {
    return this.held.head?.id ?? this.nextSeq;
  }

  /** The hub stored [first, last]: deletes every chunk lying inside it. Returns the readings removed. */
  acknowledge(first: number, last: number): number {
    const removed = this.removeRange(first, last, 'acknowledge');
    this.acknowledged += removed;
    return removed;
  }

  /** The hub can never store [first, last]: deletes those chunks like acknowledge(), counted as rejected. */
  reject(first: number, last: number, reason: string): number {
    const removed = this.removeRange(first, last, 'reject');
    this.dropped.rejected += removed;
    if (removed > 0) this.log.warn({ first, last, readings: removed, reason }, 'readings rejected by the hub dropped');
    return removed;
  }

  stats(): OutboxStats {
    return {
      readings: this.held.readings,
      chunks: this.held.chunks,
      bytes: this.held.bytes,
      oldestAgeMs: this.oldestAgeMs(),
      appended: this.appended,
      acceptedTotal: this.acceptedTotal(),
      acknowledged: this.acknowledged,
      buffered: this.buffer.size,
      dropped: { ...this.dropped },
      corruptRecoveries: this.corruptRecoveries,
      damagedChunks: this.damagedChunks,
      uncountedLosses: this.uncountedLosses,
      lastRecovery: this.lastRecovery,
      errors: this.errors,
      storage: this.storage.state(this.db !== undefined),
      storageProblem: this.storage.problem(this.db !== undefined),
      limits: { maxBytes: this.config.maxBytes, maxAgeMs: this.config.maxAgeMs, maxBuffered: this.maxBuffered },
    };
  }

  /** Counts and logs a failed storage operation; `what` stays failing until it or a commit succeeds. */
  private storageFailed(what: string, err: unknown): void {
    this.errors++;
    const why = this.storage.failed(what, err);
    this.repeats.error(`${what}\u0000${why}`, { err, what, path: this.config.path }, what === 'open' ? 'cannot open the outbox database' : 'outbox storage operation failed');
  }

  /**
   * Every reading committed over the outbox's life, plus those buffered for the next flush. Sequence numbers
   * are handed out one per committed reading, so the stream's next number is its count: the total costs no
   * write of its own. What was never flushed is lost with a crash, and then no longer counted.
   */
  private acceptedTotal(): number {
    return this.committedBefore + this.nextSeq + this.buffer.size;
  }

  // ---- opening, recovery ----

  /**
   * Opens the database, recovering from a damaged file; when none is open after, the next try waits for the
   * backoff. Returns an ownership refusal found before start() completed, for start() to throw.
   */
  private openDatabase(): OutboxError | undefined {
    try {
      this.lock ??= OutboxLock.acquire(this.config.path);
      const emptiness = emptyFile(this.config.path);
      if (emptiness === 'empty')
        this.log.warn({ path: this.config.path }, 'the outbox file is empty (0 bytes): it holds no readings, none are counted as lost; starting a fresh outbox in it');
      if (emptiness === 'log_only') throw new OutboxError('corrupt', 'the outbox file is empty (0 bytes) but its write-ahead log is not: the file lost its content');
      this.loadDatabase(OutboxDatabase.open(this.config.path));
    } catch (err) {
      if (isOwnershipConflict(err)) {
        // start() throws it: a refusal for the operator, not a storage failure. Later reopens only log it.
        if (!this.started) return err as OutboxError;
        this.repeats.error(`refused\u0000${errorMessage(err)}`, { err: errorMessage(err), path: this.config.path }, 'outbox refused');
      } else if (isCorruption(err)) this.recover(err, 'open');
      else this.storageFailed('open', err);
    }
    if (!this.db) this.storage.retryLater(this.clock.mono());
    return undefined;
  }

  private loadDatabase(db: OutboxDatabase): void {
    try {
      if (this.agent !== undefined) {
        const claim = claimOutbox(db, this.config.path, this.agent);
        if (claim.outcome === 'taken_over') this.log.warn({ path: this.config.path, previous: claim.previous, agent: this.agent }, 'empty outbox of another agent id taken over');
      }
      db.prune(this.clock.bootId);
      const maxLast = this.held.load(db);
      this.nextSeq = Math.max(db.storedNextSeq(), maxLast === null ? 0 : maxLast + 1);
      this.catalog.load(db);
      this.committedBefore = db.storedCommittedBefore();
    } catch (err) {
      db.close();
      throw err;
    }
    this.db = db;
    this.streamId = db.stream;
    this.storage.writable();
    this.log.info({ path: this.config.path, stream: db.stream, chunks: this.held.chunks, readings: this.held.readings, bytes: this.held.bytes, next: this.nextSeq }, 'outbox open');
    this.clock.attach(this.clockStore);
  }

  private releaseLock(): void {
    try {
      this.lock?.release();
    } catch (err) {
      this.log.warn({ err }, 'releasing the outbox lock failed');
    }
    this.lock = undefined;
  }

  private closeDatabase(): void {
    const db = this.db;
    this.db = undefined;
    try {
      db?.close();
    } catch (err) {
      this.log.warn({ err }, 'closing the outbox database failed');
    }
  }

  /** Moves a damaged file aside and continues with a fresh one. Buffered readings are kept. */
  private recover(err: unknown, where: string): void {
    const previousStream = this.db?.stream;
    // The fresh file starts its sequence at 0; it keeps the damaged file's count in its meta instead.
    const committed = this.committedBefore + this.nextSeq;
    // While it was open the running totals are exact; a file found damaged at start is counted from what it still says.
    const knownLoss = this.db ? exactLoss(this.held.readings) : undefined;
    this.closeDatabase();
    this.held.clear();
    let movedTo: string;
    try {
      movedTo = moveAside(this.config.path, 'corrupt', new Date());
    } catch (moveErr) {
      this.errors++;
      const why = this.storage.failed('open', moveErr);
      this.repeats.write(
        'fatal',
        `aside\u0000${why}`,
        { err: why, path: this.config.path },
        'the outbox database is damaged and cannot be moved aside; readings stay in memory only',
      );
      return;
    }
    this.corruptRecoveries++;
    const loss = knownLoss ?? countLostReadings(movedTo);
    this.dropped.corrupt += loss.readings;
    if (loss.counted !== 'exact') this.uncountedLosses++;
    const summary = describeLoss(loss);
    this.log.error(
      { err, where, path: this.config.path, movedTo, lostReadings: loss.readings, lossCounted: loss.counted, lossAtMost: loss.atMost },
      `outbox database damaged: moved aside, continuing with a fresh one; ${summary}`,
    );
    try {
      this.loadDatabase(OutboxDatabase.open(this.config.path));
    } catch (openErr) {
      this.errors++;
      const why = this.storage.failed('open', openErr);
      this.repeats.write('fatal', `fresh\u0000${why}`, { err: why, path: this.config.path }, 'cannot create a fresh outbox database; readings stay in memory only');
      return;
    }
    this.db!.setCommittedBefore(committed);
    this.committedBefore = committed;
    const recovery: OutboxRecovery = { previousStream, stream: this.db!.stream, movedTo, lostReadings: loss.readings, lossCounted: loss.counted, summary };
    this.lastRecovery = recovery;
    this.emitSafely('recovered', recovery);
  }

  /**
   * Runs one storage operation. Corruption is recovered from (the operation is not retried), any other
   * failure is logged and counted; either way the fallback is returned and nothing is thrown.
   */
  private withDb<T>(what: string, operation: (db: OutboxDatabase) => T, fallback: T): T {
    const db = this.db;
    if (!db) return fallback;
    // Nested calls (a clock callback during a flush) are covered by the outer call's handling.
    if (this.dbDepth > 0) return operation(db);
    let failure: unknown;
    this.dbDepth++;
    try {
      const result = operation(db);
      this.storage.succeeded(what);
      return result;
    } catch (err) {
      failure = err;
    } finally {
      this.dbDepth--;
    }
    if (isCorruption(failure)) {
      this.recover(failure, what);
    } else {
      this.storageFailed(what, failure);
    }
    return fallback;
  }

  private tick(): void {
    // First, so drops are reported while the disk refuses writes too; this tick's own drops go in the next one.
    const report = this.dropReporter.check(this.dropped, this.clock.mono());
    if (report) this.emitSafely('dropped', report);
    // After a failure, the disk gets the backoff's rest before the next open or write.
    if (!this.storage.mayTry(this.clock.mono())) return;
    if (!this.db) {
      this.openDatabase();
      if (!this.db) return;
      // Chunks held from an earlier run can go out now, even before anything new is committed.
      this.emitSafely('opened', this.stream);
    }
    this.flush();
    const now = this.clock.now();
    const current = this.clock.epoch;
    if (this.held.head && this.catalog.ageOf(this.held.head, now, current) > this.config.maxAgeMs) {
      this.withDb(
        'drop expired chunks',
        (db) => {
          const removal = db.transaction(() => this.enforceLimits(db, 0, now, current));
          this.applyRemoval(db, removal);
        },
        undefined,
      );
    }
  }

  // ---- writing ----

  private commit(db: OutboxDatabase, segments: readonly Segment[], now: number, current: ClockEpoch): boolean {
    const { chunks, nextSeq: seq, unencodable } = buildChunks(db, this.catalog, segments, this.nextSeq, this.config.maxChunkReadings, this.log);
    const added = chunks.reduce((sum, c) => sum + c.bytes, 0);
    const removal = db.transaction(() => {
      for (const chunk of chunks) db.insertChunk(chunk);
      const limits = this.enforceLimits(db, added, now, current, chunks[0]);
      // The counter lives in the chunks themselves (max(last) + 1) unless the newest chunk is gone.
      if (limits.rows.some((r) => r.last === seq - 1)) db.setNextSeq(seq);
      return limits;
    });
    this.buffer.committed(segments);
    // The disk took a write: whatever failed before is no longer a reason to say it cannot.
    this.storage.writable();
    this.dropped.invalid += unencodable;
    this.nextSeq = seq;
    this.held.added(chunks);
    this.applyRemoval(db, removal);
    const removedIds = new Set(removal.rows.map((r) => r.id));
    for (const chunk of chunks) if (!removedIds.has(chunk.id)) this.emitSafely('flushed', withClockState(chunk, this.catalog));
    return true;
  }

  /** Deletes the oldest chunks while over the bounds; `firstAdded` is the head when nothing else is held. */
  private enforceLimits(db: OutboxDatabase, addedBytes: number, now: number, current: ClockEpoch, firstAdded?: ChunkHead): Removal {
    const { maxBytes, maxAgeMs } = this.config;
    return removeOverLimits(db, {
      maxBytes,
      maxAgeMs,
      bytes: this.held.bytes + addedBytes,
      head: this.held.head ?? firstAdded,
      ageOf: (chunk) => this.catalog.ageOf(chunk, now, current),
    });
  }

  private applyRemoval(db: OutboxDatabase, removal: Removal): void {
    this.held.removed(db, removal.rows);
    this.dropped.overflow += removal.overflow;
    this.dropped.expired += removal.expired;
    if (removal.overflow > 0)
      this.warnRepeated('overflow', { readings: removal.overflow, total: this.dropped.overflow, maxBytes: this.config.maxBytes }, 'outbox full: oldest readings dropped');
    if (removal.expired > 0)
      this.warnRepeated('expired', { readings: removal.expired, total: this.dropped.expired, maxAgeMs: this.config.maxAgeMs }, 'unsent readings expired and dropped');
  }

  private removeRange(first: number, last: number, what: string): number {
    if (!Number.isSafeInteger(first) || !Number.isSafeInteger(last) || first < 0 || last < first) {
      this.log.warn({ first, last }, `${what}: invalid sequence range ignored`);
      return 0;
    }
    return this.withDb(
      `${what} readings`,
      (db) => {
        const rows = db.transaction(() => {
          const deleted = db.deleteRange(first, last);
          if (deleted.some((r) => r.last === this.nextSeq - 1)) db.setNextSeq(this.nextSeq);
          return deleted;
        });
        return this.held.removed(db, rows);
      },
      0,
    );
  }

  /** Readings over the in-memory limit (the disk has been refusing writes): the oldest go, counted. */
  private shedBuffer(): void {
    const shed = this.buffer.shed(this.maxBuffered);
    this.dropped.overflow += shed;
    this.warnRepeated('buffer', { readings: shed, total: this.dropped.overflow, maxBuffered: this.maxBuffered }, 'outbox cannot write: oldest buffered readings dropped');
  }

  // ---- reading ----

  private dropBroken(db: OutboxDatabase, broken: readonly { chunk: ChunkHead; err: unknown }[]): void {
    const rows = db.transaction(() => {
      const removed: RemovedChunk[] = [];
      for (const { chunk } of broken) {
        const row = db.deleteChunk(chunk.id);
        if (row) removed.push(row);
      }
      if (removed.some((r) => r.last === this.nextSeq - 1)) db.setNextSeq(this.nextSeq);
      return removed;
    });
    const readings = this.held.removed(db, rows);
    this.dropped.corrupt += readings;
    this.damagedChunks += rows.length;
    for (const { chunk, err } of broken) {
      this.log.error(
        { err: errorMessage(err), first: chunk.id, last: chunk.last, readings: readingsIn(chunk), damagedChunks: this.damagedChunks },
        'damaged chunk dropped: its readings are lost',
      );
    }
  }

  private oldestAgeMs(): number {
    if (!this.held.head) return 0;
    return Math.max(0, Math.round(this.catalog.ageOf(this.held.head, this.clock.now(), this.clock.epoch)));
  }

  // ---- reporting ----

  /** Written the first time, then once per interval with how often it repeated. */
  private warnRepeated(kind: string, details: Record<string, unknown>, message: string): void {
    this.repeats.warn(kind, details, message);
  }

  private emitSafely<K extends keyof OutboxEvents>(event: K, ...args: OutboxEvents[K]): void {
    // Listeners run inside append()/flush(), which must not throw.
    try {
      (this.emit as (event: K, ...args: OutboxEvents[K]) => boolean)(event, ...args);
    } catch (err) {
      this.log.error({ err, event }, 'outbox event listener failed');
    }
  }
}
