/** Session results from known 1 Hz signals whose answers are worked out by hand (or from the published formula, in the test). */
import { ageOn } from '../../src/domain/profile/heart-rate.ts';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bestAveragePower, elevationGain, fastestDistance, heartRateZone, sessionResults, weightedPower, type AthleteFacts } from '../../src/results/metrics.ts';
import type { Stream, Streams } from '../../src/results/streams.ts';

const seconds = (n: number) => Array.from({ length: n }, (_, i) => i);
const signal = (n: number, f: (second: number) => number | null): Stream => seconds(n).map(f);
const streamsOf = (n: number, metrics: Omit<Streams, 'time'>): Streams => ({ time: seconds(n), ...metrics });
const close = (actual: number | undefined, expected: number, within = 1e-9) => assert.ok(actual !== undefined && Math.abs(actual - expected) <= within, `${actual} ≉ ${expected}`);

const zoneCases: { bpm: number; max: number; zone: number }[] = [
  { bpm: 150, max: 190, zone: 3 }, // 78.9 %
  { bpm: 95, max: 190, zone: 1 }, // exactly 50 %
  { bpm: 94, max: 190, zone: 0 }, // 49.5 %: rest, no zone
  { bpm: 114, max: 190, zone: 2 }, // exactly 60 %
  { bpm: 171, max: 190, zone: 5 }, // exactly 90 %
  { bpm: 170, max: 190, zone: 4 }, // 89.5 %
  { bpm: 200, max: 190, zone: 5 }, // above the maximum
];
for (const { bpm, max, zone } of zoneCases) {
  test(`${bpm} bpm with a maximum of ${max} is in zone ${zone}`, () => assert.equal(heartRateZone(bpm, max), zone));
}

test('a constant 150 bpm with a maximum of 190 spends the whole session in zone 3 and earns 3 points a minute', () => {
  const results = sessionResults(streamsOf(600, { heartrate: signal(600, () => 150) }), { maxHeartRate: 190 });
  assert.equal(results.durationS, 600);
  assert.equal(results.averageHeartRateBpm, 150);
  assert.equal(results.maxHeartRateBpm, 150);
  assert.deepEqual(results.heartRate?.secondsInZone, [0, 0, 600, 0, 0]);
  assert.deepEqual(results.heartRate?.effortPointsByZone, [0, 0, 30, 0, 0]);
  assert.equal(results.heartRate?.effortPoints, 30);
  assert.equal(results.heartRate?.maxHeartRateSource, 'profile');
});

test('without a maximum heart rate the zones use 208 - 0.7 × age: 144 bpm at 40 is 80 %, zone 4', () => {
  const results = sessionResults(streamsOf(60, { heartrate: signal(60, () => 144) }), { ageYears: 40 });
  assert.equal(results.heartRate?.maxHeartRateUsed, 180);
  assert.equal(results.heartRate?.maxHeartRateSource, 'age');
  assert.deepEqual(results.heartRate?.secondsInZone, [0, 0, 0, 60, 0]);
  assert.equal(results.heartRate?.effortPoints, 4);
});

test('without a maximum or an age there are average and maximum heart rate but no zones', () => {
  const results = sessionResults(streamsOf(2, { heartrate: [100, 120] }));
  assert.equal(results.averageHeartRateBpm, 110);
  assert.equal(results.maxHeartRateBpm, 120);
  assert.equal(results.heartRate, undefined);
});

test('the age comes from the birth date on the session day', () => {
  assert.equal(ageOn('1986-12-04', Date.UTC(2026, 11, 3)), 39);
  assert.equal(ageOn('1986-12-04', Date.UTC(2026, 11, 4)), 40);
  assert.equal(ageOn('not a date', Date.UTC(2026, 11, 4)), undefined);
  const results = sessionResults(streamsOf(1, { heartrate: [144] }), { birthDate: '1986-12-03', sessionStartMs: Date.UTC(2026, 11, 3, 18) });
  assert.equal(results.heartRate?.maxHeartRateUsed, 180);
});

