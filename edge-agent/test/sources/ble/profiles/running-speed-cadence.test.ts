import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseRsc, rscMeasurement } from '../../../../src/sources/ble/profiles/running-speed-cadence.ts';
import { parsed, rejected, values, wire } from './fixtures.ts';

test('RSC-1 (Nordic): every field parses; its 402 653 km total distance is outside the catalogue and refused', () => {
  assert.deepEqual(parsed(parseRsc(wire('07 00 03 12 56 00 01 00 00 F0'))), {
    speedMps: 3,
    cadenceSpm: 18,
    running: true,
    strideLengthM: 0.86,
    totalDistanceM: 402653184.1,
  });
  rejected(rscMeasurement.decode(wire('07 00 03 12 56 00 01 00 00 F0')), /distance 402653184.1 m outside/);
});

test('RSC-2 and RSC-4 (bluetooth-sig-python): walking 2.5 m/s at 180 spm; 1.6 m/s with a 0.80 m stride length reading', () => {
  assert.deepEqual(values(rscMeasurement.decode(wire('00 80 02 B4'))), { speed: 2.5, cadence: 180 });
  assert.equal(parsed(parseRsc(wire('00 80 02 B4'))).running, false);
  assert.deepEqual(parsed(parseRsc(wire('01 9A 01 78 50 00'))), { speedMps: 1.6015625, cadenceSpm: 120, running: false, strideLengthM: 0.8 });
  assert.deepEqual(values(rscMeasurement.decode(wire('01 9A 01 78 50 00'))), { speed: 1.6015625, cadence: 120, stride_length: 0.8 });
});

test('stride length in 1/100 m becomes a stride_length reading; one beyond the catalogue range is refused', () => {
  assert.deepEqual(values(rscMeasurement.decode(wire('05 00 03 AA 56 00'))), { speed: 3, cadence: 170, stride_length: 0.86 });
  // 0xFFFF cm is 655 m: no runner's stride.
  rejected(rscMeasurement.decode(wire('05 00 03 AA FF FF')), /stride_length 655.35 m outside/);
  rejected(rscMeasurement.decode(wire('05 00 03 AA 56')), /5 bytes, flags 0x05 need 6/);
});

test('total distance in 1/10 m becomes a distance reading', () => {
  assert.deepEqual(values(rscMeasurement.decode(wire('06 00 03 AA 39 30 00 00'))), { speed: 3, cadence: 170, distance: 1234.5 });
});

test('RSC-bad (Nordic): 9-byte version of RSC-1 is refused; so are other bad frames', () => {
  rejected(rscMeasurement.decode(wire('07 00 03 12 56 00 01 00 00')), /9 bytes, flags 0x07 need 10/);
  rejected(rscMeasurement.decode(wire('')), /empty/);
  rejected(rscMeasurement.decode(wire('00 80 02')), /need 4/);
  rejected(rscMeasurement.decode(wire('00 80 02 B4 00')), /5 bytes, flags 0x00 need 4/);
  rejected(rscMeasurement.decode(wire('08 80 02 B4')), /reserved flag bits/);
});
