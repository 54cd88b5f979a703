/**
 * The BLE source: noble on one or more HCI adapters. It scans for the services of the profile table with
 * duplicates allowed, admits sensors by allowlist or permit-join window, connects to them (a bounded number
 * per adapter, one attempt at a time), subscribes to every characteristic the profile table decodes and
 * reads device information once. Polar straps that broadcast heart rate in their adverts are read without
 * a connection, so a class of 40 straps does not need 40 links.
 *
 * Watchdogs: a connected sensor that goes silent is disconnected and reconnected; an adapter that hears
 * nothing at all while scanning has its noble instance thrown away and rebuilt.
 *
 * Nothing thrown below the source escapes it: a missing adapter makes it unavailable with the reason,
 * lost links are reconnected with backoff, bad notifications are counted and skipped.
 *
 * This file wires the parts and runs the watchdogs. adverts.ts decides who is a candidate and reads
 * broadcast heart rate; sensor-links.ts connects candidates and keeps their links; each adapter's
 * connection-slots.ts decides when; characteristic-decoding.ts turns values into readings and facts; and
 * ble-sensor-book.ts keeps the inventory, facts, counters and emits to the sink.
 */
import { performance } from 'node:perf_hooks';
import type { SensorInfo } from '@pulsebridge/protocol';
import { errorMessage } from '@pulsebridge/runtime';
import type { Logger } from 'pino';
import { Admission, type AdmissionStats } from '../admission.ts';
import type { Source, SourceDeviceHealth, SourceHealth, SourceSink, SourceState } from '../source.ts';
import { BleAdapter, type BleAdapterView } from './adapter.ts';
import { AdvertHandler, type AdvertCounters } from './adverts.ts';
import { BleSensorBook, type BleBookCounters } from './ble-sensor-book.ts';
import { bleSensorId, normalizeBleSensorId, type BleSourceConfig } from './config.ts';
import { loadNoble, pruneAdvertisingMemory, type CreateNoble } from './noble.ts';
import { BLE_SCAN_SERVICES } from './profiles/index.ts';
import { RECENTLY_HEARD_MS, type SensorEntry } from './sensor-entry.ts';
import { SensorLinks, type LinkCounters } from './sensor-links.ts';

export type { BleAdapterView } from './adapter.ts';
export type { BleSensorStatus } from './sensor-entry.ts';

export type BleSourceOptions = BleSourceConfig & {
  now: () => number;
  log: Logger;
  /** Builds the noble instance of one HCI device; by default loads noble lazily (throws without Bluetooth). */
  createNoble?: CreateNoble;
};

export interface BleDeviceHealth extends SourceDeviceHealth {
  /** Deviations from the spec its decoders stepped around (see BleSourceStats.quirks). */
  quirks: number;
}

export interface BleSourceHealth extends SourceHealth {
  devices: BleDeviceHealth[];
}

/** Counters beyond health, for metrics and tests. */
export interface BleSourceStats extends BleBookCounters, AdvertCounters, LinkCounters {
  seenDevices: number;
  seenCapacity: number;
  /** Devices forgotten to keep the seen-device memory at its capacity. */
  forgottenDevices: number;
  /** Connected sensors disconnected by the silence watchdog. */
  silentSensors: number;
  adapterResets: number;
  /** Addresses dropped from the hci-socket GAP layer's memory of every advertiser (see pruneAdvertisingMemory). */
  prunedAdvertisingEntries: number;
  admission: AdmissionStats;
  adapters: BleAdapterView[];
}

/** How often a connected sensor's link RSSI is read (HCI Read RSSI) for the health endpoint. */
const CONNECTED_RSSI_INTERVAL_MS = 5_000;

export class BleSource implements Source {
  readonly name = 'ble';
  private readonly config: BleSourceConfig;
  private readonly log: Logger;
  private readonly admission: Admission;
  private readonly adapters: BleAdapter[];
  /** Every admitted sensor's radio side; its inventory record is the book's. */
  private readonly sensors = new Map<string, SensorEntry>();
  private readonly book: BleSensorBook;
  private readonly adverts: AdvertHandler;
  private readonly links: SensorLinks;
  private stopped = true;
  private tickTimer: NodeJS.Timeout | undefined;
  private readonly counters = { silentSensors: 0, adapterResets: 0, prunedAdvertisingEntries: 0 };

