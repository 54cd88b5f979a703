/**
 * What a class session's results must be, computed by the system tests on their own: from the heart-rate
 * readings the simulator produces (a pure function of its seed and the time, so the test regenerates exactly
 * what the strap sent) and the athlete's profile. Nothing here imports the hub: the formulas are written
 * again from their published sources, so a mistake in the hub's results code cannot hide in the expectation.
 */
import assert from 'node:assert/strict';

export interface ProfileFacts {
  /** YYYY-MM-DD. */
  birthDate: string;
  weightKg: number;
  sex: 'female' | 'male';
  /** Measured; absent: the age formula gives it. */
  maxHeartRate?: number;
}

export interface HeartRateReading {
  ts: number;
  value: number;
}

/** The results fields the tests check, in the shape the hub stores them (results/metrics.ts SessionResults). */
export interface CheckedResults {
  durationS: number;
  averageHeartRateBpm?: number;
  maxHeartRateBpm?: number;
  heartRate?: {
    averageBpm: number;
    maxBpm: number;
    maxHeartRateUsed: number;
    maxHeartRateSource: 'profile' | 'age';
    secondsInZone: number[];
    effortPointsByZone: number[];
    effortPoints: number;
  };
  calories: { kcal?: number; unavailable?: string };
}

/** Whole years between the birth date and the UTC day of `at`. */
export function ageAt(birthDate: string, at: number): number {
  const [year, month, day] = birthDate.split('-').map(Number) as [number, number, number];
  const on = new Date(at);
  const birthdayPassed = on.getUTCMonth() + 1 > month || (on.getUTCMonth() + 1 === month && on.getUTCDate() >= day);
  return on.getUTCFullYear() - year - (birthdayPassed ? 0 : 1);
}

/**
 * Zone 1..5 of a heart rate: zone z starts at (40 + 10 z) % of the maximum (50, 60, 70, 80, 90 %); 0 below 50 %.
 * Compared in integers (100 x bpm against percent x max), so a reading exactly on a bound is in the upper zone.
 */
export function zoneOf(bpm: number, max: number): number {
  let zone = 0;
  for (let z = 1; z <= 5; z++) if (100 * bpm >= (40 + 10 * z) * max) zone = z;
  return zone;
}

/**
 * Energy expenditure in kJ per minute, Keytel et al. 2005 (J Sports Sci 23(3):289-297), the equation without
 * VO2max; a negative value (a heart rate below the study's exercising range) counts as nothing.
 */
function keytelKjPerMinute(bpm: number, facts: ProfileFacts, age: number): number {
  const kj = facts.sex === 'male' ? -55.0969 + 0.6309 * bpm + 0.1988 * facts.weightKg + 0.2017 * age : -20.4022 + 0.4472 * bpm - 0.1263 * facts.weightKg + 0.074 * age;
  return Math.max(0, kj);
}

const KJ_PER_KCAL = 4.184;

/**
 * The results of a session from `startedAt` to `endedAt` (ms) whose strap sent `readings` (any readings outside
 * the session are ignored). Second k of the session is [startedAt + k s, startedAt + (k + 1) s); the strap
 * sends one reading a second, so each second holds one reading, or none at the session's ends. The readings
 * must cover every second between the first and the last one: a gap inside would be interpolated, which these
 * tests never need.
 */
/** The maximum heart rate zones are relative to: the measured one, else Tanaka's estimate at `at`. */
export function expectedMaxHeartRate(facts: ProfileFacts, at: number): number {
  // Tanaka, Monahan and Seals 2001 (J Am Coll Cardiol 37(1):153-156): 208 - 0.7 x age, in whole beats.
  return facts.maxHeartRate ?? Math.round(208 - 0.7 * ageAt(facts.birthDate, at));
}

