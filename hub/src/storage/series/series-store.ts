/**
 * The SeriesStore port: where the hub keeps readings. Adapters: SQLite (embedded default) and InfluxDB.
 * Every adapter passes the one contract suite in hub/test/storage/series-contract.ts.
 */
import type { MetricId, SeriesReadings } from '@pulsebridge/protocol';
import type { UnsyncedReadingsStore } from './unsynced.ts';

/** Readings of one agent, tagged with the gym the hub knows the agent belongs to. */
export interface SeriesWrite {
  gym: string;
  agent: string;
  series: SeriesReadings[];
}

export interface SeriesSelector {
  sensor: string;
  metric: MetricId;
  /** Narrow to one gym or agent; queries are always scoped by gym once identity lands. */
  gym?: string;
  agent?: string;
  /** Inclusive, UTC ms. */
  from: number;
  /** Exclusive, UTC ms. */
  to: number;
}

export interface RawPoint {
  ts: number;
  value: number;
}

export interface RollupPoint {
  /** Start of the step, UTC ms, aligned to multiples of the step since the epoch. */
  ts: number;
  min: number;
  max: number;
  mean: number;
  count: number;
}

export interface SeriesInfo {
  gym: string;
  agent: string;
  sensor: string;
  metric: MetricId;
}

export interface SeriesFilter {
  gym?: string;
  agent?: string;
  sensor?: string;
}

/** The regular series, and (UnsyncedReadingsStore) readings of unconfirmed clocks held apart from them. */
export interface SeriesStore extends UnsyncedReadingsStore {
  start(): Promise<void>;
  stop(): Promise<void>;
  /**
   * Resolves only when every reading is durably stored. Idempotent: a reading is keyed by
   * (agent, sensor, metric, ts), so writing the same readings again stores nothing twice.
   */
  write(batches: readonly SeriesWrite[]): Promise<void>;
  /** Raw readings in [from, to), oldest first, at most `limit`. */
  readRaw(selector: SeriesSelector, limit: number): Promise<RawPoint[]>;
  /** min, max, mean and count per step in [from, to); steps without readings are left out. */
  readRollup(selector: SeriesSelector, stepMs: number): Promise<RollupPoint[]>;
  listSeries(filter: SeriesFilter): Promise<SeriesInfo[]>;
  /** Number of stored readings matching the filter: for tests and operators, not for hot paths. */
  count(filter: SeriesFilter): Promise<number>;
}
