/**
 * The readings write queue: validate → drop duplicates → queue → write to the SeriesStore in grouped writes,
 * one at a time → once the write is durable: record the ranges (DedupeStore), publish to the live bus, and only
 * then acknowledge. The agent keeps a batch in its outbox until acknowledged, so the rule that makes this
 * lossless is simple: never ack what is not stored; when in doubt, stay silent and let the agent resend.
 *
 * A 'rejected' ack makes the agent drop the batch, so it is sent only for problems that resending cannot fix
 * (the batch itself is wrong, or the store refuses its content for good: `invalid_write`, `write_rejected`).
 * A batch the store refuses is found by splitting the grouped write in halves until it stands alone, so it
 * never holds up the others. Readings of a new series past the store's limit per agent are left out, counted
 * and logged; the rest of their batch is stored and acknowledged. Problems on the hub's side (registry or
 * store unavailable, queue full, agent not enrolled yet) get no ack: the agent resends later.
 */
import { ProtocolError, UNKNOWN_BOOT, countReadings, decodeBatch, type ReadingBatch } from '@pulsebridge/protocol';
import { Backoff, endWithError, errorMessage, settlesWithin, type Span } from '@pulsebridge/runtime';
import type { AgentMessage } from '../broker/transport.ts';
import type { LiveBus, LiveReadings } from '../live/live-bus.ts';
import { SeriesStoreError } from '../storage/series/errors.ts';
import type { SeriesStore, SeriesWrite, WriteResult } from '../storage/series/series-store.ts';
import type { UnsyncedWrite } from '../storage/series/unsynced.ts';
import type { UnsyncedBootsHeld } from '../unsynced/unsynced-tally.ts';
import { AgentGyms } from './agent-gyms.ts';
import type { DedupeStore } from './dedupe-store.ts';
import { PERMANENT_REASONS, type RejectReason } from './ingest-counts.ts';
import type { IngestContext } from './ingest-context.ts';
import { readingsInWindow, type ReadingTimeWindow } from './time-window.ts';
import { IngestSpans, within } from '../telemetry/ingest-spans.ts';

export interface ReadingsQueueConfig extends ReadingTimeWindow {
  maxBatchBytes: number;
  maxWriteReadings: number;
  maxWriteDelayMs: number;
  maxQueuedReadings: number;
  retryDelayMs: number;
  maxRetryDelayMs: number;
}

interface QueuedBatch {
  agent: string;
  gym: string;
  batch: ReadingBatch;
  readings: number;
  key: string;
  /** performance.now() when queued: how long it has waited for a write. */
  queuedAt: number;
  /**
   * 0 normally. After the store refused a grouped write as invalid, each half of that group gets its own
   * id and is written only as that half, halved again at each refusal until the batch at fault is alone.
   */
  suspect: number;
  /** While the hub traces: the batch's handling, from its arrival to its ack, in the agent's trace. */
  span: Span | undefined;
}

const batchKey = (agent: string, b: { stream: string; first: number; last: number }): string => `${agent}\u0000${b.stream}\u0000${b.first}\u0000${b.last}`;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const MAX_ACK_REASON_CHARS = 256;

export class ReadingsWriteQueue {
  private readonly config: ReadingsQueueConfig;
  private readonly context: IngestContext;
  private readonly gyms: AgentGyms;
  private readonly store: SeriesStore;
  private readonly live: LiveBus;
  private readonly dedupe: DedupeStore;
  private readonly retry: Backoff;

  private running = false;
  private queue: QueuedBatch[] = [];
  private queued = 0;
  /** Keys of queued batches (in flight included): a resend of one of them is not queued twice. */
  private readonly queuedKeys = new Set<string>();
  private writing: Promise<boolean> | undefined;
  private flushTimer: NodeJS.Timeout | undefined;
  private lastSuspectGroup = 0;
  private readonly onUnsyncedStored: () => void;
  private readonly onStored: (readings: LiveReadings) => void;
  private readonly unsyncedBoots: UnsyncedBootsHeld | undefined;
  private readonly spans: IngestSpans | undefined;