export function expectedResults(readings: readonly HeartRateReading[], startedAt: number, endedAt: number, facts: ProfileFacts | undefined): CheckedResults {
  const durationS = Math.ceil((endedAt - startedAt) / 1000);
  const bySecond = new Map<number, number[]>();
  for (const { ts, value } of readings) {
    if (ts < startedAt || ts >= endedAt) continue;
    const second = Math.floor((ts - startedAt) / 1000);
    bySecond.set(second, [...(bySecond.get(second) ?? []), value]);
  }
  const seconds = [...bySecond.keys()].sort((a, b) => a - b);
  const beats = seconds.map((s) => {
    const values = bySecond.get(s)!;
    return values.reduce((a, b) => a + b, 0) / values.length;
  });
  if (seconds.length > 0) assert.equal(seconds.at(-1)! - seconds[0]! + 1, seconds.length, 'the readings cover every second between the first and the last');

  if (beats.length === 0) return { durationS, calories: { unavailable: 'the session has no heart rate' } };
  const averageBpm = beats.reduce((a, b) => a + b, 0) / beats.length;
  const maxBpm = Math.max(...beats);
  const results: CheckedResults = { durationS, averageHeartRateBpm: averageBpm, maxHeartRateBpm: maxBpm, calories: {} };
  if (facts === undefined) return results;

  const age = ageAt(facts.birthDate, startedAt);
  const max = expectedMaxHeartRate(facts, startedAt);
  const secondsInZone = [0, 0, 0, 0, 0];
  let effortPoints = 0;
  let kilojoules = 0;
  for (const bpm of beats) {
    const zone = zoneOf(bpm, max);
    if (zone > 0) secondsInZone[zone - 1]!++;
    // A minute in zone z is worth z points.
    effortPoints += zone / 60;
    kilojoules += keytelKjPerMinute(bpm, facts, age) / 60;
  }
  results.heartRate = {
    averageBpm,
    maxBpm,
    maxHeartRateUsed: max,
    maxHeartRateSource: facts.maxHeartRate === undefined ? 'age' : 'profile',
    secondsInZone,
    effortPointsByZone: secondsInZone.map((s, i) => (s * (i + 1)) / 60),
    effortPoints,
  };
  results.calories = { kcal: kilojoules / KJ_PER_KCAL };
  return results;
}

/**
 * Sums taken in another order differ in the last bits: 1e-9 relative is far below anything a wrong reading,
 * second or formula would change (one reading of a 20 s session moves an average by more than 0.01 bpm).
 */
const RELATIVE_TOLERANCE = 1e-9;

function close(actual: unknown, expected: number, what: string): void {
  assert.equal(typeof actual, 'number', `${what} is a number`);
  assert.ok(Math.abs((actual as number) - expected) <= RELATIVE_TOLERANCE * Math.max(1, Math.abs(expected)), `${what}: ${String(actual)}, expected ${expected}`);
}

/** Asserts that the hub's results of a session are `expected`: counts exactly, sums within RELATIVE_TOLERANCE. */
export function assertResults(actual: Record<string, unknown> | undefined, expected: CheckedResults, who: string): void {
  assert.ok(actual !== undefined, `${who} has results`);
  const results = actual as unknown as CheckedResults;
  assert.equal(results.durationS, expected.durationS, `${who}: duration`);
  for (const field of ['averageHeartRateBpm', 'maxHeartRateBpm'] as const) {
    if (expected[field] === undefined) assert.equal(results[field], undefined, `${who}: no ${field}`);
    else close(results[field], expected[field], `${who}: ${field}`);
  }
  if (expected.heartRate === undefined) {
    assert.equal(results.heartRate, undefined, `${who}: no heart-rate results`);
  } else {
    const hr = results.heartRate;
    assert.ok(hr !== undefined, `${who} has heart-rate results`);
    close(hr.averageBpm, expected.heartRate.averageBpm, `${who}: heartRate.averageBpm`);
    assert.equal(hr.maxBpm, expected.heartRate.maxBpm, `${who}: heartRate.maxBpm`);
    assert.equal(hr.maxHeartRateUsed, expected.heartRate.maxHeartRateUsed, `${who}: the max heart rate the zones use`);
    assert.equal(hr.maxHeartRateSource, expected.heartRate.maxHeartRateSource, `${who}: where that max comes from`);
    assert.deepEqual(hr.secondsInZone, expected.heartRate.secondsInZone, `${who}: seconds in zones`);
    expected.heartRate.effortPointsByZone.forEach((points, i) => close(hr.effortPointsByZone[i], points, `${who}: effort points in zone ${i + 1}`));
    close(hr.effortPoints, expected.heartRate.effortPoints, `${who}: effort points`);
  }
  if (expected.calories.kcal === undefined) assert.equal(results.calories.kcal, undefined, `${who}: no calories`);
  else close(results.calories.kcal, expected.calories.kcal, `${who}: kcal`);
  if (expected.calories.unavailable !== undefined) assert.equal(results.calories.unavailable, expected.calories.unavailable, `${who}: why there are no calories`);
}

/** True when assertResults would pass: for waiting until results settle. */
export function resultsAre(actual: Record<string, unknown> | undefined, expected: CheckedResults, who: string): boolean {
  try {
    assertResults(actual, expected, who);
    return true;
  } catch {
    return false;
  }
}
