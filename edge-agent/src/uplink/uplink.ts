/**
 * The agent's link to the hub, as the agent sees it: forwards outbox readings over MQTT, deletes them once the
 * hub confirms durable storage, publishes the agent's status, inventory and events, and hands the hub's time
 * commands to the clock. Three parts do the work:
 * - session.ts: the MQTT connection (protocol fallback, TLS, last will, reconnect backoff);
 * - sender.ts: the readings batches (window, acknowledgements, resends, live lane and backlog);
 * - announcer.ts: retained status and inventory, and events.
 */
import type { Logger } from 'pino';
import { Histogram, type Registry } from 'prom-client';
import { decodeJsonMessage, encodeJsonMessage, type CommandMessage, type MessageKind, type NearbySensorReport, type PairingMessage, type SensorInfo } from '@pulsebridge/protocol';
import { errorMessage, registerScraped } from '@pulsebridge/runtime';
import { Announcer, type SourceStatus } from './announcer.ts';
import type { ProtocolVersion, UplinkConfig, UplinkConnection } from './config.ts';
import { Sender, type SenderStats, type UplinkOutbox } from './sender.ts';
import { MqttSession, type UplinkState } from './session.ts';

export { UplinkConfig, hubConnectionProblems, uplinkConfigProblems, type ProtocolVersion, type UplinkConnection, type UplinkTls } from './config.ts';
export type { LoadedChunks, UplinkOutbox } from './sender.ts';
export { UplinkError, type UplinkState } from './session.ts';
export type { SourceStatus } from './announcer.ts';

/** The clock as the uplink uses it; `Clock` from ../clock/clock.ts fits it. */
export interface UplinkClock {
  /** True once true time is known for the current boot. */
  readonly synced: boolean;
  now(): number;
  mono(): number;
  syncFromHub(hubTime: number, echoMono: number): void;
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
  /** The hub's allowlist of the gym arrived (the retained `pairing` message, again at every connect). */
  onPairing?: ((list: PairingMessage) => void) | undefined;
  /** The hub opened (or closed) a permit-join or discovery window. */
  onWindow?: ((window: { until: number; permitJoin: boolean; discover: boolean }) => void) | undefined;
  random?: (() => number) | undefined;
};

export interface UplinkHealth extends SenderStats {
  state: UplinkState;
  protocolVersion: ProtocolVersion;
  inFlight: number;
  /** Wire bytes per reading over everything sent so far. */
  bytesPerReading: number | null;
  lastAckAt: number | null;
  lastAckLatencyMs: number | null;
  connects: number;
  lastConnectedAt: number | null;
  lastError: string | null;
  malformedCommands: number;
  eventsDropped: number;
}

export class Uplink {
  private readonly options: UplinkOptions;
  private readonly log: Logger;
  private readonly session: MqttSession;
  private readonly sender: Sender;
  private readonly announcer: Announcer;
  private statusTimer: NodeJS.Timeout | undefined;
  private malformedCommands = 0;
  private malformedPairings = 0;

  constructor(options: UplinkOptions) {
    this.options = options;
    this.log = options.log;
    const wallNow = (): number => options.clock.now();
    this.session = new MqttSession({
      ...options,
      subscriptions: ['ack', 'cmd', 'pairing'],
      will: Announcer.will(),
      now: wallNow,
    });
    this.announcer = new Announcer({ ...options, channel: this.session });
    this.sender = new Sender({
      ...options,
      channel: this.session,
      now: wallNow,
      clockSynced: () => options.clock.synced,
      event: (type, detail) => this.announcer.event(type, detail),
      ackLatency: options.metrics ? ackLatencyHistogram(options.metrics) : undefined,
    });
    if (options.metrics) this.registerMetrics(options.metrics);
    this.session.on('ready', () => {
      // Before the status goes out: its time answer must find the sender waiting for it.
      this.sender.connected();
      this.announcer.online();
      this.sender.wake();
    });
    this.session.on('down', () => {
      const requeued = this.sender.disconnected();
      if (requeued > 0) this.log.info({ requeuedBatches: requeued }, 'batches in flight will be sent again');
    });
    this.session.on('message', (kind, payload) => this.onMessage(kind, payload));
  }

  get state(): UplinkState {
    return this.session.state;
  }

  /** Connects. Throws UplinkError('tls_unreadable') when a TLS file vanished since the configuration was loaded. */
  start(): void {
    if (this.session.state !== 'idle') return;
    this.session.start();
    this.statusTimer = setInterval(() => this.onStatusTick(), this.options.statusIntervalMs);
    this.statusTimer.unref();
  }

  async stop(): Promise<void> {
    if (this.session.state === 'stopped') return;
    clearInterval(this.statusTimer);
    this.sender.stop();
    this.announcer.stop();
    await this.session.stop(this.announcer.goodbye(), this.options.stopTimeoutMs);
  }

  /** New chunks were committed to the outbox. */
  wake(): void {
    this.sender.wake();
  }

  /**
   * The outbox replaced its database (it was damaged): chunk ids and sequence numbers restart in a new
   * stream, so nothing known about the old one's batches may be applied to the new one.
   */
  outboxReplaced(): void {
    const requeued = this.sender.outboxReplaced();
    this.log.warn({ requeuedBatches: requeued }, 'outbox replaced; batches of the old stream forgotten');
  }

