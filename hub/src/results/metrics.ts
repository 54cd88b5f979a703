/**
 * One athlete's results for one session, from its 1 Hz streams (streams.ts) and a few profile facts passed as
 * plain values. Pure and O(n) per stream: every figure is one pass, or two pointers, over the seconds.
 * Non-finite or negative values in the streams count as missing (null), so bad input gives defined results.
 */
import { ageOn, tanakaMaxHeartRate } from '../domain/profile/heart-rate.ts';
import type { Stream, Streams } from './streams.ts';

export type Sex = 'female' | 'male';

/** What the results need from the athlete's profile; every field may be unknown. */
export interface AthleteFacts {
  /** Maximum heart rate, bpm; when absent, estimated from the age (Tanaka's 208 - 0.7 x age: domain/profile/heart-rate.ts). */
  maxHeartRate?: number;
  /** Age in years at the session; when absent, computed from `birthDate` at `sessionStartMs`. */
  ageYears?: number;
  /** ISO date, YYYY-MM-DD. */
  birthDate?: string;
  sessionStartMs?: number;
  weightKg?: number;
  sex?: Sex;
}

/**
 * Heart-rate zones by % of maximum heart rate: zone z (1..5) is [40 + 10 z, 50 + 10 z) %, i.e. 50-60, 60-70,
 * 70-80, 80-90 and 90-100 %; zone 5 also takes anything above 100 % (a stale maximum), and below 50 % is in
 * no zone (rest). Effort points: a minute in zone z is worth z points (1..5), counted per second.
 */
export const ZONE_LOWER_BOUNDS_PERCENT = [50, 60, 70, 80, 90] as const;
export const ZONE_EFFORT_POINTS_PER_MINUTE = [1, 2, 3, 4, 5] as const;

/** Elevation changes smaller than this are GPS/barometer noise, not climbs (see `elevationGain`). */
export const DEFAULT_ELEVATION_THRESHOLD_M = 3;
/** Power windows for best efforts, seconds. */
export const BEST_POWER_WINDOWS_S = [60, 300, 1200] as const;
/** Distances for fastest efforts, metres. */
export const FASTEST_DISTANCES_M = [1000, 5000] as const;

export interface HeartRateResults {
  averageBpm: number;
  maxBpm: number;
  /** The maximum the zones are relative to, and where it came from. */
  maxHeartRateUsed: number;
  maxHeartRateSource: 'profile' | 'age';
  /** Seconds in zones 1..5 (index 0 = zone 1). */
  secondsInZone: [number, number, number, number, number];
  /** Effort points earned in zones 1..5, and their sum. */
  effortPointsByZone: [number, number, number, number, number];
  effortPoints: number;
}

export interface Calories {
  kcal?: number;
  /** Why `kcal` is absent. */
  unavailable?: string;
}

export interface PowerResults {
  averageW: number;
  maxW: number;
  /** 30 s rolling average, 4th-power mean, 4th root; absent for sessions shorter than 30 s. */
  weightedW?: number;
}

export interface SessionResults {
  /** Seconds covered by the streams (one per 1 Hz sample). */
  durationS: number;
  /** Absent when the session has no heart rate, or no maximum heart rate is known or estimable. */
  heartRate?: HeartRateResults;
  /** Average and maximum heart rate even without zones. */
  averageHeartRateBpm?: number;
  maxHeartRateBpm?: number;
  calories: Calories;
  power?: PowerResults;
  distanceM?: number;
  /** Seconds per kilometre between the first and the last second with a distance. */
  averagePaceSPerKm?: number;
  averageSpeedMps?: number;
  elevationGainM?: number;
  /** Personal-record candidates: best average power over windows, and fastest times over distances. */
  records: {
    bestPowerW: Partial<Record<(typeof BEST_POWER_WINDOWS_S)[number], number>>;
    fastestS: Partial<Record<(typeof FASTEST_DISTANCES_M)[number], number>>;
  };
}

function clean(stream: Stream | undefined): Stream {
  return (stream ?? []).map((v) => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : null));
}

function ageOf(facts: AthleteFacts): number | undefined {
  if (facts.ageYears !== undefined && Number.isFinite(facts.ageYears) && facts.ageYears > 0) return facts.ageYears;
  if (facts.birthDate !== undefined && facts.sessionStartMs !== undefined) return ageOn(facts.birthDate, facts.sessionStartMs);
  return undefined;
}

/** The zone (1..5) of a heart rate, or 0 below 50 % of the maximum. */
export function heartRateZone(bpm: number, maxHeartRate: number): number {
  const percent = (bpm / maxHeartRate) * 100;
  let zone = 0;
  for (const bound of ZONE_LOWER_BOUNDS_PERCENT) if (percent >= bound) zone++;
  return zone;
}

