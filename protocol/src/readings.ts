import type { MetricId } from './metrics.ts';

/** The latest time a JavaScript Date can hold (UTC ms): a reading stamped later cannot be shown or queried. */
export const MAX_DATE_MS = 8.64e15;

/** One measurement as a source produces it. `ts` is UTC milliseconds. */
export interface Reading {
  sensor: string;
  metric: MetricId;
  ts: number;
  value: number;
}

/**
 * Readings of one sensor and metric, column-wise: how batches carry them and how stores write them.
 * A series holds at most one reading per millisecond; stores treat (sensor, metric, ts) as the reading's key.
 */
export interface SeriesReadings {
  sensor: string;
  metric: MetricId;
  ts: number[];
  values: number[];
}

export function countReadings(series: readonly SeriesReadings[]): number {
  let n = 0;
  for (const s of series) n += s.ts.length;
  return n;
}

/** Groups loose readings into series, keeping their order within each series. */
export function groupReadings(readings: Iterable<Reading>): SeriesReadings[] {
  const bySeries = new Map<string, SeriesReadings>();
  for (const r of readings) {
    const key = `${r.sensor}\u0000${r.metric}`;
    let s = bySeries.get(key);
    if (!s) {
      s = { sensor: r.sensor, metric: r.metric, ts: [], values: [] };
      bySeries.set(key, s);
    }
    s.ts.push(r.ts);
    s.values.push(r.value);
  }
  return [...bySeries.values()];
}

/** Concatenates several series lists (oldest first) into one list with one entry per sensor and metric. */
export function mergeSeries(lists: readonly (readonly SeriesReadings[])[]): SeriesReadings[] {
  const bySeries = new Map<string, SeriesReadings>();
  for (const list of lists) {
    for (const s of list) {
      const key = `${s.sensor}\u0000${s.metric}`;
      const into = bySeries.get(key);
      if (into) {
        for (let i = 0; i < s.ts.length; i++) {
          into.ts.push(s.ts[i]!);
          into.values.push(s.values[i]!);
        }
      } else {
        bySeries.set(key, { sensor: s.sensor, metric: s.metric, ts: [...s.ts], values: [...s.values] });
      }
    }
  }
  return [...bySeries.values()];
}
