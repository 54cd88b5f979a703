/**
 * Forwards outbox readings to the hub over MQTT and deletes them once the hub confirms durable storage.
 *
 * Delivery is confirmed at the application level: the hub answers every readings batch with an `ack`
 * message after its write is durable, because a PUBACK only proves that a broker (possibly an external one)
 * took the packet. Unconfirmed batches are sent again after a timeout or a reconnect; the hub deduplicates
 * by (agent, stream, sequence), so resending is always safe.
 *
 * Every connection attempt uses a fresh mqtt.js client with its own reconnect disabled. That keeps mqtt.js
 * from replaying its own store of unacknowledged publishes on reconnect (we already requeue them), and lets
 * the delay between attempts follow a jittered exponential backoff instead of mqtt.js's fixed period.
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Type, type Static } from '@sinclair/typebox';
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import {
  Topics,
  countReadings,
  type AckMessage,
  type CommandMessage,
  decodeJsonMessage,
  encodeBatch,
  encodeJsonMessage,
  type EventMessage,
  type InventoryMessage,
  type MessageKind,
  type SensorInfo,
  type SeriesReadings,
  type StatusMessage,
} from '@pulsebridge/protocol';
import { planBatch, type Lane, type PlannableChunk } from './batch-planner.ts';
import { ReconnectBackoff } from './reconnect-backoff.ts';

export const UplinkConfig = Type.Object(
  {
    window: Type.Integer({ minimum: 1, maximum: 64, default: 8, description: 'batches sent and not yet acknowledged by the hub, at most' }),
    maxBatchReadings: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 20_000, description: 'readings in one batch, at most' }),
    maxBatchBytes: Type.Integer({ minimum: 1_024, maximum: 16 * 1024 * 1024, default: 512 * 1024, description: 'stored bytes of the chunks in one batch, at most' }),
    liveBatchDelayMs: Type.Integer({ minimum: 0, maximum: 60_000, default: 1_000, description: 'how long fresh chunks wait to be merged into one batch' }),
    liveAgeMs: Type.Integer({ minimum: 0, maximum: 600_000, default: 5_000, description: 'chunks younger than this are live data and are not queued behind the backlog' }),
    ackTimeoutMs: Type.Integer({ minimum: 100, maximum: 600_000, default: 15_000, description: 'a batch not acknowledged within this is sent again' }),
    statusIntervalMs: Type.Integer({ minimum: 100, maximum: 3_600_000, default: 10_000, description: 'how often the retained status is refreshed' }),
    reconnectMinMs: Type.Integer({ minimum: 10, maximum: 600_000, default: 500, description: 'shortest delay before reconnecting' }),
    reconnectMaxMs: Type.Integer({ minimum: 10, maximum: 3_600_000, default: 30_000, description: 'longest delay before reconnecting' }),
    connectTimeoutMs: Type.Integer({ minimum: 100, maximum: 600_000, default: 10_000, description: 'how long to wait for the broker to accept a connection' }),
    keepaliveS: Type.Integer({ minimum: 0, maximum: 65_535, default: 30, description: 'MQTT keepalive, seconds' }),
    inventoryDebounceMs: Type.Integer({ minimum: 0, maximum: 60_000, default: 500, description: 'sensor inventory changes within this are published once' }),
    stopTimeoutMs: Type.Integer({ minimum: 100, maximum: 60_000, default: 3_000, description: 'how long stopping may wait for the broker' }),
  },
  { additionalProperties: false, default: {} },
);
export type UplinkConfig = Static<typeof UplinkConfig>;

export type ProtocolVersion = 4 | 5;

export interface UplinkTls {
  /** Paths of PEM files, read when the uplink starts. */
  ca?: string | undefined;
  cert?: string | undefined;
  key?: string | undefined;
  rejectUnauthorized: boolean;
}

export interface UplinkConnection {
  url: string;
  /** The agent's own credentials: the username is its agent id. */
  password: string;
  topicRoot: string;
  /** MQTT 5 by default; a broker that refuses it (aedes speaks 3.1.1) is retried with 4 automatically. */
  protocolVersion: ProtocolVersion;
  tls?: UplinkTls | undefined;
}

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
  /** The chunks actually loaded; fewer than asked when some were dropped meanwhile (e.g. found corrupt). */
  chunks?: readonly unknown[];
}

/** The clock as the uplink uses it; `Clock` from ../clock/clock.ts fits it. */
export interface UplinkClock {
  now(): number;
  mono(): number;
  syncFromHub(hubTime: number, echoMono: number): void;
}

