/**
 * Which readings are an athlete's during a session: those of every sensor bound to them in the session's gym
 * (their own straps, loaners, the sensors built into a machine they used) at each reading's time. Nothing is
 * copied at ingest: readings stay in the series store, and the bindings are kept as history, so readings that
 * reach the hub late (an agent's backlog after an outage) are attributed exactly like timely ones.
 */
import type { MetricId } from '@pulsebridge/protocol';
import type { DocumentStore } from '../../documents/document-store.ts';
import type { Reading, PositionReading, SessionReadings } from '../../results/streams.ts';
import { MAX_RAW_LIMIT } from '../../storage/series/series-query.ts';
import type { RawPoint, SeriesSelector, SeriesStore } from '../../storage/series/series-store.ts';
import { BINDINGS } from '../pairing/collections.ts';

/** A sensor's readings in [from, until) are the athlete's. */
export interface SensorInterval {
  sensor: string;
  from: number;
  until: number;
}

/** Readings of one series read for one session at most: a day at 4 Hz, whatever a sensor sends. */
export const MAX_READINGS_PER_SERIES = 24 * 3600 * 4;

/** The metrics results use, and the stream each one feeds. */
const SCALAR_METRICS: readonly [MetricId, keyof Omit<SessionReadings, 'latlng'>][] = [
  ['heart_rate', 'heartrate'],
  ['power', 'watts'],
  ['cadence', 'cadence'],
  ['speed', 'velocity'],
  ['distance', 'distance'],
  ['altitude', 'altitude'],
];

/**
 * The intervals in [from, until) during which sensors were bound to `athlete` in `gym`, one per binding, clipped
 * to the window. Bindings are history (never deleted), so this is the same whenever it is asked.
 */
export async function sensorIntervals(documents: DocumentStore, gym: string, athlete: string, from: number, until: number): Promise<SensorInterval[]> {
  const bindings = await documents.collection(BINDINGS).find({ athlete, gym, from: { lt: until } }, { orderBy: ['from'] });
  const intervals: SensorInterval[] = [];
  for (const binding of bindings) {
    const start = Math.max(binding.from, from);
    const end = Math.min(binding.until ?? until, until);
    if (start < end) intervals.push({ sensor: binding.sensor, from: start, until: end });
  }
  return intervals;
}

/** Raw readings of one series in the selector's window, page by page, MAX_READINGS_PER_SERIES at most. */
async function readSeries(series: SeriesStore, selector: SeriesSelector): Promise<RawPoint[]> {
  const points: RawPoint[] = [];
  let from = selector.from;
  while (points.length < MAX_READINGS_PER_SERIES) {
    const page = await series.readRaw({ ...selector, from }, Math.min(MAX_RAW_LIMIT, MAX_READINGS_PER_SERIES - points.length));
    for (const point of page) points.push(point);
    if (page.length < MAX_RAW_LIMIT) break;
    from = page.at(-1)!.ts + 1;
  }
  return points;
}

const toReadings = (points: RawPoint[]): Reading[] => points.map((p) => [p.ts, p.value] as const);

/** The athlete's readings from the sensors of `intervals`, per results stream. */
export async function readingsOf(series: SeriesStore, gym: string, intervals: readonly SensorInterval[]): Promise<SessionReadings> {
  const readings: { [K in keyof SessionReadings]-?: Reading[] } & { latlng: PositionReading[] } = {
    heartrate: [],
    watts: [],
    cadence: [],
    velocity: [],
    distance: [],
    altitude: [],
    latlng: [],
  };
  const metricsOf = new Map<string, Set<MetricId>>();
  for (const interval of intervals) {
    let metrics = metricsOf.get(interval.sensor);
    if (metrics === undefined) {
      metrics = new Set((await series.listSeries({ gym, sensor: interval.sensor }, { limit: 1000 })).map((s) => s.metric));
      metricsOf.set(interval.sensor, metrics);
    }
    const read = (metric: MetricId): Promise<RawPoint[]> =>
      metrics.has(metric) ? readSeries(series, { gym, sensor: interval.sensor, metric, from: interval.from, to: interval.until }) : Promise.resolve([]);
    for (const [metric, stream] of SCALAR_METRICS) {
      const points = await read(metric);
      // A machine's distance counts from its own start: a session's distance starts where the interval does.
      if (metric === 'distance' && points.length > 0) {
        const first = points[0]!.value;
        for (const p of points) readings.distance.push([p.ts, p.value - first]);
      } else {
        for (const reading of toReadings(points)) readings[stream].push(reading);
      }
    }
    const [lat, lng] = await Promise.all([read('latitude'), read('longitude')]);
    const lngAt = new Map(lng.map((p) => [p.ts, p.value]));
    for (const p of lat) {
      const value = lngAt.get(p.ts);
      if (value !== undefined) readings.latlng.push([p.ts, p.value, value]);
    }
  }
  return readings;
}
