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
 */
import { performance } from 'node:perf_hooks';
import type { MetricId, Reading, SensorInfo } from '@pulsebridge/protocol';
import type { Logger } from 'pino';
import { Admission, type AdmissionStats } from '../admission.ts';
import type { SensorFacts } from '../measurement.ts';
import type { Source, SourceDeviceHealth, SourceHealth, SourceSink, SourceState } from '../source.ts';
import { BleAdapter, type BleAdapterView } from './adapter.ts';

export type { BleAdapterView } from './adapter.ts';
import { BleConfigError, bleSensorId, bleSourceConfigProblems, normalizeBleSensorId, type BleSourceConfig } from './config.ts';
import { BleLinkError, GattLink, errorMessage } from './gatt-link.ts';
import { forgetPeripheral, loadNoble, pruneAdvertisingMemory, type AdvertisementLike, type CreateNoble, type PeripheralLike } from './noble.ts';
import { BLE_PROFILES, BLE_SCAN_SERVICES, BLE_SERVICE_KINDS, isReadOnce, kindOfCharacteristics, kindOfServices, shortUuid } from './profiles/index.ts';
import { NO_HEART_RATE_BLOCK, isPolarManufacturerData, parsePolarBroadcast } from './profiles/polar-broadcast.ts';
import { SeenDevices, type SeenDevice } from './seen-devices.ts';

export type BleSourceOptions = BleSourceConfig & {
  now: () => number;
  log: Logger;
  /** Builds the noble instance of one HCI device; by default loads noble lazily (throws without Bluetooth). */
  createNoble?: CreateNoble;
};

/** What a sensor is doing, as the health endpoint shows it. */
export type BleSensorStatus = 'advertising' | 'connecting' | 'connected' | 'backoff' | 'broadcast';

export interface BleDeviceHealth extends SourceDeviceHealth {
  /** Deviations from the spec its decoders stepped around (see BleSourceStats.quirks). */
  quirks: number;
}

export interface BleSourceHealth extends SourceHealth {
  devices: BleDeviceHealth[];
}

/** Counters beyond health, for metrics and tests. */
export interface BleSourceStats {
  readings: number;
  /** Notifications and broadcast adverts a decoder refused. */
  refused: number;
  /** Deviations from the spec a decoder stepped around (unannounced trailing bytes, reserved flag bits). */
  quirks: number;
  /** Decoder or sink exceptions, caught and counted. */
  handlerErrors: number;
  adverts: number;
  /** Adverts below the RSSI floor. */
  weakAdverts: number;
  /** Adverts of devices offering none of the profile services and not broadcasting heart rate. */
  unsupportedAdverts: number;
  /** Adverts of devices offering a profile service that are neither allowed nor joined. */
  notAdmittedAdverts: number;
  /** Adverts whose device has no usable address or id. */
  unidentifiedAdverts: number;
  /** Distinct devices ignored (unsupported or not admitted), each counted once while remembered. */
  ignoredDevices: number;
  seenDevices: number;
  seenCapacity: number;
  /** Devices forgotten to keep the seen-device memory at its capacity. */
  forgottenDevices: number;
  connectAttempts: number;
  connectFailures: number;
  /** Attempts that failed by a timeout of any step. */
  connectTimeouts: number;
  connections: number;
  reconnects: number;
  linkLosses: number;
  /** Connected sensors disconnected by the silence watchdog. */
  silentSensors: number;
  adapterResets: number;
  notifications: number;
  /** Notifications of a link already replaced (reconnected or dropped): never decoded. */
  staleNotifications: number;
  infoReads: number;
  broadcastAdverts: number;
  /** Broadcast adverts repeating a heart rate already emitted. */
  broadcastRepeats: number;
  /** Addresses dropped from the hci-socket GAP layer's memory of every advertiser (see pruneAdvertisingMemory). */
  prunedAdvertisingEntries: number;
  admission: AdmissionStats;
  adapters: BleAdapterView[];
}

interface HeardBy {
  peripheral: PeripheralLike;
  rssi: number | undefined;
  atMono: number;
}

