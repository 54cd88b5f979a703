/**
 * A simulated BLE peripheral: what it advertises, its GATT database, the notifications it produces at its
 * own rate, and the scenario controls tests use to make it misbehave. It records every notification it
 * produced and which hosts it reached, so a test can assert that each one became exactly one reading.
 */
import { PulsebridgeError } from '@pulsebridge/runtime';
import { AttServer, DEFAULT_ATT_MTU, type AttServerOptions } from './att-server.ts';
import { encodeAdvertisingData, FLAGS_GENERAL_DISCOVERABLE, type AdvertisingContent } from './advertising.ts';
import type { Advertiser } from './controller.ts';
import { canonicalUuid, GattDatabase, type CharacteristicEntry, type ServiceDefinition } from './gatt.ts';
import { normalizeAddress, type AddressType, type AdvertisingPduType } from './hci.ts';
import type { Link } from './link.ts';
import { SeededRandom } from './random.ts';
import type { Cancelable, TimerSet } from './timers.ts';

export interface PeripheralOptions {
  name: string;
  address: string;
  addressType?: AddressType;
  advertisingPdu?: AdvertisingPduType;
  /** Time between advertising events (default 100 ms; real sensors use 100 ms to 1 s). */
  advertisingIntervalMs?: number;
  /** The advertising PDU's content; flags default to general discoverable. */
  advertisement?: AdvertisingContent;
  /** The scan response's content; defaults to the complete local name. */
  scanResponse?: AdvertisingContent;
  services: ServiceDefinition[];
  appearance?: number;
  /** Mean RSSI in dBm at every adapter (default -60). */
  rssi?: number;
  /** Uniform jitter in dB around the mean, per advert and per RSSI read (default 2). */
  rssiJitter?: number;
  /** The server's ATT receive MTU (default 247, what nRF52-based sensors offer). */
  serverMtu?: number;
  /** Centrals served at once (default 1); the sensor stops advertising while it has that many. */
  maxConnections?: number;
  seed?: number;
  /** Whether it advertises as soon as it is in a started world (default true). */
  advertising?: boolean;
}

export type NotificationKind = 'notification' | 'indication' | 'raw' | 'broadcast';

export interface Delivery {
  adapterId: number;
  /** -1 for a broadcast, which reaches a host through advertising reports. */
  connectionHandle: number;
}

export interface NotificationRecord {
  /** Characteristic UUID (canonical, e.g. '2a37'), or 'ff' (manufacturer data) for a broadcast frame. */
  uuid: string;
  data: Buffer;
  timeMs: number;
  kind: NotificationKind;
  /** The hosts it reached; empty when it was lost (link lost, adapter wedged, nobody scanning). */
  deliveries: Delivery[];
}

export interface WriteRecord {
  uuid: string;
  data: Buffer;
  withResponse: boolean;
  timeMs: number;
  adapterId: number;
  connectionHandle: number;
}

export interface Notifier {
  uuid: string;
  intervalMs: number;
  /** The next value; called only while someone is subscribed, so sequences stay deterministic. */
  next: () => Uint8Array;
}

/** What a world gives a peripheral it holds. */
export interface PeripheralEnvironment {
  timers: TimerSet;
  /** Passes one advertising event to every adapter in range. */
  advertise(peripheral: SimulatedPeripheral): void;
  /** Controller operations on a link (the peripheral's half of the radio). */
  remoteDisconnect(link: Link, reason: number): void;
  loseLink(link: Link, detectAfterMs: number): void;
}

export interface DropLinkOptions {
  /** When the central's controller notices (default: the link's supervision timeout). */
  detectAfterMs?: number;
  /** Come back into range (and advertise again) after this long; stays away when omitted. */
  returnAfterMs?: number;
}

export class PeripheralError extends PulsebridgeError<'UNKNOWN_CHARACTERISTIC' | 'NOT_IN_WORLD'> {}

export class SimulatedPeripheral implements Advertiser {
  readonly name: string;
  readonly address: string;
  readonly addressType: AddressType;
  readonly advertisingPdu: AdvertisingPduType;
  readonly database: GattDatabase;
  /** Every notification, indication and broadcast frame produced, oldest first. */
  readonly notifications: NotificationRecord[] = [];
  readonly writes: WriteRecord[] = [];
  protected readonly random: SeededRandom;