// Keytel et al. 2005, written out here independently of the code: kJ/min, 4.184 kJ per kcal.
const keytelCases: { facts: AthleteFacts; bpm: number; minutes: number; kJPerMinute: number }[] = [
  { facts: { sex: 'male', weightKg: 80, ageYears: 40 }, bpm: 150, minutes: 60, kJPerMinute: -55.0969 + 0.6309 * 150 + 0.1988 * 80 + 0.2017 * 40 },
  { facts: { sex: 'female', weightKg: 60, ageYears: 30 }, bpm: 160, minutes: 45, kJPerMinute: -20.4022 + 0.4472 * 160 - 0.1263 * 60 + 0.074 * 30 },
];
for (const { facts, bpm, minutes, kJPerMinute } of keytelCases) {
  test(`calories for ${minutes} min at ${bpm} bpm, ${facts.sex}, ${facts.weightKg} kg, ${facts.ageYears} years follow Keytel et al. 2005`, () => {
    const results = sessionResults(streamsOf(minutes * 60, { heartrate: signal(minutes * 60, () => bpm) }), facts);
    close(results.calories.kcal, (kJPerMinute * minutes) / 4.184, 1e-6);
  });
}

test('male, 80 kg, 40 years, 60 min at 150 bpm is about 911 kcal', () => {
  const results = sessionResults(streamsOf(3600, { heartrate: signal(3600, () => 150) }), { sex: 'male', weightKg: 80, ageYears: 40 });
  close(results.calories.kcal, 910.75, 0.01);
});

test('calories are unavailable, with the reason, when weight, age or sex is unknown or there is no heart rate', () => {
  const hr = streamsOf(60, { heartrate: signal(60, () => 150) });
  assert.deepEqual(sessionResults(hr, { sex: 'male', ageYears: 40 }).calories, { unavailable: 'the profile has no weight' });
  assert.deepEqual(sessionResults(hr, {}).calories, { unavailable: 'the profile has no weight, age, sex' });
  assert.deepEqual(sessionResults(streamsOf(60, {}), { sex: 'female', ageYears: 40, weightKg: 50 }).calories, { unavailable: 'the session has no heart rate' });
});

test('a heart rate so low that the formula goes negative burns nothing rather than negative calories', () => {
  assert.equal(sessionResults(streamsOf(60, { heartrate: signal(60, () => 40) }), { sex: 'male', weightKg: 50, ageYears: 20 }).calories.kcal, 0);
});

/** Weighted power by its definition, the slow way: every 30 s window summed afresh. */
function weightedPowerByDefinition(watts: number[]): number {
  const rolling: number[] = [];
  for (let end = 30; end <= watts.length; end++) rolling.push(watts.slice(end - 30, end).reduce((a, b) => a + b, 0) / 30);
  return (rolling.reduce((a, r) => a + r ** 4, 0) / rolling.length) ** 0.25;
}

const powerCases: { name: string; watts: (s: number) => number; n: number; weighted: number | ((w: number[]) => number) }[] = [
  { name: 'a constant 250 W', watts: () => 250, n: 600, weighted: 250 },
  { name: 'a 1 s square wave between 400 and 0 W (every 30 s window averages 200)', watts: (s) => (s % 2 === 0 ? 400 : 0), n: 600, weighted: 200 },
  { name: 'a 5 min square wave between 400 and 0 W', watts: (s) => (Math.floor(s / 300) % 2 === 0 ? 400 : 0), n: 1200, weighted: weightedPowerByDefinition },
];
for (const { name, watts, n, weighted } of powerCases) {
  test(`weighted power of ${name}`, () => {
    const stream = signal(n, watts);
    close(weightedPower(stream), typeof weighted === 'number' ? weighted : weighted(stream as number[]), 1e-9);
  });
}

test('a long square wave weighs the hard blocks more than the average does: weighted power is between the average and the peak', () => {
  const results = sessionResults(streamsOf(1200, { watts: signal(1200, (s) => (Math.floor(s / 300) % 2 === 0 ? 400 : 0)) }));
  assert.equal(results.power?.averageW, 200);
  assert.equal(results.power?.maxW, 400);
  assert.ok(results.power!.weightedW! > 300 && results.power!.weightedW! < 400);
});

test('a power ramp of 1 W per second has its best efforts at the end: 1, 5 and 20 minutes', () => {
  const results = sessionResults(streamsOf(1200, { watts: signal(1200, (s) => s) }));
  // The mean of an arithmetic run is the mean of its ends: 1140..1199, 900..1199, 0..1199.
  assert.deepEqual(results.records.bestPowerW, { 60: 1169.5, 300: 1049.5, 1200: 599.5 });
});

test('best efforts longer than the session are absent, and so is weighted power below 30 s', () => {
  const results = sessionResults(streamsOf(100, { watts: signal(100, () => 200) }));
  assert.deepEqual(results.records.bestPowerW, { 60: 200 });
  assert.equal(
    bestAveragePower(
      signal(29, () => 100),
      30,
    ),
    undefined,
  );
  assert.equal(weightedPower(signal(29, () => 100)), undefined);
});