export interface SourceStatus {
  state: 'starting' | 'running' | 'degraded' | 'unavailable' | 'stopped';
  detail?: string | undefined;
}

export type UplinkOptions = UplinkConfig & {
  agent: string;
  connection: UplinkConnection;
  version: string;
  outbox: UplinkOutbox;
  clock: UplinkClock;
  log: Logger;
  metrics?: Registry | undefined;
  /** Source states for the status message. */
  sources?: (() => Record<string, SourceStatus>) | undefined;
  random?: (() => number) | undefined;
};

export type UplinkState = 'idle' | 'connecting' | 'connected' | 'disconnected' | 'stopped';

export interface UplinkHealth {
  state: UplinkState;
  protocolVersion: ProtocolVersion;
  inFlight: number;
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
  /** Wire bytes per reading over everything sent so far. */
  bytesPerReading: number | null;
  liveBatches: number;
  backlogBatches: number;
  lastAckAt: number | null;
  lastAckLatencyMs: number | null;
  connects: number;
  lastConnectedAt: number | null;
  lastError: string | null;
  malformedAcks: number;
  malformedCommands: number;
  foreignAcks: number;
  unencodable: number;
  eventsDropped: number;
}

export type UplinkErrorCode = 'tls_unreadable' | 'invalid_options';

export class UplinkError extends Error {
  readonly code: UplinkErrorCode;

  constructor(code: UplinkErrorCode, message: string) {
    super(message);
    this.name = 'UplinkError';
    this.code = code;
  }
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
}

/** How many chunks one planning step reads from the outbox: bounds a batch's chunk count too. */
const PLAN_SCAN_CHUNKS = 1_024;
/** A connection that stayed up this long resets the backoff; shorter ones are flapping and keep backing off. */
const STABLE_CONNECTION_MS = 10_000;
const MAX_QUEUED_EVENTS = 100;
/** After an outbox error, how long before trying to plan again. */
const OUTBOX_RETRY_MS = 1_000;
/** Versions the MQTT 5 "unsupported protocol version" refusal arrives as (0x84), or 1 from a 3.1.1 broker. */
const UNSUPPORTED_VERSION_CODES = new Set([1, 0x84]);

const truncate = (text: string, max: number): string => (text.length <= max ? text : `${text.slice(0, max - 1)}…`);
const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

export class Uplink {
  readonly #options: UplinkOptions;
  readonly #log: Logger;
  readonly #topics: Topics;
  readonly #backoff: ReconnectBackoff;
  #protocolVersion: ProtocolVersion;
  #tlsMaterial: Pick<IClientOptions, 'ca' | 'cert' | 'key' | 'rejectUnauthorized'> = {};

  #state: UplinkState = 'idle';
  #client: MqttClient | undefined;
  #connectedAtMono = 0;
  #reconnectTimer: NodeJS.Timeout | undefined;
  #statusTimer: NodeJS.Timeout | undefined;
  #liveTimer: NodeJS.Timeout | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #inventoryTimer: NodeJS.Timeout | undefined;
  #pumpScheduled = false;
  /** Set when the broker refused MQTT 5: the next attempt, with 3.1.1, is not a failure to back off from. */
  #retryVersionNow = false;

  readonly #inFlight = new Map<string, InFlightBatch>();
  readonly #inFlightChunks = new Set<number>();
  /** Chunks sent at least once and not known to be acknowledged, with their last sequence number. */
  readonly #sentChunks = new Map<number, number>();
  #lastLane: Lane | undefined;

  readonly #inventory = new Map<string, SensorInfo[]>();
  #publishedInventory: string | undefined;
  readonly #eventQueue: EventMessage[] = [];
  #droppedBaseline: number | undefined;

