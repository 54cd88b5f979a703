// Over 500 lines: one state machine (the window of unconfirmed batches, their resends, the clock hold-back and each batch's trace span) that reads best whole.
/**
 * Sends outbox readings to the hub and deletes them once the hub confirms durable storage.
 *
 * Delivery is confirmed at the application level: the hub answers every readings batch with an `ack`
 * message after its write is durable, because a PUBACK only proves that a broker (possibly an external one)
 * took the packet. At most `window` batches are unconfirmed at a time; one is sent again after
 * `ackTimeoutMs` or a reconnect. The hub deduplicates by (agent, stream, sequence), so resending is always
 * safe. Which chunks go next (live lane or backlog) is the batch planner's decision.
 *
 * After each connect, while the agent's clock does not know true time, chunks that would go out flagged
 * `clockUnsynced` are held back until the hub's time answer has been applied (the answer to the status
 * published on connect, a round trip away) or `clockSyncWaitMs` has passed: sent a moment too early they
 * would carry wall-clock times the hub cannot correct. Chunks whose times are known go at once.
 */
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { Histogram } from 'prom-client';
import { countReadings, decodeJsonMessage, encodeBatch, type AckMessage, type MessageKind, type SeriesReadings } from '@pulsebridge/protocol';
import { SpanKind, SpanStatusCode, context, errorMessage, trace, traceparentOf, tracerFor, type Span, type Tracer } from '@pulsebridge/runtime';
import { planBatch, type Lane, type PlannableChunk } from './batch-planner.ts';
import type { UplinkConfig } from './config.ts';

/** The outbox as the uplink uses it; `Outbox` from ../outbox/outbox.ts fits it. */
export interface UplinkOutbox {
  readonly stream: string;
  pending(limit: number, order: 'oldest' | 'newest', exclude?: ReadonlySet<number>): PlannableChunk[];
  load(ids: readonly number[]): LoadedChunks;
  floor(): number;
  acknowledge(first: number, last: number): number;
  reject(first: number, last: number, reason: string): number;
  stats(): { readings: number; bytes: number; oldestAgeMs: number; dropped: { overflow: number; expired: number; rejected: number; invalid: number } };
}

export interface LoadedChunks {
  series: SeriesReadings[];
  clockUnsynced: boolean;
  boot?: string;
  /** The chunks actually loaded; fewer than asked when some were dropped meanwhile (e.g. found corrupt). */
  chunks?: readonly unknown[];
}

/** Where batches go: the MQTT session. */
export interface BatchChannel {
  readonly ready: boolean;
  publish(kind: MessageKind, payload: Buffer, retain: boolean, done?: (err: Error | undefined) => void): boolean;
}

export type SenderOptions = Pick<UplinkConfig, 'window' | 'maxBatchReadings' | 'maxBatchBytes' | 'liveBatchDelayMs' | 'liveAgeMs' | 'ackTimeoutMs' | 'clockSyncWaitMs'> & {
  agent: string;
  outbox: UplinkOutbox;
  channel: BatchChannel;
  log: Logger;
  /** Wall clock, UTC ms. */
  now: () => number;
  /** True once the agent's clock knows true time for its boot (the hub answered, or the clock was set). */
  clockSynced: () => boolean;
  /** Something an operator should hear about (readings dropped as unencodable). */
  event: (type: string, detail: string) => void;
  ackLatency?: Histogram | undefined;
};

export interface SenderStats {
  batchesSent: number;
  batchesAcked: number;
  batchesRejected: number;
  /** Batches that carried at least one chunk sent before (after a lost ack or a reconnect). */
  batchesResent: number;
  ackTimeouts: number;
  readingsSent: number;
  readingsAcked: number;
  readingsRejected: number;
  bytesSent: number;
  liveBatches: number;
  backlogBatches: number;
  malformedAcks: number;
  foreignAcks: number;
  unencodable: number;
  /** Connects after which the hub's time answer did not arrive within clockSyncWaitMs. */
  clockSyncWaitsExpired: number;
}

