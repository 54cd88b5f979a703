import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeStrideSpeedDistance } from '../../../src/sources/ant/profiles/stride-speed-distance.ts';
import { bytes, close, decodeAll, expectOk, expectRefused, metric } from './fixtures.ts';

test('SDM-1: page 1 speed 1.5 m/s, stamped 1.5 s before receipt (update latency)', () => {
  const result = expectOk(decodeStrideSpeedDistance(bytes('01 64 C8 32 81 80 FE 30'), undefined));
  assert.deepEqual(result.measurements, [{ metric: 'speed', value: 1.5, offsetMs: -1500 }]);
  assert.equal(result.state?.distanceSixteenths, 50 * 16 + 8);
  assert.equal(result.state?.strides, 0xfe);
});

test('SDM-3: page 2 cadence 60.5 strides/min is reported as 121 steps/min; speed 1.5 m/s; status', () => {
  const result = expectOk(decodeStrideSpeedDistance(bytes('02 FF FF 3C 81 80 FF 00'), undefined));
  assert.equal(metric(result.measurements, 'cadence'), 121);
  assert.equal(metric(result.measurements, 'speed'), 1.5);
  assert.deepEqual(result.facts, { location: 'laces', batteryStatus: 'new', health: 'ok' });
  const worn = expectOk(decodeStrideSpeedDistance(bytes('02 FF FF 3C 81 80 FF D4'), undefined));
  assert.deepEqual(worn.facts, { location: 'ankle', batteryStatus: 'good', health: 'error' });
});

test('distance and strides accumulate from fractional differences across the 256 m / 256 strides wrap', () => {
  const [first, second, third] = decodeAll(decodeStrideSpeedDistance, ['01 00 00 FF F1 80 FE 00', '01 00 00 01 21 80 02 00', '01 00 00 02 21 80 03 10']);
  assert.equal(metric(first?.measurements ?? [], 'distance'), undefined, 'first page is the baseline');
  // 255 + 15/16 m -> 1 + 2/16 m: 19/16 m, not 1 + 2/16 added to a count.
  assert.equal(metric(second?.measurements ?? [], 'distance'), 19 / 16);
  assert.equal(metric(second?.measurements ?? [], 'stride_count'), 4);
  assert.equal(metric(third?.measurements ?? [], 'distance'), 19 / 16 + 1);
  assert.equal(metric(third?.measurements ?? [], 'stride_count'), 5);
  assert.equal(third?.measurements.find((m) => m.metric === 'distance')?.offsetMs, -500);
});

test('page 3 calories accumulate across the wrap', () => {
  const [, second] = decodeAll(decodeStrideSpeedDistance, ['03 FF FF 3C 81 80 FE 00', '03 FF FF 3C 81 80 03 00']);
  assert.equal(metric(second?.measurements ?? [], 'energy'), 5);
  close(metric(second?.measurements ?? [], 'cadence'), 121);
});

test('common pages become facts; unknown pages report nothing', () => {
  assert.deepEqual(expectOk(decodeStrideSpeedDistance(bytes('50 FF FF 02 01 00 0A 00'), undefined)).facts, { manufacturerId: 1, modelNumber: 10, hardwareRevision: 2 });
  const other = expectOk(decodeStrideSpeedDistance(bytes('16 01 00 00 00 00 00 00'), undefined));
  assert.deepEqual(other.measurements, []);
});

test('refuses pages of the wrong length', () => {
  expectRefused(decodeStrideSpeedDistance(new Uint8Array(0), undefined), /got 0/);
  expectRefused(decodeStrideSpeedDistance(bytes('01 64 C8 32 81 80 FE'), undefined), /got 7/);
  expectRefused(decodeStrideSpeedDistance(bytes('01 64 C8 32 81 80 FE 30 00'), undefined), /got 9/);
});