  private readonly advertisingIntervalMs: number;
  private advertisementContent: AdvertisingContent;
  private readonly scanResponseContent: AdvertisingContent | undefined;
  private advertisingBytes: Buffer;
  private readonly scanResponseBytes: Buffer | undefined;
  private readonly serverMtu: number;
  private readonly maxConnections: number;
  private rssi: number;
  private readonly rssiJitter: number;
  private readonly rssiRandom: SeededRandom;

  private environment: PeripheralEnvironment | undefined;
  private readonly links = new Set<Link>();
  private readonly notifiers: Notifier[] = [];
  private readonly notifierTimers = new Map<Notifier, Cancelable>();
  private readonly tickers: { intervalMs: number; tick: () => void; timer: Cancelable | undefined }[] = [];
  private advertisingTimer: Cancelable | undefined;
  private returnTimer: Cancelable | undefined;
  private advertisingEnabled: boolean;
  private inRange = true;
  private silenced = false;
  private pendingBroadcast: NotificationRecord | undefined;

  constructor(options: PeripheralOptions) {
    this.name = options.name;
    this.address = normalizeAddress(options.address);
    this.addressType = options.addressType ?? 'random';
    this.advertisingPdu = options.advertisingPdu ?? 'ADV_IND';
    this.advertisingIntervalMs = options.advertisingIntervalMs ?? 100;
    this.advertisementContent = { flags: FLAGS_GENERAL_DISCOVERABLE, ...options.advertisement };
    this.advertisingBytes = encodeAdvertisingData(this.advertisementContent);
    this.scanResponseContent = this.advertisingPdu === 'ADV_NONCONN_IND' ? undefined : (options.scanResponse ?? { localName: options.name });
    this.scanResponseBytes = this.scanResponseContent === undefined ? undefined : encodeAdvertisingData(this.scanResponseContent);
    this.database = new GattDatabase({ deviceName: options.name, appearance: options.appearance, services: options.services });
    this.serverMtu = options.serverMtu ?? 247;
    if (this.serverMtu < DEFAULT_ATT_MTU) throw new RangeError(`ATT MTU below ${DEFAULT_ATT_MTU}: ${this.serverMtu}`);
    this.maxConnections = options.maxConnections ?? 1;
    this.rssi = options.rssi ?? -60;
    this.rssiJitter = options.rssiJitter ?? 2;
    this.random = new SeededRandom(options.seed ?? 1);
    this.rssiRandom = this.random.fork();
    this.advertisingEnabled = options.advertising ?? true;
  }

  // ---- world side --------------------------------------------------------------------------------

  /** Called by the world when it starts holding this peripheral. */
  attach(environment: PeripheralEnvironment): void {
    this.environment = environment;
    for (const ticker of this.tickers) this.startTicker(ticker);
    this.refreshAdvertising();
  }

  /** Called by the world on removal or close; links must already be gone. */
  detach(): void {
    this.advertisingTimer?.cancel();
    this.advertisingTimer = undefined;
    this.returnTimer?.cancel();
    for (const timer of this.notifierTimers.values()) timer.cancel();
    this.notifierTimers.clear();
    for (const ticker of this.tickers) {
      ticker.timer?.cancel();
      ticker.timer = undefined;
    }
    this.links.clear();
    this.environment = undefined;
  }

  advertisingData(): Buffer {
    return this.advertisingBytes;
  }

  scanResponseData(): Buffer | undefined {
    return this.scanResponseBytes;
  }

  rssiAt(_adapterId: number): number {
    return this.rssi + (this.rssiRandom.next() * 2 - 1) * this.rssiJitter;
  }

  advertDelivered(adapterId: number): void {
    const frame = this.pendingBroadcast;
    if (frame !== undefined && !frame.deliveries.some((delivery) => delivery.adapterId === adapterId)) {
      frame.deliveries.push({ adapterId, connectionHandle: -1 });
    }
  }

  /** Whether a CONNECT_IND now would be accepted: advertising connectably, in range, with capacity. */
  acceptsConnection(): boolean {
    return this.isAdvertising() && this.advertisingPdu === 'ADV_IND';
  }

  connected(link: Link): void {
    this.links.add(link);
    this.refreshAdvertising();
  }

  disconnected(link: Link, _reason: number): void {
    this.links.delete(link);
    this.refreshNotifiers();
    this.refreshAdvertising();
  }