const distanceCases: { speed: number; n: number; km1?: number; km5?: number }[] = [
  { speed: 4, n: 1500, km1: 250, km5: 1250 },
  { speed: 3.6, n: 1500, km1: 278, km5: 1389 }, // 277.8 s and 1388.9 s, rounded up to whole seconds
  { speed: 2, n: 400 }, // 798 m in all
];
for (const { speed, n, km1, km5 } of distanceCases) {
  test(`a constant ${speed} m/s for ${n} s: fastest 1 km ${km1 ?? 'none'}, 5 km ${km5 ?? 'none'}`, () => {
    const results = sessionResults(streamsOf(n, { distance: signal(n, (s) => s * speed) }));
    assert.equal(results.records.fastestS[1000], km1);
    assert.equal(results.records.fastestS[5000], km5);
    close(results.distanceM, (n - 1) * speed, 1e-6);
    close(results.averageSpeedMps, speed, 1e-9);
    close(results.averagePaceSPerKm, 1000 / speed, 1e-6);
  });
}

test('the fastest kilometre is found inside a slow session', () => {
  // 2 m/s, then 500 s at 5 m/s, then 2 m/s again: the fast part covers 2500 m, so 1 km takes 200 s.
  let d = 0;
  const distance = signal(1500, (s) => {
    const at = d;
    d += s >= 500 && s < 1000 ? 5 : 2;
    return at;
  });
  assert.equal(fastestDistance(distance, 1000), 200);
});

const elevationCases: { name: string; altitude: Stream; gain: number | [number, number] }[] = [
  { name: 'a 2 m sawtooth, below the 3 m threshold', altitude: signal(600, (s) => 100 + (s % 2) * 2), gain: 0 },
  { name: 'a steady climb of 100 m', altitude: signal(1001, (s) => s / 10), gain: 100 },
  { name: 'up 100 m, down 50 m, up 30 m', altitude: [0, 50, 100, 75, 50, 65, 80], gain: 130 },
  { name: 'a climb of 100 m with ±1 m of noise', altitude: signal(1000, (s) => s / 10 + (s % 2 === 0 ? -1 : 1)), gain: [100, 102] },
  { name: 'a descent', altitude: signal(100, (s) => 100 - s), gain: 0 },
];
for (const { name, altitude, gain } of elevationCases) {
  test(`elevation gain of ${name}`, () => {
    const actual = elevationGain(altitude);
    if (typeof gain === 'number') close(actual, gain, 1e-9);
    else assert.ok(actual !== undefined && actual >= gain[0] && actual <= gain[1], `${actual}`);
  });
}

test('empty streams give a defined, empty result', () => {
  assert.deepEqual(sessionResults({ time: [] }, { maxHeartRate: 190, sex: 'male', weightKg: 80, ageYears: 40 }), {
    durationS: 0,
    calories: { unavailable: 'the session has no heart rate' },
    records: { bestPowerW: {}, fastestS: {} },
  });
});

test('NaN, infinite and negative values count as missing, never as numbers', () => {
  const results = sessionResults(
    streamsOf(4, { heartrate: [NaN, 150, -5, Infinity], watts: [-100, 200, NaN, null], distance: [NaN, NaN, NaN, NaN], altitude: [NaN, -3, null, Infinity] }),
    { maxHeartRate: 190 },
  );
  assert.equal(results.averageHeartRateBpm, 150);
  assert.deepEqual(results.heartRate?.secondsInZone, [0, 0, 1, 0, 0]);
  assert.deepEqual(results.power, { averageW: 200, maxW: 200 });
  assert.equal(results.distanceM, undefined);
  assert.equal(results.elevationGainM, 0);
});

test('streams computed from readings out of order give the same results as in order', async () => {
  const { resampleSession } = await import('../../src/results/streams.ts');
  const t0 = Date.UTC(2026, 0, 1);
  const readings = seconds(300).map((s): [number, number] => [t0 + s * 1000, 120 + (s % 60)]);
  const inOrder = sessionResults(resampleSession({ heartrate: readings }), { maxHeartRate: 190 });
  const shuffled = sessionResults(resampleSession({ heartrate: [...readings].reverse() }), { maxHeartRate: 190 });
  assert.deepEqual(shuffled, inOrder);
});