interface SensorEntry {
  id: string;
  address: string;
  kind: string;
  broadcast: boolean;
  status: BleSensorStatus;
  localName: string | undefined;
  rssi: number | undefined;
  /** Epoch ms (the injected clock) of the last advert or notification. */
  lastSeen: number | undefined;
  lastHeardMono: number;
  heardBy: Map<number, HeardBy>;
  /** The adapter holding the sensor's link or its place in a connection queue. */
  adapter: BleAdapter | undefined;
  link: GattLink | undefined;
  /** Bumped for every link and every teardown, so callbacks of an old link are ignored. */
  linkGeneration: number;
  connectedOnce: boolean;
  dataSinceConnect: boolean;
  lastDataMono: number;
  backoffMs: number;
  retryAtMono: number;
  lastError: string | undefined;
  /** Deviations from the spec its decoders stepped around; a machine that bends the spec does so every time. */
  quirks: number;
  decoderStates: Map<string, unknown>;
  /** Once-only characteristics already read: device information survives reconnects. */
  infoRead: Set<string>;
  metrics: Set<string>;
  facts: SensorFacts;
  broadcastCounter: number | undefined;
  broadcastEmitMono: number | undefined;
  /** When the link's RSSI was last asked for; a connected sensor no longer advertises it. */
  rssiAskedMono: number;
}

const DISCOVERED_CHARACTERISTICS = [...BLE_PROFILES.keys()];
/** Facts that name a sensor in the inventory; others (contact, battery) change too often to republish it. */
const NAMING_FACTS: ReadonlySet<string> = new Set(['manufacturer', 'model', 'serialNumber']);

const INVENTORY_COALESCE_MS = 100;
const MAX_INVENTORY_METRICS = 64;
/** An advert older than this does not count as the sensor being around to connect to. */
const RECENTLY_HEARD_MS = 5_000;
/** Older Polar straps do not advance the frame counter reliably: one reading a second at most. */
const OLD_STRAP_INTERVAL_MS = 1_000;
/** A strap unheard this long starts its frame counter comparison afresh. */
const BROADCAST_GAP_MS = 5_000;
/** How often a connected sensor's link RSSI is read (HCI Read RSSI) for the health endpoint. */
const CONNECTED_RSSI_INTERVAL_MS = 5_000;
/** RSSI 127 means "not available" in HCI advertising reports. */
const RSSI_UNAVAILABLE = 127;

export class BleSource implements Source {
  readonly name = 'ble';
  private readonly config: BleSourceConfig;
  private readonly now: () => number;
  private readonly log: Logger;
  private readonly admission: Admission;
  private readonly adapters: BleAdapter[];
  private readonly seen: SeenDevices;
  private readonly sensors = new Map<string, SensorEntry>();
  private sink: SourceSink | undefined;
  private stopped = true;
  private tickTimer: NodeJS.Timeout | undefined;
  private inventoryTimer: NodeJS.Timeout | undefined;
  private readonly counters = {
    readings: 0,
    refused: 0,
    quirks: 0,
    handlerErrors: 0,
    adverts: 0,
    weakAdverts: 0,
    unsupportedAdverts: 0,
    notAdmittedAdverts: 0,
    unidentifiedAdverts: 0,
    ignoredDevices: 0,
    connectAttempts: 0,
    connectFailures: 0,
    connectTimeouts: 0,
    connections: 0,
    reconnects: 0,
    linkLosses: 0,
    silentSensors: 0,
    adapterResets: 0,
    notifications: 0,
    staleNotifications: 0,
    infoReads: 0,
    broadcastAdverts: 0,
    broadcastRepeats: 0,
    prunedAdvertisingEntries: 0,
  };

