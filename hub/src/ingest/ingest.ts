/**
 * The hub's ingest pipeline: every message an agent sends arrives here through the HubTransport.
 *
 * Readings: validate → drop duplicates → queue → write to the SeriesStore in grouped writes, one at a time →
 * once the write is durable: record the ranges (Dedupe), publish to the live bus, and only then acknowledge.
 * The agent keeps a batch in its outbox until acknowledged, so the rule that makes this lossless is simple:
 * never ack what is not stored; when in doubt, stay silent and let the agent resend.
 *
 * A 'rejected' ack makes the agent drop the batch, so it is sent only for problems that resending cannot fix
 * (the batch itself is wrong, or the store refuses its content for good: `invalid_write`, `write_rejected`). A batch the store refuses
 * is found by splitting the grouped write in halves until it stands alone, so it never holds up the others. Problems on the hub's side (registry or store unavailable, queue full, agent
 * not enrolled yet) get no ack: the agent resends later.
 *
 * Status, inventory and events go to the AgentRegistry or the log. An online status that carries the agent's
 * monotonic clock is answered at once with a `time` command, so the agent can correct its clock.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import {
  ProtocolError,
  countReadings,
  decodeBatch,
  decodeJsonMessage,
  encodeJsonMessage,
  type AckMessage,
  type CommandMessage,
  type MessageKind,
  type ProtocolErrorCode,
  type ReadingBatch,
} from '@pulsebridge/protocol';
import type { Logger } from 'pino';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { AgentMessage, HubTransport } from '../broker/transport.ts';
import type { LiveBus } from '../live/live-bus.ts';
import type { AgentRegistry } from '../registry/agent-registry.ts';
import { SeriesStoreError } from '../storage/series/errors.ts';
import type { SeriesStore, SeriesWrite } from '../storage/series/series-store.ts';
import type { Dedupe } from './dedupe.ts';

export const IngestConfig = Type.Object(
  {
    maxBatchBytes: Type.Integer({ minimum: 1, default: 1024 * 1024, description: 'Largest readings batch accepted, bytes; larger ones are rejected' }),
    maxWriteReadings: Type.Integer({ minimum: 1, default: 50_000, description: 'Readings grouped into one store write at most' }),
    maxWriteDelayMs: Type.Integer({ minimum: 0, default: 5, description: 'How long a batch may wait for others to share its store write' }),
    maxQueuedReadings: Type.Integer({
      minimum: 1,
      default: 500_000,
      description: 'Readings waiting for the store at most; beyond it new batches are not acknowledged and agents resend later',
    }),
    retryDelayMs: Type.Integer({ minimum: 1, default: 500, description: 'First wait before retrying a failed store write; doubles up to maxRetryDelayMs' }),
    maxRetryDelayMs: Type.Integer({ minimum: 1, default: 30_000 }),
    drainTimeoutMs: Type.Integer({ minimum: 0, default: 10_000, description: 'How long stop() keeps trying to write what is queued' }),
    rejectLogIntervalMs: Type.Integer({
      minimum: 0,
      default: 60_000,
      description: 'Per agent and reason, log a rejected message at most once per interval (the rest are counted)',
    }),
  },
  { default: {}, additionalProperties: false },
);
export type IngestConfig = Static<typeof IngestConfig>;

export interface IngestDependencies {
  transport: HubTransport;
  registry: AgentRegistry;
  store: SeriesStore;
  live: LiveBus;
  dedupe: Dedupe;
  log: Logger;
  metrics?: Registry;
  /** Wall clock, UTC ms: status times and the hub time sent to agents. */
  now?: () => number;
}

/** Settings left out take their defaults from IngestConfig. */
export type IngestOptions = Partial<IngestConfig> & IngestDependencies;

export class IngestError extends Error {
  readonly code: 'invalid_config';

  constructor(code: IngestError['code'], message: string) {
    super(message);
    this.name = 'IngestError';
    this.code = code;
  }
}

/** What became of a readings batch. */
export type BatchResult =
  | 'stored'
  | 'duplicate'
  | 'rejected'
  | 'dropped_backpressure'
  /** Sent again while the first copy still waits for the store; that copy's ack answers both. */
  | 'in_progress'
  /** The registry could not be asked; no ack, the agent resends. */
  | 'deferred';
