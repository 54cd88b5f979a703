/**
 * The link of every connectable sensor: which adapter connects it (the one that heard it lately with the
 * most room, queues moving to an adapter with a free slot), the GATT link from connect to subscriptions and
 * once-only reads, its notifications, and backoff after a failure or a lost link. Each adapter's own slots
 * decide when its next attempt may start.
 */
import { performance } from 'node:perf_hooks';
import { errorMessage } from '@pulsebridge/runtime';
import type { Logger } from 'pino';
import type { SensorBook } from '../sensor-book.ts';
import type { BleAdapter } from './adapter.ts';
import { decodeCharacteristic } from './characteristic-decoding.ts';
import type { BleSourceConfig } from './config.ts';
import { BleLinkError, GattLink } from './gatt-link.ts';
import { BLE_PROFILES, isReadOnce, kindOfCharacteristics } from './profiles/index.ts';
import { RECENTLY_HEARD_MS, type BleDevice, type BleSensor, type BleSourceParts } from './sensor-entry.ts';

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
  private readonly parts: BleSourceParts;
  private readonly config: BleSourceConfig;
  private readonly book: SensorBook<BleDevice>;
  private readonly adapters: readonly BleAdapter[];
  private readonly now: () => number;
  private readonly log: Logger;
  private readonly stopped: () => boolean;

  constructor(options: SensorLinksOptions) {
    this.parts = options;
    this.config = options.config;
    this.book = options.book;
    this.adapters = options.adapters;
    this.now = options.now;
    this.log = options.log;
    this.stopped = options.stopped;
  }

  /** Closes every link (the source is stopping); sensors keep their place, not their link. */
  async closeAll(): Promise<void> {
    const closing: Promise<void>[] = [];
    for (const entry of this.book.entries()) {
      entry.device.linkGeneration++;
      if (entry.device.link) closing.push(entry.device.link.close());
      entry.device.link = undefined;
      entry.device.adapter = undefined;
      if (!entry.device.broadcast) entry.device.status = 'advertising';
    }
    await Promise.all(closing);
  }

  requestConnection(entry: BleSensor, mono: number): void {
    if (this.stopped()) return;
    if (entry.device.status === 'backoff') {
      if (mono < entry.device.retryAtMono) return;
      entry.device.status = 'advertising';
    }
    if (entry.device.status !== 'advertising') return;
    const queuedOn = entry.device.adapter;
    const adapter = this.pickAdapter(entry, mono);
    if (!adapter) return;
    // A sensor waiting on a full adapter moves to one that has heard it since and has a free slot.
    if (queuedOn !== undefined && queuedOn !== adapter) {
      if (adapter.connections.room <= 0) return;
      queuedOn.connections.dequeue(entry.id);
    }
    entry.device.adapter = adapter;
    adapter.connections.enqueue(entry.id);
    this.pump(adapter);
  }

  /** The adapter that heard the sensor lately with the most room, the strongest signal breaking ties. */
  private pickAdapter(entry: BleSensor, mono: number): BleAdapter | undefined {
    let best: BleAdapter | undefined;
    let bestRoom = Number.NEGATIVE_INFINITY;
    let bestRssi = Number.NEGATIVE_INFINITY;
    for (const adapter of this.adapters) {
      const heard = entry.device.heardBy.get(adapter.index);
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

  private nextQueued(adapter: BleAdapter): BleSensor | undefined {
    const mono = performance.now();
    const usable = (entry: BleSensor | undefined): entry is BleSensor => {
      if (!entry || entry.device.status !== 'advertising' || entry.device.link) return false;
      const heard = entry.device.heardBy.get(adapter.index);
      return heard !== undefined && mono - heard.atMono <= RECENTLY_HEARD_MS;
    };
    for (let id = adapter.connections.takeFirst(); id !== undefined; id = adapter.connections.takeFirst()) {
      const entry = this.book.get(id);
      if (entry?.device.adapter === adapter && usable(entry)) return entry;
      // Re-evaluated on its next advert.
      if (entry?.device.adapter === adapter) entry.device.adapter = undefined;
    }
    // Nothing of its own waits: take a sensor this adapter also hears from a busier adapter's queue.
    for (const other of this.adapters) {
      if (other === adapter) continue;
      for (const id of other.connections.queued()) {
        const entry = this.book.get(id);
        if (!usable(entry)) continue;
        other.connections.dequeue(id);
        entry.device.adapter = adapter;
        return entry;
      }
    }
    return undefined;
  }

  private async openLink(entry: BleSensor, adapter: BleAdapter): Promise<void> {
    const peripheral = entry.device.heardBy.get(adapter.index)?.peripheral;
    if (!peripheral) {
      entry.device.adapter = undefined;
      return;
    }
    const generation = ++entry.device.linkGeneration;
    entry.device.status = 'connecting';
    entry.device.adapter = adapter;
    entry.device.dataSinceConnect = false;
    // Counters of the previous link must not meet the first notification of this one.
    this.book.resetDecoders(entry);
    this.counters.connectAttempts++;
    const link: GattLink = new GattLink({
      peripheral,
      sensorId: entry.id,
      adapter: adapter.name,
      connectTimeoutMs: this.config.connectTimeoutMs,
      gattTimeoutMs: this.config.gattTimeoutMs,
      characteristics: DISCOVERED_CHARACTERISTICS,
      subscribe: (uuid) => !isReadOnce(uuid),
      read: (uuid) => isReadOnce(uuid) && !entry.factsRead.has(uuid),
      onConnected: () => {
        if (adapter.connections.connected(entry.id)) this.pump(adapter);
      },
      onNotification: (uuid, data) => this.onNotification(entry, generation, adapter, uuid, data),
      onDisconnect: (reason) => this.onLinkLost(entry, generation, adapter, link, reason),
    });
    entry.device.link = link;
    adapter.connections.begin(entry.id, link);
    this.log.debug({ sensor: entry.id, adapter: adapter.name }, 'connecting');

    let opened: Awaited<ReturnType<GattLink['open']>>;
    try {
      opened = await link.open();
    } catch (error) {
      adapter.connections.connected(entry.id);
      if (generation !== entry.device.linkGeneration) return;
      this.counters.connectFailures++;
      const code = error instanceof BleLinkError ? error.code : undefined;
      if (code === 'timeout') this.counters.connectTimeouts++;
      await link.close();
      if (generation !== entry.device.linkGeneration) return;
      entry.device.linkGeneration++;
      this.releaseSlot(adapter, entry.id, link);
      // A device without anything to decode will not grow any: try it rarely.
      this.enterBackoff(entry, errorMessage(error), code === 'nothing_to_decode');
      this.log.warn(
        { sensor: entry.id, adapter: adapter.name, err: errorMessage(error), code, retryInMs: Math.round(entry.device.retryAtMono - performance.now()) },
        'BLE connection failed',
      );
      this.pump(adapter);
      return;
    }
    if (generation !== entry.device.linkGeneration || this.stopped()) return;

    entry.device.status = 'connected';
    entry.device.lastDataMono = performance.now();
    entry.device.lastError = undefined;
    this.counters.connections++;
    const reconnect = entry.device.connectedOnce;
    if (reconnect) this.counters.reconnects++;
    entry.device.connectedOnce = true;
    const now = this.now();
    for (const { uuid, data } of opened.reads) {
      entry.factsRead.add(uuid);
      this.counters.infoReads++;
      decodeCharacteristic(this.parts, entry, uuid, data, now);
    }
    for (const failure of opened.readFailures) this.log.debug({ sensor: entry.id, ...failure }, 'device information read failed; retried on the next connection');
    const kind = kindOfCharacteristics(opened.subscribed);
    if (kind !== undefined) this.book.update(entry, { kind });
    this.log.info({ sensor: entry.id, adapter: adapter.name, subscribed: opened.subscribed, reconnect }, 'BLE sensor connected');
  }

  private onLinkLost(entry: BleSensor, generation: number, adapter: BleAdapter, link: GattLink, reason: string): void {
    if (generation !== entry.device.linkGeneration || this.stopped()) return;
    this.counters.linkLosses++;
    entry.device.linkGeneration++;
    this.releaseSlot(adapter, entry.id, link);
    this.enterBackoff(entry, `link lost: ${reason}`);
    this.log.info({ sensor: entry.id, adapter: adapter.name, reason, retryInMs: Math.round(entry.device.retryAtMono - performance.now()) }, 'BLE link lost');
    this.pump(adapter);
  }

  /** Ends a sensor's link on our side (watchdog) and lets it reconnect after its backoff. */
  dropLink(entry: BleSensor, reason: string): void {
    const link = entry.device.link;
    const adapter = entry.device.adapter;
    entry.device.linkGeneration++;
    this.enterBackoff(entry, reason);
    if (!link || !adapter) return;
    void link.close().finally(() => {
      this.releaseSlot(adapter, entry.id, link);
      this.pump(adapter);
    });
  }

  /** Every link of an adapter that went down or is being reset: gone without a disconnect exchange. */
  abandonLinks(adapter: BleAdapter, reason: string): void {
    for (const entry of this.book.entries()) {
      if (entry.device.adapter !== adapter) continue;
      if (entry.device.link) {
        entry.device.linkGeneration++;
        void entry.device.link.close(false);
        this.enterBackoff(entry, `${adapter.name} down: ${reason}`);
      } else {
        entry.device.adapter = undefined;
      }
    }
    adapter.connections.clear();
  }

  private releaseSlot(adapter: BleAdapter, id: string, link: GattLink): void {
    adapter.connections.release(id, link);
  }

  private enterBackoff(entry: BleSensor, reason: string, longest = false): void {
    entry.device.link = undefined;
    entry.device.adapter = undefined;
    // Where the sensor was heard before the loss says nothing about now: a retry waits for a fresh advert.
    // Otherwise a sensor that really left would hold its adapter's one connection attempt for the whole
    // connect timeout while every other sensor on that adapter waits.
    entry.device.heardBy.clear();
    entry.device.lastHeardMono = Number.NEGATIVE_INFINITY;
    entry.device.status = 'backoff';
    entry.device.lastError = reason;
    // Jittered, so sensors dropped together (an adapter reset) do not all retry in the same instant.
    const delay = entry.device.backoff.next();
    entry.device.retryAtMono = performance.now() + (longest ? this.config.reconnectMaxMs : delay);
  }

  private onNotification(entry: BleSensor, generation: number, adapter: BleAdapter, uuid: string, data: Buffer): void {
    if (generation !== entry.device.linkGeneration || this.stopped()) {
      this.counters.staleNotifications++;
      return;
    }
    const mono = performance.now();
    adapter.heard(mono);
    entry.device.lastDataMono = mono;
    this.counters.notifications++;
    if (!entry.device.dataSinceConnect) {
      // Data flows: the link is healthy, so the next loss starts its backoff from the beginning.
      entry.device.dataSinceConnect = true;
      entry.device.backoff.reset();
    }
    const now = this.now();
    this.book.heard(entry, now);
    decodeCharacteristic(this.parts, entry, uuid, data, now);
  }

  readLinkRssi(entry: BleSensor, mono: number): void {
    const link = entry.device.link;
    if (!link) return;
    entry.device.rssiAskedMono = mono;
    void link.readRssi().then((rssi) => {
      if (rssi !== undefined && entry.device.link === link) entry.device.rssi = rssi;
    });
  }
}
