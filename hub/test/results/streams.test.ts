/** Resampling readings to 1 Hz streams: averaging per second, any order, short gaps filled, long gaps kept, bad readings dropped, downsampling. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { downsample, resampleSession, type Reading, type SessionReadings } from '../../src/results/streams.ts';

const T0 = Date.UTC(2026, 11, 3, 18, 0, 0);
const at = (second: number, value: number): Reading => [T0 + second * 1000, value];

test('readings at 4 Hz become one average per second, whatever their order and duplicates', () => {
  const readings: Reading[] = [];
  for (let s = 0; s < 3; s++) for (const q of [0, 250, 500, 750]) readings.push([T0 + s * 1000 + q, 100 + s * 10 + q / 250]);
  readings.reverse();
  readings.push(readings[0]!, readings[0]!);
  const streams = resampleSession({ heartrate: readings });
  assert.deepEqual(streams.time, [0, 1, 2]);
  assert.equal(streams.heartrate?.[0], 101.5);
  assert.equal(streams.heartrate?.[1], 111.5);
  // The duplicates of 123 (the last reading of second 2) weigh in the average of its second.
  assert.equal(streams.heartrate?.[2], (120 + 121 + 122 + 123 * 3) / 6);
});

const gapCases: { name: string; readings: Reading[]; maxGapS: number; expected: (number | null)[] }[] = [
  { name: 'a gap of 2 s within the bound is interpolated linearly', readings: [at(0, 100), at(3, 130)], maxGapS: 5, expected: [100, 110, 120, 130] },
  { name: 'a gap longer than the bound stays null', readings: [at(0, 100), at(4, 140)], maxGapS: 2, expected: [100, null, null, null, 140] },
  { name: 'a bound of 0 fills nothing', readings: [at(0, 100), at(2, 120)], maxGapS: 0, expected: [100, null, 120] },
];
for (const { name, readings, maxGapS, expected } of gapCases) {
  test(name, () => {
    assert.deepEqual(resampleSession({ watts: readings }, { maxGapS }).watts, expected);
  });
}

test('seconds before a metric starts and after it stops stay null, aligned with the other metrics', () => {
  const streams = resampleSession({ heartrate: [at(0, 90), at(4, 95)], cadence: [at(2, 80)] }, { maxGapS: 0 });
  assert.deepEqual(streams.time, [0, 1, 2, 3, 4]);
  assert.deepEqual(streams.cadence, [null, null, 80, null, null]);
});

test('the session bounds set time 0 and the length; readings outside them are dropped', () => {
  const streams = resampleSession({ heartrate: [at(-5, 70), at(1, 100), at(9, 200)] }, { startMs: T0, endMs: T0 + 4000, maxGapS: 0 });
  assert.deepEqual(streams.time, [0, 1, 2, 3]);
  assert.deepEqual(streams.heartrate, [null, 100, null, null]);
});

test('NaN, infinite and negative readings are dropped; a negative altitude is kept', () => {
  const streams = resampleSession(
    {
      heartrate: [at(0, NaN), at(1, -3), at(2, 120), [NaN, 99], at(3, Infinity)],
      altitude: [at(0, -12)],
      latlng: [
        [T0, 91, 0],
        [T0 + 1000, 48.1, 11.5],
        [T0 + 2000, NaN, 3],
      ],
    },
    { maxGapS: 0 },
  );
  assert.deepEqual(streams.heartrate, [null, null, 120]);
  assert.deepEqual(streams.altitude, [-12, null, null]);
  assert.deepEqual(streams.latlng, [null, [48.1, 11.5], null]);
});

test('a metric whose readings are all invalid is absent, and no readings give empty streams', () => {
  assert.deepEqual(resampleSession({}), { time: [] });
  assert.deepEqual(resampleSession({ heartrate: [at(0, NaN)] }), { time: [] });
  assert.deepEqual(resampleSession({ heartrate: [at(0, 100)], watts: [at(0, -1)] }), { time: [0], heartrate: [100] });
});

test('a session is cut at its longest duration', () => {
  assert.equal(resampleSession({ heartrate: [at(0, 100), at(1e7, 100)] }, { maxDurationS: 100 }).time.length, 100);
});

test('distance never decreases, and is derived from speed (0 at the start) when the session has none', () => {
  assert.deepEqual(resampleSession({ distance: [at(0, 10), at(1, 20), at(2, 15), at(3, 30)] }).distance, [10, 20, 20, 30]);
  assert.deepEqual(resampleSession({ velocity: [at(0, 2), at(1, 3), at(2, 4)] }).distance, [0, 2, 5]);
});

test('downsampling averages equal buckets per metric and keeps the shape', () => {
  const readings: SessionReadings = { heartrate: [], latlng: [] };
  for (let s = 0; s < 10; s++) {
    (readings.heartrate as Reading[]).push(at(s, 100 + s));
    (readings.latlng as [number, number, number][]).push([T0 + s * 1000, s, -s]);
  }
  const streams = resampleSession(readings);
  const low = downsample(streams, 5);
  assert.deepEqual(low.time, [0.5, 2.5, 4.5, 6.5, 8.5]);
  assert.deepEqual(low.heartrate, [100.5, 102.5, 104.5, 106.5, 108.5]);
  assert.deepEqual(low.latlng?.[0], [0.5, -0.5]);
  assert.equal(downsample(streams, 'high'), streams);
  assert.equal(downsample(streams, 'low'), streams, 'fewer seconds than points: unchanged');
  assert.deepEqual(downsample(streams, 3).time, [1, 4, 7.5]);
});

test('downsampling a long session by name gives 100 and 1000 points; a bucket of nulls stays null', () => {
  const streams = resampleSession({ heartrate: [at(0, 100), at(3599, 100)] }, { maxGapS: 0 });
  assert.equal(downsample(streams, 'low').time.length, 100);
  assert.equal(downsample(streams, 'medium').heartrate?.length, 1000);
  assert.equal(downsample(streams, 'medium').heartrate?.[1], null);
  assert.equal(downsample(streams, NaN), streams);
});
