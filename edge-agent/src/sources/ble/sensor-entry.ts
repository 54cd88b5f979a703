/**
 * What a BLE sensor is to the radio: where it was heard, its link and the link's generation, its backoff,
 * and its broadcast frame counter. This is the `device` of its entry in the shared sensor book, which keeps
 * the rest (kind, name, metrics, facts, decoder state, counters).
 */
import type { Backoff } from '@pulsebridge/runtime';
import type { Logger } from 'pino';
import type { SensorBook, SensorEntry, SensorLink } from '../sensor-book.ts';
import type { BleAdapter } from './adapter.ts';
import type { BleSourceConfig } from './config.ts';
import type { GattLink } from './gatt-link.ts';
import type { PeripheralLike } from './noble.ts';

/** What a sensor is doing, as the health endpoint shows it. */
export type BleSensorStatus = 'advertising' | 'connecting' | 'connected' | 'backoff' | 'broadcast';

/** An advert older than this does not count as the sensor being around to connect to. */
export const RECENTLY_HEARD_MS = 5_000;

export interface HeardBy {
  peripheral: PeripheralLike;
  rssi: number | undefined;
  atMono: number;
}

export interface BleDevice {
  /** The Bluetooth address, part of the sensor's inventory name. */
  readonly address: string;
  broadcast: boolean;
  status: BleSensorStatus;
  rssi: number | undefined;
  lastHeardMono: number;
  /** By adapter index. */
  heardBy: Map<number, HeardBy>;
  /** The adapter holding the sensor's link or its place in a connection queue. */
  adapter: BleAdapter | undefined;
  link: GattLink | undefined;
  /** Bumped for every link and every teardown, so callbacks of an old link are ignored. */
  linkGeneration: number;
  connectedOnce: boolean;
  dataSinceConnect: boolean;
  lastDataMono: number;
  /** Reconnect delays; reset once a link delivers data. */
  readonly backoff: Backoff;
  retryAtMono: number;
  lastError: string | undefined;
  broadcastCounter: number | undefined;
  broadcastEmitMono: number | undefined;
  /** When the link's RSSI was last asked for; a connected sensor no longer advertises it. */
  rssiAskedMono: number;
}

/** An admitted BLE sensor: its entry in the sensor book, with its radio side as the device. */
export type BleSensor = SensorEntry<BleDevice>;

/** What the source's parts (adverts, links) share: its config, book, adapters, clock and log. */
export interface BleSourceParts {
  config: BleSourceConfig;
  /** Every admitted sensor, by id. */
  book: SensorBook<BleDevice>;
  adapters: readonly BleAdapter[];
  now: () => number;
  log: Logger;
  /** A decoder or handler bug, caught so it costs one advert or notification rather than the link; counted. */
  handlerFailed: (what: string, error: unknown, detail?: Record<string, unknown>) => void;
}

export function newBleDevice(address: string, broadcast: boolean, backoff: Backoff): BleDevice {
  return {
    address,
    broadcast,
    status: broadcast ? 'broadcast' : 'advertising',
    rssi: undefined,
    lastHeardMono: Number.NEGATIVE_INFINITY,
    heardBy: new Map(),
    adapter: undefined,
    link: undefined,
    linkGeneration: 0,
    connectedOnce: false,
    dataSinceConnect: false,
    lastDataMono: 0,
    backoff,
    retryAtMono: 0,
    lastError: undefined,
    broadcastCounter: undefined,
    broadcastEmitMono: undefined,
    rssiAskedMono: 0,
  };
}

/** How a sensor's link stands for the health endpoint: the adapter while it holds one, the failure while in backoff. */
export function bleLink({ device }: BleSensor): SensorLink {
  const holdsAdapter = device.status === 'connected' || device.status === 'connecting';
  return { state: device.status, rssi: device.rssi, adapter: holdsAdapter ? device.adapter?.name : undefined, detail: device.status === 'backoff' ? device.lastError : undefined };
}

/** Facts that name a sensor in the inventory; others (contact, battery) change too often to republish it. */
export const BLE_NAMING_FACTS: ReadonlySet<string> = new Set(['manufacturer', 'model', 'serialNumber']);

/** The inventory name: the advertised name (or the kind), the address, and what device information said. */
export function bleSensorName(entry: BleSensor): string {
  const { manufacturer, model, serialNumber } = entry.facts;
  const label = entry.name ?? `BLE ${entry.kind.replace(/_/g, ' ')}`;
  const details: string[] = [];
  if (manufacturer !== undefined) details.push(String(manufacturer));
  if (model !== undefined) details.push(String(model));
  if (serialNumber !== undefined) details.push(`serial ${serialNumber}`);
  return `${label} ${entry.device.address.toLowerCase()}${details.length > 0 ? ` (${details.join(', ')})` : ''}`;
}