interface InFlightBatch {
  key: string;
  ids: number[];
  first: number;
  last: number;
  readings: number;
  bytes: number;
  lane: Lane;
  sentAtMono: number;
  timer: NodeJS.Timeout;
  /** The send's span while the process traces: from the publish to the ack (or giving up on it). */
  span: Span | undefined;
}

/** Why a batch stopped waiting for its ack without one: the status its span ends with. */
type Unacknowledged = 'ack timeout' | 'publish failed' | 'connection lost or stopping';

/** How many chunks one planning step reads from the outbox: bounds a batch's chunk count too. */
const PLAN_SCAN_CHUNKS = 1_024;
/** After an outbox error, how long before trying to plan again. */
const OUTBOX_RETRY_MS = 1_000;

export const truncate = (text: string, max: number): string => (text.length <= max ? text : `${text.slice(0, max - 1)}…`);

export class Sender {
  private readonly options: SenderOptions;
  private readonly log: Logger;
  private readonly inFlight = new Map<string, InFlightBatch>();
  private readonly inFlightChunks = new Set<number>();
  /** Chunks sent at least once and not known to be acknowledged, with their last sequence number. */
  private readonly sentChunks = new Map<number, number>();
  private lastLane: Lane | undefined;
  private pumpScheduled = false;
  private liveTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  /** Runs from a connect until the time answer is due at the latest; flagged chunks wait meanwhile. */
  private clockSyncWait: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly tracer: Tracer | undefined = tracerFor('pulsebridge-agent/uplink');

  readonly stats: SenderStats = {
    batchesSent: 0,
    batchesAcked: 0,
    batchesRejected: 0,
    batchesResent: 0,
    ackTimeouts: 0,
    readingsSent: 0,
    readingsAcked: 0,
    readingsRejected: 0,
    bytesSent: 0,
    liveBatches: 0,
    backlogBatches: 0,
    malformedAcks: 0,
    foreignAcks: 0,
    unencodable: 0,
    clockSyncWaitsExpired: 0,
  };
  lastAckAt: number | null = null;
  lastAckLatencyMs: number | null = null;

  constructor(options: SenderOptions) {
    this.options = options;
    this.log = options.log;
  }

  get inFlightBatches(): number {
    return this.inFlight.size;
  }

  /** There may be something to send: plans on a later turn of the event loop. */
  wake(): void {
    if (this.pumpScheduled || this.stopped || !this.options.channel.ready) return;
    this.pumpScheduled = true;
    // One batch per turn of the event loop: encoding a large batch takes milliseconds, and sources must keep up.
    setImmediate(() => {
      this.pumpScheduled = false;
      this.guard('pump', () => this.pump());
    });
  }

  /**
   * The connection is up. Unless the clock already knows true time, chunks of unknown time wait for the
   * hub's time answer (the caller wakes the sender when it was applied), for clockSyncWaitMs at most.
   */
  connected(): void {
    this.endClockSyncWait();
    if (this.options.clockSyncWaitMs === 0 || this.options.clockSynced()) return;
    const waitMs = this.options.clockSyncWaitMs;
    this.clockSyncWait = setTimeout(() => {
      this.clockSyncWait = undefined;
      this.guard('clock sync wait', () => {
        if (this.options.clockSynced()) return;
        this.stats.clockSyncWaitsExpired++;
        this.log.warn({ waitedMs: waitMs }, 'no time answer from the hub in time: readings of unknown true time are sent flagged clockUnsynced');
        this.wake();
      });
    }, waitMs);
    this.clockSyncWait.unref();
  }

  /** The connection is gone: the next connect waits for its own time answer. */
  disconnected(): number {
    this.endClockSyncWait();
    return this.requeueAll();
  }

  /** Every batch in flight becomes sendable again (the connection is gone); returns how many there were. */
  requeueAll(): number {
    const count = this.inFlight.size;
    for (const batch of [...this.inFlight.values()]) this.release(batch, 'connection lost or stopping');
    return count;
  }

