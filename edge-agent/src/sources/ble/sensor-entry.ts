/**
 * What the BLE source knows about one admitted sensor's radio side: where it was heard, its link and the
 * link's generation, its backoff, and its broadcast frame counter. Its inventory record (kind, name,
 * metrics, facts, counters) is the sensor book's.
 */
import type { Backoff } from '@pulsebridge/runtime';
import type { Logger } from 'pino';
import type { BleAdapter } from './adapter.ts';
import type { BleSensorBook, BookedSensor } from './ble-sensor-book.ts';
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

export interface SensorEntry {
  readonly id: string;
  readonly record: BookedSensor;
  broadcast: boolean;
  status: BleSensorStatus;
  rssi: number | undefined;
  /** Epoch ms (the injected clock) of the last advert or notification. */
  lastSeen: number | undefined;
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
  decoderStates: Map<string, unknown>;
  /** Once-only characteristics already read: device information survives reconnects. */
  infoRead: Set<string>;
  broadcastCounter: number | undefined;
  broadcastEmitMono: number | undefined;
  /** When the link's RSSI was last asked for; a connected sensor no longer advertises it. */
  rssiAskedMono: number;
}

/** What the source's parts (adverts, links) share: its config, book, sensors, adapters, clock and log. */
export interface BleSourceParts {
  config: BleSourceConfig;
  book: BleSensorBook;
  /** Every admitted sensor's radio side, by id. */
  sensors: Map<string, SensorEntry>;
  adapters: readonly BleAdapter[];
  now: () => number;
  log: Logger;
}

export function newSensorEntry(record: BookedSensor, broadcast: boolean, backoff: Backoff): SensorEntry {
  return {
    id: record.id,
    record,
    broadcast,
    status: broadcast ? 'broadcast' : 'advertising',
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
    backoff,
    retryAtMono: 0,
    lastError: undefined,
    decoderStates: new Map(),
    infoRead: new Set(),
    broadcastCounter: undefined,
    broadcastEmitMono: undefined,
    rssiAskedMono: 0,
  };
}
