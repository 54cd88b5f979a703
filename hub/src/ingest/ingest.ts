/**
 * The hub's ingest: every message an agent sends arrives here through the HubTransport, and goes to its
 * handler by kind: readings to the write queue (readings-queue.ts), status, inventory and events to
 * handlers/. Each message also counts as the agent being seen (agent-presence.ts).
 */
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import type { MessageKind } from '@pulsebridge/protocol';
import { LogRepeats } from '@pulsebridge/runtime';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { AgentMessage, HubTransport } from '../broker/transport.ts';
import type { LiveBus, LiveReadings } from '../live/live-bus.ts';
import type { AgentRegistry } from '../registry/agent-registry.ts';
import type { SeriesStore } from '../storage/series/series-store.ts';
import type { UnsyncedBootsHeld } from '../unsynced/unsynced-tally.ts';
import { AgentPresence, type AgentOffline } from './agent-presence.ts';
import type { DedupeStore } from './dedupe-store.ts';
import { handleEvents } from './handlers/events.ts';
import { handleInventory } from './handlers/inventory.ts';
import { handleNearby } from './handlers/nearby.ts';
import { handleStatus } from './handlers/status.ts';
import { IngestContext, type MessageHandler, type PairingIngest } from './ingest-context.ts';
import { IngestCounts } from './ingest-counts.ts';
import { ReadingsWriteQueue } from './readings-queue.ts';
import { Tasks } from './tasks.ts';

export type { BatchResult, RejectReason } from './ingest-counts.ts';
export type { AgentOffline } from './agent-presence.ts';

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
    maxReadingAgeMs: Type.Integer({
      minimum: 1,
      default: 8 * 24 * 3_600_000,
      description:
        'Readings stamped longer ago than this (by the hub clock) are refused and counted, the rest of their batch stored: ' +
        'a day above the agent outbox.maxAgeMs default (7 days), so what an outbox may still hold, sent a little late, is kept',
    }),
    maxReadingLeadMs: Type.Integer({
      minimum: 0,
      default: 300_000,
      description:
        'Readings stamped further than this ahead of the hub clock are refused and counted: agents set their clock from the hub, so minutes cover drift between corrections',
    }),
    maxUnsyncedBootsPerAgent: Type.Integer({
      minimum: 1,
      default: 16,
      description:
        'Boots of unconfirmed clock one agent may have held apart at once (each a box that restarted without meeting the hub); ' +
        'readings of a further boot are refused and counted until an operator corrects or discards one',
    }),
    agentOfflineGraceMs: Type.Integer({
      minimum: 1000,
      default: 60_000,
      description:
        'How long an agent may stay offline (connection closed, or its last will) before its gym is told (webhook agent.offline); ' +
        'a reconnect within it, as after a network blip or an agent restart, reports nothing',
    }),
    rejectLogIntervalMs: Type.Integer({
      minimum: 0,
      default: 60_000,
      description: 'Per agent and reason, a refused message is logged at once, then its repeats once per interval as a count; 0 logs each',
    }),
  },
  { default: {}, additionalProperties: false },
);
export type IngestConfig = Static<typeof IngestConfig>;

/** Rules across the ingest settings that the schema cannot express. */
export function ingestConfigProblems(config: IngestConfig, path: string): string[] {
  const problems: string[] = [];
  if (config.retryDelayMs > config.maxRetryDelayMs) problems.push(`${path}/retryDelayMs: must not exceed maxRetryDelayMs`);
  return problems;
}

export interface IngestDependencies {
  transport: HubTransport;
  registry: AgentRegistry;
  store: SeriesStore;
  live: LiveBus;
  dedupe: DedupeStore;
  log: Logger;
  metrics?: Registry;
  /** Wall clock, UTC ms: status times, presence and the hub time sent to agents. */
  now?: () => number;
  /** Called after readings of an unconfirmed clock were stored apart from the series. */
  onUnsyncedStored?: () => void;
  /** Called with each batch's readings once stored by this hub (late readings: domain/sessions/late-readings.ts). */
  onStored?: (readings: LiveReadings) => void;
  /** Boots of unconfirmed clock each agent has held apart (UnsyncedTally); without it no boot limit applies. */
  unsyncedBoots?: UnsyncedBootsHeld;
  /** The pairing channel: told when agents come online and what they hear nearby. */
  pairing?: PairingIngest;
  /** Called once when an agent has been offline for agentOfflineGraceMs (agent-presence.ts). */
  onOffline?: (offline: AgentOffline) => void;
}

/** Settings left out take their defaults from IngestConfig; the settings are checked where the config loads. */
export type IngestOptions = Partial<IngestConfig> & IngestDependencies;