  /**
   * The outbox replaced its database: chunk ids and sequence numbers restart in a new stream, so nothing
   * known about the old one's batches may be applied to the new one.
   */
  outboxReplaced(): number {
    const requeued = this.requeueAll();
    this.sentChunks.clear();
    this.wake();
    return requeued;
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.liveTimer);
    clearTimeout(this.retryTimer);
    this.endClockSyncWait();
    this.requeueAll();
  }

  private endClockSyncWait(): void {
    clearTimeout(this.clockSyncWait);
    this.clockSyncWait = undefined;
  }

  /** Chunks flagged unsynced are held while a connect's wait for the time answer runs and the clock is unsynced. */
  private holdingUnsynced(): boolean {
    if (this.clockSyncWait === undefined) return false;
    if (!this.options.clockSynced()) return true;
    this.endClockSyncWait();
    return false;
  }

  onAck(payload: Buffer): void {
    let ack: AckMessage;
    try {
      ack = decodeJsonMessage('ack', payload);
      if (ack.last < ack.first) throw new Error(`range ${ack.first}..${ack.last} is reversed`);
    } catch (err) {
      this.stats.malformedAcks++;
      this.log.warn({ err: errorMessage(err), bytes: payload.byteLength }, 'malformed acknowledgement ignored');
      return;
    }
    const outbox = this.options.outbox;
    if (ack.stream !== outbox.stream) {
      // An ack for an outbox this agent no longer has (it was recreated): nothing to delete.
      this.stats.foreignAcks++;
      this.log.debug({ stream: ack.stream, first: ack.first, last: ack.last }, 'acknowledgement for another stream ignored');
      return;
    }
    const batch = this.inFlight.get(`${ack.first}-${ack.last}`);
    if (batch) {
      batch.span?.setAttribute('pulsebridge.ack.result', ack.result);
      this.release(batch);
      for (const id of batch.ids) this.sentChunks.delete(id);
      this.lastAckLatencyMs = performance.now() - batch.sentAtMono;
      this.options.ackLatency?.observe(this.lastAckLatencyMs / 1_000);
    }
    try {
      if (ack.result === 'rejected') {
        const reason = ack.reason ?? 'rejected by the hub';
        const dropped = outbox.reject(ack.first, ack.last, reason);
        this.stats.batchesRejected++;
        this.stats.readingsRejected += dropped;
        this.log.warn({ first: ack.first, last: ack.last, dropped, reason }, 'hub rejected a batch; its readings are dropped');
      } else {
        this.stats.readingsAcked += outbox.acknowledge(ack.first, ack.last);
        this.stats.batchesAcked++;
        this.lastAckAt = Math.max(0, Math.round(this.options.now()));
      }
    } catch (err) {
      this.onOutboxError('apply an acknowledgement', err);
    }
    if (this.sentChunks.size > PLAN_SCAN_CHUNKS * this.options.window) this.pruneSentChunks();
    this.wake();
  }

  /** Forgets sent chunks the outbox no longer holds (acknowledged in another range, dropped, expired). */
  pruneSentChunks(): void {
    let floor: number;
    try {
      floor = this.options.outbox.floor();
    } catch {
      return;
    }
    for (const [id, last] of this.sentChunks) if (last < floor) this.sentChunks.delete(id);
  }

  private pump(): void {
    if (this.stopped || !this.options.channel.ready) return;
    const window = this.options.window;
    if (this.inFlight.size >= window) return;
    const outbox = this.options.outbox;
    let oldest: PlannableChunk[];
    let newest: PlannableChunk[];
    try {
      oldest = outbox.pending(PLAN_SCAN_CHUNKS, 'oldest', this.inFlightChunks);
      newest = oldest.length < PLAN_SCAN_CHUNKS ? [...oldest].reverse() : outbox.pending(PLAN_SCAN_CHUNKS, 'newest', this.inFlightChunks);
    } catch (err) {
      this.onOutboxError('read pending chunks', err);
      return;
    }
    if (this.holdingUnsynced()) {
      // Held chunks are gaps to the planner; the time answer or the end of the wait wakes the sender again.
      const known = (c: PlannableChunk): boolean => c.unsyncedBoot === undefined;
      oldest = oldest.filter(known);
      newest = newest.filter(known);
    }
    let backlogInFlight = 0;
    for (const batch of this.inFlight.values()) if (batch.lane === 'backlog') backlogInFlight++;
    const plan = planBatch(
      {
        oldest,
        newest,
        now: Math.max(0, Math.round(this.options.now())),
        lastLane: this.lastLane,
        // Keep one slot for live data so a full window of backlog cannot delay it by a whole ack round trip.
        backlogSlotFree: window === 1 || backlogInFlight < window - 1,
      },
      this.options,
    );
    if (plan.kind === 'idle') return;
    if (plan.kind === 'wait') {
      clearTimeout(this.liveTimer);
      this.liveTimer = setTimeout(() => {
        this.liveTimer = undefined;
        this.wake();
      }, plan.ms);
      this.liveTimer.unref();
      return;
    }
    this.send(plan.chunks, plan.lane);
    if (this.inFlight.size < window) this.wake();
  }

  private send(chunks: readonly PlannableChunk[], lane: Lane): void {
    const outbox = this.options.outbox;
    const first = chunks[0]!.first;
    const last = chunks[chunks.length - 1]!.last;
    const ids = chunks.map((c) => c.id);
    let loaded: LoadedChunks;
    let floor: number;
    try {
      loaded = outbox.load(ids);
      floor = outbox.floor();
    } catch (err) {
      this.onOutboxError('load chunks', err);
      return;
    }
    if (loaded.chunks && loaded.chunks.length !== ids.length) {
      // Some chunks vanished while loading (the outbox dropped them as corrupt), or their clock state changed
      // since planning (true time became known) and one load does not mix states: plan again.
      this.wake();
      return;
    }
    const readings = countReadings(loaded.series);
    const span = this.tracer?.startSpan('readings send', {
      kind: SpanKind.PRODUCER,
      attributes: {
        'messaging.system': 'mqtt',
        'messaging.operation.type': 'send',
        'pulsebridge.agent': this.options.agent,
        'pulsebridge.stream': outbox.stream,
        'pulsebridge.first': first,
        'pulsebridge.last': last,
        'pulsebridge.readings': readings,
        'pulsebridge.lane': lane,
      },
    });
    const traceparent = span ? traceparentOf(span) : undefined;
    let payload: Buffer;
    try {
      payload = encodeBatch({
        agent: this.options.agent,
        stream: outbox.stream,
        first,
        last,
        floor,
        clockUnsynced: loaded.clockUnsynced,
        ...(loaded.boot === undefined ? {} : { boot: loaded.boot }),
        series: loaded.series,
        ...(traceparent === undefined ? {} : { traceparent }),
      });
    } catch (err) {
      span?.setStatus({ code: SpanStatusCode.ERROR, message: `not encodable: ${errorMessage(err)}` });
      span?.end();
      this.isolateUnencodable(chunks, err);
      this.wake();
      return;
    }
    span?.setAttribute('messaging.message.body.size', payload.byteLength);
    const key = `${first}-${last}`;
    const timer = setTimeout(() => this.guard('ack timeout', () => this.onAckTimeout(key)), this.options.ackTimeoutMs);
    timer.unref();
    const batch: InFlightBatch = { key, ids, first, last, readings, bytes: payload.byteLength, lane, sentAtMono: performance.now(), timer, span };
    this.inFlight.set(key, batch);
    let resent = false;
    for (const chunk of chunks) {
      this.inFlightChunks.add(chunk.id);
      if (this.sentChunks.has(chunk.id)) resent = true;
      this.sentChunks.set(chunk.id, chunk.last);
    }
    const s = this.stats;
    s.batchesSent++;
    if (resent) s.batchesResent++;
    if (lane === 'live') s.liveBatches++;
    else s.backlogBatches++;
    s.readingsSent += readings;
    s.bytesSent += payload.byteLength;
    this.lastLane = lane;
    if (span) span.setAttribute('pulsebridge.resent', resent);
    const logSent = (): void => this.log.debug({ first, last, readings, bytes: payload.byteLength, lane, chunks: ids.length, resent }, 'batch sent');
    if (span) context.with(trace.setSpan(context.active(), span), logSent);
    else logSent();
    const published = this.options.channel.publish('readings', payload, false, (err) =>
      this.guard('publish', () => {
        // A publish that failed locally (connection closing) will never be acknowledged: make it sendable again.
        if (err && this.inFlight.get(key) === batch) {
          this.log.debug({ first, last, err: err.message }, 'batch publish failed');
          this.release(batch, 'publish failed');
        }
      }),
    );
    if (!published) this.release(batch, 'publish failed');
  }

  /**
   * Chunks that cannot be encoded (values outside the catalogue, a sequence range that no longer matches
   * its rows) would block the queue forever. Each chunk is tried alone; the ones that fail are rejected and
   * counted, the rest are planned again.
   */
  private isolateUnencodable(chunks: readonly PlannableChunk[], batchError: unknown): void {
    const outbox = this.options.outbox;
    for (const chunk of chunks) {
      let loaded: LoadedChunks;
      try {
        loaded = outbox.load([chunk.id]);
      } catch (err) {
        // A storage failure says nothing about the readings themselves: keep them and try later.
        this.onOutboxError('load chunks', err);
        return;
      }
      if (loaded.chunks && loaded.chunks.length === 0) continue;
      try {
        encodeBatch({
          agent: this.options.agent,
          stream: outbox.stream,
          first: chunk.first,
          last: chunk.last,
          floor: 0,
          clockUnsynced: loaded.clockUnsynced,
          ...(loaded.boot === undefined ? {} : { boot: loaded.boot }),
          series: loaded.series,
        });
      } catch (err) {
        const reason = truncate(`unencodable: ${errorMessage(err)}`, 256);
        try {
          const dropped = outbox.reject(chunk.first, chunk.last, reason);
          this.stats.unencodable += dropped;
          this.log.error({ first: chunk.first, last: chunk.last, dropped, reason }, 'dropped readings that cannot be encoded');
          this.options.event('readings_unencodable', `${dropped} readings ${chunk.first}..${chunk.last}: ${reason}`);
        } catch (rejectErr) {
          this.onOutboxError('drop unencodable readings', rejectErr);
          return;
        }
      }
    }
    if (chunks.length === 1) return;
    this.log.debug({ err: errorMessage(batchError) }, 'batch not encodable; retried chunk by chunk');
  }

  private onAckTimeout(key: string): void {
    const batch = this.inFlight.get(key);
    if (!batch) return;
    this.release(batch, 'ack timeout');
    this.stats.ackTimeouts++;
    this.log.warn({ first: batch.first, last: batch.last, waitedMs: this.options.ackTimeoutMs }, 'no acknowledgement from the hub in time; batch will be sent again');
    this.wake();
  }

  private release(batch: InFlightBatch, unacknowledged?: Unacknowledged): void {
    clearTimeout(batch.timer);
    if (batch.span) {
      if (unacknowledged) batch.span.setStatus({ code: SpanStatusCode.ERROR, message: unacknowledged });
      batch.span.end();
      batch.span = undefined;
    }
    this.inFlight.delete(batch.key);
    for (const id of batch.ids) this.inFlightChunks.delete(id);
  }

  private onOutboxError(what: string, err: unknown): void {
    this.log.error({ err: errorMessage(err) }, `outbox failed to ${what}`);
    if (this.retryTimer || this.stopped) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.wake();
    }, OUTBOX_RETRY_MS);
    this.retryTimer.unref();
  }

  /** Timer and mqtt.js callbacks must never throw: a bug in one batch must not stop the agent. */
  private guard(where: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.log.error({ err, where }, 'uplink handler failed');
    }
  }
}
