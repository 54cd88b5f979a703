import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeBikeCadence, decodeBikeSpeed, decodeSpeedAndCadence, STOPPED_AFTER_REPEATS, type SpeedState } from '../../../src/sources/ant/profiles/bike-speed-cadence.ts';
import { bytes, close, decodeAll, decodeLast, expectOk, expectRefused, metric } from './fixtures.ts';

const ZERO = '00 00 00 00 00 00 00 00';
const SETANT_WHEEL = { wheelCircumferenceM: 2.2 };

test('SPD-1: 5 revolutions in 1 s on a 2.2 m wheel: 11 m/s, 11 m', () => {
  const result = decodeLast(decodeBikeSpeed, [ZERO, '00 01 02 03 00 04 05 00'], SETANT_WHEEL);
  close(metric(result.measurements, 'speed'), 11);
  close(metric(result.measurements, 'distance'), 11);
});

test('first page is a baseline only; distance accumulates over events', () => {
  const [first, , third] = decodeAll(decodeBikeSpeed, [ZERO, '00 00 00 00 00 04 05 00', '00 00 00 00 00 08 0A 00'], SETANT_WHEEL);
  assert.deepEqual(first?.measurements, []);
  close(metric(third?.measurements ?? [], 'distance'), 22);
});

test('default wheel circumference applies without context', () => {
  const result = decodeLast(decodeBikeSpeed, [ZERO, '00 00 00 00 00 04 01 00']);
  close(metric(result.measurements, 'speed'), 2.105);
});

test('CAD-1: 2 revolutions in 1 s is 120 rpm', () => {
  const result = decodeLast(decodeBikeCadence, [ZERO, '00 01 02 03 00 04 02 00']);
  close(metric(result.measurements, 'cadence'), 120);
});

test('CAD-2: rollover of event time and revolution count gives 80 rpm', () => {
  const result = decodeLast(decodeBikeCadence, ['00 FF FF FF 00 FC FF FF', '00 FF FF FF 00 02 01 00']);
  close(metric(result.measurements, 'cadence'), 80);
});

test('SC-1: combined sensor, 120 rpm and 11 m/s', () => {
  const result = decodeLast(decodeSpeedAndCadence, [ZERO, '00 04 02 00 00 04 05 00'], SETANT_WHEEL);
  close(metric(result.measurements, 'cadence'), 120);
  close(metric(result.measurements, 'speed'), 11);
  close(metric(result.measurements, 'distance'), 11);
});

test('combined sensor: rollover on both pairs (CSC-7 numbers)', () => {
  // crank 65535 revs @ 65000 -> 1 rev @ 1000: 80 rpm; wheel same shape, 2 revs in 1.5 s on 2.2 m.
  const result = decodeLast(decodeSpeedAndCadence, ['E8 FD FF FF E8 FD FF FF', 'E8 03 01 00 E8 03 01 00'], SETANT_WHEEL);
  close(metric(result.measurements, 'cadence'), 80);
  close(metric(result.measurements, 'speed'), (2 * 2.2) / 1.5);
});

test('repeated event time: nothing new, then 0 once stopped; first event after a stop is a baseline', () => {
  const moving = '00 00 00 00 00 04 02 00';
  const pages = [ZERO, moving, ...Array<string>(STOPPED_AFTER_REPEATS).fill(moving), '00 00 00 00 00 08 04 00', '00 00 00 00 00 0C 06 00'];
  const results = decodeAll(decodeBikeCadence, pages);
  close(metric(results[1]?.measurements ?? [], 'cadence'), 120);
  for (let i = 2; i < 2 + STOPPED_AFTER_REPEATS - 1; i++) assert.deepEqual(results[i]?.measurements, [], `repeat ${i - 1} is not news`);
  assert.equal(metric(results[1 + STOPPED_AFTER_REPEATS]?.measurements ?? [], 'cadence'), 0, 'stopped');
  assert.deepEqual(results[2 + STOPPED_AFTER_REPEATS]?.measurements, [], 'the first event after a stop spans the pause');
  close(metric(results[3 + STOPPED_AFTER_REPEATS]?.measurements ?? [], 'cadence'), 120);
});

test('a counter that jumps (sensor reset) reports nothing and becomes the new baseline', () => {
  // 1000 revs -> 3 revs in 0.25 s: a wrap would mean 64539 revolutions, i.e. a reset.
  const [, jump, next] = decodeAll(decodeBikeSpeed, ['00 00 00 00 00 04 E8 03', '00 00 00 00 00 05 03 00', '00 00 00 00 00 09 05 00'], SETANT_WHEEL);
  assert.deepEqual(jump?.measurements, []);
  close(metric(next?.measurements ?? [], 'speed'), 4.4);
  close(metric(next?.measurements ?? [], 'distance'), 4.4);
});

test('revolutions without a new event time restart the baseline instead of dividing by zero', () => {
  const [, glitch, next] = decodeAll(decodeBikeCadence, ['00 00 00 00 00 04 02 00', '00 00 00 00 00 04 05 00', '00 00 00 00 00 08 07 00']);
  assert.deepEqual(glitch?.measurements, []);
  close(metric(next?.measurements ?? [], 'cadence'), 120);
});

test('SPD-2: background pages of a paged sensor', () => {
  const paged: SpeedState = { wheel: { eventTime: 0, revolutions: 0, repeats: 0 }, distanceM: 0, toggle: false, paged: true };
  const run = (hex: string) => expectOk(decodeBikeSpeed(bytes(hex), paged, { deviceNumber: 1 }));
  assert.deepEqual(run('81 88 13 00 00 00 00 00').facts, { operatingTimeS: 10_000 });
  assert.deepEqual(run('82 0F 00 80 00 00 00 00').facts, { manufacturerId: 15, serialNumber: 2147483649 });
  assert.deepEqual(run('84 FF 80 33 00 00 00 00').facts, { batteryVoltage: 3.5, batteryStatus: 'ok' });
  assert.deepEqual(run('85 01 00 00 00 00 00 00').measurements, [{ metric: 'speed', value: 0 }], 'stopped flag');
  assert.deepEqual(run('85 00 00 00 00 00 00 00').measurements, [], 'moving flag, no new event');
});

test('background bytes of a sensor that never toggled are not trusted', () => {
  const result = decodeLast(decodeBikeSpeed, ['05 01 00 00 00 00 00 00', '05 01 00 00 00 00 00 00']);
  assert.deepEqual(result.measurements, []);
  assert.equal(result.facts, undefined);
});

test('cadence sensor: background battery page becomes facts', () => {
  const result = decodeLast(decodeBikeCadence, ['00 00 00 00 00 00 00 00', '84 FF 80 33 00 00 00 00']);
  assert.deepEqual(result.facts, { batteryVoltage: 3.5, batteryStatus: 'ok' });
});

test('refuses pages of the wrong length in all three decoders', () => {
  for (const decode of [decodeBikeSpeed, decodeBikeCadence, decodeSpeedAndCadence] as const) {
    expectRefused(decode(new Uint8Array(0), undefined), /8 bytes, got 0/);
    expectRefused(decode(bytes('00 01 02 03 00 04 05'), undefined), /got 7/);
    expectRefused(decode(bytes('00 01 02 03 00 04 05 00 00'), undefined), /got 9/);
  }
});
