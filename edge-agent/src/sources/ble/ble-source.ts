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
 * connection-slots.ts decides when; characteristic-decoding.ts hands values to their profile decoders; and
 * the sources' shared sensor book (../sensor-book.ts) admits sensors, keeps the inventory, facts and
 * counters, and emits to the sink. sensor-entry.ts is what a sensor is to the radio.
 */
import { performance } from 'node:perf_hooks';
import type { SensorInfo } from '@pulsebridge/protocol';
import { LogRepeats, errorMessage } from '@pulsebridge/runtime';
import type { Logger } from 'pino';
import type { AdmissionStats } from '../admission.ts';
import type { PairingState } from '../pairing-state.ts';
import { SensorBook, type LinkedDeviceHealth } from '../sensor-book.ts';
import type { Source, SourceHealth, SourceSink, SourceState } from '../source.ts';
import { BleAdapter, type BleAdapterView } from './adapter.ts';
import { AdvertHandler, type AdvertCounters } from './adverts.ts';
import { bleSensorId, normalizeBleSensorId, type BleSourceConfig } from './config.ts';
import { loadNoble, pruneAdvertisingMemory, type CreateNoble } from './noble.ts';
import { BLE_SCAN_SERVICES } from './profiles/index.ts';
import { BLE_NAMING_FACTS, RECENTLY_HEARD_MS, bleLink, bleSensorName, type BleDevice } from './sensor-entry.ts';
import { SensorLinks, type LinkCounters } from './sensor-links.ts';

export type { BleAdapterView } from './adapter.ts';
export type { BleSensorStatus } from './sensor-entry.ts';

export type BleSourceOptions = BleSourceConfig & {
  now: () => number;
  log: Logger;
  /** The hub's pairing list and window, shared by the agent's radio sources. */
  pairing?: PairingState | undefined;
  /** Builds the noble instance of one HCI device; by default loads noble lazily (throws without Bluetooth). */
  createNoble?: CreateNoble;
};

export interface BleSourceHealth extends SourceHealth {
  devices: LinkedDeviceHealth[];
}

/** Counters beyond health, for metrics and tests. */
export interface BleSourceStats extends AdvertCounters, LinkCounters {
  readings: number;
  /** Notifications and broadcast adverts a decoder refused. */
  refused: number;
  /** Deviations from the spec a decoder stepped around (unannounced trailing bytes, reserved flag bits). */
  quirks: number;
  /** Decoder, handler or sink exceptions, caught and counted. */
  handlerErrors: number;
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
  /** Errors that come with the data (a decoder bug) repeat at its rate: logged once, then counted. */
  private readonly repeats: LogRepeats;
  private readonly adapters: BleAdapter[];
  /** Every admitted sensor, with its radio side as the book's device. */
  private readonly book: SensorBook<BleDevice>;
  private readonly adverts: AdvertHandler;
  private readonly links: SensorLinks;
  private stopped = true;
  private tickTimer: NodeJS.Timeout | undefined;
  private readonly counters = { silentSensors: 0, adapterResets: 0, prunedAdvertisingEntries: 0, handlerErrors: 0 };

  constructor(options: BleSourceOptions) {
    // The configuration was checked where it was loaded (bleSourceConfig or the agent's loader).
    const { now, log, createNoble, pairing, ...config } = options;
    this.config = config;
    this.log = log;
    this.repeats = new LogRepeats(log);
    const allow = config.allow.map((id) => normalizeBleSensorId(id) ?? id);
    this.book = new SensorBook<BleDevice>({
      source: 'ble',
      radio: 'BLE',
      now,
      log,
      admission: { allow, pairing, maxJoined: config.maxJoined },
      nameOf: bleSensorName,
      namingFacts: BLE_NAMING_FACTS,
      linkOf: bleLink,
    });
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
    const parts = { config, book: this.book, adapters: this.adapters, now, log, handlerFailed: this.handlerFailed.bind(this) };
    this.links = new SensorLinks({ ...parts, stopped: () => this.stopped });
    this.adverts = new AdvertHandler({ ...parts, requestConnection: (entry, mono) => this.links.requestConnection(entry, mono) });
  }