  constructor(options: {
    config: ReadingsQueueConfig;
    context: IngestContext;
    store: SeriesStore;
    live: LiveBus;
    dedupe: DedupeStore;
    /** Called after a write that stored readings of an unconfirmed clock (held apart from the series). */
    onUnsyncedStored?: () => void;
    /** Called with each batch's readings once stored (those of this hub's ingest only, unlike the live bus). */
    onStored?: (readings: LiveReadings) => void;
    /** What each agent holds apart, to refuse readings past its boot and sensor limits. */
    unsyncedBoots?: UnsyncedBootsHeld;
  }) {
    this.config = options.config;
    this.unsyncedBoots = options.unsyncedBoots;
    this.onUnsyncedStored = options.onUnsyncedStored ?? (() => {});
    this.onStored = options.onStored ?? (() => {});
    this.context = options.context;
    this.gyms = new AgentGyms(options.context.registry);
    this.store = options.store;
    this.live = options.live;
    this.dedupe = options.dedupe;
    this.spans = IngestSpans.create(options.store);
    // Doubling without jitter: one hub retries its own store, there is no crowd to spread out.
    this.retry = new Backoff({ initialMs: this.config.retryDelayMs, maxMs: this.config.maxRetryDelayMs, jitter: 0 });
  }

  /** Readings waiting for the store, the write in flight included. */
  get queuedReadings(): number {
    return this.queued;
  }

  start(): void {
    this.running = true;
    // After a stop() that ran out of time, what it could not write is still queued.
    this.scheduleFlush();
  }

  /** Writes and acknowledges what is queued, for at most `withinMs`; true when nothing is left. */
  async drain(withinMs: number): Promise<boolean> {
    this.running = false;
    this.clearFlushTimer();
    const deadline = performance.now() + withinMs;
    const remaining = (): number => Math.max(0, deadline - performance.now());
    const pause = new Backoff({ initialMs: this.config.retryDelayMs, maxMs: this.config.maxRetryDelayMs, jitter: 0 });
    while ((this.queue.length > 0 || this.writing) && remaining() > 0) {
      const write = this.writing ?? this.flush();
      if (!(await settlesWithin(write, remaining()))) break;
      if (!(await write)) await sleep(Math.min(remaining(), pause.next()));
    }
    this.clearFlushTimer();
    return this.queue.length === 0 && !this.writing;
  }

  /** How much is left after a drain that ran out of time. */
  backlog(): { batches: number; readings: number } {
    return { batches: this.queue.length, readings: this.queued };
  }

  async handle({ agent, payload }: AgentMessage): Promise<void> {
    let batch: ReadingBatch;
    try {
      batch = decodeBatch(payload, this.config.maxBatchBytes);
    } catch (err) {
      if (err instanceof ProtocolError) {
        this.reject(agent, err.code, err.message, err.batch);
      } else {
        this.reject(agent, 'decode_failure', errorMessage(err), undefined);
        this.context.errorLimited(agent, 'decoder', { err, bytes: payload.byteLength }, 'readings decoder failed unexpectedly');
      }
      return;
    }
    if (!this.spans) {
      await this.handleBatch(agent, batch, undefined);
      return;
    }
    const span = this.spans.batch(agent, batch, payload.byteLength);
    try {
      // Ended here unless the batch was queued: then its ack ends it.
      const queued = await within(span, () => this.handleBatch(agent, batch, span));
      if (!queued) span.end();
    } catch (err) {
      endWithError(span, err);
      throw err;
    }
  }