/**
 * Energy expenditure, kJ/min, from Keytel et al. 2005, "Prediction of energy expenditure from heart rate
 * monitoring during submaximal exercise", J Sports Sci 23(3):289-97, the equation without VO2max:
 *   male:   EE = -55.0969 + 0.6309 HR + 0.1988 weight + 0.2017 age
 *   female: EE = -20.4022 + 0.4472 HR - 0.1263 weight + 0.0740 age
 * (HR in bpm, weight in kg, age in years). Negative values (very low heart rates, outside the study's
 * exercising range) count as 0.
 */
export function keytelKilojoulesPerMinute(bpm: number, weightKg: number, ageYears: number, sex: Sex): number {
  const ee = sex === 'male' ? -55.0969 + 0.6309 * bpm + 0.1988 * weightKg + 0.2017 * ageYears : -20.4022 + 0.4472 * bpm - 0.1263 * weightKg + 0.074 * ageYears;
  return Math.max(0, ee);
}

const KJ_PER_KCAL = 4.184;

function calories(heartrate: Stream, facts: AthleteFacts, age: number | undefined): Calories {
  const missing = [
    facts.weightKg !== undefined && Number.isFinite(facts.weightKg) && facts.weightKg > 0 ? '' : 'weight',
    age !== undefined ? '' : 'age',
    facts.sex === 'male' || facts.sex === 'female' ? '' : 'sex',
  ].filter(Boolean);
  if (missing.length > 0) return { unavailable: `the profile has no ${missing.join(', ')}` };
  if (!heartrate.some((v) => v !== null)) return { unavailable: 'the session has no heart rate' };
  let kilojoules = 0;
  for (const bpm of heartrate) if (bpm !== null) kilojoules += keytelKilojoulesPerMinute(bpm, facts.weightKg as number, age as number, facts.sex as Sex) / 60;
  return { kcal: kilojoules / KJ_PER_KCAL };
}

function heartRateResults(heartrate: Stream, maxHeartRate: number, source: 'profile' | 'age', average: number, max: number): HeartRateResults {
  const secondsInZone: HeartRateResults['secondsInZone'] = [0, 0, 0, 0, 0];
  for (const bpm of heartrate) {
    if (bpm === null) continue;
    const zone = heartRateZone(bpm, maxHeartRate);
    if (zone > 0) secondsInZone[zone - 1]! += 1;
  }
  const effortPointsByZone = secondsInZone.map((s, i) => (s * ZONE_EFFORT_POINTS_PER_MINUTE[i]!) / 60) as HeartRateResults['effortPointsByZone'];
  return {
    averageBpm: average,
    maxBpm: max,
    maxHeartRateUsed: maxHeartRate,
    maxHeartRateSource: source,
    secondsInZone,
    effortPointsByZone,
    effortPoints: effortPointsByZone.reduce((a, b) => a + b, 0),
  };
}

function averageAndMax(stream: Stream): { average: number; max: number } | undefined {
  let sum = 0;
  let count = 0;
  let max = -Infinity;
  for (const v of stream) {
    if (v === null) continue;
    sum += v;
    count++;
    if (v > max) max = v;
  }
  return count > 0 ? { average: sum / count, max } : undefined;
}

/**
 * Weighted power: the 30 s rolling average of power (a missing second counts as 0 W, as coasting does), each
 * raised to the 4th power, averaged, 4th root. Undefined below 30 s.
 */
export function weightedPower(watts: Stream, windowS = 30): number | undefined {
  if (watts.length < windowS) return undefined;
  let windowSum = 0;
  let fourthPowers = 0;
  for (let i = 0; i < watts.length; i++) {
    windowSum += watts[i] ?? 0;
    if (i >= windowS) windowSum -= watts[i - windowS] ?? 0;
    if (i >= windowS - 1) fourthPowers += (Math.max(0, windowSum) / windowS) ** 4;
  }
  return (fourthPowers / (watts.length - windowS + 1)) ** 0.25;
}

/** The best average power over any `windowS` consecutive seconds (missing seconds as 0 W), sliding window. */
export function bestAveragePower(watts: Stream, windowS: number): number | undefined {
  if (windowS < 1 || watts.length < windowS) return undefined;
  let sum = 0;
  let best = -Infinity;
  for (let i = 0; i < watts.length; i++) {
    sum += watts[i] ?? 0;
    if (i >= windowS) sum -= watts[i - windowS] ?? 0;
    if (i >= windowS - 1 && sum > best) best = sum;
  }
  return Math.max(0, best) / windowS;
}

