import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AntFrameReader } from '../../../src/sources/ant/codec/frame.ts';
import { decodeAntMessage } from '../../../src/sources/ant/codec/messages.ts';
import { decodeFitnessEquipment } from '../../../src/sources/ant/profiles/fitness-equipment.ts';
import { bytes, close, decodeAll, decodeLast, expectOk, expectRefused, metric } from './fixtures.ts';

function pageOf(frameHex: string): Uint8Array {
  const [frame] = new AntFrameReader().push(bytes(frameHex));
  assert.ok(frame, 'frame must be valid');
  const message = decodeAntMessage(frame);
  assert.ok(message.ok && message.message.kind === 'data');
  return message.message.page;
}

test('FE-1: page 16 speed 32.768 m/s, distance 64 m, heart rate 70, in use', () => {
  const [first, second] = decodeAll(decodeFitnessEquipment, ['10 00 00 00 00 00 00 34', '10 00 80 40 00 80 46 34']);
  assert.deepEqual(first?.measurements, [
    { metric: 'speed', value: 0 },
    { metric: 'distance', value: 0 },
  ]);
  assert.equal(metric(second?.measurements ?? [], 'speed'), 32.768);
  assert.equal(metric(second?.measurements ?? [], 'distance'), 64);
  assert.equal(metric(second?.measurements ?? [], 'heart_rate'), 70);
  assert.equal(second?.facts?.feState, 'in_use');
});

test('FE-2: real trainer capture, 16.666 m/s, 25 m, no heart rate', () => {
  const result = expectOk(decodeFitnessEquipment(pageOf('A4 09 4E 00 10 19 18 19 1A 41 00 30 80'), undefined));
  assert.equal(metric(result.measurements, 'speed'), 16.666);
  assert.equal(metric(result.measurements, 'heart_rate'), undefined);
  assert.deepEqual(result.facts, { feState: 'in_use', equipmentType: 'trainer' });
  // Distance-enabled bit is clear in this capture (byte 7 = 0x30): no distance reported.
  assert.equal(metric(result.measurements, 'distance'), undefined);
});

test('ANT-6 page bytes: distance 37 m then 38 m, speed 10.141 m/s', () => {
  const [first, second] = decodeAll(decodeFitnessEquipment, ['10 19 FD 25 9D 27 00 35', '10 19 FE 26 9D 27 00 35']);
  assert.equal(metric(first?.measurements ?? [], 'distance'), 37);
  assert.equal(metric(first?.measurements ?? [], 'speed'), 10.141);
  assert.equal(metric(second?.measurements ?? [], 'distance'), 38);
});

test('distance accumulates across the 256 m wrap and restarts with a new equipment session', () => {
  const wrapped = decodeLast(decodeFitnessEquipment, ['10 19 00 FE 00 00 FF 34', '10 19 00 03 00 00 FF 34']);
  assert.equal(metric(wrapped.measurements, 'distance'), 254 + 5);
  const [, ready, fresh] = decodeAll(decodeFitnessEquipment, ['10 19 00 C8 00 00 FF 34', '10 19 00 00 00 00 FF 24', '10 19 00 05 00 00 FF 34']);
  assert.equal(metric(ready?.measurements ?? [], 'distance'), undefined);
  assert.equal(ready?.facts?.feState, 'ready');
  assert.equal(metric(fresh?.measurements ?? [], 'distance'), 5, 'not 200 + a wrap');
});

test('FE-3: page 25 cadence 128 rpm and 12-bit instantaneous power 2645 W', () => {
  const result = expectOk(decodeFitnessEquipment(bytes('19 01 80 00 00 55 0A 00'), undefined));
  assert.equal(metric(result.measurements, 'cadence'), 128);
  assert.equal(metric(result.measurements, 'power'), 2645);
});

test('FE-4: average power across the accumulated-power rollover is 20 W', () => {
  const result = decodeLast(decodeFitnessEquipment, ['19 01 00 FF FF 00 00 00', '19 02 00 13 00 00 00 00']);
  assert.equal(metric(result.measurements, 'power'), 20);
});

test('FE-5: real capture, 90 rpm and 283 W, no trainer flags, at target', () => {
  const result = expectOk(decodeFitnessEquipment(pageOf('A4 09 4E 00 19 10 5A B0 47 1B 01 30 6D'), undefined));
  assert.equal(metric(result.measurements, 'cadence'), 90);
  assert.equal(metric(result.measurements, 'power'), 283);
  assert.deepEqual(result.facts, { feState: 'in_use', trainerStatus: 'ok', targetPower: 'at_target' });
  assert.deepEqual(result.state, { trainerEvents: 16, trainerAccumulatedPower: 0x47b0 });
});

test('FE-7: trainer status flags and target-power limits', () => {
  const status = (b6: string, b7: string) => expectOk(decodeFitnessEquipment(bytes(`19 01 50 00 00 64 ${b6} ${b7}`), undefined)).facts;
  assert.equal(status('10', '30')?.trainerStatus, 'power_calibration_required');
  assert.equal(status('20', '30')?.trainerStatus, 'resistance_calibration_required');
  assert.equal(status('40', '30')?.trainerStatus, 'user_configuration_required');
  assert.equal(status('70', '30')?.trainerStatus, 'power_calibration_required,resistance_calibration_required,user_configuration_required');
  assert.deepEqual(
    ['30', '31', '32', '33'].map((b7) => status('00', b7)?.targetPower),
    ['at_target', 'speed_too_low', 'speed_too_high', 'undetermined'],
  );
});

test('invalid cadence and power fields are not reported', () => {
  const result = expectOk(decodeFitnessEquipment(bytes('19 01 FF 00 00 FF 0F 30'), undefined));
  assert.deepEqual(result.measurements, []);
});

test('page 17 incline, signed, 0x7FFF invalid', () => {
  assert.equal(metric(expectOk(decodeFitnessEquipment(bytes('11 FF FF 00 25 00 10 30'), undefined)).measurements, 'incline'), 0.37);
  close(metric(expectOk(decodeFitnessEquipment(bytes('11 FF FF 00 DB FF 10 30'), undefined)).measurements, 'incline'), -0.37);
  assert.deepEqual(expectOk(decodeFitnessEquipment(bytes('11 FF FF 00 FF 7F 10 30'), undefined)).measurements, []);
  assert.deepEqual(expectOk(decodeFitnessEquipment(bytes('11 00 00 00 40 78 00 00'), undefined)).measurements, [], '307.84 % is no incline');
});

test('common pages become facts; wrong lengths are refused', () => {
  assert.equal(expectOk(decodeFitnessEquipment(bytes('50 FF FF 01 0F 00 85 83'), undefined)).facts?.manufacturerId, 15);
  expectRefused(decodeFitnessEquipment(new Uint8Array(0), undefined), /got 0/);
  expectRefused(decodeFitnessEquipment(bytes('10 19 FD 25 9D 27 00'), undefined), /got 7/);
  expectRefused(decodeFitnessEquipment(bytes('10 19 FD 25 9D 27 00 35 E0'), undefined), /got 9/);
});
