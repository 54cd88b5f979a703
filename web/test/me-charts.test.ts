import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chartsData, CLOCK_AXIS_STEPS_S, heartRateRange, zoneBands } from '../src/me/charts.ts';
import { formatDuration } from '../src/me/format.ts';
import type { SessionStreams } from '../src/me/types.ts';

function answer(streams: SessionStreams['streams']): SessionStreams {
  const size = streams.time?.data.length ?? 0;
  return { session: 's1', revision: 1, resolution: 'medium', originalSize: size, size, streams };
}
const stream = <T>(data: T[]) => ({ data, originalSize: data.length, resolution: 'medium' });

test('the zone bands are 50-60-70-80-90 % of the max heart rate used, zone 5 reaching the max', () => {
  const bands = zoneBands(200);
  assert.deepEqual(
    bands.map((b) => [b.zone, b.from, b.to]),
    [
      [1, 100, 120],
      [2, 120, 140],
      [3, 140, 160],
      [4, 160, 180],
      [5, 180, 200],
    ],
  );
  assert.equal(new Set(bands.map((b) => b.colour)).size, 5);
});

test('zone 5 stretches above the max when the session went higher, and a missing max gives no bands', () => {
  assert.equal(zoneBands(180, 191).at(-1)!.to, 191);
  assert.equal(zoneBands(180, 150).at(-1)!.to, 180);
  assert.deepEqual(zoneBands(0), []);
  assert.deepEqual(zoneBands(Number.NaN), []);
});

test('streams become uPlot data aligned on time, a chart only for a metric with values', () => {
  const charts = chartsData(
    answer({ time: stream([0, 1, 2]), heartrate: stream([120, null, 130]), watts: stream([null, null, null]), velocity: stream([5, 10, null]) }),
    'cycling',
  );
  assert.deepEqual(charts.heartRate, [
    [0, 1, 2],
    [120, null, 130],
  ]);
  assert.equal(charts.power, undefined, 'a stream of nulls gives no chart');
  assert.deepEqual(charts.speed, [
    [0, 1, 2],
    [18, 36, null],
  ]);
  assert.equal(charts.pace, undefined);
});

test('running gets a pace chart in s/km with gaps where the athlete stood still', () => {
  const charts = chartsData(answer({ time: stream([0, 1, 2]), velocity: stream([4, 0.1, 2.5]) }), 'running');
  assert.deepEqual(charts.pace, [
    [0, 1, 2],
    [250, null, 400],
  ]);
  assert.equal(charts.speed, undefined);
});

test('a session without a time stream has no charts, and short value arrays are padded with nulls', () => {
  assert.deepEqual(chartsData(answer({ heartrate: stream([120]) }), 'training'), {});
  const charts = chartsData(answer({ time: stream([0, 1, 2]), heartrate: stream([120]) }), 'training');
  assert.deepEqual(charts.heartRate?.[1], [120, null, null]);
});

test('the heart-rate axis shows both the line and every band', () => {
  assert.deepEqual(heartRateRange([130, 150, null], zoneBands(200)), [95, 205]);
  assert.deepEqual(heartRateRange([130, 150], []), [125, 155]);
  assert.deepEqual(heartRateRange([null], []), [0, 200]);
});

test('the ticks of an m:ss axis step by whole seconds, so no two labels of an axis read the same', () => {
  const steps = CLOCK_AXIS_STEPS_S;
  assert.ok(
    steps.every((step, i) => Number.isInteger(step) && step >= 1 && (i === 0 || step > steps[i - 1]!)),
    'whole seconds, ascending',
  );
  for (const step of steps) {
    const labels = Array.from({ length: 24 }, (_, k) => formatDuration(k * step));
    assert.equal(new Set(labels).size, labels.length, `ticks every ${step} s: ${labels.join(' ')}`);
  }
  // A fraction of a second, as uPlot steps a short session by itself, repeats labels: the reason for the steps.
  const fractional = Array.from({ length: 4 }, (_, k) => formatDuration(k * 0.5));
  assert.notEqual(new Set(fractional).size, fractional.length);
});