const BATCH_RESULTS: readonly BatchResult[] = ['stored', 'duplicate', 'rejected', 'dropped_backpressure', 'in_progress', 'deferred'];

/** Problems with the batch itself: resending cannot fix them, so the agent is told to drop it. */
const PERMANENT_REASONS: ReadonlySet<RejectReason> = new Set<RejectReason>([
  'malformed',
  'unsupported_version',
  'invalid',
  'count_mismatch',
  'unknown_metric',
  'out_of_range',
  'too_large',
  'agent_mismatch',
  'store_refused',
]);

/**
 * Why a batch was refused: a protocol code, or
 * - unknown_agent: authenticated but not in the registry (not enrolled yet, or just removed). Not acked, so an
 *   agent being enrolled loses nothing;
 * - decode_failure: the decoder failed in an unexpected way, which points at the hub; not acked either;
 * - store_refused: valid on the wire, but the store cannot keep it (SeriesStoreError invalid_write, e.g. a
 *   control character in a sensor id). Acked as rejected: resending the same batch cannot succeed.
 */
export type RejectReason = ProtocolErrorCode | 'store_refused' | 'unknown_agent' | 'decode_failure';
const REJECT_REASONS: readonly RejectReason[] = [...PERMANENT_REASONS, 'unknown_agent', 'decode_failure'];

export interface IngestStats {
  running: boolean;
  queuedBatches: number;
  queuedReadings: number;
  writing: boolean;
  /** store.write() calls, failed ones included. */
  writes: number;
  storeFailures: number;
  readingsStored: number;
  batches: Record<BatchResult, number>;
  rejected: Partial<Record<RejectReason, number>>;
  /** Non-readings messages by `<kind>:<ok | reason>`. */
  messages: Record<string, number>;
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
}

/** Logs a repeating problem once per interval and key, and says how many were left unlogged. */
class LogLimiter {
  private readonly seen = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly intervalMs: number,
    private readonly maxKeys = 10_000,
  ) {}

  /** The number suppressed since the last one let through, or undefined when this one is suppressed. */
  admit(key: string, at: number): number | undefined {
    const entry = this.seen.get(key);
    if (entry && at - entry.at < this.intervalMs) {
      entry.suppressed++;
      return undefined;
    }
    // Keys come from agents (ids, event types): keep the map bounded rather than exact.
    if (!entry && this.seen.size >= this.maxKeys) this.seen.clear();
    this.seen.set(key, { at, suppressed: 0 });
    return entry?.suppressed ?? 0;
  }
}

const batchKey = (agent: string, b: { stream: string; first: number; last: number }): string => `${agent}\u0000${b.stream}\u0000${b.first}\u0000${b.last}`;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Waits for `promise` at most `ms`; undefined on timeout. The timer keeps the process alive while stop()
 * drains (the servers may be closed already) and is cleared as soon as the promise settles.
 */
function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(resolve, ms, undefined);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const MAX_ACK_REASON_CHARS = 256;

export class Ingest {
  private readonly config: IngestConfig;
  private readonly transport: HubTransport;
  private readonly registry: AgentRegistry;
  private readonly store: SeriesStore;
  private readonly live: LiveBus;
  private readonly dedupe: Dedupe;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly logLimiter: LogLimiter;

  private running = false;
  private handlerInstalled = false;
  private queue: QueuedBatch[] = [];
  private queuedReadings = 0;
  /** Keys of queued batches (in flight included): a resend of one of them is not queued twice. */
  private readonly queuedKeys = new Set<string>();
  private writing: Promise<boolean> | undefined;
  private flushTimer: NodeJS.Timeout | undefined;
  private retryDelayMs: number;
  private lastSuspectGroup = 0;
  /** Message handling and ack publishes in progress, awaited by stop(). */
  private pendingTasks = 0;
  private tasksIdle: { promise: Promise<void>; resolve: () => void } | undefined;

  private readonly counts = {
    writes: 0,
    storeFailures: 0,
    readingsStored: 0,
    batches: Object.fromEntries(BATCH_RESULTS.map((r) => [r, 0])) as Record<BatchResult, number>,
    rejected: {} as Partial<Record<RejectReason, number>>,
    messages: {} as Record<string, number>,
  };