  createAttServer(options: Pick<AttServerOptions, 'connectionHandle' | 'adapterId' | 'send' | 'onProtocolError'>): AttServer {
    return new AttServer({
      ...options,
      database: this.database,
      serverMtu: this.serverMtu,
      onSubscriptionChange: () => this.refreshNotifiers(),
      onValueWrite: (entry, data, { withResponse, subscription }) => {
        this.writes.push({
          uuid: entry.uuid,
          data,
          withResponse,
          timeMs: Date.now(),
          adapterId: options.adapterId,
          connectionHandle: options.connectionHandle,
        });
        return entry.definition.write?.(data, {
          withResponse,
          subscription,
          connectionHandle: options.connectionHandle,
          adapterId: options.adapterId,
        });
      },
    });
  }

  // ---- profile side (used by the peripheral factories) -----------------------------------------

  /** A characteristic that notifies at its own rate while at least one central is subscribed. */
  addNotifier(notifier: Notifier): void {
    this.entry(notifier.uuid);
    this.notifiers.push(notifier);
  }

  /** Periodic work independent of connections, e.g. a broadcast strap updating its advert. */
  addTicker(intervalMs: number, tick: () => void): void {
    const ticker = { intervalMs, tick, timer: undefined };
    this.tickers.push(ticker);
    if (this.environment !== undefined) this.startTicker(ticker);
  }

  /**
   * Sends one value to every subscribed link (or only to `to`, e.g. a control point answering its writer)
   * as a notification or an indication, as far as each link's CCCD allows.
   */
  emit(uuid: string, value: Uint8Array, kind: 'notification' | 'indication' = 'notification', to?: { adapterId: number; connectionHandle: number }): NotificationRecord {
    const entry = this.entry(uuid);
    const record: NotificationRecord = { uuid: entry.uuid, data: Buffer.from(value), timeMs: Date.now(), kind, deliveries: [] };
    for (const link of this.links) {
      if (to !== undefined && (link.adapterId !== to.adapterId || link.handle !== to.connectionHandle)) continue;
      const sent = kind === 'indication' ? link.att.indicate(entry, value) : link.att.notify(entry, value);
      if (sent) record.deliveries.push({ adapterId: link.adapterId, connectionHandle: link.handle });
    }
    this.notifications.push(record);
    return record;
  }

  /** Replaces the advertised content; a broadcast frame is recorded like a notification. */
  updateAdvertisement(content: AdvertisingContent, broadcastFrame?: Uint8Array): void {
    this.advertisementContent = { flags: FLAGS_GENERAL_DISCOVERABLE, ...content };
    this.advertisingBytes = encodeAdvertisingData(this.advertisementContent);
    if (broadcastFrame !== undefined) {
      const record: NotificationRecord = {
        uuid: 'ff',
        data: Buffer.from(broadcastFrame),
        timeMs: Date.now(),
        kind: 'broadcast',
        deliveries: [],
      };
      this.notifications.push(record);
      this.pendingBroadcast = record;
    }
  }

  // ---- scenario controls -----------------------------------------------------------------------

  startAdvertising(): void {
    this.advertisingEnabled = true;
    this.refreshAdvertising();
  }

  stopAdvertising(): void {
    this.advertisingEnabled = false;
    this.refreshAdvertising();
  }

  /**
   * Walks out of range: every link goes silent at once, the central's controller reports Disconnection
   * Complete with 0x08 Connection Timeout after the supervision timeout, and the sensor advertises again
   * only when it comes back.
   */
  dropLink(options: DropLinkOptions = {}): void {
    const environment = this.requireEnvironment();
    this.inRange = false;
    for (const link of this.links) environment.loseLink(link, options.detectAfterMs ?? link.supervisionTimeoutMs);
    this.refreshNotifiers();
    this.refreshAdvertising();
    this.returnTimer?.cancel();
    if (options.returnAfterMs !== undefined) {
      this.returnTimer = environment.timers.timeout(() => this.comeBack(), options.returnAfterMs);
    }
  }

  comeBack(): void {
    this.inRange = true;
    this.refreshNotifiers();
    this.refreshAdvertising();
  }

  /** The sensor terminates its connections itself (LL_TERMINATE_IND, default 0x13 remote user terminated). */
  disconnect(reason = 0x13): void {
    const environment = this.requireEnvironment();
    for (const link of this.links) environment.remoteDisconnect(link, reason);
  }

