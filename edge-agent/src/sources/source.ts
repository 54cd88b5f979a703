/**
 * What every source (simulator, ble, ant, serial) offers the agent. A source turns a transport into
 * readings; it never touches the outbox or the network itself.
 */
import type { Static } from '@sinclair/typebox';
import type { Reading, SensorInfo, SourceState as SourceStateSchema } from '@pulsebridge/protocol';

/** One definition: the wire form the agent's status message carries to the hub. */
export type SourceState = Static<typeof SourceStateSchema>;

/** One sensor as a source sees it, for the health endpoint. */
export interface SourceDeviceHealth {
  id: string;
  /** What the source is doing with it, e.g. BLE: advertising, connecting, connected, backoff, broadcast. */
  state: string;
  /** UTC ms of the last thing heard from it; null before anything was. */
  lastSeen: number | null;
  /** Signal strength, dBm, where the radio reports one: its last advert, or its link while connected. */
  rssi?: number | null;
  /** The adapter holding its link, where a source has several. */
  adapter?: string | null;
  /** Why it is not working, e.g. the last connection failure of a sensor in backoff. */
  detail?: string | null;
  /** Records decoded although they bent the spec (reserved flag bits, unannounced trailing bytes). */
  quirks?: number;
}

export interface SourceHealth {
  state: SourceState;
  /** Why it is degraded or unavailable, e.g. "no Bluetooth adapter". */
  detail?: string;
  sensors: number;
  readings: number;
  /** Frames or payloads the source could not decode, counted and skipped. */
  rejected: number;
  /** Per-sensor detail, for sources that keep per-sensor state worth showing (BLE links). */
  devices?: SourceDeviceHealth[];
}

export interface SourceSink {
  /** Called for every decoded reading; must not throw. */
  reading(reading: Reading): void;
  /** Called when the set of sensors the source sees changes. */
  inventory(sensors: SensorInfo[]): void;
}

export interface Source {
  readonly name: string;
  /** Resolves once the source runs (or knows it cannot); never rejects for a missing radio: health says why. */
  start(sink: SourceSink): Promise<void>;
  stop(): Promise<void>;
  health(): SourceHealth;
}