  /** True when the batch was queued for a write. */
  private async handleBatch(agent: string, batch: ReadingBatch, span: Span | undefined): Promise<boolean> {
    const { counts } = this.context;
    if (batch.agent !== agent) {
      this.reject(agent, 'agent_mismatch', `batch names agent "${batch.agent}" but was sent by "${agent}"`, batch, span);
      return false;
    }

    let gym: string;
    try {
      const known = await this.gyms.gymOf(agent);
      if (known === undefined) {
        this.reject(agent, 'unknown_agent', `agent "${agent}" is not in the registry`, undefined, span);
        return false;
      }
      gym = known;
    } catch (err) {
      counts.batch('deferred');
      this.context.logLimited(agent, 'registry', { err }, 'registry lookup failed; batch not acknowledged, the agent will resend');
      span?.setAttribute('pulsebridge.outcome', 'deferred');
      return false;
    }

    // The embedded store answers at once; a shared one (PostgreSQL) is asked, and the SQLite path pays no await.
    let duplicate = this.dedupe.isDuplicate(agent, batch.stream, batch.first, batch.last);
    if (typeof duplicate !== 'boolean') {
      duplicate = await duplicate.catch((err: unknown) => {
        // Writing it again is safe (stores are idempotent); refusing it would only make the agent wait.
        this.context.logLimited(agent, 'dedupe:check', { err }, 'could not check the batch against the stored ranges; writing it (again)');
        return false;
      });
    }
    if (duplicate) {
      counts.batch('duplicate');
      span?.setAttribute('pulsebridge.outcome', 'duplicate');
      this.context.ack(agent, { stream: batch.stream, first: batch.first, last: batch.last, result: 'duplicate' }, this.spans?.ack(span));
      return false;
    }
    const key = batchKey(agent, batch);
    if (this.queuedKeys.has(key)) {
      counts.batch('in_progress');
      span?.setAttribute('pulsebridge.outcome', 'in_progress');
      return false;
    }
    // Unsynced times are not wrong yet, only unconfirmed: the window judges true times.
    if (!batch.clockUnsynced) batch = this.withoutReadingsOutOfWindow(agent, batch);
    const readings = countReadings(batch.series);
    // One batch larger than the whole queue would never fit; an empty queue takes it (maxBatchBytes bounds it).
    if (this.queue.length > 0 && this.queued + readings > this.config.maxQueuedReadings) {
      counts.batch('dropped_backpressure');
      this.context.logLimited('*', 'backpressure', { queuedReadings: this.queued }, 'ingest queue full; batches are not acknowledged until the store catches up');
      span?.setAttribute('pulsebridge.outcome', 'dropped_backpressure');
      return false;
    }
    this.queue.push({ agent, gym, batch, readings, key, queuedAt: performance.now(), suspect: 0, span });
    this.queuedKeys.add(key);
    this.queued += readings;
    this.scheduleFlush();
    return true;
  }

  /** The batch without the readings stamped outside the hub's time window, which are counted and logged. */
  private withoutReadingsOutOfWindow(agent: string, batch: ReadingBatch): ReadingBatch {
    const now = this.context.now();
    const { series, refused } = readingsInWindow(batch.series, now, this.config);
    if (refused.too_old === 0 && refused.too_far_ahead === 0) return batch;
    const { counts } = this.context;
    counts.readingsRefused.too_old += refused.too_old;
    counts.readingsRefused.too_far_ahead += refused.too_far_ahead;
    this.context.logLimited(
      agent,
      'readings:time_window',
      {
        stream: batch.stream,
        first: batch.first,
        last: batch.last,
        refused,
        hubTime: now,
        maxReadingAgeMs: this.config.maxReadingAgeMs,
        maxReadingLeadMs: this.config.maxReadingLeadMs,
      },
      'readings stamped outside the time window around the hub clock refused; the rest of the batch is stored',
    );
    return { ...batch, series };
  }

  private scheduleFlush(): void {
    if (!this.running || this.writing || this.flushTimer || this.queue.length === 0) return;
    const oldest = this.queue[0]!;
    const delay = this.queued >= this.config.maxWriteReadings ? 0 : Math.max(0, oldest.queuedAt + this.config.maxWriteDelayMs - performance.now());
    this.flushAfter(delay);
  }