  /** Stays connected but sends nothing, like a wedged sensor; ATT requests are still answered. */
  silence(): void {
    this.silenced = true;
    this.refreshNotifiers();
  }

  resume(): void {
    this.silenced = false;
    this.refreshNotifiers();
  }

  get isSilenced(): boolean {
    return this.silenced;
  }

  /**
   * Pushes arbitrary bytes as a notification of `uuid`, e.g. a malformed measurement. Goes to subscribed
   * links only unless `unsolicited`, which sends it whatever the CCCD says.
   */
  sendRaw(uuid: string, bytes: Uint8Array, options: { unsolicited?: boolean } = {}): NotificationRecord {
    const entry = this.entry(uuid);
    const record: NotificationRecord = { uuid: entry.uuid, data: Buffer.from(bytes), timeMs: Date.now(), kind: 'raw', deliveries: [] };
    for (const link of this.links) {
      const sent = options.unsolicited ? link.att.notifyUnsolicited(entry, bytes) : link.att.notify(entry, bytes);
      if (sent) record.deliveries.push({ adapterId: link.adapterId, connectionHandle: link.handle });
    }
    this.notifications.push(record);
    return record;
  }

  setRssi(dbm: number): void {
    this.rssi = dbm;
  }

  // ---- inspection ------------------------------------------------------------------------------

  get connectionCount(): number {
    return this.links.size;
  }

  isSubscribed(uuid: string): boolean {
    const entry = this.entry(uuid);
    return [...this.links].some((link) => link.att.subscription(entry) !== 0);
  }

  /** Notifications (of one characteristic, or all) that reached at least one host, oldest first. */
  deliveredNotifications(uuid?: string): NotificationRecord[] {
    const wanted = uuid === undefined ? undefined : uuid === 'ff' ? 'ff' : canonicalUuid(uuid);
    return this.notifications.filter((record) => record.deliveries.length > 0 && (wanted === undefined || record.uuid === wanted));
  }

  isAdvertising(): boolean {
    return this.environment !== undefined && this.advertisingEnabled && this.inRange && this.links.size < this.maxConnections;
  }

  // ---- internals -------------------------------------------------------------------------------

  protected entry(uuid: string): CharacteristicEntry {
    const entry = this.database.characteristic(uuid);
    if (entry === undefined) throw new PeripheralError('UNKNOWN_CHARACTERISTIC', `${this.name} has no characteristic ${uuid}`);
    return entry;
  }

  private requireEnvironment(): PeripheralEnvironment {
    if (this.environment === undefined) throw new PeripheralError('NOT_IN_WORLD', `${this.name} is not in a started world`);
    return this.environment;
  }

  private refreshAdvertising(): void {
    const environment = this.environment;
    if (environment === undefined) return;
    if (!this.isAdvertising()) {
      this.advertisingTimer?.cancel();
      this.advertisingTimer = undefined;
      return;
    }
    if (this.advertisingTimer !== undefined) return;
    // The first event goes out at once so a scanner or initiator that is already waiting hears it.
    environment.timers.immediate(() => {
      if (this.isAdvertising()) environment.advertise(this);
    });
    this.advertisingTimer = environment.timers.interval(() => environment.advertise(this), this.advertisingIntervalMs);
  }

  private refreshNotifiers(): void {
    const environment = this.environment;
    for (const notifier of this.notifiers) {
      const entry = this.entry(notifier.uuid);
      const wanted = environment !== undefined && !this.silenced && this.inRange && [...this.links].some((link) => link.state === 'open' && link.att.subscription(entry) !== 0);
      const timer = this.notifierTimers.get(notifier);
      if (wanted && timer === undefined) {
        this.notifierTimers.set(
          notifier,
          environment.timers.interval(() => this.emit(notifier.uuid, notifier.next()), notifier.intervalMs),
        );
      } else if (!wanted && timer !== undefined) {
        timer.cancel();
        this.notifierTimers.delete(notifier);
      }
    }
  }

  private startTicker(ticker: { intervalMs: number; tick: () => void; timer: Cancelable | undefined }): void {
    if (this.environment === undefined || ticker.timer !== undefined) return;
    ticker.timer = this.environment.timers.interval(ticker.tick, ticker.intervalMs);
  }
}