  constructor(options: BleSourceOptions) {
    // The configuration was checked where it was loaded (bleSourceConfig or the agent's loader).
    const { now, log, createNoble, ...config } = options;
    this.config = config;
    this.log = log;
    const allow = config.allow.map((id) => normalizeBleSensorId(id) ?? id);
    this.admission = new Admission({ allow, now, log, radio: 'BLE', maxJoined: config.maxJoined });
    this.book = new BleSensorBook(log);
    const create = createNoble ?? loadNoble;
    this.adapters = config.adapters.map(
      (deviceId, index) =>
        new BleAdapter({
          index,
          deviceId,
          createNoble: create,
          log,
          scanServices: config.scanAllAdverts ? [] : [...BLE_SCAN_SERVICES],
          startTimeoutMs: config.startTimeoutMs,
          gattTimeoutMs: config.gattTimeoutMs,
          maxConnections: config.maxConnections,
          rescanInitialMs: config.reconnectInitialMs,
          rescanMaxMs: config.reconnectMaxMs,
          onDiscover: (adapter, peripheral) => {
            if (!this.stopped) this.adverts.onDiscover(adapter, peripheral);
          },
          onReady: (adapter) => this.links.pump(adapter),
          onDown: (adapter, reason) => this.links.abandonLinks(adapter, reason),
        }),
    );
    const parts = { config, book: this.book, sensors: this.sensors, adapters: this.adapters, now, log };
    this.links = new SensorLinks({ ...parts, stopped: () => this.stopped });
    this.adverts = new AdvertHandler({ ...parts, admission: this.admission, requestConnection: (entry, mono) => this.links.requestConnection(entry, mono) });
  }

