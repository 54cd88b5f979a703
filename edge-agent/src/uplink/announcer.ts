/**
 * What the agent tells the hub besides readings: its retained status (online with version, outbox depth,
 * source states and each sensor's latest signal strength, or offline), its retained sensor inventory, and operator events. Events raised while the
 * connection is down wait in a bounded queue.
 */
import type { Logger } from 'pino';
import {
  MAX_DATE_MS,
  MAX_STATUS_SIGNALS,
  SENSOR_ID_PATTERN,
  encodeJsonMessage,
  type EventMessage,
  type InventoryMessage,
  type MessageKind,
  type SensorInfo,
  type SensorSignal,
  type StatusMessage,
} from '@pulsebridge/protocol';
import { errorMessage } from '@pulsebridge/runtime';
import type { SourceDeviceHealth, SourceHealth } from '../sources/source.ts';
import type { UplinkConfig } from './config.ts';
import { truncate, type BatchChannel, type UplinkOutbox } from './sender.ts';

export type AnnouncerOptions = Pick<UplinkConfig, 'inventoryDebounceMs'> & {
  version: string;
  channel: BatchChannel;
  outbox: Pick<UplinkOutbox, 'stats'>;
  clock: { now(): number; mono(): number };
  log: Logger;
  /** Source states for the status message, with the sensors whose signal it carries. */
  sources?: (() => Record<string, SourceStatus>) | undefined;
};

/** What the status message says about a source: its state, and the signal of each sensor that has one. */
export type SourceStatus = Pick<SourceHealth, 'state' | 'detail'> & { devices?: readonly Pick<SourceDeviceHealth, 'id' | 'lastSeen' | 'rssi'>[] | undefined };

const SENSOR_ID = new RegExp(SENSOR_ID_PATTERN);

/**
 * The latest signal of every sensor a source reports one for, in the wire's bounds. The status carries it
 * rather than the inventory: the inventory is retained and debounced, and would go out again at every dBm.
 */
export function sensorSignals(sources: Record<string, SourceStatus>): SensorSignal[] {
  const out: SensorSignal[] = [];
  for (const source of Object.values(sources)) {
    for (const device of source.devices ?? []) {
      if (out.length >= MAX_STATUS_SIGNALS) return out;
      const { id, rssi, lastSeen } = device;
      if (typeof rssi !== 'number' || !Number.isFinite(rssi) || lastSeen === null || !Number.isFinite(lastSeen) || !SENSOR_ID.test(id)) continue;
      out.push({ id, rssi: Math.max(-127, Math.min(20, Math.round(rssi))), at: Math.max(0, Math.min(MAX_DATE_MS, Math.round(lastSeen))) });
    }
  }
  return out;
}

const MAX_QUEUED_EVENTS = 100;
const MAX_INVENTORY_SENSORS = 4_096;

export class Announcer {
  private readonly options: AnnouncerOptions;
  private readonly log: Logger;
  private readonly inventory = new Map<string, SensorInfo[]>();
  private publishedInventory: string | undefined;
  private inventoryTimer: NodeJS.Timeout | undefined;
  private readonly eventQueue: EventMessage[] = [];
  /** Events that fell out of the full queue while disconnected. */
  eventsDropped = 0;

  constructor(options: AnnouncerOptions) {
    this.options = options;
    this.log = options.log;
  }

  /** Just connected: everything retained is published again, and the queued events go out. */
  online(): void {
    this.publishStatus();
    this.publishInventory(true);
    for (const message of this.eventQueue.splice(0)) this.publish('events', encodeJsonMessage('events', message), false);
  }

  stop(): void {
    clearTimeout(this.inventoryTimer);
    this.inventoryTimer = undefined;
  }

  /** The retained status of a clean stop: unlike the last will, it says when. */
  goodbye(): Buffer {
    return encodeJsonMessage('status', { state: 'offline', sentAt: this.wallNow() });
  }

  /** The last will: the broker publishes it when the connection is lost without a goodbye. */
  static will(): Buffer {
    return encodeJsonMessage('status', { state: 'offline' });
  }

  publishStatus(): void {
    if (!this.options.channel.ready) return;
    const status: StatusMessage = { state: 'online', version: truncate(this.options.version, 64), mono: Math.max(0, this.options.clock.mono()), sentAt: this.wallNow() };
    try {
      const stats = this.options.outbox.stats();
      let dropped = 0;
      for (const n of Object.values(stats.dropped)) dropped += n;
      status.outbox = {
        readings: Math.max(0, Math.round(stats.readings)),
        bytes: Math.max(0, Math.round(stats.bytes)),
        oldestAgeMs: Math.max(0, Math.round(stats.oldestAgeMs)),
        dropped: Math.max(0, Math.round(dropped)),
      };
    } catch (err) {
      this.log.error({ err: errorMessage(err) }, 'outbox failed to read statistics');
    }
    const sources = this.options.sources?.();
    if (sources) {
      status.sources = {};
      for (const [name, source] of Object.entries(sources)) {
        status.sources[truncate(name, 64)] = source.detail === undefined ? { state: source.state } : { state: source.state, detail: truncate(source.detail, 512) };
      }
      const signal = sensorSignals(sources);
      if (signal.length > 0) status.signal = signal;
    }
    this.publish('status', encodeJsonMessage('status', status), true);
  }

  /** The sensors one source currently sees; published (retained, debounced) as the agent's inventory. */
  setInventory(source: string, sensors: readonly SensorInfo[]): void {
    this.inventory.set(source, [...sensors]);
    if (this.inventoryTimer) return;
    this.inventoryTimer = setTimeout(() => {
      this.inventoryTimer = undefined;
      try {
        this.publishInventory(false);
      } catch (err) {
        this.log.error({ err }, 'publishing the inventory failed');
      }
    }, this.options.inventoryDebounceMs);
    this.inventoryTimer.unref();
  }

  /** Something an operator should know about. Queued (bounded) while disconnected. */
  event(type: string, detail?: string): void {
    const message: EventMessage = { at: this.wallNow(), type: truncate(type, 64) };
    if (detail !== undefined) message.detail = truncate(detail, 1_024);
    if (this.options.channel.ready) {
      this.publish('events', encodeJsonMessage('events', message), false);
      return;
    }
    if (this.eventQueue.length >= MAX_QUEUED_EVENTS) {
      this.eventQueue.shift();
      this.eventsDropped++;
    }
    this.eventQueue.push(message);
  }

  private publishInventory(force: boolean): void {
    if (!this.options.channel.ready || this.inventory.size === 0) return;
    const message: InventoryMessage = { sensors: [...this.inventory.values()].flat().slice(0, MAX_INVENTORY_SENSORS) };
    const payload = encodeJsonMessage('inventory', message);
    const text = payload.toString('utf8');
    if (!force && text === this.publishedInventory) return;
    this.publishedInventory = text;
    this.publish('inventory', payload, true);
  }

  private publish(kind: MessageKind, payload: Buffer, retain: boolean): void {
    this.options.channel.publish(kind, payload, retain, (err) => {
      if (err) this.log.debug({ kind, err: err.message }, 'publish failed');
    });
  }

  private wallNow(): number {
    return Math.max(0, Math.round(this.options.clock.now()));
  }
}
