/**
 * A session's readings as time-aligned 1 Hz streams, in the shape of Strava's streams (one array per metric,
 * index i = second i of the session), and their downsampling for long sessions. Pure: no I/O, no clock.
 *
 * Resampling rules (what the results and the streams endpoint rely on):
 *   - Second k holds the readings with start + k s <= t < start + (k+1) s; several readings in one second
 *     (4 Hz sensors, duplicates after a backlog replay) are averaged. Bucketing instead of sorting keeps it
 *     O(readings + seconds) and makes the order of the input irrelevant.
 *   - Readings with a non-finite time or value, or outside the metric's range (negative heart rate, power,
 *     cadence, speed, distance; latitude/longitude off the globe), are dropped. Altitude may be negative.
 *   - A gap of at most `maxGapS` empty seconds between two filled ones is filled by linear interpolation
 *     (a strap that misses a beat or two); a longer gap stays null (a sensor that went quiet), and so do the
 *     seconds before a metric's first and after its last reading.
 *   - Distance is cumulative: it never decreases (a lower reading is raised to the running maximum). When a
 *     session has speed readings but no distance readings, distance at second k is the sum of the 1 Hz speed
 *     over seconds 0..k-1 (0 at the start; seconds without speed add nothing).
 *   - A session is at most `maxDurationS` seconds long (bounded memory whatever the readings say).
 */

/** One reading: [time in ms since the epoch, value]. */
export type Reading = readonly [timeMs: number, value: number];
/** One position reading: [time in ms since the epoch, latitude, longitude] in degrees. */
export type PositionReading = readonly [timeMs: number, lat: number, lng: number];

/** A session's raw readings per metric: any order, duplicates and gaps allowed. */
export interface SessionReadings {
  heartrate?: readonly Reading[];
  /** Power, W. */
  watts?: readonly Reading[];
  /** Cadence, rpm. */
  cadence?: readonly Reading[];
  /** Speed, m/s. */
  velocity?: readonly Reading[];
  /** Cumulative distance, m. */
  distance?: readonly Reading[];
  /** Altitude, m. */
  altitude?: readonly Reading[];
  latlng?: readonly PositionReading[];
}

export type ScalarStreamName = 'heartrate' | 'watts' | 'cadence' | 'velocity' | 'distance' | 'altitude';
export const SCALAR_STREAMS: readonly ScalarStreamName[] = ['heartrate', 'watts', 'cadence', 'velocity', 'distance', 'altitude'];

export type Stream = (number | null)[];
export type LatLng = [lat: number, lng: number];

/**
 * Time-aligned streams: `time` is seconds from the session's start; every other array has the same length,
 * null where the metric has no value. A metric the session has no reading of is absent.
 */
export interface Streams {
  time: number[];
  heartrate?: Stream;
  watts?: Stream;
  cadence?: Stream;
  velocity?: Stream;
  distance?: Stream;
  altitude?: Stream;
  latlng?: (LatLng | null)[];
}

export interface ResampleOptions {
  /** The session's start (time 0), ms since the epoch; the earliest reading when absent. */
  startMs?: number;
  /** The session's end (exclusive), ms; the second after the latest reading when absent. */
  endMs?: number;
  /** The longest run of empty seconds filled by interpolation; longer gaps stay null. */
  maxGapS?: number;
  /** The longest session, in seconds; later readings are dropped. */
  maxDurationS?: number;
}

export const DEFAULT_MAX_GAP_S = 5;
export const DEFAULT_MAX_DURATION_S = 24 * 3600;

const NON_NEGATIVE: Record<ScalarStreamName, boolean> = { heartrate: true, watts: true, cadence: true, velocity: true, distance: true, altitude: false };

function validScalar(name: ScalarStreamName, value: number): boolean {
  return Number.isFinite(value) && (!NON_NEGATIVE[name] || value >= 0);
}

function validPosition(lat: number, lng: number): boolean {
  return Number.isFinite(lat) && Number.isFinite(lng) && Math.abs(lat) <= 90 && Math.abs(lng) <= 180;
}

/** The earliest and latest valid reading times of a session, or undefined when it has none. */
function readingSpan(readings: SessionReadings): { first: number; last: number } | undefined {
  let first = Infinity;
  let last = -Infinity;
  for (const name of SCALAR_STREAMS) {
    for (const [t, value] of readings[name] ?? []) {
      if (!Number.isFinite(t) || !validScalar(name, value)) continue;
      if (t < first) first = t;
      if (t > last) last = t;
    }
  }
  for (const [t, lat, lng] of readings.latlng ?? []) {
    if (!Number.isFinite(t) || !validPosition(lat, lng)) continue;
    if (t < first) first = t;
    if (t > last) last = t;
  }
  return first <= last ? { first, last } : undefined;
}

/** Fills runs of at most `maxGap` nulls between two values by linear interpolation, in place. */
function interpolateShortGaps(values: Stream, maxGap: number): void {
  let previous = -1;
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (value === null || value === undefined) continue;
    const gap = i - previous - 1;
    if (previous >= 0 && gap > 0 && gap <= maxGap) {
      const from = values[previous] as number;
      for (let k = 1; k <= gap; k++) values[previous + k] = from + ((value - from) * k) / (gap + 1);
    }
    previous = i;
  }
}

/** Per-second averages of one metric's readings: sums and counts by second, O(readings + seconds). */
function scalarAverages(name: ScalarStreamName, readings: readonly Reading[], seconds: number, startMs: number): Stream {
  const sums = new Float64Array(seconds);
  const counts = new Uint32Array(seconds);
  const nonNegative = NON_NEGATIVE[name];
  // An indexed loop without closures: this is the hot path of a class's results (millions of readings).
  for (let i = 0; i < readings.length; i++) {
    const reading = readings[i]!;
    const t = reading[0];
    const value = reading[1];
    if (!Number.isFinite(t) || !Number.isFinite(value) || (nonNegative && value < 0)) continue;
    const k = Math.floor((t - startMs) / 1000);
    if (k < 0 || k >= seconds) continue;
    counts[k]! += 1;
    sums[k]! += value;
  }
  return averages(sums, counts);
}

