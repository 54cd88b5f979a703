import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AntFrameReader } from '../../../src/sources/ant/codec/frame.ts';
import { decodeAntMessage } from '../../../src/sources/ant/codec/messages.ts';
import { decodeBikePower } from '../../../src/sources/ant/profiles/bike-power.ts';
import { bytes, close, decodeAll, decodeLast, expectOk, expectRefused, metric } from './fixtures.ts';

test('PWR-1: instantaneous power of a first page is 8721 W', () => {
  const result = expectOk(decodeBikePower(bytes('10 01 00 00 00 00 11 22'), undefined));
  assert.equal(metric(result.measurements, 'power'), 8721);
});

test('PWR-2: average over one event from accumulated power is 8721 W', () => {
  const result = decodeLast(decodeBikePower, ['10 00 00 00 00 00 00 00', '10 01 00 00 11 22 00 00']);
  assert.equal(metric(result.measurements, 'power'), 8721, 'the average, not the instantaneous 0');
});

test('average power across event-count and accumulated-power rollover', () => {
  // events 0xFF -> 0x01 (2 events), accumulated 0xFFF0 -> 0x0010 (32 W): 16 W.
  const result = decodeLast(decodeBikePower, ['10 FF FF 50 F0 FF 10 00', '10 01 FF 50 10 00 10 00']);
  assert.equal(metric(result.measurements, 'power'), 16);
});

test('a page repeating the same event count adds no power reading', () => {
  const result = decodeLast(decodeBikePower, ['10 05 FF 50 00 01 C8 00', '10 05 FF 50 00 01 C8 00']);
  assert.equal(metric(result.measurements, 'power'), undefined);
  assert.equal(metric(result.measurements, 'cadence'), 80);
});

test('PWR-3: pedal power: unknown pedal, right pedal, not used', () => {
  const balance = (b2: string) => metric(expectOk(decodeBikePower(bytes(`10 01 ${b2} 00 00 00 00 00`), undefined)).measurements, 'pedal_balance');
  assert.equal(balance('32'), undefined, '50 % of an unknown pedal says nothing about the left one');
  assert.equal(balance('B2'), 50);
  assert.equal(balance('BC'), 40, 'right 60 % -> left 40 %');
  assert.equal(balance('FF'), undefined);
  assert.equal(balance('E5'), undefined, 'right 101 % is impossible');
});

test('PWR-4: instantaneous cadence 128 rpm; 0xFF is invalid', () => {
  assert.equal(metric(expectOk(decodeBikePower(bytes('10 01 FF 80 00 00 00 00'), undefined)).measurements, 'cadence'), 128);
  assert.equal(metric(expectOk(decodeBikePower(bytes('10 01 FF FF 00 00 00 00'), undefined)).measurements, 'cadence'), undefined);
});

test('PWR-5: real capture through the codec: event 236, 0 W, cadence 0', () => {
  const [frame] = new AntFrameReader().push(bytes('A4 09 4E 00 10 EC FF 00 BE 4E 00 00 10'));
  assert.ok(frame);
  const message = decodeAntMessage(frame);
  assert.ok(message.ok && message.message.kind === 'data');
  const result = expectOk(decodeBikePower(message.message.page, undefined));
  assert.deepEqual(result.measurements, [
    { metric: 'cadence', value: 0 },
    { metric: 'power', value: 0 },
  ]);
  assert.deepEqual(result.state?.standard, { events: 236, accumulatedPower: 20158 });
});

test('PWR-7 / ANT-5: manufacturer page on a power channel gives manufacturer 130', () => {
  const result = expectOk(decodeBikePower(bytes('50 FF FF FF 82 00 23 00'), undefined));
  assert.deepEqual(result.facts, { manufacturerId: 130, modelNumber: 35 });
  assert.deepEqual(result.measurements, []);
  const antifier = expectOk(decodeBikePower(bytes('50 FF FF 01 0F 00 85 83'), undefined));
  assert.deepEqual(antifier.facts, { manufacturerId: 15, modelNumber: 0x8385, hardwareRevision: 1 });
});

test('common pages 0x51 and 0x52 give software version, serial number, battery and operating time as facts', () => {
  assert.deepEqual(expectOk(decodeBikePower(bytes('51 FF FF 0A 78 56 34 12'), undefined)).facts, { softwareVersion: 1, serialNumber: 0x12345678 });
  assert.deepEqual(expectOk(decodeBikePower(bytes('51 FF 05 0A FF FF FF FF'), undefined)).facts, { softwareVersion: 1.005 });
  assert.deepEqual(expectOk(decodeBikePower(bytes('52 FF 11 10 0E 00 80 B3'), undefined)).facts, { batteryVoltage: 3.5, batteryStatus: 'ok', operatingTimeS: 7200 });
  assert.deepEqual(expectOk(decodeBikePower(bytes('52 FF 11 10 0E 00 80 33'), undefined)).facts?.operatingTimeS, 3600 * 16);
});

test('crank torque 0x12: 20 N·m at 60 rpm is 125.66 W', () => {
  const result = decodeLast(decodeBikePower, ['12 00 00 00 00 00 00 00', '12 01 01 3C 00 08 80 02']);
  close(metric(result.measurements, 'torque'), 20);
  close(metric(result.measurements, 'cadence'), 60);
  close(metric(result.measurements, 'power'), 40 * Math.PI);
});