  readonly #stats = {
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
    connects: 0,
    malformedAcks: 0,
    malformedCommands: 0,
    foreignAcks: 0,
    unencodable: 0,
    eventsDropped: 0,
  };
  #lastAckAt: number | null = null;
  #lastAckLatencyMs: number | null = null;
  #lastConnectedAt: number | null = null;
  #lastError: string | null = null;
  readonly #ackLatency: Histogram | undefined;

  constructor(options: UplinkOptions) {
    if (options.reconnectMaxMs < options.reconnectMinMs) {
      throw new UplinkError('invalid_options', `reconnectMaxMs (${options.reconnectMaxMs}) is below reconnectMinMs (${options.reconnectMinMs})`);
    }
    this.#options = options;
    this.#log = options.log;
    this.#topics = new Topics(options.connection.topicRoot);
    // Validates the agent id early: every topic of this uplink is built from it.
    this.#topics.of(options.agent, 'status');
    this.#protocolVersion = options.connection.protocolVersion;
    this.#backoff = new ReconnectBackoff({ minMs: options.reconnectMinMs, maxMs: options.reconnectMaxMs, random: options.random });
    this.#ackLatency = options.metrics ? this.#registerMetrics(options.metrics) : undefined;
  }

  get state(): UplinkState {
    return this.#state;
  }

  start(): void {
    if (this.#state !== 'idle') return;
    this.#tlsMaterial = this.#readTls();
    this.#droppedBaseline = this.#droppedTotal();
    this.#statusTimer = setInterval(() => this.#onStatusTick(), this.#options.statusIntervalMs);
    this.#statusTimer.unref();
    this.#connect();
  }

  async stop(): Promise<void> {
    if (this.#state === 'stopped') return;
    const wasConnected = this.#state === 'connected';
    this.#state = 'stopped';
    for (const timer of [this.#reconnectTimer, this.#liveTimer, this.#retryTimer, this.#inventoryTimer]) clearTimeout(timer);
    clearInterval(this.#statusTimer);
    this.#requeueAll();
    const client = this.#client;
    this.#client = undefined;
    if (!client) return;
    if (!wasConnected) {
      client.end(true);
      return;
    }
    const budget = this.#options.stopTimeoutMs;
    // The last will only fires on an unexpected loss; a clean stop announces itself.
    const offline = encodeJsonMessage('status', { state: 'offline', sentAt: this.#wallNow() });
    const published = await this.#within(client.publishAsync(this.#topic('status'), offline, { qos: 1, retain: true }), budget / 2, 'the broker to acknowledge the offline status');
    const ended = published && (await this.#within(client.endAsync(), budget / 2, 'the MQTT connection to close'));
    if (!ended) client.end(true);
  }

  /** New chunks were committed to the outbox. */
  wake(): void {
    this.#schedulePump();
  }

  /**
   * The outbox replaced its database (it was damaged): chunk ids and sequence numbers restart in a new
   * stream, so nothing known about the old one's batches may be applied to the new one.
   */
  outboxReplaced(): void {
    const requeued = this.#requeueAll();
    this.#sentChunks.clear();
    this.#log.warn({ requeuedBatches: requeued }, 'outbox replaced; batches of the old stream forgotten');
    this.#schedulePump();
  }

  /** The sensors one source currently sees; published (retained, debounced) as the agent's inventory. */
  setInventory(source: string, sensors: readonly SensorInfo[]): void {
    this.#inventory.set(source, [...sensors]);
    if (this.#inventoryTimer) return;
    this.#inventoryTimer = setTimeout(() => {
      this.#inventoryTimer = undefined;
      this.#publishInventory(false);
    }, this.#options.inventoryDebounceMs);
    this.#inventoryTimer.unref();
  }

  /** Something an operator should know about. Queued (bounded) while disconnected. */
  event(type: string, detail?: string): void {
    const message: EventMessage = { at: this.#wallNow(), type: truncate(type, 64) };
    if (detail !== undefined) message.detail = truncate(detail, 1_024);
    if (this.#state === 'connected' && this.#client) {
      this.#publishJson(this.#client, 'events', encodeJsonMessage('events', message), false);
      return;
    }
    if (this.#eventQueue.length >= MAX_QUEUED_EVENTS) {
      this.#eventQueue.shift();
      this.#stats.eventsDropped++;
    }
    this.#eventQueue.push(message);
  }

  health(): UplinkHealth {
    const s = this.#stats;
    return {
      state: this.#state,
      protocolVersion: this.#protocolVersion,
      inFlight: this.#inFlight.size,
      ...s,
      bytesPerReading: s.readingsSent > 0 ? s.bytesSent / s.readingsSent : null,
      lastAckAt: this.#lastAckAt,
      lastAckLatencyMs: this.#lastAckLatencyMs,
      lastConnectedAt: this.#lastConnectedAt,
      lastError: this.#lastError,
    };
  }

  // ---- connection -------------------------------------------------------------------------------------

  #readTls(): Pick<IClientOptions, 'ca' | 'cert' | 'key' | 'rejectUnauthorized'> {
    const tls = this.#options.connection.tls;
    if (!tls) return {};
    const read = (what: string, path: string | undefined): Buffer | undefined => {
      if (path === undefined) return undefined;
      try {
        return readFileSync(path);
      } catch (err) {
        throw new UplinkError('tls_unreadable', `cannot read TLS ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? messageOf(err)}`);
      }
    };
    const material: Pick<IClientOptions, 'ca' | 'cert' | 'key' | 'rejectUnauthorized'> = { rejectUnauthorized: tls.rejectUnauthorized };
    const ca = read('CA certificate', tls.ca);
    const cert = read('client certificate', tls.cert);
    const key = read('client key', tls.key);
    if (ca) material.ca = ca;
    if (cert) material.cert = cert;
    if (key) material.key = key;
    return material;
  }

  #connect(): void {
    if (this.#state === 'stopped') return;
    this.#state = 'connecting';
    const { connection, agent } = this.#options;
    const will = { topic: this.#topic('status'), payload: encodeJsonMessage('status', { state: 'offline' }), qos: 1 as const, retain: true };
    const client = connect(connection.url, {
      protocolVersion: this.#protocolVersion,
      // A stable id lets the broker drop a half-dead previous session of this agent when it reconnects.
      clientId: `pb-agent-${agent}`,
      username: agent,
      password: connection.password,
      clean: true,
      keepalive: this.#options.keepaliveS,
      connectTimeout: this.#options.connectTimeoutMs,
      reconnectPeriod: 0,
      will,
      ...this.#tlsMaterial,
    });
    this.#client = client;
    this.#log.debug({ url: connection.url, protocolVersion: this.#protocolVersion }, 'connecting');
    client.on('connect', () => this.#guard('connect', () => this.#onConnect(client)));
    client.on('message', (topic, payload) => this.#guard('message', () => this.#onMessage(topic, payload)));
    client.on('error', (err) => this.#guard('error', () => this.#onError(client, err)));
    client.on('close', () => this.#guard('close', () => this.#onClose(client)));
  }

  #onConnect(client: MqttClient): void {
    if (client !== this.#client || this.#state === 'stopped') return;
    client.subscribe([this.#topic('ack'), this.#topic('cmd')], { qos: 1 }, (err, granted) =>
      this.#guard('subscribe', () => {
        if (client !== this.#client || this.#state === 'stopped') return;
        const refused = granted?.find((g) => g.qos >= 0x80);
        if (err || refused) {
          // Without the ack subscription every batch would time out and be resent forever.
          this.#lastError = `subscription refused: ${err ? err.message : `${refused?.topic} (code ${refused?.qos})`}`;
          this.#log.error({ err: this.#lastError }, 'cannot subscribe to acknowledgements; reconnecting');
          client.end(true);
          return;
        }
        this.#onReady(client);
      }),
    );
  }

  #onReady(client: MqttClient): void {
    this.#state = 'connected';
    this.#connectedAtMono = performance.now();
    this.#lastConnectedAt = this.#wallNow();
    this.#lastError = null;
    this.#stats.connects++;
    this.#log.info({ url: this.#options.connection.url, protocolVersion: this.#protocolVersion }, 'connected to hub');
    this.#publishStatus(client);
    this.#publishInventory(true);
    for (const message of this.#eventQueue.splice(0)) this.#publishJson(client, 'events', encodeJsonMessage('events', message), false);
    this.#schedulePump();
  }

  #onError(client: MqttClient, err: Error & { code?: unknown }): void {
    if (client !== this.#client) return;
    this.#lastError = err.message;
    if (this.#protocolVersion === 5 && typeof err.code === 'number' && UNSUPPORTED_VERSION_CODES.has(err.code)) {
      this.#log.warn('broker refuses MQTT 5; using MQTT 3.1.1');
      this.#protocolVersion = 4;
      this.#retryVersionNow = true;
      return;
    }
    this.#log.warn({ err: err.message, code: err.code }, 'MQTT connection error');
  }

  #onClose(client: MqttClient): void {
    if (client !== this.#client) return;
    this.#client = undefined;
    client.end(true);
    if (this.#state === 'stopped') return;
    const wasConnected = this.#state === 'connected';
    this.#state = 'disconnected';
    const requeued = this.#requeueAll();
    if (wasConnected) {
      const upMs = performance.now() - this.#connectedAtMono;
      if (upMs >= STABLE_CONNECTION_MS) this.#backoff.reset();
      this.#log.warn({ requeuedBatches: requeued, upMs: Math.round(upMs) }, 'disconnected from hub');
    }
    let delay: number;
    if (this.#retryVersionNow) {
      this.#retryVersionNow = false;
      delay = 0;
    } else {
      delay = this.#backoff.next();
    }
    this.#log.info({ delayMs: delay, attempt: this.#backoff.attempts, lastError: this.#lastError }, 'reconnect scheduled');
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = undefined;
      this.#guard('reconnect', () => this.#connect());
    }, delay);
  }

  // ---- sending ----------------------------------------------------------------------------------------

  #schedulePump(): void {
    if (this.#pumpScheduled || this.#state !== 'connected') return;
    this.#pumpScheduled = true;
    // One batch per turn of the event loop: encoding a large batch takes milliseconds, and sources must keep up.
    setImmediate(() => {
      this.#pumpScheduled = false;
      this.#guard('pump', () => this.#pump());
    });
  }

  #pump(): void {
    const client = this.#client;
    if (this.#state !== 'connected' || !client) return;
    if (this.#inFlight.size >= this.#options.window) return;
    const outbox = this.#options.outbox;
    let oldest: PlannableChunk[];
    let newest: PlannableChunk[];
    try {
      oldest = outbox.pending(PLAN_SCAN_CHUNKS, 'oldest', this.#inFlightChunks);
      newest = oldest.length < PLAN_SCAN_CHUNKS ? [...oldest].reverse() : outbox.pending(PLAN_SCAN_CHUNKS, 'newest', this.#inFlightChunks);
    } catch (err) {
      this.#onOutboxError('read pending chunks', err);
      return;
    }
    const window = this.#options.window;
    const backlogInFlight = [...this.#inFlight.values()].filter((b) => b.lane === 'backlog').length;
    const plan = planBatch(
      {
        oldest,
        newest,
        now: this.#wallNow(),
        lastLane: this.#lastLane,
        // Keep one slot for live data so a full window of backlog cannot delay it by a whole ack round trip.
        backlogSlotFree: window === 1 || backlogInFlight < window - 1,
      },
      this.#options,
    );
    if (plan.kind === 'idle') return;
    if (plan.kind === 'wait') {
      if (this.#liveTimer) clearTimeout(this.#liveTimer);
      this.#liveTimer = setTimeout(() => {
        this.#liveTimer = undefined;
        this.#schedulePump();
      }, plan.ms);
      this.#liveTimer.unref();
      return;
    }
    this.#send(client, plan.chunks, plan.lane);
    if (this.#inFlight.size < window) this.#schedulePump();
  }

  #send(client: MqttClient, chunks: readonly PlannableChunk[], lane: Lane): void {
    const outbox = this.#options.outbox;
    const first = chunks[0]!.first;
    const last = chunks[chunks.length - 1]!.last;
    const ids = chunks.map((c) => c.id);
    let loaded: LoadedChunks;
    let floor: number;
    try {
      loaded = outbox.load(ids);
      floor = outbox.floor();
    } catch (err) {
      this.#onOutboxError('load chunks', err);
      return;
    }
    if (loaded.chunks && loaded.chunks.length !== ids.length) {
      // Some chunks vanished while loading (the outbox dropped them as corrupt): plan again from what is left.
      this.#schedulePump();
      return;
    }
    const readings = countReadings(loaded.series);
    let payload: Buffer;
    try {
      payload = encodeBatch({ agent: this.#options.agent, stream: outbox.stream, first, last, floor, clockUnsynced: loaded.clockUnsynced, series: loaded.series });
    } catch (err) {
      this.#isolateUnencodable(chunks, err);
      this.#schedulePump();
      return;
    }
    const key = `${first}-${last}`;
    const timer = setTimeout(() => this.#guard('ack timeout', () => this.#onAckTimeout(key)), this.#options.ackTimeoutMs);
    timer.unref();
    const batch: InFlightBatch = { key, ids, first, last, readings, bytes: payload.byteLength, lane, sentAtMono: performance.now(), timer };
    this.#inFlight.set(key, batch);
    let resent = false;
    for (const chunk of chunks) {
      this.#inFlightChunks.add(chunk.id);
      if (this.#sentChunks.has(chunk.id)) resent = true;
      this.#sentChunks.set(chunk.id, chunk.last);
    }
    const s = this.#stats;
    s.batchesSent++;
    if (resent) s.batchesResent++;
    if (lane === 'live') s.liveBatches++;
    else s.backlogBatches++;
    s.readingsSent += readings;
    s.bytesSent += payload.byteLength;
    this.#lastLane = lane;
    this.#log.debug({ first, last, readings, bytes: payload.byteLength, lane, chunks: ids.length, resent }, 'batch sent');
    client.publish(this.#topic('readings'), payload, { qos: 1 }, (err) =>
      this.#guard('publish', () => {
        // A publish that failed locally (connection closing) will never be acknowledged: make it sendable again.
        if (err && this.#inFlight.get(key) === batch) {
          this.#log.debug({ first, last, err: err.message }, 'batch publish failed');
          this.#release(batch);
        }
      }),
    );
  }

  /**
   * Chunks that cannot be encoded (values outside the catalogue, a sequence range that no longer matches
   * its rows) would block the queue forever. Each chunk is tried alone; the ones that fail are rejected and
   * counted, the rest are planned again.
   */
  #isolateUnencodable(chunks: readonly PlannableChunk[], batchError: unknown): void {
    const outbox = this.#options.outbox;
    for (const chunk of chunks) {
      let loaded: LoadedChunks;
      try {
        loaded = outbox.load([chunk.id]);
      } catch (err) {
        // A storage failure says nothing about the readings themselves: keep them and try later.
        this.#onOutboxError('load chunks', err);
        return;
      }
      if (loaded.chunks && loaded.chunks.length === 0) continue;
      try {
        encodeBatch({ agent: this.#options.agent, stream: outbox.stream, first: chunk.first, last: chunk.last, floor: 0, clockUnsynced: loaded.clockUnsynced, series: loaded.series });
      } catch (err) {
        const reason = truncate(`unencodable: ${messageOf(err)}`, 256);
        try {
          const dropped = outbox.reject(chunk.first, chunk.last, reason);
          this.#stats.unencodable += dropped;
          this.#log.error({ first: chunk.first, last: chunk.last, dropped, reason }, 'dropped readings that cannot be encoded');
          this.event('readings_unencodable', `${dropped} readings ${chunk.first}..${chunk.last}: ${reason}`);
        } catch (rejectErr) {
          this.#onOutboxError('drop unencodable readings', rejectErr);
          return;
        }
      }
    }
    if (chunks.length === 1) return;
    this.#log.debug({ err: messageOf(batchError) }, 'batch not encodable; retried chunk by chunk');
  }

  #onAckTimeout(key: string): void {
    const batch = this.#inFlight.get(key);
    if (!batch) return;
    this.#release(batch);
    this.#stats.ackTimeouts++;
    this.#log.warn({ first: batch.first, last: batch.last, waitedMs: this.#options.ackTimeoutMs }, 'no acknowledgement from the hub in time; batch will be sent again');
    this.#schedulePump();
  }

  #release(batch: InFlightBatch): void {
    clearTimeout(batch.timer);
    this.#inFlight.delete(batch.key);
    for (const id of batch.ids) this.#inFlightChunks.delete(id);
  }

  #requeueAll(): number {
    const count = this.#inFlight.size;
    for (const batch of [...this.#inFlight.values()]) this.#release(batch);
    return count;
  }

  // ---- incoming ---------------------------------------------------------------------------------------

  #onMessage(topic: string, payload: Buffer): void {
    const parsed = this.#topics.parse(topic);
    if (!parsed || parsed.agent !== this.#options.agent) return;
    if (parsed.kind === 'ack') this.#onAck(payload);
    else if (parsed.kind === 'cmd') this.#onCommand(payload);
  }

  #onAck(payload: Buffer): void {
    let ack: AckMessage;
    try {
      ack = decodeJsonMessage('ack', payload);
      if (ack.last < ack.first) throw new Error(`range ${ack.first}..${ack.last} is reversed`);
    } catch (err) {
      this.#stats.malformedAcks++;
      this.#log.warn({ err: messageOf(err), bytes: payload.byteLength }, 'malformed acknowledgement ignored');
      return;
    }
    const outbox = this.#options.outbox;
    if (ack.stream !== outbox.stream) {
      // An ack for an outbox this agent no longer has (it was recreated): nothing to delete.
      this.#stats.foreignAcks++;
      this.#log.debug({ stream: ack.stream, first: ack.first, last: ack.last }, 'acknowledgement for another stream ignored');
      return;
    }
    const batch = this.#inFlight.get(`${ack.first}-${ack.last}`);
    if (batch) {
      this.#release(batch);
      for (const id of batch.ids) this.#sentChunks.delete(id);
      this.#lastAckLatencyMs = performance.now() - batch.sentAtMono;
      this.#ackLatency?.observe(this.#lastAckLatencyMs / 1_000);
    }
    try {
      if (ack.result === 'rejected') {
        const reason = ack.reason ?? 'rejected by the hub';
        const dropped = outbox.reject(ack.first, ack.last, reason);
        this.#stats.batchesRejected++;
        this.#stats.readingsRejected += dropped;
        this.#log.warn({ first: ack.first, last: ack.last, dropped, reason }, 'hub rejected a batch; its readings are dropped');
      } else {
        this.#stats.readingsAcked += outbox.acknowledge(ack.first, ack.last);
        this.#stats.batchesAcked++;
        this.#lastAckAt = this.#wallNow();
      }
    } catch (err) {
      this.#onOutboxError('apply an acknowledgement', err);
    }
    if (this.#sentChunks.size > PLAN_SCAN_CHUNKS * this.#options.window) this.#pruneSentChunks();
    this.#schedulePump();
  }

  #onCommand(payload: Buffer): void {
    let command: CommandMessage;
    try {
      command = decodeJsonMessage('cmd', payload);
    } catch (err) {
      this.#stats.malformedCommands++;
      this.#log.warn({ err: messageOf(err), bytes: payload.byteLength }, 'malformed command ignored');
      return;
    }
    switch (command.type) {
      case 'time':
        this.#options.clock.syncFromHub(command.hubTime, command.echo);
        break;
    }
  }

  // ---- status, inventory, events ------------------------------------------------------------------------

  #onStatusTick(): void {
    this.#guard('status', () => {
      if (this.#state === 'connected' && this.#client) this.#publishStatus(this.#client);
      this.#reportDrops();
      this.#pruneSentChunks();
    });
  }

  #publishStatus(client: MqttClient): void {
    const status: StatusMessage = { state: 'online', version: truncate(this.#options.version, 64), mono: Math.max(0, this.#options.clock.mono()), sentAt: this.#wallNow() };
    try {
      const stats = this.#options.outbox.stats();
      status.outbox = {
        readings: Math.max(0, Math.round(stats.readings)),
        bytes: Math.max(0, Math.round(stats.bytes)),
        oldestAgeMs: Math.max(0, Math.round(stats.oldestAgeMs)),
        dropped: this.#sumDropped(stats.dropped),
      };
    } catch (err) {
      this.#onOutboxError('read statistics', err);
    }
    const sources = this.#options.sources?.();
    if (sources) {
      status.sources = {};
      for (const [name, source] of Object.entries(sources)) {
        status.sources[truncate(name, 64)] = source.detail === undefined ? { state: source.state } : { state: source.state, detail: truncate(source.detail, 512) };
      }
    }
    this.#publishJson(client, 'status', encodeJsonMessage('status', status), true);
  }

  #publishInventory(force: boolean): void {
    const client = this.#client;
    if (this.#state !== 'connected' || !client || this.#inventory.size === 0) return;
    const sensors = [...this.#inventory.values()].flat().slice(0, 4_096);
    const message: InventoryMessage = { sensors };
    const payload = encodeJsonMessage('inventory', message);
    const text = payload.toString('utf8');
    if (!force && text === this.#publishedInventory) return;
    this.#publishedInventory = text;
    this.#publishJson(client, 'inventory', payload, true);
  }

  #reportDrops(): void {
    const total = this.#droppedTotal();
    if (total === undefined || this.#droppedBaseline === undefined) {
      this.#droppedBaseline ??= total;
      return;
    }
    if (total > this.#droppedBaseline) {
      const stats = this.#options.outbox.stats();
      const by = Object.entries(stats.dropped)
        .filter(([, n]) => n > 0)
        .map(([why, n]) => `${why} ${n}`)
        .join(', ');
      this.event('readings_dropped', `${total - this.#droppedBaseline} readings dropped since the last report (totals: ${by})`);
      this.#droppedBaseline = total;
    }
  }

  #droppedTotal(): number | undefined {
    try {
      return this.#sumDropped(this.#options.outbox.stats().dropped);
    } catch {
      return undefined;
    }
  }

  #sumDropped(dropped: Record<string, number>): number {
    let total = 0;
    for (const n of Object.values(dropped)) total += n;
    return Math.max(0, Math.round(total));
  }

  #pruneSentChunks(): void {
    let floor: number;
    try {
      floor = this.#options.outbox.floor();
    } catch {
      return;
    }
    for (const [id, last] of this.#sentChunks) if (last < floor) this.#sentChunks.delete(id);
  }

  #publishJson(client: MqttClient, kind: MessageKind, payload: Buffer, retain: boolean): void {
    client.publish(this.#topic(kind), payload, { qos: 1, retain }, (err) => {
      if (err) this.#log.debug({ kind, err: err.message }, 'publish failed');
    });
  }

  // ---- plumbing ---------------------------------------------------------------------------------------

  #topic(kind: MessageKind): string {
    return this.#topics.of(this.#options.agent, kind);
  }

  #wallNow(): number {
    return Math.max(0, Math.round(this.#options.clock.now()));
  }

  #onOutboxError(what: string, err: unknown): void {
    this.#log.error({ err: messageOf(err) }, `outbox failed to ${what}`);
    if (this.#retryTimer || this.#state === 'stopped') return;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.#schedulePump();
    }, OUTBOX_RETRY_MS);
    this.#retryTimer.unref();
  }

  /** Event handlers must never throw into mqtt.js or timers: a bug in one message must not stop the agent. */
  #guard(where: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.#log.error({ err, where }, 'uplink handler failed');
    }
  }

  async #within(promise: Promise<unknown>, ms: number, what: string): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
    });
    try {
      const done = await Promise.race([promise.then(() => true as const), timeout]);
      if (!done) this.#log.warn(`timed out after ${Math.round(ms)} ms waiting for ${what}`);
      return done;
    } catch (err) {
      this.#log.warn({ err: messageOf(err) }, `failed while waiting for ${what}`);
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  #registerMetrics(registry: Registry): Histogram {
    // Counters mirror the plain statistics at scrape time, so there is one source of truth for both.
    const stats = this.#stats;
    const inFlight = this.#inFlight;
    const connected = (): boolean => this.#state === 'connected';
    new Gauge({
      name: 'pb_agent_uplink_connected',
      help: '1 while the uplink is connected to the hub',
      registers: [registry],
      collect() {
        this.set(connected() ? 1 : 0);
      },
    });
    new Gauge({
      name: 'pb_agent_uplink_in_flight_batches',
      help: 'Batches sent and not yet acknowledged',
      registers: [registry],
      collect() {
        this.set(inFlight.size);
      },
    });
    new Counter({
      name: 'pb_agent_uplink_batches_total',
      help: 'Readings batches by outcome',
      labelNames: ['outcome'],
      registers: [registry],
      collect() {
        const s = stats;
        this.reset();
        this.inc({ outcome: 'sent' }, s.batchesSent);
        this.inc({ outcome: 'acked' }, s.batchesAcked);
        this.inc({ outcome: 'rejected' }, s.batchesRejected);
        this.inc({ outcome: 'resent' }, s.batchesResent);
        this.inc({ outcome: 'ack_timeout' }, s.ackTimeouts);
      },
    });
    new Counter({
      name: 'pb_agent_uplink_readings_total',
      help: 'Readings by outcome',
      labelNames: ['outcome'],
      registers: [registry],
      collect() {
        const s = stats;
        this.reset();
        this.inc({ outcome: 'sent' }, s.readingsSent);
        this.inc({ outcome: 'acked' }, s.readingsAcked);
        this.inc({ outcome: 'rejected' }, s.readingsRejected);
        this.inc({ outcome: 'unencodable' }, s.unencodable);
      },
    });
    new Counter({
      name: 'pb_agent_uplink_sent_bytes_total',
      help: 'Readings batch payload bytes published',
      registers: [registry],
      collect() {
        this.reset();
        this.inc(stats.bytesSent);
      },
    });
    new Counter({
      name: 'pb_agent_uplink_connects_total',
      help: 'Successful connections to the hub',
      registers: [registry],
      collect() {
        this.reset();
        this.inc(stats.connects);
      },
    });
    new Counter({
      name: 'pb_agent_uplink_malformed_messages_total',
      help: 'Messages from the hub that failed validation and were ignored',
      labelNames: ['kind'],
      registers: [registry],
      collect() {
        const s = stats;
        this.reset();
        this.inc({ kind: 'ack' }, s.malformedAcks);
        this.inc({ kind: 'cmd' }, s.malformedCommands);
      },
    });
    return new Histogram({
      name: 'pb_agent_uplink_ack_latency_seconds',
      help: 'Time from publishing a batch to the hub acknowledging it',
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    });
  }
}