  private readonly metrics: {
    batches: Counter<'result'>;
    readings: Counter;
    rejected: Counter<'reason'>;
    writeSeconds: Histogram;
    queueReadings: Gauge;
    storeFailures: Counter;
    messages: Counter<'kind' | 'result'>;
  };

  constructor(o: IngestOptions) {
    this.config = Ingest.settingsFrom(o);
    this.transport = o.transport;
    this.registry = o.registry;
    this.store = o.store;
    this.live = o.live;
    this.dedupe = o.dedupe;
    this.log = o.log.child({ ns: 'ingest' });
    this.now = o.now ?? Date.now;
    this.logLimiter = new LogLimiter(this.config.rejectLogIntervalMs);
    this.retryDelayMs = this.config.retryDelayMs;

    // Without a registry the metrics still exist, registered nowhere, so the code paths stay the same.
    const registers = o.metrics ? [o.metrics] : [];
    this.metrics = {
      batches: new Counter({ name: 'pb_hub_ingest_batches_total', help: 'Readings batches received, by what became of them', labelNames: ['result'], registers }),
      readings: new Counter({ name: 'pb_hub_ingest_readings_total', help: 'Readings durably stored', registers }),
      rejected: new Counter({ name: 'pb_hub_ingest_rejected_total', help: 'Readings batches refused, by reason', labelNames: ['reason'], registers }),
      writeSeconds: new Histogram({
        name: 'pb_hub_ingest_write_seconds',
        help: 'Duration of one grouped store write',
        buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
        registers,
      }),
      queueReadings: new Gauge({ name: 'pb_hub_ingest_queue_readings', help: 'Readings waiting for the store, the write in flight included', registers }),
      storeFailures: new Counter({ name: 'pb_hub_ingest_store_failures_total', help: 'Store writes that failed (their batches are retried, not acknowledged)', registers }),
      messages: new Counter({
        name: 'pb_hub_ingest_messages_total',
        help: 'Status, inventory and event messages, by kind and result (ok or the reason they were refused)',
        labelNames: ['kind', 'result'],
        registers,
      }),
    };
    for (const result of BATCH_RESULTS) this.metrics.batches.inc({ result }, 0);
    for (const reason of REJECT_REASONS) this.metrics.rejected.inc({ reason }, 0);
  }

  private static settingsFrom(o: IngestOptions): IngestConfig {
    const given: Record<string, unknown> = {};
    for (const key of Object.keys(IngestConfig.properties)) {
      const value = (o as unknown as Record<string, unknown>)[key];
      if (value !== undefined) given[key] = value;
    }
    const settings = Value.Default(IngestConfig, given);
    const problems = [...Value.Errors(IngestConfig, settings)].map((e) => `${e.path || '/'}: ${e.message}`);
    if (problems.length > 0) throw new IngestError('invalid_config', `invalid ingest settings: ${problems.join('; ')}`);
    return settings as IngestConfig;
  }

  /** Loads the dedupe ranges and starts taking messages; call before the transport starts. */
  start(): void {
    if (this.running) return;
    this.dedupe.load();
    this.running = true;
    if (!this.handlerInstalled) {
      this.transport.onMessage(this.onMessage);
      this.handlerInstalled = true;
    }
    // After a stop() that ran out of time, what it could not write is still queued.
    this.scheduleFlush();
  }

  /**
   * Stops taking messages (agents resend what was not acknowledged), then writes and acknowledges what is
   * queued, for at most drainTimeoutMs. Call it before stopping the transport: the acks go out through it.
   */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.clearFlushTimer();
    const deadline = performance.now() + this.config.drainTimeoutMs;
    const remaining = (): number => Math.max(0, deadline - performance.now());

