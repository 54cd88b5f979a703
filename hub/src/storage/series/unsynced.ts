/**
 * Readings held apart: times stamped by a boot whose wall clock was never confirmed against true time (the
 * agent flagged the batch `clockUnsynced` and named the boot). They are stored durably, so an ack still means
 * durable, but outside the series that reads, rollups and live serve, until an operator corrects them (moved
 * into the series with an offset) or discards them. Part of the SeriesStore port; both adapters pass the
 * contract suite's cases for it.
 */
import { isAgentId, isMetricId, type MetricId, type SeriesReadings } from '@pulsebridge/protocol';
import { SeriesStoreError } from './errors.ts';
import { checkWrites } from './series-query.ts';

/** Readings of one boot of one agent, times as that boot's wall clock stamped them. */
export interface UnsyncedWrite {
  gym: string;
  agent: string;
  boot: string;
  series: SeriesReadings[];
}

/** What is held of one boot. */
export interface UnsyncedBoot {
  gym: string;
  agent: string;
  boot: string;
  readings: number;
  /** Oldest and newest time as stamped (the boot's own clock, not true time), UTC ms. */
  firstStamp: number;
  lastStamp: number;
  /** Sorted. */
  sensors: string[];
}

export interface UnsyncedSelector {
  agent: string;
  boot: string;
  sensor?: string;
  metric?: MetricId;
  /** Inclusive, as stamped. */
  from: number;
}

export interface UnsyncedPoint {
  sensor: string;
  metric: MetricId;
  /** As stamped. */
  ts: number;
  value: number;
}

export interface UnsyncedCorrection {
  agent: string;
  boot: string;
  /** Added to every stamped time to make it true time. */
  offsetMs: number;
  /**
   * The check ingest applies to the time of any reading it receives; a corrected reading it refuses is
   * discarded with the rest of the boot, never moved into a series.
   */
  accepts: (ts: number) => boolean;
}

export interface UnsyncedMove {
  /** Readings moved into the regular series, at their corrected times. */
  moved: number;
  /** Readings whose corrected time was refused; discarded. */
  refused: number;
}

export interface UnsyncedReadingsStore {
  /**
   * Resolves only when every reading is durably stored, apart from the regular series. Idempotent: a reading
   * is keyed by (agent, boot, sensor, metric, ts as stamped).
   */
  writeUnsynced(batches: readonly UnsyncedWrite[]): Promise<void>;
  /** Every boot held, of one agent or of all, ordered by agent then boot. */
  listUnsynced(filter: { agent?: string }): Promise<UnsyncedBoot[]>;
  /** Readings of one boot from `from` on, oldest stamp first (ties by sensor, then metric), at most `limit`. */
  readUnsynced(selector: UnsyncedSelector, limit: number): Promise<UnsyncedPoint[]>;
  /**
   * Moves every reading of the boot into the regular series at stamp + offsetMs and forgets the boot. Never
   * loses a reading to a crash: the readings are in the series before they leave the unsynced store (SQLite:
   * one transaction; InfluxDB: written, then deleted). Repeating it after success finds nothing to move.
   */
  correctUnsynced(correction: UnsyncedCorrection): Promise<UnsyncedMove>;
  /** Deletes every reading held of the boot; resolves to how many there were. */
  discardUnsynced(agent: string, boot: string): Promise<number>;
}

/** The boot ids the protocol allows (protocol BootId): safe in every store's query language unquoted. */
const BOOT_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** The latest time both stores can hold (InfluxDB: int64 nanoseconds), UTC ms. */
export const MAX_STORABLE_TIME_MS = 9_223_372_036_853;

/** The result limit of readUnsynced, as for readRaw. */
export const MAX_UNSYNCED_LIMIT = 100_000;

function fail(code: 'invalid_query' | 'invalid_write', param: string, message: string): SeriesStoreError {
  return new SeriesStoreError(code, `${param}: ${message}`, { param });
}

function checkAgentAndBoot(agent: unknown, boot: unknown, code: 'invalid_query' | 'invalid_write', where = ''): void {
  if (typeof agent !== 'string' || !isAgentId(agent)) throw fail(code, `${where}agent`, `"${String(agent)}" is not an agent id`);
  if (typeof boot !== 'string' || !BOOT_ID.test(boot)) throw fail(code, `${where}boot`, `"${String(boot)}" is not a boot id`);
}

/** All or nothing, like checkWrites: the same rules for the readings, plus a valid boot. */
export function checkUnsyncedWrites(batches: readonly UnsyncedWrite[]): void {
  checkWrites(batches);
  batches.forEach((batch, b) => checkAgentAndBoot(batch.agent, batch.boot, 'invalid_write', `[${b}].`));
}

export function checkUnsyncedFilter(filter: { agent?: string }): void {
  if (filter.agent !== undefined && !isAgentId(filter.agent)) throw fail('invalid_query', 'agent', `"${filter.agent}" is not an agent id`);
}

export function checkUnsyncedSelector(selector: UnsyncedSelector, limit: number): void {
  checkAgentAndBoot(selector.agent, selector.boot, 'invalid_query');
  if (selector.sensor !== undefined && (typeof selector.sensor !== 'string' || selector.sensor.length === 0)) {
    throw fail('invalid_query', 'sensor', 'must be a non-empty string');
  }
  if (selector.metric !== undefined && !isMetricId(selector.metric)) throw fail('invalid_query', 'metric', `unknown metric "${String(selector.metric)}"`);
  if (!Number.isSafeInteger(selector.from)) throw fail('invalid_query', 'from', `must be whole UTC milliseconds, got ${String(selector.from)}`);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_UNSYNCED_LIMIT) throw fail('invalid_query', 'limit', `must be an integer in 1..${MAX_UNSYNCED_LIMIT}, got ${limit}`);
}

export function checkCorrection(correction: UnsyncedCorrection): void {
  checkAgentAndBoot(correction.agent, correction.boot, 'invalid_query');
  if (!Number.isSafeInteger(correction.offsetMs)) throw fail('invalid_query', 'offsetMs', `must be whole milliseconds, got ${String(correction.offsetMs)}`);
}

export function checkBoot(agent: string, boot: string): void {
  checkAgentAndBoot(agent, boot, 'invalid_query');
}

/** The corrected time of a stamp, or undefined when no store can hold it or the hub's checks refuse it. */
export function correctedTime(stamp: number, correction: UnsyncedCorrection): number | undefined {
  const ts = stamp + correction.offsetMs;
  if (!Number.isSafeInteger(ts) || ts < 0 || ts > MAX_STORABLE_TIME_MS) return undefined;
  return correction.accepts(ts) ? ts : undefined;
}

/** Keeps the readings each store returns grouped the same way: by sensor, then metric, then time. */
export function sortUnsyncedPoints(points: UnsyncedPoint[]): UnsyncedPoint[] {
  return points.sort((a, b) => a.ts - b.ts || (a.sensor < b.sensor ? -1 : a.sensor > b.sensor ? 1 : 0) || (a.metric < b.metric ? -1 : a.metric > b.metric ? 1 : 0));
}