test('crank torque 0x12 across rollover: 2 events, 1 s, 5 N·m -> 120 rpm, 62.8 W', () => {
  const result = decodeLast(decodeBikePower, ['12 FF 00 00 00 FC 00 FF', '12 01 00 00 00 04 40 00']);
  close(metric(result.measurements, 'cadence'), 120);
  close(metric(result.measurements, 'torque'), 5);
  close(metric(result.measurements, 'power'), 20 * Math.PI);
});

test('crank torque 0x12: events without period is coasting, 0 W and 0 rpm', () => {
  const result = decodeLast(decodeBikePower, ['12 01 01 3C 00 08 80 02', '12 02 01 00 00 08 80 02']);
  assert.equal(metric(result.measurements, 'power'), 0);
  assert.equal(metric(result.measurements, 'cadence'), 0);
});

test('once torque pages are seen, interleaved 0x10 pages no longer report power or cadence', () => {
  const [, , standard] = decodeAll(decodeBikePower, ['12 00 00 00 00 00 00 00', '12 01 01 3C 00 08 80 02', '10 01 BC 3C 00 00 7E 00']);
  assert.deepEqual(standard?.measurements, [{ metric: 'pedal_balance', value: 40 }]);
});

test('wheel torque 0x11: 10 N·m, 2 wheel turns in 0.5 s on 2.2 m', () => {
  const result = decodeLast(decodeBikePower, ['11 00 00 FF 00 00 00 00', '11 01 02 55 00 04 40 01'], { wheelCircumferenceM: 2.2 });
  close(metric(result.measurements, 'power'), 40 * Math.PI);
  close(metric(result.measurements, 'torque'), 10);
  close(metric(result.measurements, 'speed'), 8.8);
  assert.equal(metric(result.measurements, 'cadence'), 85);
});

test('crank torque frequency 0x20: cadence always, torque and power once the offset is calibrated', () => {
  const pages = ['20 00 00 C8 00 00 00 00', '20 01 00 C8 07 D0 03 84'];
  const uncalibrated = decodeLast(decodeBikePower, pages);
  assert.deepEqual(uncalibrated.measurements, [{ metric: 'cadence', value: 60 }]);
  const calibrated = decodeLast(decodeBikePower, ['01 10 01 FF FF FF 01 F4', ...pages]);
  close(metric(calibrated.measurements, 'cadence'), 60);
  close(metric(calibrated.measurements, 'torque'), 20);
  close(metric(calibrated.measurements, 'power'), 40 * Math.PI);
});

test('crank torque frequency: an impossible slope is refused', () => {
  expectRefused(decodeBikePower(bytes('20 01 00 05 07 D0 03 84'), undefined), /slope 5 outside 100..500/);
  expectRefused(decodeBikePower(bytes('20 01 FF FF 07 D0 03 84'), undefined), /slope 65535/);
});

test('unknown pages keep state and report nothing; wrong lengths are refused', () => {
  const state = { standard: { events: 3, accumulatedPower: 100 } };
  const result = expectOk(decodeBikePower(bytes('F0 01 02 03 04 05 06 07'), state));
  assert.deepEqual(result.measurements, []);
  assert.deepEqual(result.state, state);
  expectRefused(decodeBikePower(new Uint8Array(0), undefined), /got 0/);
  expectRefused(decodeBikePower(bytes('10 01 00 00 00 00 11'), undefined), /got 7/);
  expectRefused(decodeBikePower(bytes('10 01 00 00 00 00 11 22 33'), undefined), /got 9/);
});

test('an average beyond the catalogue (65535 W in one event) is dropped and the baseline moves on', () => {
  const [, dropped, next] = decodeAll(decodeBikePower, ['10 00 FF FF 00 00 00 00', '10 01 FF FF FF FF 00 00', '10 02 FF FF 63 00 00 00']);
  assert.equal(metric(dropped?.measurements ?? [], 'power'), undefined);
  assert.equal(metric(next?.measurements ?? [], 'power'), 100);
});

test('page 0x13: torque effectiveness and pedal smoothness per pedal, in half percent', () => {
  // Left TE 0xAA = 85 %, right TE 0xB4 = 90 %, left PS 0x32 = 25 %, right PS 0x3C = 30 %.
  const result = expectOk(decodeBikePower(bytes('13 05 AA B4 32 3C FF FF'), undefined));
  assert.deepEqual(result.measurements, [
    { metric: 'torque_effectiveness_left', value: 85 },
    { metric: 'torque_effectiveness_right', value: 90 },
    { metric: 'pedal_smoothness_left', value: 25 },
    { metric: 'pedal_smoothness_right', value: 30 },
  ]);
});

test('page 0x13: 0xFE in the right smoothness byte makes the left one the combined smoothness; 0xFF is not measured', () => {
  const combined = expectOk(decodeBikePower(bytes('13 05 FF FF 33 FE FF FF'), undefined));
  assert.deepEqual(combined.measurements, [{ metric: 'pedal_smoothness', value: 25.5 }]);
  // Above 200 half-percent (100 %) is out of range: dropped, not stored.
  const outOfRange = expectOk(decodeBikePower(bytes('13 05 C9 FF FF FF FF FF'), undefined));
  assert.deepEqual(outOfRange.measurements, []);
});

test('page 0x13: a repeat of the same event count brings nothing new', () => {
  const [first, repeat, next] = decodeAll(decodeBikePower, ['13 05 AA B4 32 3C FF FF', '13 05 AA B4 32 3C FF FF', '13 06 AC B4 32 3C FF FF']);
  assert.equal(first?.measurements.length, 4);
  assert.deepEqual(repeat?.measurements, []);
  assert.equal(metric(next?.measurements ?? [], 'torque_effectiveness_left'), 86);
});
