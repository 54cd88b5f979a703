/**
 * The composition root of the edge agent: builds every component from the configuration and wires them.
 *
 *   sources ──reading──▶ outbox ──'flushed'──▶ uplink ──MQTT──▶ hub
 *          └─inventory──────────────────────▶ uplink
 *   clock ◀── time command (via uplink);  health endpoint reads them all
 *   pairing state ◀── pairing list, window command (via uplink); sources admit through it; nearby ──▶ uplink
 *
 * A source that fails to start is reported unavailable and the agent keeps running: a gym with a broken
 * Bluetooth adapter still forwards its ANT+ sensors.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import pino from 'pino';
import { Registry } from 'prom-client';
import type { PairingMessage, Reading, SensorInfo } from '@pulsebridge/protocol';
import { LogRepeats, PulsebridgeError, TimeoutError, errorMessage, registerScraped, resolveSecret, settlesWithin } from '@pulsebridge/runtime';
import { Clock, type ClockJump } from './clock/clock.ts';
import type { AgentConfig } from './config.ts';
import { HealthServer, type HealthReport } from './health/health-server.ts';
import { Outbox, type OutboxDropReport, type OutboxRecovery } from './outbox/outbox.ts';
import { PAIRING_FILE_NAME, loadPairingFile, savePairingFile } from './sources/pairing-file.ts';
import { PairingState } from './sources/pairing-state.ts';
import { createSources } from './sources/registry.ts';
import type { Source, SourceHealth, SourceSink } from './sources/source.ts';
import { Uplink } from './uplink/uplink.ts';

/** Where the agent keeps the id it generated for the current boot, on a system without a kernel boot id. */
const BOOT_ID_FILE_NAME = 'boot-id.json';
/** How often the unpaired sensors heard in a discovery window are reported, at most. */
export const NEARBY_REPORT_INTERVAL_MS = 1_000;

export const AGENT_VERSION: string = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

export interface AgentDeps {
  log?: Logger | undefined;
  metrics?: Registry | undefined;
  /** Where secret references of the `env` kind are looked up. */
  env?: NodeJS.ProcessEnv | undefined;
  /** Sources besides the configured ones, e.g. a test's own. */
  sources?: readonly Source[] | undefined;
  /** How long one source may take to start or stop before the agent moves on. */
  sourceTimeoutMs?: number | undefined;
}

type AgentState = 'idle' | 'starting' | 'running' | 'stopping' | 'stopped';

export class Agent {
  readonly config: AgentConfig;
  readonly log: Logger;
  readonly metrics: Registry;
  readonly clock: Clock;
  readonly outbox: Outbox;
  readonly uplink: Uplink;
  readonly healthServer: HealthServer;
  readonly sources: readonly Source[];
  /** The hub's allowlist of the gym and its windows, which the radio sources admit through. */
  readonly pairing: PairingState;
  private readonly pairingFile: string;
  private nearbyTimer: NodeJS.Timeout | undefined;
  private lastNearby: string | undefined;
  private readonly pairingCounts = { listsApplied: 0, listsIgnored: 0, nearbyReports: 0, saveFailures: 0 };
  private readonly sourceTimeoutMs: number;
  /** Sources whose start failed, with why: their own health cannot be trusted to say so. */
  private readonly sourceFailures = new Map<string, string>();
  private appendErrors = 0;
  /** Invalid readings are counted by the outbox; this only keeps a broken source from flooding the log. */
  private readonly repeats: LogRepeats;
  private state: AgentState = 'idle';
  private readonly onFlushed = (): void => this.uplink.wake();
  private readonly onOutboxOpened = (stream: string): void => this.outboxOpened(stream);
  /** The outbox stream the uplink works on; undefined until the outbox file has opened. */
  private outboxStream: string | undefined;
  private readonly onClockJump = (jump: ClockJump): void => this.clockJumped(jump);
  private readonly onOutboxRecovered = (recovery: OutboxRecovery): void => this.outboxRecovered(recovery);
  private readonly onOutboxDropped = (report: OutboxDropReport): void => this.uplink.event('readings_dropped', report.summary);

