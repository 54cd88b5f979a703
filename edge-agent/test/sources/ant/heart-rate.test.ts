import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeHeartRate, type HeartRateState } from '../../../src/sources/ant/profiles/heart-rate.ts';
import { bytes, close, decodeAll, decodeLast, expectOk, expectRefused, metric } from './fixtures.ts';

/** State of a strap already seen flipping its toggle bit: its bytes 0-3 are pages. */
const PAGED: HeartRateState = { beatTime: 0, beatCount: 0, toggle: false, paged: true };

test('AHR-1: heart rate, beat time and count of a first page', () => {
  const result = expectOk(decodeHeartRate(bytes('00 00 00 00 AA 55 33 46'), undefined));
  assert.deepEqual(result.measurements, [{ metric: 'heart_rate', value: 70 }]);
  assert.deepEqual(result.state, { beatTime: 0x55aa, beatCount: 0x33, toggle: false, paged: false });
});

test('AHR-2: one more beat 1024 ticks later is an RR interval of 1000 ms', () => {
  const result = decodeLast(decodeHeartRate, ['00 00 00 00 AA 55 33 46', '00 00 00 00 AA 59 34 46']);
  assert.equal(metric(result.measurements, 'rr_interval'), 1000);
  assert.equal(metric(result.measurements, 'heart_rate'), 70);
});

test('a repeated beat gives heart rate but no RR; a skipped beat gives no consecutive RR', () => {
  const [, repeat, skipped] = decodeAll(decodeHeartRate, ['00 00 00 00 AA 55 33 46', '00 00 00 00 AA 55 33 46', '00 00 00 00 AA 5D 35 46']);
  assert.equal(metric(repeat?.measurements ?? [], 'rr_interval'), undefined);
  assert.equal(metric(repeat?.measurements ?? [], 'heart_rate'), 70);
  assert.equal(metric(skipped?.measurements ?? [], 'rr_interval'), undefined, 'two beats since the last sample: interval unknown');
});

test('RR across the beat-time and beat-count rollover', () => {
  // 0xFE00 -> 0x0300: (0x0300 - 0xFE00) mod 65536 = 1280 ticks = 1250 ms; count 0xFF -> 0x00.
  const result = decodeLast(decodeHeartRate, ['00 00 00 00 00 FE FF 30', '00 00 00 00 00 03 00 30']);
  assert.equal(metric(result.measurements, 'rr_interval'), 1250);
});

test('page 4 gives RR from its own previous-beat time, even after missed messages', () => {
  // Previous beat 0x5000, this beat 0x5400 = 1024 ticks; count jumped by 3 (messages lost).
  const result = expectOk(decodeHeartRate(bytes('84 00 00 50 00 54 03 3C'), { ...PAGED, beatCount: 0 }));
  assert.equal(metric(result.measurements, 'rr_interval'), 1000);
  assert.equal(metric(result.measurements, 'heart_rate'), 60);
});

test('page-4 bytes of a legacy strap (toggle never flips) are ignored', () => {
  // Toggle stays 0: bytes 1-3 are arbitrary; only the consecutive-beat rule applies (count +3 -> none).
  const result = decodeLast(decodeHeartRate, ['04 00 00 50 00 50 00 3C', '04 00 00 10 00 54 03 3C']);
  assert.equal(metric(result.measurements, 'rr_interval'), undefined);
  assert.equal(result.state?.paged, false);
});

test('paged detection: a flip of the toggle marks the strap paged', () => {
  const [first, second] = decodeAll(decodeHeartRate, ['00 00 00 00 AA 55 33 46', '81 01 02 03 AA 55 33 46']);
  assert.equal(first?.state?.paged, false);
  assert.equal(second?.state?.paged, true);
  // AHR-5: page 1 operating time 0x030201 x 2 s.
  assert.deepEqual(second?.facts, { operatingTimeS: 0x030201 * 2 });
});

test('AHR-4: page 7 battery 70 %, 3.398 V', () => {
  const result = expectOk(decodeHeartRate(bytes('87 46 66 03 AA 55 33 46'), PAGED));
  assert.equal(metric(result.measurements, 'battery'), 70);
  close(result.facts?.batteryVoltage as number, 3 + 0x66 / 256);
  assert.equal(result.facts?.batteryStatus, undefined, 'status 0 is reserved');
  const statuses = ['13', '23', '33', '43', '53', '73'].map((b3) => expectOk(decodeHeartRate(bytes(`87 46 66 ${b3} AA 55 33 46`), PAGED)).facts?.batteryStatus);
  assert.deepEqual(statuses, ['new', 'good', 'ok', 'low', 'critical', undefined]);
  const noPercent = expectOk(decodeHeartRate(bytes('87 FF 66 0F AA 55 33 46'), PAGED));
  assert.equal(metric(noPercent.measurements, 'battery'), undefined);
  assert.equal(noPercent.facts, undefined, 'coarse voltage 0xF: not measured, status reserved');
});

test('pages 2 and 3: manufacturer, serial number, versions and model', () => {
  const manufacturer = expectOk(decodeHeartRate(bytes('82 0F 00 80 AA 55 33 46'), PAGED, { deviceNumber: 1 }));
  assert.deepEqual(manufacturer.facts, { manufacturerId: 15, serialNumber: 2147483649 });
  const product = expectOk(decodeHeartRate(bytes('83 05 0A 11 AA 55 33 46'), PAGED));
  assert.deepEqual(product.facts, { hardwareVersion: 5, softwareVersion: 10, modelNumber: 0x11 });
});

test('page 6: supported and enabled extended features become facts', () => {
  // Supported: running, cycling, swimming and a manufacturer bit; enabled: cycling only.
  const result = expectOk(decodeHeartRate(bytes('86 FF 47 02 AA 55 33 46'), PAGED));
  assert.deepEqual(result.facts, { featuresSupported: 'running,cycling,swimming', featuresEnabled: 'cycling' });
  assert.equal(metric(result.measurements, 'heart_rate'), 70);
  const none = expectOk(decodeHeartRate(bytes('86 FF 00 00 AA 55 33 46'), PAGED));
  assert.deepEqual(none.facts, { featuresSupported: 'none', featuresEnabled: 'none' });
});

test('page 5: a swim-interval summary gives the heart rate of bytes 4-7 and nothing from its averages', () => {
  const result = expectOk(decodeHeartRate(bytes('85 8C A0 82 AA 55 33 46'), PAGED));
  assert.deepEqual(result.measurements, [{ metric: 'heart_rate', value: 70 }]);
  assert.equal(result.facts, undefined);
});

test('heart rate 0 means no valid value', () => {
  const result = expectOk(decodeHeartRate(bytes('00 00 00 00 AA 55 33 00'), undefined));
  assert.deepEqual(result.measurements, []);
});

test('refuses pages that are not 8 bytes', () => {
  expectRefused(decodeHeartRate(new Uint8Array(0), undefined), /8 bytes, got 0/);
  expectRefused(decodeHeartRate(bytes('00 00 00 00 AA 55 33'), undefined), /got 7/);
  expectRefused(decodeHeartRate(bytes('00 00 00 00 AA 55 33 46 00'), undefined), /got 9/);
});