/**
 * The fewest whole seconds between two samples of the cumulative distance stream that are at least `metres`
 * apart (two pointers over the seconds with a distance; undefined when never covered). Whole seconds: the true
 * time is at most 1 s shorter.
 */
export function fastestDistance(distance: Stream, metres: number): number | undefined {
  const seconds: number[] = [];
  const covered: number[] = [];
  for (let i = 0; i < distance.length; i++) {
    const d = distance[i];
    if (d === null || d === undefined) continue;
    seconds.push(i);
    covered.push(d);
  }
  let best = Infinity;
  let from = 0;
  for (let to = 0; to < covered.length; to++) {
    while (from + 1 <= to && covered[to]! - covered[from + 1]! >= metres) from++;
    if (covered[to]! - covered[from]! >= metres) best = Math.min(best, seconds[to]! - seconds[from]!);
  }
  return Number.isFinite(best) ? best : undefined;
}

/**
 * Elevation gain with hysteresis: a climb counts (from its lowest to its highest point) only once the altitude
 * has risen at least `thresholdM` above the lowest point, and it ends once the altitude has fallen
 * `thresholdM` below its highest. Noise smaller than the threshold adds nothing; a real climb counts whole.
 */
export function elevationGain(altitude: Stream, thresholdM = DEFAULT_ELEVATION_THRESHOLD_M): number | undefined {
  let valley: number | undefined;
  let peak = 0;
  let climbing = false;
  let gain = 0;
  for (const a of altitude) {
    if (a === null || !Number.isFinite(a)) continue;
    if (valley === undefined) {
      valley = peak = a;
    } else if (climbing) {
      if (a > peak) peak = a;
      else if (peak - a >= thresholdM) {
        gain += peak - valley;
        valley = a;
        climbing = false;
      }
    } else if (a < valley) {
      valley = a;
    } else if (a - valley >= thresholdM) {
      climbing = true;
      peak = a;
    }
  }
  if (valley === undefined) return undefined;
  return climbing ? gain + peak - valley : gain;
}

function distanceResults(distance: Stream): Pick<SessionResults, 'distanceM' | 'averagePaceSPerKm' | 'averageSpeedMps'> {
  let first = -1;
  let last = -1;
  for (let i = 0; i < distance.length; i++) {
    if (distance[i] === null) continue;
    if (first < 0) first = i;
    last = i;
  }
  if (first < 0) return {};
  const distanceM = Math.max(0, distance[last]! - distance[first]!);
  const seconds = last - first;
  return distanceM > 0 && seconds > 0 ? { distanceM, averageSpeedMps: distanceM / seconds, averagePaceSPerKm: seconds / (distanceM / 1000) } : { distanceM };
}

/** One athlete's results for one session. */
export function sessionResults(streams: Streams, facts: AthleteFacts = {}): SessionResults {
  const heartrate = clean(streams.heartrate);
  const watts = clean(streams.watts);
  const distance = clean(streams.distance);
  const altitude = (streams.altitude ?? []).map((v) => (typeof v === 'number' && Number.isFinite(v) ? v : null));
  const age = ageOf(facts);
  const results: SessionResults = { durationS: streams.time.length, calories: calories(heartrate, facts, age), records: { bestPowerW: {}, fastestS: {} } };

  const hr = averageAndMax(heartrate);
  if (hr !== undefined) {
    results.averageHeartRateBpm = hr.average;
    results.maxHeartRateBpm = hr.max;
    const fromProfile = facts.maxHeartRate !== undefined && Number.isFinite(facts.maxHeartRate) && facts.maxHeartRate > 0;
    const maxHeartRate = fromProfile ? (facts.maxHeartRate as number) : age !== undefined ? tanakaMaxHeartRate(age) : undefined;
    if (maxHeartRate !== undefined) results.heartRate = heartRateResults(heartrate, maxHeartRate, fromProfile ? 'profile' : 'age', hr.average, hr.max);
  }

  const power = averageAndMax(watts);
  if (power !== undefined) {
    results.power = { averageW: power.average, maxW: power.max };
    const weighted = weightedPower(watts);
    if (weighted !== undefined) results.power.weightedW = weighted;
    for (const window of BEST_POWER_WINDOWS_S) {
      const best = bestAveragePower(watts, window);
      if (best !== undefined) results.records.bestPowerW[window] = best;
    }
  }

  Object.assign(results, distanceResults(distance));
  for (const metres of FASTEST_DISTANCES_M) {
    const fastest = fastestDistance(distance, metres);
    if (fastest !== undefined) results.records.fastestS[metres] = fastest;
  }
  const gain = elevationGain(altitude);
  if (gain !== undefined) results.elevationGainM = gain;
  return results;
}
