/**
 * What every source (simulator, ble, ant, serial) offers the agent. A source turns a transport into
 * readings; it never touches the outbox or the network itself.
 */
import type { Reading, SensorInfo } from '@pulsebridge/protocol';

export type SourceState = 'starting' | 'running' | 'degraded' | 'unavailable' | 'stopped';

export interface SourceHealth {
  state: SourceState;
  /** Why it is degraded or unavailable, e.g. "no Bluetooth adapter". */
  detail?: string;
  sensors: number;
  readings: number;
  /** Frames or payloads the source could not decode, counted and skipped. */
  rejected: number;
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