const HANDLERS: Partial<Record<MessageKind, MessageHandler>> = { status: handleStatus, inventory: handleInventory, events: handleEvents, nearby: handleNearby };

export class Ingest {
  private readonly config: IngestConfig;
  private readonly transport: HubTransport;
  private readonly dedupe: DedupeStore;
  private readonly log: Logger;
  private readonly tasks: Tasks;
  private readonly context: IngestContext;
  private readonly presence: AgentPresence;
  private readonly readings: ReadingsWriteQueue;
  private isRunning = false;
  private handlersInstalled = false;

  constructor(o: IngestOptions) {
    this.config = Ingest.settingsFrom(o);
    this.transport = o.transport;
    this.dedupe = o.dedupe;
    this.log = o.log.child({ ns: 'ingest' });
    const now = o.now ?? Date.now;
    const counts = new IngestCounts();
    this.tasks = new Tasks(this.log);
    this.presence = new AgentPresence(
      o.registry,
      now,
      this.log,
      o.transport.presenceSource,
      o.onOffline ? { graceMs: this.config.agentOfflineGraceMs, onOffline: o.onOffline } : undefined,
    );
    this.context = new IngestContext(
      o.registry,
      counts,
      this.log,
      now,
      o.transport,
      new LogRepeats(this.log, { intervalMs: this.config.rejectLogIntervalMs }),
      this.tasks,
      this.presence,
      o.pairing,
    );
    this.readings = new ReadingsWriteQueue({
      config: this.config,
      context: this.context,
      store: o.store,
      live: o.live,
      dedupe: o.dedupe,
      ...(o.onUnsyncedStored ? { onUnsyncedStored: o.onUnsyncedStored } : {}),
      ...(o.onStored ? { onStored: o.onStored } : {}),
      ...(o.unsyncedBoots ? { unsyncedBoots: o.unsyncedBoots } : {}),
    });
    if (o.metrics) counts.register(o.metrics, () => this.readings.queuedReadings);
  }

  private static settingsFrom(o: IngestOptions): IngestConfig {
    const given: Record<string, unknown> = {};
    for (const key of Object.keys(IngestConfig.properties)) {
      const value = (o as unknown as Record<string, unknown>)[key];
      if (value !== undefined) given[key] = value;
    }
    return Value.Default(IngestConfig, given) as IngestConfig;
  }

  /** Taking messages: what readiness checks. */
  get running(): boolean {
    return this.isRunning;
  }

  /** Loads the dedupe ranges and starts taking messages; call before the transport starts. */
  start(): void {
    if (this.isRunning) return;
    this.dedupe.load();
    this.isRunning = true;
    this.presence.start();
    if (!this.handlersInstalled) {
      this.transport.onMessage(this.onMessage);
      this.transport.onPresence((agent, connected) => this.presence.connection(agent, connected));
      this.handlersInstalled = true;
    }
    this.readings.start();
  }

  /**
   * Stops taking messages (agents resend what was not acknowledged), then writes and acknowledges what is
   * queued, for at most drainTimeoutMs. Call it before stopping the transport: the acks go out through it.
   */
  async stop(): Promise<void> {
    if (!this.isRunning) return;
    this.isRunning = false;
    // The hub disconnects its agents after this: those drops are no outage of theirs.
    this.presence.stop();
    const deadline = performance.now() + this.config.drainTimeoutMs;
    const remaining = (): number => Math.max(0, deadline - performance.now());
    // Batches still being validated may be about to join the queue.
    await this.tasks.settle(remaining());
    const drained = await this.readings.drain(remaining());
    await this.tasks.settle(remaining());
    if (!drained) {
      this.log.warn(
        { ...this.readings.backlog(), waitedMs: this.config.drainTimeoutMs },
        'ingest stopped before the store took every queued batch; they were not acknowledged, agents will resend them',
      );
    }
    this.context.flushLogs();
  }

  /** The transport's handler: must never throw, whatever the payload. */
  private readonly onMessage = (message: AgentMessage): void => {
    // After stop() nothing is acknowledged, so agents keep their data for the next hub.
    if (!this.isRunning) return;
    this.presence.seen(message.agent);
    if (message.kind === 'readings') {
      this.tasks.track(this.readings.handle(message));
      return;
    }
    const handler = HANDLERS[message.kind];
    if (handler) {
      const handled = handler(this.context, message);
      if (handled) this.tasks.track(handled);
      return;
    }
    this.context.counts.message(message.kind, 'unexpected_kind');
    this.context.logLimited(message.agent, `kind:${message.kind}`, { kind: message.kind }, 'agent sent a kind of message only the hub sends; ignored');
  };
}