  constructor(options: BleSourceOptions) {
    const { now, log, createNoble, ...config } = options;
    const problems = bleSourceConfigProblems(config);
    if (problems.length > 0) throw new BleConfigError(problems);
    this.config = config;
    this.now = now;
    this.log = log;
    const allow = config.allow.map((id) => normalizeBleSensorId(id) ?? id);
    this.admission = new Admission({ allow, now, log, radio: 'BLE', maxJoined: config.maxJoined });
    this.seen = new SeenDevices(config.seenDevicesCapacity, (device) => this.forget(device));
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
          onDiscover: (adapter, peripheral) => this.onDiscover(adapter, peripheral),
          onReady: (adapter) => this.pump(adapter),
          onDown: (adapter, reason) => this.abandonLinks(adapter, reason),
        }),
    );
  }

  async start(sink: SourceSink): Promise<void> {
    if (!this.stopped) return;
    this.stopped = false;
    this.sink = sink;
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
    clearTimeout(this.inventoryTimer);
    this.inventoryTimer = undefined;
    const closing: Promise<void>[] = [];
    for (const entry of this.sensors.values()) {
      entry.linkGeneration++;
      if (entry.link) closing.push(entry.link.close());
      entry.link = undefined;
      entry.adapter = undefined;
      if (!entry.broadcast) entry.status = 'advertising';
    }
    await Promise.all(closing);
    for (const adapter of this.adapters) adapter.stop();
    // Peripheral objects belong to the disposed noble instances.
    for (const entry of this.sensors.values()) entry.heardBy.clear();
    this.seen.clear();
    this.log.info({ readings: this.counters.readings, sensors: this.sensors.size }, 'BLE source stopped');
  }

  health(): BleSourceHealth {
    const { state, detail } = this.overallState();
    const health: BleSourceHealth = {
      state,
      sensors: this.sensors.size,
      readings: this.counters.readings,
      rejected: this.counters.refused + this.counters.handlerErrors,
      devices: this.devices(),
    };
    if (detail !== undefined) health.detail = detail;
    return health;
  }

  stats(): BleSourceStats {
    return {
      ...this.counters,
      seenDevices: this.seen.size,
      seenCapacity: this.seen.capacity,
      forgottenDevices: this.seen.evicted,
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
    return [...this.sensors.values()].map((entry) => ({
      id: entry.id,
      kind: entry.kind,
      source: 'ble',
      name: sensorName(entry),
      metrics: [...entry.metrics],
    }));
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
      quirks: entry.quirks,
    }));
  }

  // ---- adverts ----

  private onDiscover(adapter: BleAdapter, peripheral: PeripheralLike): void {
    if (this.stopped) return;
    try {
      this.handleAdvert(adapter, peripheral);
    } catch (error) {
      // A bug in handling one advert must not cost the next thousand.
      this.counters.handlerErrors++;
      this.log.error({ err: errorMessage(error) }, 'BLE advert handling failed');
    }
  }

  private handleAdvert(adapter: BleAdapter, peripheral: PeripheralLike): void {
    this.counters.adverts++;
    const mono = performance.now();
    const id = bleSensorId(peripheral.address, peripheral.id);
    if (id === undefined) {
      this.counters.unidentifiedAdverts++;
      return;
    }
    const seen = this.seen.touch(id, peripheral.address, peripheral.id, adapter.index);
    const rssi = typeof peripheral.rssi === 'number' && peripheral.rssi !== RSSI_UNAVAILABLE ? peripheral.rssi : undefined;
    const weak = rssi !== undefined && rssi < this.config.rssiFloorDbm;
    const advertisement = peripheral.advertisement ?? {};
    let entry = this.sensors.get(id);

    if (!entry) {
      if (weak) {
        this.counters.weakAdverts++;
        return;
      }
      const offered = offeredServices(advertisement);
      const polar = this.config.polarBroadcast && isPolarManufacturerData(advertisement.manufacturerData) ? parsePolarBroadcast(advertisement.manufacturerData) : undefined;
      const broadcastHeartRate = polar !== undefined && !('ok' in polar);
      if (offered.length === 0 && !broadcastHeartRate) {
        this.counters.unsupportedAdverts++;
        this.markIgnored(seen, 'offers no profile service');
        return;
      }
      if (!this.admission.isAdmitted(id)) {
        this.counters.notAdmittedAdverts++;
        this.markIgnored(seen, 'not admitted');
        return;
      }
      // A strap that broadcasts heart rate and offers nothing else is never connected to.
      const broadcast = broadcastHeartRate && offered.every((service) => service === '180d');
      entry = this.createEntry(id, peripheral.address, broadcast ? 'heart_rate' : kindOfServices(offered), broadcast);
    }

    entry.lastSeen = this.now();
    if (rssi !== undefined) entry.rssi = rssi;
    const localName = cleanName(advertisement.localName);
    if (localName !== undefined && localName !== entry.localName) {
      entry.localName = localName;
      this.scheduleInventory();
    }
    if (!entry.broadcast && this.becomesBroadcast(entry, advertisement)) {
      entry.broadcast = true;
      entry.status = 'broadcast';
      this.log.info({ sensor: entry.id }, 'BLE strap broadcasts heart rate; reading its adverts instead of connecting');
    }
    if (entry.broadcast) {
      // The heart rate is in the advert itself: a weak one is still the strap's own reading.
      const gapMs = mono - entry.lastHeardMono;
      entry.heardBy.set(adapter.index, { peripheral, rssi, atMono: mono });
      entry.lastHeardMono = mono;
      if (gapMs > BROADCAST_GAP_MS) entry.broadcastCounter = undefined;
      if (this.onBroadcastAdvert(entry, advertisement.manufacturerData, mono)) return;
    }
    if (weak) {
      this.counters.weakAdverts++;
      return;
    }
    entry.heardBy.set(adapter.index, { peripheral, rssi, atMono: mono });
    entry.lastHeardMono = mono;
    this.requestConnection(entry, mono);
  }

  /** A heart-rate sensor not linked yet whose adverts turn out to carry Polar broadcast heart rate. */
  private becomesBroadcast(entry: SensorEntry, advertisement: AdvertisementLike): boolean {
    if (!this.config.polarBroadcast || entry.kind !== 'heart_rate' || entry.link !== undefined || entry.adapter !== undefined) return false;
    if (!isPolarManufacturerData(advertisement.manufacturerData)) return false;
    if ('ok' in parsePolarBroadcast(advertisement.manufacturerData)) return false;
    return offeredServices(advertisement).every((service) => service === '180d');
  }

  private createEntry(id: string, address: string, kind: string, broadcast: boolean): SensorEntry {
    const entry: SensorEntry = {
      id,
      address,
      kind,
      broadcast,
      status: broadcast ? 'broadcast' : 'advertising',
      localName: undefined,
      rssi: undefined,
      lastSeen: undefined,
      lastHeardMono: Number.NEGATIVE_INFINITY,
      heardBy: new Map(),
      adapter: undefined,
      link: undefined,
      linkGeneration: 0,
      connectedOnce: false,
      dataSinceConnect: false,
      lastDataMono: 0,
      backoffMs: this.config.reconnectInitialMs,
      retryAtMono: 0,
      lastError: undefined,
      quirks: 0,
      decoderStates: new Map(),
      infoRead: new Set(),
      metrics: new Set(),
      facts: {},
      broadcastCounter: undefined,
      broadcastEmitMono: undefined,
      rssiAskedMono: 0,
    };
    this.sensors.set(id, entry);
    this.log.info({ sensor: id, kind, broadcast }, 'BLE sensor found');
    this.scheduleInventory();
    return entry;
  }

  private markIgnored(seen: SeenDevice, why: string): void {
    if (seen.ignored) return;
    seen.ignored = true;
    this.counters.ignoredDevices++;
    this.log.debug({ sensor: seen.id, why }, 'BLE device ignored');
  }

  /** The seen-device memory let go of a device: so does noble, unless the device is one of our sensors. */
  private forget(device: SeenDevice): void {
    if (this.sensors.has(device.id)) return;
    for (const adapter of this.adapters) {
      if ((device.adapters & (1 << adapter.index)) === 0) continue;
      const noble = adapter.noble;
      if (noble) forgetPeripheral(noble, device.peripheralId, device.address);
    }
  }

  /** Handles a broadcast strap's advert; false when the strap no longer broadcasts and should be connected. */
  private onBroadcastAdvert(entry: SensorEntry, manufacturerData: Buffer | undefined, mono: number): boolean {
    if (!isPolarManufacturerData(manufacturerData)) return true;
    const parsed = parsePolarBroadcast(manufacturerData);
    if ('ok' in parsed) {
      if (parsed.reason === NO_HEART_RATE_BLOCK) {
        // Broadcasting can be switched off on the strap; its heart rate service still works.
        entry.broadcast = false;
        entry.status = 'advertising';
        this.log.info({ sensor: entry.id }, 'BLE strap stopped broadcasting heart rate; connecting to it instead');
        return false;
      }
      this.counters.refused++;
      this.log.debug({ sensor: entry.id, reason: parsed.reason }, 'broadcast heart rate refused');
      return true;
    }
    this.counters.broadcastAdverts++;
    const repeat =
      parsed.blockLength === 4
        ? parsed.frameCounter === entry.broadcastCounter
        : entry.broadcastEmitMono !== undefined && mono - entry.broadcastEmitMono < OLD_STRAP_INTERVAL_MS;
    if (repeat) {
      this.counters.broadcastRepeats++;
      return true;
    }
    entry.broadcastCounter = parsed.frameCounter;
    entry.broadcastEmitMono = mono;
    try {
      this.mergeFacts(entry, { sensorContact: parsed.sensorContact ? 'detected' : 'not_detected' });
      // 0 bpm is a strap still searching for a pulse, never a heart rate.
      if (parsed.heartRateBpm > 0) this.emit(entry, 'heart_rate', parsed.heartRateBpm, this.now());
    } catch (error) {
      this.counters.handlerErrors++;
      this.log.error({ sensor: entry.id, err: errorMessage(error) }, 'broadcast heart rate handling failed');
    }
    return true;
  }

  // ---- connections ----

  private requestConnection(entry: SensorEntry, mono: number): void {
    if (this.stopped) return;
    if (entry.status === 'backoff') {
      if (mono < entry.retryAtMono) return;
      entry.status = 'advertising';
    }
    if (entry.status !== 'advertising') return;
    const queuedOn = entry.adapter;
    const adapter = this.pickAdapter(entry, mono);
    if (!adapter) return;
    // A sensor waiting on a full adapter moves to one that has heard it since and has a free slot.
    if (queuedOn !== undefined && queuedOn !== adapter) {
      if (adapter.connections.room <= 0) return;
      queuedOn.connections.dequeue(entry.id);
    }
    entry.adapter = adapter;
    adapter.connections.enqueue(entry.id);
    this.pump(adapter);
  }

  /** The adapter that heard the sensor lately with the most room, the strongest signal breaking ties. */
  private pickAdapter(entry: SensorEntry, mono: number): BleAdapter | undefined {
    let best: BleAdapter | undefined;
    let bestRoom = Number.NEGATIVE_INFINITY;
    let bestRssi = Number.NEGATIVE_INFINITY;
    for (const adapter of this.adapters) {
      const heard = entry.heardBy.get(adapter.index);
      if (adapter.state !== 'scanning' || !heard || mono - heard.atMono > RECENTLY_HEARD_MS) continue;
      // 1 for any adapter with a free slot; a full one ranks by how far over it would be.
      const room = Math.min(1, adapter.connections.room);
      const rssi = heard.rssi ?? -127;
      if (room > bestRoom || (room === bestRoom && rssi > bestRssi)) {
        best = adapter;
        bestRoom = room;
        bestRssi = rssi;
      }
    }
    return best;
  }

  /** Starts the next queued connection when the adapter has a free slot and no attempt in flight. */
  private pump(adapter: BleAdapter): void {
    if (this.stopped || adapter.state !== 'scanning' || !adapter.connections.readyToConnect) return;
    const entry = this.nextQueued(adapter);
    if (entry) void this.openLink(entry, adapter);
  }

  private nextQueued(adapter: BleAdapter): SensorEntry | undefined {
    const mono = performance.now();
    const usable = (entry: SensorEntry | undefined): entry is SensorEntry => {
      if (!entry || entry.status !== 'advertising' || entry.link) return false;
      const heard = entry.heardBy.get(adapter.index);
      return heard !== undefined && mono - heard.atMono <= RECENTLY_HEARD_MS;
    };
    for (let id = adapter.connections.takeFirst(); id !== undefined; id = adapter.connections.takeFirst()) {
      const entry = this.sensors.get(id);
      if (entry?.adapter === adapter && usable(entry)) return entry;
      // Re-evaluated on its next advert.
      if (entry?.adapter === adapter) entry.adapter = undefined;
    }
    // Nothing of its own waits: take a sensor this adapter also hears from a busier adapter's queue.
    for (const other of this.adapters) {
      if (other === adapter) continue;
      for (const id of other.connections.queued()) {
        const entry = this.sensors.get(id);
        if (!usable(entry)) continue;
        other.connections.dequeue(id);
        entry.adapter = adapter;
        return entry;
      }
    }
    return undefined;
  }

  private async openLink(entry: SensorEntry, adapter: BleAdapter): Promise<void> {
    const peripheral = entry.heardBy.get(adapter.index)?.peripheral;
    if (!peripheral) {
      entry.adapter = undefined;
      return;
    }
    const generation = ++entry.linkGeneration;
    entry.status = 'connecting';
    entry.adapter = adapter;
    entry.dataSinceConnect = false;
    // Counters of the previous link must not meet the first notification of this one.
    entry.decoderStates.clear();
    this.counters.connectAttempts++;
    const link: GattLink = new GattLink({
      peripheral,
      sensorId: entry.id,
      adapter: adapter.name,
      connectTimeoutMs: this.config.connectTimeoutMs,
      gattTimeoutMs: this.config.gattTimeoutMs,
      characteristics: DISCOVERED_CHARACTERISTICS,
      subscribe: (uuid) => !isReadOnce(uuid),
      read: (uuid) => isReadOnce(uuid) && !entry.infoRead.has(uuid),
      onConnected: () => {
        if (adapter.connections.connected(entry.id)) this.pump(adapter);
      },
      onNotification: (uuid, data) => this.onNotification(entry, generation, adapter, uuid, data),
      onDisconnect: (reason) => this.onLinkLost(entry, generation, adapter, link, reason),
    });
    entry.link = link;
    adapter.connections.begin(entry.id, link);
    this.log.debug({ sensor: entry.id, adapter: adapter.name }, 'connecting');

    let opened: Awaited<ReturnType<GattLink['open']>>;
    try {
      opened = await link.open();
    } catch (error) {
      adapter.connections.connected(entry.id);
      if (generation !== entry.linkGeneration) return;
      this.counters.connectFailures++;
      const code = error instanceof BleLinkError ? error.code : undefined;
      if (code === 'timeout') this.counters.connectTimeouts++;
      await link.close();
      if (generation !== entry.linkGeneration) return;
      entry.linkGeneration++;
      this.releaseSlot(adapter, entry.id, link);
      // A device without anything to decode will not grow any: try it rarely.
      this.enterBackoff(entry, errorMessage(error), code === 'nothing_to_decode');
      this.log.warn({ sensor: entry.id, adapter: adapter.name, err: errorMessage(error), code, retryInMs: Math.round(entry.retryAtMono - performance.now()) }, 'BLE connection failed');
      this.pump(adapter);
      return;
    }
    if (generation !== entry.linkGeneration || this.stopped) return;

    entry.status = 'connected';
    entry.lastDataMono = performance.now();
    entry.lastError = undefined;
    this.counters.connections++;
    const reconnect = entry.connectedOnce;
    if (reconnect) this.counters.reconnects++;
    entry.connectedOnce = true;
    const now = this.now();
    for (const { uuid, data } of opened.reads) {
      entry.infoRead.add(uuid);
      this.counters.infoReads++;
      this.decode(entry, uuid, data, now);
    }
    for (const failure of opened.readFailures) this.log.debug({ sensor: entry.id, ...failure }, 'device information read failed; retried on the next connection');
    const kind = kindOfCharacteristics(opened.subscribed);
    if (kind !== undefined && kind !== entry.kind) {
      entry.kind = kind;
      this.scheduleInventory();
    }
    this.log.info({ sensor: entry.id, adapter: adapter.name, subscribed: opened.subscribed, reconnect }, 'BLE sensor connected');
  }

  private onLinkLost(entry: SensorEntry, generation: number, adapter: BleAdapter, link: GattLink, reason: string): void {
    if (generation !== entry.linkGeneration || this.stopped) return;
    this.counters.linkLosses++;
    entry.linkGeneration++;
    this.releaseSlot(adapter, entry.id, link);
    this.enterBackoff(entry, `link lost: ${reason}`);
    this.log.info({ sensor: entry.id, adapter: adapter.name, reason, retryInMs: Math.round(entry.retryAtMono - performance.now()) }, 'BLE link lost');
    this.pump(adapter);
  }

  /** Ends a sensor's link on our side (watchdog) and lets it reconnect after its backoff. */
  private dropLink(entry: SensorEntry, reason: string): void {
    const link = entry.link;
    const adapter = entry.adapter;
    entry.linkGeneration++;
    this.enterBackoff(entry, reason);
    if (!link || !adapter) return;
    void link.close().finally(() => {
      this.releaseSlot(adapter, entry.id, link);
      this.pump(adapter);
    });
  }

  /** Every link of an adapter that went down or is being reset: gone without a disconnect exchange. */
  private abandonLinks(adapter: BleAdapter, reason: string): void {
    for (const entry of this.sensors.values()) {
      if (entry.adapter !== adapter) continue;
      if (entry.link) {
        entry.linkGeneration++;
        void entry.link.close(false);
        this.enterBackoff(entry, `${adapter.name} down: ${reason}`);
      } else {
        entry.adapter = undefined;
      }
    }
    adapter.connections.clear();
  }

  private releaseSlot(adapter: BleAdapter, id: string, link: GattLink): void {
    adapter.connections.release(id, link);
  }

  private enterBackoff(entry: SensorEntry, reason: string, longest = false): void {
    entry.link = undefined;
    entry.adapter = undefined;
    // Where the sensor was heard before the loss says nothing about now: a retry waits for a fresh advert.
    // Otherwise a sensor that really left would hold its adapter's one connection attempt for the whole
    // connect timeout while every other sensor on that adapter waits.
    entry.heardBy.clear();
    entry.lastHeardMono = Number.NEGATIVE_INFINITY;
    entry.status = 'backoff';
    entry.lastError = reason;
    const base = longest ? this.config.reconnectMaxMs : entry.backoffMs;
    // Jitter, so sensors dropped together (an adapter reset) do not all retry in the same instant.
    const delay = Math.round(base * (0.8 + Math.random() * 0.4));
    entry.backoffMs = Math.min(entry.backoffMs * 2, this.config.reconnectMaxMs);
    entry.retryAtMono = performance.now() + delay;
  }

  // ---- data ----

  private onNotification(entry: SensorEntry, generation: number, adapter: BleAdapter, uuid: string, data: Buffer): void {
    if (generation !== entry.linkGeneration || this.stopped) {
      this.counters.staleNotifications++;
      return;
    }
    const mono = performance.now();
    adapter.heard(mono);
    entry.lastDataMono = mono;
    this.counters.notifications++;
    if (!entry.dataSinceConnect) {
      // Data flows: the link is healthy, so the next loss starts its backoff from the beginning.
      entry.dataSinceConnect = true;
      entry.backoffMs = this.config.reconnectInitialMs;
    }
    const now = this.now();
    entry.lastSeen = now;
    this.decode(entry, uuid, data, now);
  }

  private decode(entry: SensorEntry, uuid: string, data: Uint8Array, now: number): void {
    const profile = BLE_PROFILES.get(uuid);
    if (!profile) return;
    try {
      const result = profile.decode(data, { previous: entry.decoderStates.get(uuid), wheelCircumferenceM: this.config.wheelCircumferenceM });
      if (!result.ok) {
        this.counters.refused++;
        this.log.debug({ sensor: entry.id, characteristic: uuid, reason: result.reason }, 'BLE notification refused');
        return;
      }
      if ('quirks' in result) this.countQuirks(entry, uuid, result.quirks);
      if (result.state !== undefined) entry.decoderStates.set(uuid, result.state);
      if (result.facts) this.mergeFacts(entry, result.facts);
      for (const m of result.measurements) {
        if (m.metric === 'battery') this.mergeFacts(entry, { battery: m.value });
        this.emit(entry, m.metric, m.value, now + (m.offsetMs ?? 0));
      }
    } catch (error) {
      // A decoder or sink bug must not take the link down with it: count the notification and carry on.
      this.counters.handlerErrors++;
      this.log.error({ sensor: entry.id, characteristic: uuid, err: errorMessage(error) }, 'BLE notification handling failed');
    }
  }

  private countQuirks(entry: SensorEntry, uuid: string, quirks: readonly string[]): void {
    if (entry.quirks === 0) this.log.info({ sensor: entry.id, characteristic: uuid, quirks }, 'BLE sensor bends the spec; decoding what its flags announce');
    entry.quirks += quirks.length;
    this.counters.quirks += quirks.length;
  }

  private emit(entry: SensorEntry, metric: MetricId, value: number, ts: number): void {
    const reading: Reading = { sensor: entry.id, metric, ts: Math.round(ts), value };
    this.counters.readings++;
    if (!entry.metrics.has(metric) && entry.metrics.size < MAX_INVENTORY_METRICS) {
      entry.metrics.add(metric);
      this.scheduleInventory();
    }
    this.sink?.reading(reading);
  }

  private mergeFacts(entry: SensorEntry, facts: SensorFacts): void {
    let renamed = false;
    let changed = false;
    for (const [key, value] of Object.entries(facts)) {
      if (entry.facts[key] === value) continue;
      entry.facts[key] = value;
      changed = true;
      if (NAMING_FACTS.has(key)) renamed = true;
    }
    if (changed) this.log.debug({ sensor: entry.id, facts: entry.facts }, 'BLE sensor facts');
    if (renamed) this.scheduleInventory();
  }

  private scheduleInventory(): void {
    if (this.inventoryTimer || this.stopped) return;
    // A scan that hears 30 sensors at once would otherwise publish 30 inventories in a row.
    this.inventoryTimer = setTimeout(() => {
      this.inventoryTimer = undefined;
      if (this.stopped) return;
      try {
        this.sink?.inventory(this.inventory());
      } catch (error) {
        this.counters.handlerErrors++;
        this.log.error({ err: errorMessage(error) }, 'BLE inventory not delivered');
      }
    }, INVENTORY_COALESCE_MS);
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
          this.dropLink(entry, `silent for more than ${this.config.silenceTimeoutMs} ms`);
        } else if (entry.status === 'connected' && mono - entry.rssiAskedMono >= CONNECTED_RSSI_INTERVAL_MS) {
          this.readLinkRssi(entry, mono);
        } else if (entry.status === 'backoff' && mono >= entry.retryAtMono && mono - entry.lastHeardMono <= RECENTLY_HEARD_MS) {
          this.requestConnection(entry, mono);
        }
      }
      for (const adapter of this.adapters) {
        if (adapter.isSilent(mono, this.config.adapterSilenceMs)) void this.resetAdapter(adapter, mono);
        const noble = adapter.noble;
        if (noble) this.counters.prunedAdvertisingEntries += pruneAdvertisingMemory(noble, this.config.seenDevicesCapacity, (address) => this.sensors.has(addressToId(address)));
      }
    } catch (error) {
      this.counters.handlerErrors++;
      this.log.error({ err: errorMessage(error) }, 'BLE watchdog failed');
    }
  }

  private readLinkRssi(entry: SensorEntry, mono: number): void {
    const link = entry.link;
    if (!link) return;
    entry.rssiAskedMono = mono;
    void link.readRssi().then((rssi) => {
      if (rssi !== undefined && entry.link === link) entry.rssi = rssi;
    });
  }

  private async resetAdapter(adapter: BleAdapter, mono: number): Promise<void> {
    const silentMs = Math.round(adapter.silentFor(mono));
    const reason = `heard nothing for ${silentMs} ms while scanning`;
    this.counters.adapterResets++;
    this.log.warn({ adapter: adapter.name, silentMs, resets: adapter.resets + 1 }, 'Bluetooth adapter silent; resetting its stack');
    this.abandonLinks(adapter, reason);
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

function offeredServices(advertisement: AdvertisementLike): string[] {
  const offered: string[] = [];
  const consider = (uuid: string): void => {
    const short = shortUuid(uuid);
    if (short !== undefined && BLE_SERVICE_KINDS.has(short) && !offered.includes(short)) offered.push(short);
  };
  for (const uuid of advertisement.serviceUuids ?? []) consider(uuid);
  for (const data of advertisement.serviceData ?? []) consider(data.uuid);
  return offered;
}

/** Advert names are whatever a device says: printable characters only, bounded. */
function cleanName(name: string | undefined): string | undefined {
  if (typeof name !== 'string') return undefined;
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is being removed
  const clean = name.replace(/[\u0000-\u001f\u007f\uFFFD]/g, '').trim().slice(0, 64);
  return clean.length > 0 ? clean : undefined;
}

function sensorName(entry: SensorEntry): string {
  const { manufacturer, model, serialNumber } = entry.facts;
  const label = entry.localName ?? `BLE ${entry.kind.replace(/_/g, ' ')}`;
  const details: string[] = [];
  if (manufacturer !== undefined) details.push(String(manufacturer));
  if (model !== undefined) details.push(String(model));
  if (serialNumber !== undefined) details.push(`serial ${serialNumber}`);
  const text = `${label} ${entry.address.toLowerCase()}${details.length > 0 ? ` (${details.join(', ')})` : ''}`;
  return text.slice(0, 128);
}
