import assert from 'node:assert/strict';
import { test } from 'node:test';
import { heartRateMeasurement, parseHeartRate, rrRawToMs } from '../../../../src/sources/ble/profiles/heart-rate.ts';
import { accepted, parsed, rejected, values, wire } from './fixtures.ts';

const decode = (text: string) => heartRateMeasurement.decode(wire(text));

test('HR-1 (Nordic): uint8 heart rate, no contact support, nothing else', () => {
  const decoded = decode('00 55');
  assert.deepEqual(accepted(decoded).measurements, [{ metric: 'heart_rate', value: 85 }]);
  assert.deepEqual(accepted(decoded).facts, { sensorContact: 'unsupported' });
});

test('HR-2 (Nordic): contact supported but not detected travels as a fact with the value', () => {
  const fields = parsed(parseHeartRate(wire('04 FF')));
  assert.equal(fields.heartRateBpm, 255);
  assert.equal(fields.contact, 'not_detected');
  const decoded = accepted(decode('04 FF'));
  assert.deepEqual(decoded.measurements, [{ metric: 'heart_rate', value: 255 }]);
  assert.equal(decoded.facts?.sensorContact, 'not_detected');
});

test('HR-3 (Nordic): energy expended in kJ becomes kcal, RR 33/1024 s', () => {
  const fields = parsed(parseHeartRate(wire('1E 55 32 00 21 00')));
  assert.deepEqual(fields, { heartRateBpm: 85, contact: 'detected', energyExpendedKj: 50, rrRaw: [33] });
  const decoded = accepted(decode('1E 55 32 00 21 00'));
  assert.deepEqual(decoded.measurements, [
    { metric: 'heart_rate', value: 85 },
    { metric: 'energy', value: 50 / 4.184 },
    { metric: 'rr_interval', value: 32.2265625, offsetMs: 0 },
  ]);
  assert.equal(decoded.facts?.sensorContact, 'detected');
});

test('HR-5 (SmartGattLib): two RR intervals, each stamped at its own beat', () => {
  const decoded = accepted(decode('16 48 54 01 EC 02'));
  assert.deepEqual(decoded.measurements, [
    { metric: 'heart_rate', value: 72 },
    // 0x0154/1024 s and 0x02EC/1024 s; the older beat ended one newer interval before the notification.
    { metric: 'rr_interval', value: 332.03125, offsetMs: -730 },
    { metric: 'rr_interval', value: 730.46875, offsetMs: 0 },
  ]);
});

test('HR-6 (pycycling): no RR present gives no RR readings', () => {
  assert.deepEqual(values(decode('00 2A')), { heart_rate: 42 });
});

test('HR-bad (Nordic): uint16 heart rate with RR flag but no RR bytes is refused', () => {
  rejected(decode('17 01 01'), /RR flag set but no RR interval/);
});

test('uint16 heart rate is read little-endian', () => {
  assert.deepEqual(values(decode('01 B4 00')), { heart_rate: 180 });
});

test('offsets of many RR intervals accumulate backwards from the newest beat', () => {
  // 1024, 512, 1024 ticks = 1000, 500, 1000 ms.
  const decoded = accepted(decode('10 3C 00 04 00 02 00 04'));
  assert.deepEqual(
    decoded.measurements.filter((m) => m.metric === 'rr_interval').map((m) => [m.value, m.offsetMs]),
    [
      [1000, -1500],
      [500, -1000],
      [1000, 0],
    ],
  );
  assert.equal(rrRawToMs(1024), 1000);
});

test('zero bpm (strap searching for a pulse) is no heart rate reading, RR still decoded', () => {
  assert.deepEqual(values(decode('10 00 00 04')), { rr_interval: 1000 });
});

test('bad input is refused with a reason, never thrown', () => {
  rejected(decode(''), /empty/);
  rejected(decode('01 50'), /need 3/); // uint16 HR truncated
  rejected(decode('08 50 10'), /need 4/); // energy truncated
  rejected(decode('10 50 00 04 00'), /odd number of RR/);
  rejected(decode('00 50 00'), /1 bytes after the last field/); // trailing byte without RR flag
  rejected(decode('20 50'), /reserved flag bits/);
  rejected(decode('01 2D 01'), /heart_rate 301 bpm outside 0..300/);
});
