/**
 * The checks every SeriesStore adapter applies before touching its database, so that both adapters accept
 * and refuse exactly the same calls (the contract suite holds them to it).
 */
import { isAgentId, isMetricId } from '@pulsebridge/protocol';
import { SeriesStoreError } from './errors.ts';
import type { SeriesFilter, SeriesInfo, SeriesPage, SeriesRange, SeriesSelector, SeriesWrite } from './series-store.ts';

export const MAX_RAW_LIMIT = 100_000;
/** A rollup that would span more steps than this is refused: InfluxDB plans every step, even empty ones. */
export const MAX_ROLLUP_STEPS = 100_000;
export const MAX_ID_LENGTH = 128;
/** Series (sensor × metric) one agent may create by default; a box of 100 sensors with 8 metrics each uses 800. */
export const DEFAULT_MAX_SERIES_PER_AGENT = 2_000;
/**
 * Series each store remembers in memory by default: 50 agents of 400 series. An entry costs about 200 bytes
 * with agent and sensor ids at their 64-character maximum (up to 0.6 KB while it still shares the strings
 * of the batch it came from), so the default bounds the cache near 12 MB at worst.
 */
export const DEFAULT_SERIES_CACHE_ENTRIES = 20_000;
/** Series in one listSeries page at most: a page stays a few hundred kilobytes whatever the store holds. */
export const MAX_SERIES_PAGE = 10_000;

// InfluxDB's line protocol cannot carry a newline in a tag value, nor a backslash before a comma, space,
// equals sign or the end of the value; no sensor, agent or gym id has a reason to hold either.
// eslint-disable-next-line no-control-regex
const UNSTORABLE_CHARACTER = /[\u0000-\u001f\u007f\\]/;

function invalidQuery(param: string, message: string): SeriesStoreError {
  return new SeriesStoreError('invalid_query', `${param}: ${message}`, { param });
}

function checkId(value: unknown, param: string, fail: (param: string, message: string) => SeriesStoreError): void {
  if (typeof value !== 'string' || value.length === 0) throw fail(param, 'must be a non-empty string');
  if (value.length > MAX_ID_LENGTH) throw fail(param, `longer than ${MAX_ID_LENGTH} characters`);
  if (UNSTORABLE_CHARACTER.test(value)) throw fail(param, 'contains a control character or a backslash');
}

function checkOptionalId(value: unknown, param: string): void {
  if (value !== undefined) checkId(value, param, invalidQuery);
}

function checkTime(value: unknown, param: string): asserts value is number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw invalidQuery(param, `must be whole UTC milliseconds, got ${String(value)}`);
}

export function checkFilter(filter: SeriesFilter): void {
  checkOptionalId(filter.gym, 'gym');
  checkOptionalId(filter.agent, 'agent');
  checkOptionalId(filter.sensor, 'sensor');
}

export function checkPage(page: SeriesPage): void {
  if (!Number.isInteger(page.limit) || page.limit < 1 || page.limit > MAX_SERIES_PAGE) {
    throw invalidQuery('limit', `must be an integer in 1..${MAX_SERIES_PAGE}, got ${page.limit}`);
  }
  const after = page.after;
  if (after === undefined) return;
  checkId(after.gym, 'after.gym', invalidQuery);
  checkId(after.agent, 'after.agent', invalidQuery);
  checkId(after.sensor, 'after.sensor', invalidQuery);
  if (typeof after.metric !== 'string' || !isMetricId(after.metric)) throw invalidQuery('after.metric', `unknown metric "${String(after.metric)}"`);
}

/** UTF-8 byte order, as SQLite's BINARY collation compares text (JavaScript's < compares UTF-16 units). */
export function compareUtf8(a: string, b: string): number {
  return a === b ? 0 : Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** The listing order of SeriesPage: gym, agent, sensor, metric. */
export function compareSeries(a: SeriesInfo, b: SeriesInfo): number {
  return compareUtf8(a.gym, b.gym) || compareUtf8(a.agent, b.agent) || compareUtf8(a.sensor, b.sensor) || compareUtf8(a.metric, b.metric);
}

export function checkSelector(selector: SeriesSelector): void {
  checkId(selector.sensor, 'sensor', invalidQuery);
  if (typeof selector.metric !== 'string' || !isMetricId(selector.metric)) throw invalidQuery('metric', `unknown metric "${String(selector.metric)}"`);
  checkOptionalId(selector.gym, 'gym');
  checkOptionalId(selector.agent, 'agent');
  checkTime(selector.from, 'from');
  checkTime(selector.to, 'to');
  if (selector.from >= selector.to) throw invalidQuery('to', `must be after from (from ${selector.from}, to ${selector.to})`);
}

export function checkRange(range: SeriesRange): void {
  checkId(range.gym, 'gym', invalidQuery);
  checkId(range.sensor, 'sensor', invalidQuery);
  checkTime(range.from, 'from');
  checkTime(range.to, 'to');
  if (range.from >= range.to) throw invalidQuery('to', `must be after from (from ${range.from}, to ${range.to})`);
}

export function checkRawQuery(selector: SeriesSelector, limit: number): void {
  checkSelector(selector);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_RAW_LIMIT) throw invalidQuery('limit', `must be an integer in 1..${MAX_RAW_LIMIT}, got ${limit}`);
}

export function checkRollupQuery(selector: SeriesSelector, stepMs: number): void {
  checkSelector(selector);
  if (!Number.isSafeInteger(stepMs) || stepMs <= 0) throw invalidQuery('step', `must be a positive whole number of milliseconds, got ${stepMs}`);
  const firstStep = selector.from - (selector.from % stepMs);
  const steps = Math.ceil((selector.to - firstStep) / stepMs);
  if (steps > MAX_ROLLUP_STEPS) throw invalidQuery('step', `${steps} steps of ${stepMs} ms between from and to; at most ${MAX_ROLLUP_STEPS}`);
}

function invalidWrite(param: string, message: string): SeriesStoreError {
  return new SeriesStoreError('invalid_write', `${param}: ${message}`, { param });
}

/**
 * Refuses the whole call on the first reading no store can keep, before anything is written: a write is
 * all or nothing. Readings that decodeBatch let through always pass.
 */
export function checkWrites(batches: readonly SeriesWrite[]): void {
  for (let b = 0; b < batches.length; b++) {
    const batch = batches[b]!;
    checkId(batch.gym, `[${b}].gym`, invalidWrite);
    checkId(batch.agent, `[${b}].agent`, invalidWrite);
    if (!isAgentId(batch.agent)) throw invalidWrite(`[${b}].agent`, `"${batch.agent}" is not an agent id`);
    for (let s = 0; s < batch.series.length; s++) {
      const series = batch.series[s]!;
      const where = `[${b}].series[${s}]`;
      checkId(series.sensor, `${where}.sensor`, invalidWrite);
      if (!isMetricId(series.metric)) throw invalidWrite(`${where}.metric`, `unknown metric "${String(series.metric)}"`);
      const { ts, values } = series;
      if (ts.length !== values.length) throw invalidWrite(where, `${ts.length} times but ${values.length} values`);
      for (let i = 0; i < ts.length; i++) {
        const t = ts[i]!;
        if (!Number.isSafeInteger(t) || t < 0) throw invalidWrite(`${where}.ts[${i}]`, `${t} is not a UTC millisecond`);
        if (!Number.isFinite(values[i]!)) throw invalidWrite(`${where}.values[${i}]`, `${values[i]} is not a finite number`);
      }
    }
  }
}