function averages(sums: Float64Array, counts: Uint32Array): Stream {
  const stream: Stream = new Array<number | null>(sums.length);
  for (let k = 0; k < sums.length; k++) stream[k] = counts[k]! > 0 ? sums[k]! / counts[k]! : null;
  return stream;
}

function positionAverages(readings: readonly PositionReading[], seconds: number, startMs: number): [lat: Stream, lng: Stream] {
  const lats = new Float64Array(seconds);
  const lngs = new Float64Array(seconds);
  const counts = new Uint32Array(seconds);
  for (const [t, lat, lng] of readings) {
    if (!Number.isFinite(t) || !validPosition(lat, lng)) continue;
    const k = Math.floor((t - startMs) / 1000);
    if (k < 0 || k >= seconds) continue;
    counts[k]! += 1;
    lats[k]! += lat;
    lngs[k]! += lng;
  }
  return [averages(lats, counts), averages(lngs, counts)];
}

function hasValue(stream: Stream): boolean {
  return stream.some((value) => value !== null);
}

/** Resamples a session's readings to 1 Hz time-aligned streams (rules at the top of this file). */
export function resampleSession(readings: SessionReadings, options: ResampleOptions = {}): Streams {
  const maxGap = Math.max(0, Math.floor(options.maxGapS ?? DEFAULT_MAX_GAP_S));
  const maxDuration = Math.max(0, Math.floor(options.maxDurationS ?? DEFAULT_MAX_DURATION_S));
  // The span is only needed for a bound the caller did not give (it is one more pass over every reading).
  const span = Number.isFinite(options.startMs) && Number.isFinite(options.endMs) ? undefined : readingSpan(readings);
  const startMs = Number.isFinite(options.startMs) ? (options.startMs as number) : span?.first;
  if (startMs === undefined) return { time: [] };
  const endMs = Number.isFinite(options.endMs) ? (options.endMs as number) : span === undefined ? startMs : span.last + 1;
  const seconds = Math.min(maxDuration, Math.max(0, Math.ceil((endMs - startMs) / 1000)));
  const streams: Streams = { time: Array.from({ length: seconds }, (_, k) => k) };
  if (seconds === 0) return streams;

  for (const name of SCALAR_STREAMS) {
    const source = readings[name];
    if (source === undefined || source.length === 0) continue;
    const stream = scalarAverages(name, source, seconds, startMs);
    if (!hasValue(stream)) continue;
    interpolateShortGaps(stream, maxGap);
    streams[name] = stream;
  }
  if (streams.distance !== undefined) {
    let highest = 0;
    streams.distance = streams.distance.map((d) => (d === null ? null : (highest = Math.max(highest, d))));
  } else if (streams.velocity !== undefined) {
    let travelled = 0;
    streams.distance = streams.velocity.map((v) => {
      const atStart = travelled;
      travelled += v ?? 0;
      return atStart;
    });
  }
  if (readings.latlng !== undefined && readings.latlng.length > 0) {
    const [lat, lng] = positionAverages(readings.latlng, seconds, startMs);
    if (hasValue(lat)) {
      interpolateShortGaps(lat, maxGap);
      interpolateShortGaps(lng, maxGap);
      streams.latlng = lat.map((la, k) => (la === null ? null : [la, lng[k] as number]));
    }
  }
  return streams;
}

/** 'low' = 100 points, 'medium' = 1000, 'high' = every second, or a maximum number of points. */
export type Resolution = 'low' | 'medium' | 'high' | number;
const RESOLUTION_POINTS: Record<'low' | 'medium' | 'high', number> = { low: 100, medium: 1000, high: Infinity };

function bucketMean(values: readonly (number | null)[], from: number, to: number): number | null {
  let sum = 0;
  let count = 0;
  for (let i = from; i < to; i++) {
    const value = values[i];
    if (value === null || value === undefined) continue;
    sum += value;
    count++;
  }
  return count > 0 ? sum / count : null;
}

/**
 * Streams with at most the resolution's number of points, same shape: consecutive seconds are grouped in
 * equal buckets (sizes differ by at most one) and each array holds its bucket's mean, nulls ignored (null when
 * the whole bucket is). `time` is the mean second of its bucket. O(points).
 */
export function downsample(streams: Streams, resolution: Resolution): Streams {
  const points = typeof resolution === 'number' ? (Number.isFinite(resolution) ? Math.max(1, Math.floor(resolution)) : Infinity) : RESOLUTION_POINTS[resolution];
  const length = streams.time.length;
  if (!(points < length)) return streams;
  const bounds = Array.from({ length: points + 1 }, (_, i) => Math.floor((i * length) / points));
  const reduce = (values: readonly (number | null)[]): Stream => Array.from({ length: points }, (_, i) => bucketMean(values, bounds[i]!, bounds[i + 1]!));
  const result: Streams = { time: reduce(streams.time) as number[] };
  for (const name of SCALAR_STREAMS) {
    const stream = streams[name];
    if (stream !== undefined) result[name] = reduce(stream);
  }
  if (streams.latlng !== undefined) {
    const lat = reduce(streams.latlng.map((p) => p?.[0] ?? null));
    const lng = reduce(streams.latlng.map((p) => p?.[1] ?? null));
    result.latlng = lat.map((la, i) => (la === null ? null : [la, lng[i] as number]));
  }
  return result;
}