  /** The sensors one source currently sees; published (retained, debounced) as the agent's inventory. */
  setInventory(source: string, sensors: readonly SensorInfo[]): void {
    this.announcer.setInventory(source, sensors);
  }

  /** Something an operator should know about. Queued (bounded) while disconnected. */
  event(type: string, detail?: string): void {
    this.announcer.event(type, detail);
  }

  /** Unpaired sensors heard in a discovery window; dropped while disconnected (the next report replaces it). */
  nearby(sensors: NearbySensorReport[]): boolean {
    if (!this.session.ready) return false;
    return this.session.publish('nearby', encodeJsonMessage('nearby', { sensors }), false, (err) => {
      if (err) this.log.debug({ err: err.message }, 'nearby report not published');
    });
  }

  health(): UplinkHealth {
    const s = this.sender.stats;
    const session = this.session;
    return {
      state: session.state,
      protocolVersion: session.protocolVersion,
      inFlight: this.sender.inFlightBatches,
      ...s,
      bytesPerReading: s.readingsSent > 0 ? s.bytesSent / s.readingsSent : null,
      lastAckAt: this.sender.lastAckAt,
      lastAckLatencyMs: this.sender.lastAckLatencyMs,
      connects: session.connects,
      lastConnectedAt: session.lastConnectedAt,
      lastError: session.lastError,
      malformedCommands: this.malformedCommands,
      eventsDropped: this.announcer.eventsDropped,
    };
  }

  private onMessage(kind: MessageKind, payload: Buffer): void {
    if (kind === 'ack') this.sender.onAck(payload);
    else if (kind === 'cmd') this.onCommand(payload);
    else if (kind === 'pairing') this.onPairing(payload);
  }

  private onPairing(payload: Buffer): void {
    let list: PairingMessage;
    try {
      list = decodeJsonMessage('pairing', payload);
    } catch (err) {
      this.malformedPairings++;
      this.log.warn({ err: errorMessage(err), bytes: payload.byteLength }, 'malformed pairing list ignored');
      return;
    }
    this.options.onPairing?.(list);
  }

  private onCommand(payload: Buffer): void {
    let command: CommandMessage;
    try {
      command = decodeJsonMessage('cmd', payload);
    } catch (err) {
      this.malformedCommands++;
      this.log.warn({ err: errorMessage(err), bytes: payload.byteLength }, 'malformed command ignored');
      return;
    }
    switch (command.type) {
      case 'time':
        this.options.clock.syncFromHub(command.hubTime, command.echo);
        // Readings held for want of true time may go now, corrected.
        this.sender.wake();
        break;
      case 'window':
        this.options.onWindow?.({ until: command.until, permitJoin: command.permitJoin, discover: command.discover });
        break;
    }
  }

  private onStatusTick(): void {
    try {
      this.announcer.publishStatus();
      this.sender.pruneSentChunks();
    } catch (err) {
      this.log.error({ err, where: 'status' }, 'uplink handler failed');
    }
  }

  private registerMetrics(registry: Registry): void {
    // Read at scrape time from the same numbers health() reports.
    const s = this.sender.stats;
    registerScraped(registry, [
      { name: 'pb_agent_uplink_connected', help: '1 while the uplink is connected to the hub', kind: 'gauge', read: () => (this.session.state === 'connected' ? 1 : 0) },
      { name: 'pb_agent_uplink_in_flight_batches', help: 'Batches sent and not yet acknowledged', kind: 'gauge', read: () => this.sender.inFlightBatches },
      {
        name: 'pb_agent_uplink_batches_total',
        help: 'Readings batches by outcome',
        kind: 'counter',
        label: 'outcome',
        read: () => ({ sent: s.batchesSent, acked: s.batchesAcked, rejected: s.batchesRejected, resent: s.batchesResent, ack_timeout: s.ackTimeouts }),
      },
      {
        name: 'pb_agent_uplink_readings_total',
        help: 'Readings by outcome',
        kind: 'counter',
        label: 'outcome',
        read: () => ({ sent: s.readingsSent, acked: s.readingsAcked, rejected: s.readingsRejected, unencodable: s.unencodable }),
      },
      { name: 'pb_agent_uplink_sent_bytes_total', help: 'Readings batch payload bytes published', kind: 'counter', read: () => s.bytesSent },
      { name: 'pb_agent_uplink_connects_total', help: 'Successful connections to the hub', kind: 'counter', read: () => this.session.connects },
      {
        name: 'pb_agent_uplink_clock_sync_waits_expired_total',
        help: "Connects after which the hub's time answer did not come within clockSyncWaitMs, so readings of unknown time went out flagged",
        kind: 'counter',
        read: () => s.clockSyncWaitsExpired,
      },
      {
        name: 'pb_agent_uplink_malformed_messages_total',
        help: 'Messages from the hub that failed validation and were ignored',
        kind: 'counter',
        label: 'kind',
        read: () => ({ ack: s.malformedAcks, cmd: this.malformedCommands, pairing: this.malformedPairings }),
      },
    ]);
  }
}

function ackLatencyHistogram(registry: Registry): Histogram {
  return new Histogram({
    name: 'pb_agent_uplink_ack_latency_seconds',
    help: 'Time from publishing a batch to the hub acknowledging it',
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
}