  constructor(config: AgentConfig, deps: AgentDeps = {}) {
    this.config = config;
    this.log = (deps.log ?? pino({ level: config.log.level })).child({ agent: config.agent.id });
    this.metrics = deps.metrics ?? new Registry();
    this.repeats = new LogRepeats(this.log);
    this.sourceTimeoutMs = deps.sourceTimeoutMs ?? 10_000;
    // Resolved here so a missing secret is a configuration error at startup, not a reconnect loop later.
    const password = resolveSecret(config.hub.password, deps.env ?? process.env);

    this.clock = new Clock({ log: this.log, jumpThresholdMs: config.clock.jumpThresholdMs, bootIdFile: join(config.agent.dataDir, BOOT_ID_FILE_NAME) });
    this.outbox = new Outbox({ ...config.outbox, agent: config.agent.id, clock: this.clock, log: this.log, metrics: this.metrics });

    this.pairing = new PairingState({ now: () => this.clock.now() });
    this.pairingFile = join(config.agent.dataDir, PAIRING_FILE_NAME);
    // The list applied last: without the hub, the gym's paired sensors are admitted from the start.
    const saved = loadPairingFile(this.pairingFile, this.log);
    if (saved && this.pairing.apply(saved)) this.log.info({ version: saved.version, sensors: this.pairing.size }, 'saved pairing list loaded');

    this.sources = [
      ...createSources(config.sources, { now: () => this.clock.now(), log: (name) => this.log.child({ ns: `sources/${name}` }), pairing: this.pairing }),
      ...(deps.sources ?? []),
    ];

    this.uplink = new Uplink({
      ...config.uplink,
      agent: config.agent.id,
      connection: { url: config.hub.url, password, topicRoot: config.hub.topicRoot, protocolVersion: config.hub.protocolVersion, tls: config.hub.tls },
      version: AGENT_VERSION,
      outbox: this.outbox,
      clock: this.clock,
      log: this.log.child({ ns: 'uplink' }),
      metrics: this.metrics,
      sources: () => this.sourceHealth(),
      onPairing: (list) => this.applyPairing(list),
      onWindow: (window) => this.openWindow(window),
    });
    this.registerPairingMetrics();

    this.healthServer = new HealthServer({
      ...config.health,
      agent: config.agent.id,
      version: AGENT_VERSION,
      log: this.log.child({ ns: 'health' }),
      metrics: this.metrics,
      sources: () => this.sourceHealth(),
      outbox: () => this.outbox.stats(),
      uplink: () => this.uplink.health(),
      // The outbox registers its own pb_agent_outbox_* metrics.
      outboxMetrics: false,
    });
  }

  async start(): Promise<void> {
    if (this.state !== 'idle') throw new PulsebridgeError('agent_state', `agent cannot start: it is ${this.state}`);
    this.state = 'starting';
    this.log.info({ version: AGENT_VERSION, hub: this.config.hub.url, outbox: this.config.outbox.path }, 'agent starting');
    this.clock.start();
    this.clock.on('jump', this.onClockJump);
    // A disk that is full, read-only or not mounted yet does not stop the agent: the outbox keeps readings in
    // memory, says so in /healthz, and opens the file when it can.
    this.outbox.start();
    if (this.outbox.stats().storage !== 'unopened') this.outboxStream = this.outbox.stream;
    this.outbox.on('flushed', this.onFlushed);
    this.outbox.on('opened', this.onOutboxOpened);
    this.outbox.on('recovered', this.onOutboxRecovered);
    this.outbox.on('dropped', this.onOutboxDropped);
    this.uplink.start();
    try {
      await this.healthServer.start();
    } catch (err) {
      // Forwarding readings matters more than being observable: run on and say so loudly.
      this.log.error({ err: errorMessage(err) }, 'health endpoint not available');
    }
    await Promise.all(this.sources.map((source) => this.startSource(source)));
    this.state = 'running';
    this.uplink.event('agent_started', `version ${AGENT_VERSION}; sources: ${this.sources.map((s) => s.name).join(', ') || 'none'}`);
    this.log.info({ sources: this.sourceHealth() }, 'agent running');
  }

