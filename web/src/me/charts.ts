/**
 * A session's streams as the data of its charts (uPlot's aligned arrays: time first, then the values), and the
 * heart-rate zone bands drawn behind the heart-rate line. Pure: tested in web/test/me-charts.test.ts.
 */
import type { SessionStreams } from './types.ts';

/** x (seconds from the start) and one y series, null where the metric has no value. */
export type SeriesData = [number[], (number | null)[]];

export interface ChartsData {
  heartRate?: SeriesData;
  power?: SeriesData;
  /** km/h, for sports measured by speed. */
  speed?: SeriesData;
  /** Seconds per km, for sports measured by pace (running, walking). */
  pace?: SeriesData;
}

/** Zone lower bounds in % of the max heart rate, as the hub computes zones (results/metrics.ts). */
export const ZONE_LOWER_PERCENT = [50, 60, 70, 80, 90] as const;
/** Zone 1 to 5, cool to hot; translucent so the line stays readable on them in both themes. */
export const ZONE_COLOURS = ['rgba(148,163,184,0.25)', 'rgba(59,130,246,0.25)', 'rgba(34,197,94,0.25)', 'rgba(234,179,8,0.3)', 'rgba(239,68,68,0.3)'] as const;
/** The same zones opaque, for the time-in-zones bar and its key. */
export const ZONE_SOLID_COLOURS = ['#94a3b8', '#3b82f6', '#22c55e', '#eab308', '#ef4444'] as const;

/**
 * The steps between the ticks of an axis in seconds written as m:ss (the time axis, and pace): whole seconds, then
 * the minutes and hours a clock counts. uPlot's own steps include fractions of a second, which m:ss rounds into
 * repeated labels (0:00 0:01 0:01 0:02 ...) on a short session.
 */
export const CLOCK_AXIS_STEPS_S = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200, 86_400];

export interface ZoneBand {
  zone: number;
  /** bpm, inclusive. */
  from: number;
  /** bpm, exclusive. */
  to: number;
  colour: string;
}

/**
 * The five zones in bpm for a max heart rate; zone 5 reaches up to the max, or to `top` when the session went
 * above it (the hub counts anything above 100 % as zone 5). None for a max that is not a positive number.
 */
export function zoneBands(maxHeartRate: number, top?: number): ZoneBand[] {
  if (!Number.isFinite(maxHeartRate) || maxHeartRate <= 0) return [];
  return ZONE_LOWER_PERCENT.map((percent, i) => {
    const upper = i + 1 < ZONE_LOWER_PERCENT.length ? (ZONE_LOWER_PERCENT[i + 1]! / 100) * maxHeartRate : Math.max(maxHeartRate, top ?? 0);
    return { zone: i + 1, from: (percent / 100) * maxHeartRate, to: upper, colour: ZONE_COLOURS[i]! };
  });
}

const PACE_SPORTS = new Set(['running', 'walking']);
/** Below this speed (m/s) a pace is meaningless (standing still would be an infinite pace): left as a gap. */
export const MIN_PACE_SPEED_MPS = 0.5;

function usable(values: readonly (number | null)[] | undefined, length: number): (number | null)[] | undefined {
  if (values === undefined || !values.some((v) => typeof v === 'number' && Number.isFinite(v))) return undefined;
  const clean: (number | null)[] = [];
  for (let i = 0; i < length; i++) {
    const v = values[i];
    clean.push(typeof v === 'number' && Number.isFinite(v) ? v : null);
  }
  return clean;
}

/** The charts a session's streams give: each only when its metric has at least one value. */
export function chartsData(answer: SessionStreams, sport: string): ChartsData {
  const time = answer.streams.time?.data ?? [];
  const charts: ChartsData = {};
  if (time.length === 0) return charts;
  const heartRate = usable(answer.streams.heartrate?.data, time.length);
  if (heartRate) charts.heartRate = [time, heartRate];
  const power = usable(answer.streams.watts?.data, time.length);
  if (power) charts.power = [time, power];
  const velocity = usable(answer.streams.velocity?.data, time.length);
  if (velocity) {
    if (PACE_SPORTS.has(sport)) charts.pace = [time, velocity.map((v) => (v !== null && v >= MIN_PACE_SPEED_MPS ? 1000 / v : null))];
    else charts.speed = [time, velocity.map((v) => (v === null ? null : v * 3.6))];
  }
  return charts;
}

/** The y range of the heart-rate chart: the line and every zone band visible, with a little room. */
export function heartRateRange(values: readonly (number | null)[], bands: readonly ZoneBand[]): [number, number] {
  let low = Infinity;
  let high = -Infinity;
  for (const v of values) {
    if (v === null) continue;
    low = Math.min(low, v);
    high = Math.max(high, v);
  }
  if (bands.length > 0) {
    low = Math.min(low, bands[0]!.from);
    high = Math.max(high, bands[bands.length - 1]!.to);
  }
  if (!Number.isFinite(low)) return [0, 200];
  return [Math.max(0, Math.floor(low - 5)), Math.ceil(high + 5)];
}