  async start(sink: SourceSink): Promise<void> {
    if (!this.stopped) return;
    this.stopped = false;
    this.book.attach(sink);
    if (this.config.permitJoinSeconds > 0) this.book.permitJoin(this.config.permitJoinSeconds);
    this.book.warnIfClosed(this.config.permitJoinSeconds);
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
    this.book.detach();
    await this.links.closeAll();
    for (const adapter of this.adapters) adapter.stop();
    // Peripheral objects belong to the disposed noble instances.
    for (const entry of this.book.entries()) entry.device.heardBy.clear();
    this.adverts.seen.clear();
    this.log.info({ readings: this.book.stats().readings, sensors: this.book.size }, 'BLE source stopped');
  }

  health(): BleSourceHealth {
    const { state, detail } = this.overallState();
    return { ...this.book.health(state, detail, this.handlerErrors()), devices: this.book.devices() };
  }

  stats(): BleSourceStats {
    const seen = this.adverts.seen;
    const book = this.book.stats();
    return {
      readings: book.readings,
      refused: book.rejected,
      quirks: book.quirks,
      ...this.adverts.counters,
      ...this.links.counters,
      ...this.counters,
      handlerErrors: this.handlerErrors(),
      seenDevices: seen.size,
      seenCapacity: seen.capacity,
      forgottenDevices: seen.evicted,
      admission: book.admission,
      adapters: this.adapters.map((adapter) => adapter.view()),
    };
  }

  /**
   * Admits every new sensor heard in the next `seconds` (0 closes the window). Joined sensors stay
   * admitted for the life of the process and show in the inventory, from which the hub learns them.
   */
  permitJoin(seconds: number): void {
    this.book.permitJoin(seconds);
  }

  get joinOpen(): boolean {
    return this.book.joinOpen;
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

  /** Decoder and handler bugs caught here, and readings the sink threw on (caught by the book). */
  private handlerErrors(): number {
    return this.counters.handlerErrors + this.book.stats().sinkErrors;
  }

  private handlerFailed(what: string, error: unknown, detail: Record<string, unknown> = {}): void {
    this.counters.handlerErrors++;
    this.repeats.error(`${what}\u0000${errorMessage(error)}`, { ...detail, err: errorMessage(error) }, what);
  }

  // ---- watchdogs ----

  private tick(): void {
    if (this.stopped) return;
    try {
      const mono = performance.now();
      for (const entry of this.book.entries()) {
        if (entry.device.status === 'connected' && mono - entry.device.lastDataMono > this.config.silenceTimeoutMs) {
          this.counters.silentSensors++;
          this.log.warn({ sensor: entry.id, silentMs: Math.round(mono - entry.device.lastDataMono) }, 'connected BLE sensor silent; reconnecting it');
          this.links.dropLink(entry, `silent for more than ${this.config.silenceTimeoutMs} ms`);
        } else if (entry.device.status === 'connected' && mono - entry.device.rssiAskedMono >= CONNECTED_RSSI_INTERVAL_MS) {
          this.links.readLinkRssi(entry, mono);
        } else if (entry.device.status === 'backoff' && mono >= entry.device.retryAtMono && mono - entry.device.lastHeardMono <= RECENTLY_HEARD_MS) {
          this.links.requestConnection(entry, mono);
        }
      }
      for (const adapter of this.adapters) {
        if (adapter.isSilent(mono, this.config.adapterSilenceMs)) void this.resetAdapter(adapter, mono);
        const noble = adapter.noble;
        if (noble) this.counters.prunedAdvertisingEntries += pruneAdvertisingMemory(noble, this.config.seenDevicesCapacity, (address) => this.book.has(addressToId(address)));
      }
    } catch (error) {
      this.handlerFailed('BLE watchdog failed', error);
    }
  }

  private async resetAdapter(adapter: BleAdapter, mono: number): Promise<void> {
    const silentMs = Math.round(adapter.silentFor(mono));
    const reason = `heard nothing for ${silentMs} ms while scanning`;
    this.counters.adapterResets++;
    this.log.warn({ adapter: adapter.name, silentMs, resets: adapter.resets + 1 }, 'Bluetooth adapter silent; resetting its stack');
    this.links.abandonLinks(adapter, reason);
    for (const entry of this.book.entries()) entry.device.heardBy.delete(adapter.index);
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
