/**
 * The link of every connectable sensor: which adapter connects it (the one that heard it lately with the
 * most room, queues moving to an adapter with a free slot), the GATT link from connect to subscriptions and
 * once-only reads, its notifications, and backoff after a failure or a lost link. Each adapter's own slots
 * decide when its next attempt may start.
 */
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { BleAdapter } from './adapter.ts';
import type { BleSensorBook } from './ble-sensor-book.ts';
import { decodeCharacteristic } from './characteristic-decoding.ts';
import type { BleSourceConfig } from './config.ts';
import { errorMessage } from '@pulsebridge/runtime';
import { BleLinkError, GattLink } from './gatt-link.ts';
import { BLE_PROFILES, isReadOnce, kindOfCharacteristics } from './profiles/index.ts';
import { RECENTLY_HEARD_MS, type BleSourceParts, type SensorEntry } from './sensor-entry.ts';

export interface LinkCounters {
  connectAttempts: number;
  connectFailures: number;
  /** Attempts that failed by a timeout of any step. */
  connectTimeouts: number;
  connections: number;
  reconnects: number;
  linkLosses: number;
  notifications: number;
  /** Notifications of a link already replaced (reconnected or dropped): never decoded. */
  staleNotifications: number;
  infoReads: number;
}

export interface SensorLinksOptions extends BleSourceParts {
  /** True once the source stopped: no new attempt starts, late callbacks are ignored. */
  stopped: () => boolean;
}

const DISCOVERED_CHARACTERISTICS = [...BLE_PROFILES.keys()];

export class SensorLinks {
  readonly counters: LinkCounters = {
    connectAttempts: 0,
    connectFailures: 0,
    connectTimeouts: 0,
    connections: 0,
    reconnects: 0,
    linkLosses: 0,
    notifications: 0,
    staleNotifications: 0,
    infoReads: 0,
  };
  private readonly config: BleSourceConfig;
  private readonly book: BleSensorBook;
  private readonly sensors: ReadonlyMap<string, SensorEntry>;
  private readonly adapters: readonly BleAdapter[];
  private readonly now: () => number;
  private readonly log: Logger;
  private readonly stopped: () => boolean;

  constructor(options: SensorLinksOptions) {
    this.config = options.config;
    this.book = options.book;
    this.sensors = options.sensors;
    this.adapters = options.adapters;
    this.now = options.now;
    this.log = options.log;
    this.stopped = options.stopped;
  }

  /** Closes every link (the source is stopping); sensors keep their place, not their link. */
  async closeAll(): Promise<void> {
    const closing: Promise<void>[] = [];
    for (const entry of this.sensors.values()) {
      entry.linkGeneration++;
      if (entry.link) closing.push(entry.link.close());
      entry.link = undefined;
      entry.adapter = undefined;
      if (!entry.broadcast) entry.status = 'advertising';
    }
    await Promise.all(closing);
  }

  requestConnection(entry: SensorEntry, mono: number): void {
    if (this.stopped()) return;
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
  pump(adapter: BleAdapter): void {
    if (this.stopped() || adapter.state !== 'scanning' || !adapter.connections.readyToConnect) return;
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
    if (generation !== entry.linkGeneration || this.stopped()) return;

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
      decodeCharacteristic(this.book, entry, uuid, data, now, this.config.wheelCircumferenceM);
    }
    for (const failure of opened.readFailures) this.log.debug({ sensor: entry.id, ...failure }, 'device information read failed; retried on the next connection');
    const kind = kindOfCharacteristics(opened.subscribed);
    if (kind !== undefined) this.book.setKind(entry.record, kind);
    this.log.info({ sensor: entry.id, adapter: adapter.name, subscribed: opened.subscribed, reconnect }, 'BLE sensor connected');
  }

  private onLinkLost(entry: SensorEntry, generation: number, adapter: BleAdapter, link: GattLink, reason: string): void {
    if (generation !== entry.linkGeneration || this.stopped()) return;
    this.counters.linkLosses++;
    entry.linkGeneration++;
    this.releaseSlot(adapter, entry.id, link);
    this.enterBackoff(entry, `link lost: ${reason}`);
    this.log.info({ sensor: entry.id, adapter: adapter.name, reason, retryInMs: Math.round(entry.retryAtMono - performance.now()) }, 'BLE link lost');
    this.pump(adapter);
  }

  /** Ends a sensor's link on our side (watchdog) and lets it reconnect after its backoff. */
  dropLink(entry: SensorEntry, reason: string): void {
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
  abandonLinks(adapter: BleAdapter, reason: string): void {
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
    // Jittered, so sensors dropped together (an adapter reset) do not all retry in the same instant.
    const delay = entry.backoff.next();
    entry.retryAtMono = performance.now() + (longest ? this.config.reconnectMaxMs : delay);
  }

  private onNotification(entry: SensorEntry, generation: number, adapter: BleAdapter, uuid: string, data: Buffer): void {
    if (generation !== entry.linkGeneration || this.stopped()) {
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
      entry.backoff.reset();
    }
    const now = this.now();
    entry.lastSeen = now;
    decodeCharacteristic(this.book, entry, uuid, data, now, this.config.wheelCircumferenceM);
  }

  readLinkRssi(entry: SensorEntry, mono: number): void {
    const link = entry.link;
    if (!link) return;
    entry.rssiAskedMono = mono;
    void link.readRssi().then((rssi) => {
      if (rssi !== undefined && entry.link === link) entry.rssi = rssi;
    });
  }
}