  /** Stops sources first so nothing new arrives, commits what is buffered, says goodbye to the hub, closes. */
  async stop(): Promise<void> {
    if (this.state === 'stopped' || this.state === 'stopping') return;
    this.state = 'stopping';
    this.log.info('agent stopping');
    await Promise.all(
      this.sources.map((source) =>
        this.bounded(source.stop(), `source ${source.name} to stop`).catch((err: unknown) =>
          this.log.error({ err: errorMessage(err), source: source.name }, 'source failed to stop'),
        ),
      ),
    );
    clearInterval(this.nearbyTimer);
    this.nearbyTimer = undefined;
    this.step('flush the outbox', () => this.outbox.flush());
    await this.uplink.stop();
    this.outbox.off('flushed', this.onFlushed);
    this.outbox.off('opened', this.onOutboxOpened);
    this.outbox.off('recovered', this.onOutboxRecovered);
    this.outbox.off('dropped', this.onOutboxDropped);
    this.clock.off('jump', this.onClockJump);
    // The last word on what this run accepted and what is still waiting: operators and tests reconcile with it.
    const outbox = this.outbox.stats();
    this.step('close the outbox', () => this.outbox.stop());
    this.step('stop the clock', () => this.clock.stop());
    await this.healthServer.stop();
    this.repeats.flush();
    this.state = 'stopped';
    this.log.info({ outbox }, 'agent stopped');
  }

  health(): HealthReport {
    return this.healthServer.report();
  }

  sourceHealth(): Record<string, SourceHealth> {
    const out: Record<string, SourceHealth> = {};
    for (const source of this.sources) {
      const failure = this.sourceFailures.get(source.name);
      if (failure !== undefined) {
        out[source.name] = { state: 'unavailable', detail: failure, sensors: 0, readings: 0, rejected: 0 };
        continue;
      }
      try {
        out[source.name] = source.health();
      } catch (err) {
        out[source.name] = { state: 'unavailable', detail: `health check failed: ${errorMessage(err)}`, sensors: 0, readings: 0, rejected: 0 };
      }
    }
    return out;
  }

  private async startSource(source: Source): Promise<void> {
    const log = this.log.child({ ns: `sources/${source.name}` });
    const sink: SourceSink = {
      reading: (reading: Reading) => this.append(reading),
      inventory: (sensors: SensorInfo[]) => {
        try {
          this.uplink.setInventory(source.name, sensors);
        } catch (err) {
          log.error({ err: errorMessage(err) }, 'inventory not forwarded');
        }
      },
    };
    try {
      const started = await this.bounded(source.start(sink), `source ${source.name} to start`);
      if (!started) log.warn('source still starting; running without waiting for it');
    } catch (err) {
      this.sourceFailures.set(source.name, errorMessage(err));
      log.error({ err: errorMessage(err) }, 'source failed to start; reported unavailable');
      this.uplink.event('source_failed', `${source.name}: ${errorMessage(err)}`);
    }
  }

  private append(reading: Reading): void {
    try {
      this.outbox.append(reading);
    } catch (err) {
      this.appendErrors++;
      this.repeats.error(`append\u0000${errorMessage(err)}`, { err: errorMessage(err), errors: this.appendErrors }, 'reading not stored');
    }
  }

  /**
   * A list from the hub: applied at once (every source admits through the shared state) and saved, unless
   * it is not newer than the one applied. A list that cannot be saved still applies: only an offline
   * start would miss it.
   */
  private applyPairing(list: PairingMessage): void {
    const before = this.pairing.version;
    if (!this.pairing.apply(list)) {
      this.pairingCounts.listsIgnored++;
      if (list.version < (before ?? 0)) this.log.info({ version: list.version, applied: before }, 'older pairing list ignored');
      return;
    }
    this.pairingCounts.listsApplied++;
    this.log.info({ version: list.version, sensors: this.pairing.size, previous: before }, 'pairing list applied');
    const applied = this.pairing.list;
    if (!applied) return;
    try {
      savePairingFile(this.pairingFile, applied);
    } catch (err) {
      this.pairingCounts.saveFailures++;
      this.log.error({ err: errorMessage(err), path: this.pairingFile }, 'pairing list not saved; an offline start would not know it');
    }
  }