  /** The one timer: the next grouped write, or the retry of a failed one (which holds new flushes until due). */
  private flushAfter(ms: number): void {
    this.clearFlushTimer();
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      void this.flush();
    }, ms);
    // stop() drains explicitly; a pending flush alone must not keep the process alive.
    this.flushTimer.unref();
  }

  private clearFlushTimer(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
  }

  /** Writes the oldest queued batches as one store write. Resolves true when it stored them; never rejects. */
  private flush(): Promise<boolean> {
    if (this.writing) return this.writing;
    if (this.queue.length === 0) return Promise.resolve(true);
    let take = 0;
    let readings = 0;
    const suspect = this.queue[0]!.suspect;
    while (
      take < this.queue.length &&
      // Batches under suspicion are written only with the rest of their half.
      this.queue[take]!.suspect === suspect &&
      (take === 0 || readings + this.queue[take]!.readings <= this.config.maxWriteReadings)
    ) {
      readings += this.queue[take]!.readings;
      take++;
    }
    const group = this.queue.splice(0, take);
    const write = this.writeGroup(group, readings).finally(() => {
      this.writing = undefined;
      this.scheduleFlush();
    });
    this.writing = write;
    return write;
  }

  private async writeGroup(group: QueuedBatch[], readings: number): Promise<boolean> {
    const { counts, log } = this.context;
    const started = performance.now();
    let result: WriteResult & { limited: number };
    const span = this.spans?.write(
      group.map((q) => q.span),
      readings,
    );
    try {
      result = await within(span, () => this.storeGroup(group));
      span?.end();
    } catch (err) {
      if (span) endWithError(span, err);
      counts.writeSeconds?.observe((performance.now() - started) / 1000);
      if (err instanceof SeriesStoreError && (err.code === 'invalid_write' || err.code === 'write_rejected')) {
        this.onRefusedWrite(group, readings, err);
        return true;
      }
      counts.storeFailures++;
      // Back to the front, in order: nothing is acknowledged, and the retry keeps the agents' order.
      this.queue = group.concat(this.queue);
      const retryIn = this.retry.next();
      log.error({ err, batches: group.length, readings, retryInMs: retryIn }, 'store write failed; batches kept unacknowledged for retry');
      if (this.running) this.flushAfter(retryIn);
      return false;
    }
    counts.writeSeconds?.observe((performance.now() - started) / 1000);
    this.retry.reset();
    this.queued -= readings;
    const refusedReadings = this.countRefused(group, result) + result.limited;
    counts.readingsStored += readings - refusedReadings;

    try {
      const recorded = this.dedupe.record(group.map((q) => ({ agent: q.agent, stream: q.batch.stream, first: q.batch.first, last: q.batch.last, floor: q.batch.floor })));
      const skipped = Array.isArray(recorded) ? recorded : await recorded;
      for (const e of skipped)
        this.context.logLimited(
          e.agent,
          'dedupe:invalid_range',
          { stream: e.stream, first: e.first, last: e.last, floor: e.floor },
          'stored batch has no valid sequence range; resends of it will be written again',
        );
    } catch (err) {
      // The readings are stored, so the ack stays right; a resend will just be written again (idempotent).
      log.error({ err, batches: group.length }, 'could not record stored ranges for dedupe');
    }
    // Only now: until the ranges are recorded, a resend arriving meanwhile is caught here instead of written again.
    for (const q of group) this.queuedKeys.delete(q.key);
    // Live subscribers see what is stored, as it happens: the series the store refused are left out, and so are
    // readings whose true time is unknown (they are listed under /unsynced).
    const refusedSeries = new Set(result.refused.map((r) => `${r.batch}\u0000${r.sensor}\u0000${r.metric}`));
    for (const [b, q] of group.entries()) {
      if (q.batch.clockUnsynced) continue;
      const series = refusedSeries.size === 0 ? q.batch.series : q.batch.series.filter((s) => !refusedSeries.has(`${b}\u0000${s.sensor}\u0000${s.metric}`));
      if (series.length > 0 || q.batch.series.length === 0) {
        const stored = { gym: q.gym, agent: q.agent, series };
        // Apart: a failing live viewer must not keep late readings from making results be computed again.
        try {
          this.live.publish(stored);
        } catch (err) {
          this.context.logLimited('*', 'live', { err }, 'a live subscriber failed');
        }
        try {
          this.onStored(stored);
        } catch (err) {
          this.context.logLimited('*', 'stored', { err }, 'noting stored readings for session results failed');
        }
      }
    }
    for (const q of group) {
      counts.batch('stored');
      q.span?.setAttribute('pulsebridge.outcome', 'stored');
      this.context.ack(q.agent, { stream: q.batch.stream, first: q.batch.first, last: q.batch.last, result: 'stored' }, this.spans?.ack(q.span));
      q.span?.end();
    }
    return true;
  }

  /** Counts and logs the series the store left out for their agent's series limit; returns their readings. */
  private countRefused(group: QueuedBatch[], result: WriteResult): number {
    let total = 0;
    for (const refused of result.refused) {
      total += refused.readings;
      this.context.counts.readingsRefused.series_limit += refused.readings;
      const q = group[refused.batch];
      this.context.logLimited(
        refused.agent,
        'series_limit',
        { sensor: refused.sensor, metric: refused.metric, readings: refused.readings, stream: q?.batch.stream, first: q?.batch.first, last: q?.batch.last },
        'new series refused: the agent has the most series the store keeps per agent (series.maxSeriesPerAgent); the rest of the batch is stored',
      );
    }
    return total;
  }

  /**
   * Readings of an unconfirmed clock go to the store's unsynced side, apart from the series: their times are
   * their boot's own wall clock, which an operator may correct later. Both writes are idempotent, so a retry
   * after the second failed writes the first again harmlessly. A refused series names its batch's index in
   * the group; `limited` counts the readings held apart refused for the agent's boot or sensor limit.
   */
  private async storeGroup(group: readonly QueuedBatch[]): Promise<WriteResult & { limited: number }> {
    const synced: SeriesWrite[] = [];
    const syncedAt: number[] = [];
    const unsynced: UnsyncedWrite[] = [];
    let limited = 0;
    for (const [i, { gym, agent, batch, readings }] of group.entries()) {
      if (batch.clockUnsynced) {
        const boot = batch.boot ?? UNKNOWN_BOOT;
        const admitted = this.unsyncedBoots
          ? this.unsyncedBoots.admit(
              agent,
              boot,
              batch.series.map((x) => x.sensor),
            )
          : undefined;
        if (this.unsyncedBoots && !admitted) {
          limited += readings;
          this.context.counts.readingsRefused.unsynced_boot_limit += readings;
          this.context.logLimited(
            agent,
            'unsynced_boot_limit',
            { boot, readings, stream: batch.stream, first: batch.first, last: batch.last },
            'readings of an unconfirmed clock refused: the agent already has ingest.maxUnsyncedBootsPerAgent boots held apart; correct or discard one',
          );
          continue;
        }
        let series = batch.series;
        if (admitted && admitted.size < new Set(series.map((x) => x.sensor)).size) {
          series = series.filter((x) => admitted.has(x.sensor));
          const over = readings - countReadings(series);
          limited += over;
          this.context.counts.readingsRefused.series_limit += over;
          this.context.logLimited(
            agent,
            'series_limit',
            { boot, readings: over, stream: batch.stream, first: batch.first, last: batch.last },
            'readings of new sensors held apart refused: the agent has the most sensors the hub holds apart per agent (series.maxSeriesPerAgent)',
          );
        }
        if (series.length > 0) unsynced.push({ gym, agent, boot, series });
      } else {
        synced.push({ gym, agent, series: batch.series });
        syncedAt.push(i);
      }
    }
    const result = synced.length > 0 ? await this.store.write(synced) : { refused: [] };
    if (unsynced.length > 0) {
      await this.store.writeUnsynced(unsynced);
      this.onUnsyncedStored();
    }
    return { refused: result.refused.map((r) => ({ ...r, batch: syncedAt[r.batch]! })), limited };
  }

  /**
   * The store refused the content of a write: no retry will change that. A batch alone is rejected; a group
   * goes back to the front split in halves, so the batch at fault is found in about 2·log2(group) writes.
   */
  private onRefusedWrite(group: QueuedBatch[], readings: number, err: SeriesStoreError): void {
    if (group.length === 1) {
      const q = group[0]!;
      this.queuedKeys.delete(q.key);
      this.queued -= readings;
      this.reject(q.agent, 'store_refused', err.message, q.batch, q.span);
      q.span?.end();
      return;
    }
    const half = Math.ceil(group.length / 2);
    const firstHalf = ++this.lastSuspectGroup;
    const secondHalf = ++this.lastSuspectGroup;
    group.forEach((q, i) => (q.suspect = i < half ? firstHalf : secondHalf));
    this.queue = group.concat(this.queue);
    this.context.logLimited('*', 'store_refused_group', { batches: group.length, detail: err.message }, 'store refused a grouped write; writing its batches in smaller groups');
  }

  private reject(agent: string, reason: RejectReason, detail: string, range: { stream: string; first: number; last: number } | undefined, span?: Span): void {
    const { counts } = this.context;
    span?.setAttribute('pulsebridge.outcome', `rejected:${reason}`);
    counts.batch('rejected');
    counts.rejected[reason]++;
    const acked = range !== undefined && PERMANENT_REASONS.has(reason);
    this.context.logLimited(agent, `reject:${reason}`, { reason, detail, stream: range?.stream, first: range?.first, last: range?.last, acked }, 'readings batch rejected');
    if (acked) {
      this.context.ack(
        agent,
        { stream: range.stream, first: range.first, last: range.last, result: 'rejected', reason: `${reason}: ${detail}`.slice(0, MAX_ACK_REASON_CHARS) },
        this.spans?.ack(span),
      );
    }
  }
}