    // Batches still being validated may be about to join the queue.
    await this.settleTasks(remaining());
    let failures = 0;
    while ((this.queue.length > 0 || this.writing) && remaining() > 0) {
      const write = this.writing ?? this.flush();
      const wrote = await within(write, remaining());
      if (wrote === false) {
        failures++;
        await sleep(Math.min(remaining(), this.config.retryDelayMs * 2 ** Math.min(failures - 1, 10)));
      }
    }
    this.clearFlushTimer();
    await this.settleTasks(remaining());
    if (this.queue.length > 0 || this.writing) {
      this.log.warn(
        { batches: this.queue.length, readings: this.queuedReadings, waitedMs: this.config.drainTimeoutMs },
        'ingest stopped before the store took every queued batch; they were not acknowledged, agents will resend them',
      );
    }
  }

  stats(): IngestStats {
    return {
      running: this.running,
      queuedBatches: this.queue.length,
      queuedReadings: this.queuedReadings,
      writing: this.writing !== undefined,
      writes: this.counts.writes,
      storeFailures: this.counts.storeFailures,
      readingsStored: this.counts.readingsStored,
      batches: { ...this.counts.batches },
      rejected: { ...this.counts.rejected },
      messages: { ...this.counts.messages },
    };
  }

  /** The transport's handler: must never throw, whatever the payload. */
  private readonly onMessage = (message: AgentMessage): void => {
    // After stop() nothing is acknowledged, so agents keep their data for the next hub.
    if (!this.running) return;
    try {
      this.registry.touch(message.agent, this.now());
    } catch (err) {
      this.log.warn({ err, agent: message.agent }, 'registry could not record that the agent was seen');
    }
    switch (message.kind) {
      case 'readings':
        this.track(this.onReadings(message));
        break;
      case 'status':
        this.track(this.onStatus(message));
        break;
      case 'inventory':
        this.track(this.onInventory(message));
        break;
      case 'events':
        this.onEvent(message);
        break;
      default:
        this.countMessage(message.kind, 'unexpected_kind');
        this.logLimited(message.agent, `kind:${message.kind}`, { kind: message.kind }, 'agent sent a kind of message only the hub sends; ignored');
    }
  };

  private async onReadings({ agent, payload }: AgentMessage): Promise<void> {
    let batch: ReadingBatch;
    try {
      batch = decodeBatch(payload, this.config.maxBatchBytes);
    } catch (err) {
      if (err instanceof ProtocolError) {
        this.reject(agent, err.code, err.message, err.batch);
      } else {
        this.reject(agent, 'decode_failure', (err as Error).message, undefined);
        this.log.error({ err, agent, bytes: payload.byteLength }, 'readings decoder failed unexpectedly');
      }
      return;
    }
    if (batch.agent !== agent) {
      this.reject(agent, 'agent_mismatch', `batch names agent "${batch.agent}" but was sent by "${agent}"`, batch);
      return;
    }

    let gym: string;
    try {
      const record = await this.registry.get(agent);
      if (!record) {
        this.reject(agent, 'unknown_agent', `agent "${agent}" is not in the registry`, undefined);
        return;
      }
      gym = record.gym;
    } catch (err) {
      this.countBatch('deferred');
      this.logLimited(agent, 'registry', { err }, 'registry lookup failed; batch not acknowledged, the agent will resend');
      return;
    }

    if (this.dedupe.isDuplicate(agent, batch.stream, batch.first, batch.last)) {
      this.countBatch('duplicate');
      this.ack(agent, { stream: batch.stream, first: batch.first, last: batch.last, result: 'duplicate' });
      return;
    }
    const key = batchKey(agent, batch);
    if (this.queuedKeys.has(key)) {
      this.countBatch('in_progress');
      return;
    }
    const readings = countReadings(batch.series);
    // One batch larger than the whole queue would never fit; an empty queue takes it (maxBatchBytes bounds it).
    if (this.queue.length > 0 && this.queuedReadings + readings > this.config.maxQueuedReadings) {
      this.countBatch('dropped_backpressure');
      this.logLimited('*', 'backpressure', { queuedReadings: this.queuedReadings }, 'ingest queue full; batches are not acknowledged until the store catches up');
      return;
    }
    this.queue.push({ agent, gym, batch, readings, key, queuedAt: performance.now(), suspect: 0 });
    this.queuedKeys.add(key);
    this.setQueuedReadings(this.queuedReadings + readings);
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (!this.running || this.writing || this.flushTimer || this.queue.length === 0) return;
    const oldest = this.queue[0]!;
    const delay =
      this.queuedReadings >= this.config.maxWriteReadings ? 0 : Math.max(0, oldest.queuedAt + this.config.maxWriteDelayMs - performance.now());
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      void this.flush();
    }, delay);
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
    const writes: SeriesWrite[] = group.map((q) => ({ gym: q.gym, agent: q.agent, series: q.batch.series }));
    const started = performance.now();
    this.counts.writes++;
    try {
      await this.store.write(writes);
    } catch (err) {
      this.metrics.writeSeconds.observe((performance.now() - started) / 1000);
      if (err instanceof SeriesStoreError && (err.code === 'invalid_write' || err.code === 'write_rejected')) {
        this.onRefusedWrite(group, readings, err);
        return true;
      }
      this.counts.storeFailures++;
      this.metrics.storeFailures.inc();
      // Back to the front, in order: nothing is acknowledged, and the retry keeps the agents' order.
      this.queue = group.concat(this.queue);
      const retryIn = this.retryDelayMs;
      this.retryDelayMs = Math.min(this.retryDelayMs * 2, this.config.maxRetryDelayMs);
      this.log.error({ err, batches: group.length, readings, retryInMs: retryIn }, 'store write failed; batches kept unacknowledged for retry');
      if (this.running) this.retryAfter(retryIn);
      return false;
    }
    this.metrics.writeSeconds.observe((performance.now() - started) / 1000);
    this.retryDelayMs = this.config.retryDelayMs;
    for (const q of group) this.queuedKeys.delete(q.key);
    this.setQueuedReadings(this.queuedReadings - readings);
    this.counts.readingsStored += readings;
    this.metrics.readings.inc(readings);

    try {
      this.dedupe.record(group.map((q) => ({ agent: q.agent, stream: q.batch.stream, first: q.batch.first, last: q.batch.last, floor: q.batch.floor })));
    } catch (err) {
      // The readings are stored, so the ack stays right; a resend will just be written again (idempotent).
      this.log.error({ err, batches: group.length }, 'could not record stored ranges for dedupe');
    }
    for (const q of group) {
      try {
        this.live.publish({ gym: q.gym, agent: q.agent, series: q.batch.series });
      } catch (err) {
        this.logLimited('*', 'live', { err }, 'a live subscriber failed');
      }
    }
    for (const q of group) {
      this.countBatch('stored');
      this.ack(q.agent, { stream: q.batch.stream, first: q.batch.first, last: q.batch.last, result: 'stored' });
    }
    return true;
  }

  /**
   * The store refused the content of a write: no retry will change that. A batch alone is rejected; a group
   * goes back to the front split in halves, so the batch at fault is found in about 2·log2(group) writes.
   */
  private onRefusedWrite(group: QueuedBatch[], readings: number, err: SeriesStoreError): void {
    if (group.length === 1) {
      const q = group[0]!;
      this.queuedKeys.delete(q.key);
      this.setQueuedReadings(this.queuedReadings - readings);
      this.reject(q.agent, 'store_refused', err.message, q.batch);
      return;
    }
    const half = Math.ceil(group.length / 2);
    const firstHalf = ++this.lastSuspectGroup;
    const secondHalf = ++this.lastSuspectGroup;
    group.forEach((q, i) => (q.suspect = i < half ? firstHalf : secondHalf));
    this.queue = group.concat(this.queue);
    this.logLimited('*', 'store_refused_group', { batches: group.length, detail: err.message }, 'store refused a grouped write; writing its batches in smaller groups');
  }

  /** Holds new flushes until the retry is due: the timer slot doubles as the retry timer. */
  private retryAfter(ms: number): void {
    this.clearFlushTimer();
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      void this.flush();
    }, ms);
    this.flushTimer.unref();
  }

  private reject(agent: string, reason: RejectReason, detail: string, range: { stream: string; first: number; last: number } | undefined): void {
    this.countBatch('rejected');
    this.counts.rejected[reason] = (this.counts.rejected[reason] ?? 0) + 1;
    this.metrics.rejected.inc({ reason });
    const acked = range !== undefined && PERMANENT_REASONS.has(reason);
    this.logLimited(agent, `reject:${reason}`, { reason, detail, stream: range?.stream, first: range?.first, last: range?.last, acked }, 'readings batch rejected');
    if (acked) {
      this.ack(agent, { stream: range.stream, first: range.first, last: range.last, result: 'rejected', reason: `${reason}: ${detail}`.slice(0, MAX_ACK_REASON_CHARS) });
    }
  }

  private async onStatus({ agent, payload }: AgentMessage): Promise<void> {
    let status;
    try {
      status = decodeJsonMessage('status', payload);
    } catch (err) {
      this.refuseMessage(agent, 'status', err);
      return;
    }
    this.countMessage('status', 'ok');
    const now = this.now();
    // Answer first: every millisecond spent here widens the agent's uncertainty about the hub's time.
    if (status.state === 'online' && status.mono !== undefined) {
      this.command(agent, { type: 'time', hubTime: Math.max(0, Math.floor(now)), echo: status.mono });
    }
    try {
      await this.registry.recordStatus(agent, status, now);
    } catch (err) {
      this.logLimited(agent, 'registry', { err }, 'registry could not record the agent status');
    }
  }

  private async onInventory({ agent, payload }: AgentMessage): Promise<void> {
    let inventory;
    try {
      inventory = decodeJsonMessage('inventory', payload);
    } catch (err) {
      this.refuseMessage(agent, 'inventory', err);
      return;
    }
    this.countMessage('inventory', 'ok');
    try {
      await this.registry.recordInventory(agent, inventory.sensors);
    } catch (err) {
      this.logLimited(agent, 'registry', { err }, 'registry could not record the agent inventory');
    }
  }

  private onEvent({ agent, payload }: AgentMessage): void {
    let event;
    try {
      event = decodeJsonMessage('events', payload);
    } catch (err) {
      this.refuseMessage(agent, 'events', err);
      return;
    }
    this.countMessage('events', 'ok');
    // Per event type, so one agent repeating an event does not hide a different one.
    const suppressed = this.logLimiter.admit(`${agent}\u0000event:${event.type}`, this.now());
    if (suppressed !== undefined) this.log.info({ agent, event, suppressed }, 'agent event');
  }

  private refuseMessage(agent: string, kind: MessageKind, err: unknown): void {
    const reason = err instanceof ProtocolError ? err.code : 'decode_failure';
    this.countMessage(kind, reason);
    this.logLimited(agent, `${kind}:${reason}`, { kind, reason, detail: (err as Error).message }, 'agent message refused');
  }

  private ack(agent: string, ack: AckMessage): void {
    this.send(agent, 'ack', encodeJsonMessage('ack', ack));
  }

  private command(agent: string, command: CommandMessage): void {
    this.send(agent, 'cmd', encodeJsonMessage('cmd', command));
  }

  private send(agent: string, kind: 'ack' | 'cmd', payload: Buffer): void {
    let sending: Promise<void>;
    try {
      sending = this.transport.publish(agent, kind, payload);
    } catch (err) {
      sending = Promise.reject(err);
    }
    // A lost ack costs a resend, which dedupe answers: log, do not retry.
    this.track(sending.catch((err: unknown) => this.logLimited(agent, `publish:${kind}`, { err, kind }, 'could not publish to the agent')));
  }

  /** A counter rather than a set of promises: this runs for every message and ack, on the hot path. */
  private track(task: Promise<void>): void {
    this.pendingTasks++;
    task.then(this.taskDone, (err: unknown) => {
      this.log.error({ err }, 'ingest task failed unexpectedly');
      this.taskDone();
    });
  }

  private readonly taskDone = (): void => {
    this.pendingTasks--;
    if (this.pendingTasks === 0 && this.tasksIdle) {
      this.tasksIdle.resolve();
      this.tasksIdle = undefined;
    }
  };

  private async settleTasks(withinMs: number): Promise<void> {
    if (this.pendingTasks === 0) return;
    if (!this.tasksIdle) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      this.tasksIdle = { promise, resolve };
    }
    await within(this.tasksIdle.promise, withinMs);
  }

  private countBatch(result: BatchResult): void {
    this.counts.batches[result]++;
    this.metrics.batches.inc({ result });
  }

  private countMessage(kind: MessageKind, result: string): void {
    const key = `${kind}:${result}`;
    this.counts.messages[key] = (this.counts.messages[key] ?? 0) + 1;
    this.metrics.messages.inc({ kind, result });
  }

  private setQueuedReadings(n: number): void {
    this.queuedReadings = n;
    this.metrics.queueReadings.set(n);
  }

  private logLimited(agent: string, what: string, fields: Record<string, unknown>, message: string): void {
    const suppressed = this.logLimiter.admit(`${agent}\u0000${what}`, this.now());
    if (suppressed === undefined) return;
    this.log.warn({ agent, ...fields, ...(suppressed > 0 ? { suppressed } : {}) }, message);
  }
}