  async start(sink: SourceSink): Promise<void> {
    if (!this.stopped) return;
    this.stopped = false;
    this.book.open(sink);
    if (this.config.permitJoinSeconds > 0) this.admission.permitJoin(this.config.permitJoinSeconds);
    if (this.admission.allowed.size === 0 && this.config.permitJoinSeconds === 0) {
      this.log.warn('no BLE sensor is allowed and joining is closed: configure `allow` or call permitJoin() to admit sensors');
    }
    const tickMs = Math.max(10, Math.min(1_000, Math.floor(Math.min(this.config.silenceTimeoutMs, this.config.adapterSilenceMs) / 4)));
    this.tickTimer = setInterval(() => this.tick(), tickMs);
    this.tickTimer.unref();
    await Promise.all(this.adapters.map((adapter) => adapter.start()));
    const health = this.health();
    if (health.state === 'unavailable') this.log.error({ reason: health.detail }, 'BLE source unavailable');
    else this.log.info({ state: health.state, detail: health.detail, adapters: this.adapters.map((a) => a.name) }, 'BLE source started');
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.tickTimer);
    this.tickTimer = undefined;
    this.book.close();
    await this.links.closeAll();
    for (const adapter of this.adapters) adapter.stop();
    // Peripheral objects belong to the disposed noble instances.
    for (const entry of this.sensors.values()) entry.heardBy.clear();
    this.adverts.seen.clear();
    this.log.info({ readings: this.book.counters.readings, sensors: this.sensors.size }, 'BLE source stopped');
  }

  health(): BleSourceHealth {
    const { state, detail } = this.overallState();
    const health: BleSourceHealth = {
      state,
      sensors: this.sensors.size,
      readings: this.book.counters.readings,
      rejected: this.book.counters.refused + this.book.counters.handlerErrors,
      devices: this.devices(),
    };
    if (detail !== undefined) health.detail = detail;
    return health;
  }

  stats(): BleSourceStats {
    const seen = this.adverts.seen;
    return {
      ...this.book.counters,
      ...this.adverts.counters,
      ...this.links.counters,
      ...this.counters,
      seenDevices: seen.size,
      seenCapacity: seen.capacity,
      forgottenDevices: seen.evicted,
      admission: this.admission.stats(),
      adapters: this.adapters.map((adapter) => adapter.view()),
    };
  }

  /**
   * Admits every new sensor heard in the next `seconds` (0 closes the window). Joined sensors stay
   * admitted for the life of the process and show in the inventory, from which the hub learns them.
   */
  permitJoin(seconds: number): void {
    this.admission.permitJoin(seconds);
  }

  get joinOpen(): boolean {
    return this.admission.joinOpen;
  }

  inventory(): SensorInfo[] {
    return this.book.inventory();
  }

  private overallState(): { state: SourceState; detail?: string } {
    if (this.stopped) return { state: 'stopped' };
    const states = this.adapters.map((adapter) => adapter.state);
    const problems = this.adapters.filter((adapter) => adapter.state !== 'scanning' && adapter.detail !== undefined).map((adapter) => adapter.detail ?? '');
    const detail = problems.length > 0 ? problems.join('; ') : undefined;
    const withDetail = (state: SourceState): { state: SourceState; detail?: string } => (detail === undefined ? { state } : { state, detail });
    if (states.every((s) => s === 'unavailable')) return withDetail('unavailable');
    if (states.every((s) => s === 'scanning')) return { state: 'running' };
    if (states.every((s) => s === 'starting' || s === 'scanning') && detail === undefined) return { state: 'starting' };
    return withDetail('degraded');
  }

  private devices(): BleDeviceHealth[] {
    return [...this.sensors.values()].map((entry) => ({
      id: entry.id,
      state: entry.status,
      lastSeen: entry.lastSeen ?? null,
      rssi: entry.rssi ?? null,
      adapter: entry.status === 'connected' || entry.status === 'connecting' ? (entry.adapter?.name ?? null) : null,
      detail: entry.status === 'backoff' ? (entry.lastError ?? null) : null,
      quirks: entry.record.quirks,
    }));
  }

  // ---- watchdogs ----

  private tick(): void {
    if (this.stopped) return;
    try {
      const mono = performance.now();
      for (const entry of this.sensors.values()) {
        if (entry.status === 'connected' && mono - entry.lastDataMono > this.config.silenceTimeoutMs) {
          this.counters.silentSensors++;
          this.log.warn({ sensor: entry.id, silentMs: Math.round(mono - entry.lastDataMono) }, 'connected BLE sensor silent; reconnecting it');
          this.links.dropLink(entry, `silent for more than ${this.config.silenceTimeoutMs} ms`);
        } else if (entry.status === 'connected' && mono - entry.rssiAskedMono >= CONNECTED_RSSI_INTERVAL_MS) {
          this.links.readLinkRssi(entry, mono);
        } else if (entry.status === 'backoff' && mono >= entry.retryAtMono && mono - entry.lastHeardMono <= RECENTLY_HEARD_MS) {
          this.links.requestConnection(entry, mono);
        }
      }
      for (const adapter of this.adapters) {
        if (adapter.isSilent(mono, this.config.adapterSilenceMs)) void this.resetAdapter(adapter, mono);
        const noble = adapter.noble;
        if (noble) this.counters.prunedAdvertisingEntries += pruneAdvertisingMemory(noble, this.config.seenDevicesCapacity, (address) => this.sensors.has(addressToId(address)));
      }
    } catch (error) {
      this.book.handlerFailed('BLE watchdog failed', error);
    }
  }

  private async resetAdapter(adapter: BleAdapter, mono: number): Promise<void> {
    const silentMs = Math.round(adapter.silentFor(mono));
    const reason = `heard nothing for ${silentMs} ms while scanning`;
    this.counters.adapterResets++;
    this.log.warn({ adapter: adapter.name, silentMs, resets: adapter.resets + 1 }, 'Bluetooth adapter silent; resetting its stack');
    this.links.abandonLinks(adapter, reason);
    for (const entry of this.sensors.values()) entry.heardBy.delete(adapter.index);
    try {
      await adapter.resetSilent(reason);
    } catch (error) {
      this.log.error({ adapter: adapter.name, err: errorMessage(error) }, 'Bluetooth adapter reset failed');
    }
  }
}

function addressToId(address: string): string {
  return bleSensorId(address, undefined) ?? '';
}