  /** The hub's window: permit-join for its duration, and `nearby` reports while it discovers. */
  private openWindow(window: { until: number; permitJoin: boolean; discover: boolean }): void {
    this.pairing.openWindow(window);
    this.log.info({ ...window, inMs: Math.round(window.until - this.clock.now()) }, 'pairing window from the hub');
    clearInterval(this.nearbyTimer);
    this.nearbyTimer = undefined;
    this.lastNearby = undefined;
    if (!window.discover || !this.pairing.windowOpen) return;
    this.nearbyTimer = setInterval(() => this.reportNearby(), NEARBY_REPORT_INTERVAL_MS);
    this.nearbyTimer.unref();
  }

  /** Sends what the window heard when it changed; the window's end stops the reports. */
  private reportNearby(): void {
    if (!this.pairing.discovering) {
      clearInterval(this.nearbyTimer);
      this.nearbyTimer = undefined;
      return;
    }
    const sensors = this.pairing.nearby();
    const text = JSON.stringify(sensors);
    if (text === this.lastNearby) return;
    if (this.uplink.nearby(sensors)) {
      this.lastNearby = text;
      this.pairingCounts.nearbyReports++;
    }
  }

  private registerPairingMetrics(): void {
    const counts = this.pairingCounts;
    registerScraped(this.metrics, [
      { name: 'pb_agent_pairing_allowlist_sensors', help: "Sensors on the hub's allowlist of the gym as applied", kind: 'gauge', read: () => this.pairing.size },
      { name: 'pb_agent_pairing_allowlist_version', help: "Version of the hub's allowlist applied; -1 before any", kind: 'gauge', read: () => this.pairing.version ?? -1 },
      {
        name: 'pb_agent_pairing_lists_total',
        help: 'Allowlists from the hub by outcome',
        kind: 'counter',
        label: 'outcome',
        read: () => ({ applied: counts.listsApplied, ignored: counts.listsIgnored, save_failed: counts.saveFailures }),
      },
      { name: 'pb_agent_pairing_nearby_reports_total', help: 'Nearby reports sent during discovery windows', kind: 'counter', read: () => counts.nearbyReports },
    ]);
  }

  private clockJumped(jump: ClockJump): void {
    // The clock logs the jump itself; the hub hears of it as an event because it explains odd timestamps.
    this.uplink.event('clock_jump', `wall clock moved ${jump.deltaMs} ms relative to monotonic time (epoch ${jump.fromEpoch} -> ${jump.toEpoch})`);
  }

  private outboxOpened(stream: string): void {
    // A damaged file whose fresh replacement could not be created at once opens later as another stream.
    if (this.outboxStream !== undefined && this.outboxStream !== stream) this.uplink.outboxReplaced();
    this.outboxStream = stream;
    this.uplink.wake();
  }

  private outboxRecovered(recovery: OutboxRecovery): void {
    this.outboxStream = recovery.stream;
    this.uplink.outboxReplaced();
    this.uplink.event('outbox_recovered', `damaged outbox moved to ${recovery.movedTo}; ${recovery.summary}; new stream ${recovery.stream}`);
  }

  private step(what: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.log.error({ err: errorMessage(err) }, `failed to ${what}`);
    }
  }

  /** True when the promise settles within the source budget; logs and moves on when it does not. */
  private async bounded(promise: Promise<unknown>, what: string): Promise<boolean> {
    const done = await settlesWithin(promise, this.sourceTimeoutMs);
    if (!done) this.log.warn(new TimeoutError(what, this.sourceTimeoutMs).message);
    return done;
  }
}
