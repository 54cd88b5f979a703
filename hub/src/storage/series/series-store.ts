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

/** Every reading of one sensor in one gym (all its agents and metrics) in [from, to). */
export interface SeriesRange {
  gym: string;
  sensor: string;
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

/**
 * One page of a series listing. Series are listed in one order in every adapter: by gym, agent, sensor, then
 * metric, each compared by its UTF-8 bytes (SQLite's BINARY collation).
 */
export interface SeriesPage {
  /** At most this many series, 1 to MAX_SERIES_PAGE. */
  limit: number;
  /** Start after this series (the last one of the previous page); the first page when absent. */
  after?: SeriesInfo;
}

/** Readings of one series a write did not store because their agent already has its maximum of series. */
export interface RefusedSeries {
  /** Index of the SeriesWrite in the write() call. */
  batch: number;
  agent: string;
  sensor: string;
  metric: MetricId;
  readings: number;
}

export interface WriteResult {
  /** Empty unless an agent reached maxSeriesPerAgent; every other reading of the call is stored. */
  refused: RefusedSeries[];
}

/** The regular series, and (UnsyncedReadingsStore) readings of unconfirmed clocks held apart from them. */
export interface SeriesStore extends UnsyncedReadingsStore {
  start(): Promise<void>;
  stop(): Promise<void>;
  /**
   * Resolves only when every reading is durably stored. Idempotent: a reading is keyed by
   * (agent, sensor, metric, ts), so writing the same readings again stores nothing twice.
   *
   * A series (agent, sensor, metric) the store does not have yet is created only while its agent has fewer
   * than the store's maxSeriesPerAgent series; past it, that series' readings are left out and listed in
   * `refused`, and the rest of the call is stored. Readings of existing series are always stored, so lowering
   * the limit never cuts off a series already kept. The count is the store's own, whatever it caches.
   */
  write(batches: readonly SeriesWrite[]): Promise<WriteResult>;
  /** Raw readings in [from, to), oldest first, at most `limit`. */
  readRaw(selector: SeriesSelector, limit: number): Promise<RawPoint[]>;
  /** min, max, mean and count per step in [from, to); steps without readings are left out. */
  readRollup(selector: SeriesSelector, stepMs: number): Promise<RollupPoint[]>;
  /** One page of the series matching the filter, in the order SeriesPage describes. */
  listSeries(filter: SeriesFilter, page: SeriesPage): Promise<SeriesInfo[]>;
  /** Number of stored readings matching the filter: for tests and operators, not for hot paths. */
  count(filter: SeriesFilter): Promise<number>;
  /**
   * Removes every reading of the range (an erased athlete's binding interval); returns how many it removed.
   * The series themselves stay listed: their names hold sensor ids, never a person.
   */
  deleteRange(range: SeriesRange): Promise<number>;
}
