import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cscMeasurement, parseCsc, type RevolutionState } from '../../../../src/sources/ble/profiles/cycling-speed-cadence.ts';
import type { Decoded } from '../../../../src/sources/measurement.ts';
import { accepted, near, parsed, rejected, values, wire } from './fixtures.ts';

/** Feeds notifications in order, handing each decode the state the previous one returned. */
function run(frames: string[], wheelCircumferenceM?: number): Decoded<RevolutionState>[] {
  let previous: RevolutionState | undefined;
  return frames.map((frame) => {
    const decoded = cscMeasurement.decode(wire(frame), { previous, wheelCircumferenceM });
    if (decoded.ok) previous = decoded.state;
    return decoded;
  });
}

test('CSC-1 (pycycling): maximum wheel counter and both event times', () => {
  assert.deepEqual(parsed(parseCsc(wire('03 FF FF FF FF 03 3F FF 07 E7 0F'))), {
    wheel: { revs: 4294967295, time: 16131 },
    crank: { revs: 2047, time: 4071 },
  });
});

test('CSC-2 (Nordic): wheel 12345 @ 1000, crank 345 @ 2000; a first sample has no rate yet', () => {
  assert.deepEqual(parsed(parseCsc(wire('03 39 30 00 00 E8 03 59 01 D0 07'))), {
    wheel: { revs: 12345, time: 1000 },
    crank: { revs: 345, time: 2000 },
  });
  const decoded = accepted(cscMeasurement.decode(wire('03 39 30 00 00 E8 03 59 01 D0 07')));
  assert.deepEqual(decoded.measurements, []);
  assert.deepEqual(decoded.state, { wheel: { revs: 12345, time: 1000, repeats: 0 }, crank: { revs: 345, time: 2000, repeats: 0 } });
});

test('CSC-3 (BluetoothThing, real sensor): cadence after each sample; an unchanged wheel gives no speed', () => {
  const results = run(['03 42 4D 00 00 23 8A 3D 95 42 AC', '03 42 4D 00 00 23 8A 3E 95 D5 B1', '03 42 4D 00 00 23 8A 3F 95 6E B6', '03 42 4D 00 00 23 8A 40 95 60 BB']);
  assert.deepEqual(values(results[0]!), {});
  assert.deepEqual(values(results[1]!), { cadence: 43.055360897 });
  assert.deepEqual(values(results[2]!), { cadence: 52.200509771 });
  // Third repeat of the same wheel event: the wheel has stopped.
  assert.deepEqual(values(results[3]!), { cadence: 48.530805687, speed: 0 });
});

test('CSC-4 (incyclist, real sensor): speed and cadence with a 2.118 m wheel, crank kept across a wheel-only sample', () => {
  const [first, second, third] = run(['03 d9 00 00 00 77 0c 01 00 00 98', '01 db 00 00 00 18 12', '03 dc 00 00 00 91 14 03 00 4e 9f'], 2.118);
  assert.deepEqual(values(first!), {});
  near(values(second!).speed! * 3.6, 10.8, 0.05, 'speed km/h after 2nd');
  near(values(third!).speed! * 3.6, 12.3, 0.05, 'speed km/h after 3rd');
  near(values(third!).cadence, 65.7, 0.05, 'cadence after 3rd');
});

test('CSC-5 (incyclist): crank-only sensor gives cadence 114 rpm and no speed', () => {
  const [, second] = run(['02 f7 00 50 c1', '02 f8 00 6b c3']);
  const result = values(second!);
  near(result.cadence, 113.99, 0.01, 'cadence');
  assert.equal(result.speed, undefined);
});

test('CSC-6 (Nordic): 10 wheel revolutions in 1 s with a 2340 mm wheel is 23.4 m/s', () => {
  const [, second] = run(['01 0A 00 00 00 00 00', '01 14 00 00 00 00 04'], 2.34);
  near(values(second!).speed, 23.4, 1e-9, 'speed');
});

test('CSC-7 rollover: crank 65535 @ 65000 -> 1 @ 1000 is 2 revs in 1.5 s = 80 rpm', () => {
  const [, second] = run(['02 FF FF E8 FD', '02 01 00 E8 03']);
  assert.deepEqual(values(second!), { cadence: 80 });
});

test('wheel counter wraps modulo 2^32, not 2^32 - 1', () => {
  // 0xFFFFFFFF -> 0x00000001 is 2 revs; 1024 ticks = 1 s.
  const [, second] = run(['01 FF FF FF FF 00 FC', '01 01 00 00 00 00 00'], 2);
  near(values(second!).speed, 4, 1e-9, 'speed');
});

test('repeated events hold (no reading) twice, then report the stop as 0', () => {
  const results = run(['02 0A 00 00 04', '02 0B 00 00 08', '02 0B 00 00 08', '02 0B 00 00 08', '02 0B 00 00 08', '02 0C 00 00 0C']);
  assert.deepEqual(
    results.map((r) => values(r)),
    [{}, { cadence: 60 }, {}, {}, { cadence: 0 }, { cadence: 60 }],
  );
});

test('a counter reset after a reconnect re-baselines instead of producing a spike or a negative speed', () => {
  const results = run(['03 10 27 00 00 00 10 88 13 00 10', '03 05 00 00 00 00 14 03 00 00 14', '03 07 00 00 00 00 18 04 00 00 18'], 2);
  assert.deepEqual(values(results[1]!), {});
  // After the new baseline: 2 revs in 1 s, 1 crank rev in 1 s.
  assert.deepEqual(values(results[2]!), { speed: 4, cadence: 60 });
});

test('revolutions without time passing are a reset, not an infinite rate', () => {
  const [, second, third] = run(['02 0A 00 00 04', '02 0C 00 00 04', '02 0D 00 00 08']);
  assert.deepEqual(values(second!), {});
  assert.deepEqual(values(third!), { cadence: 60 });
});

test('a truncated frame is refused even when previous state is handed in', () => {
  const decoded = cscMeasurement.decode(wire('03 00'), { previous: { crank: { revs: 1, time: 1, repeats: 0 } } });
  rejected(decoded, /need 11/);
});

test('bad CSC input is refused with a reason', () => {
  rejected(cscMeasurement.decode(wire('')), /empty/);
  rejected(cscMeasurement.decode(wire('01 0A 00 00 00 00')), /6 bytes, flags 0x01 need 7/);
  rejected(cscMeasurement.decode(wire('02 0A 00 00 04 00')), /6 bytes, flags 0x02 need 5/);
  rejected(cscMeasurement.decode(wire('04')), /reserved flag bits/);
  rejected(cscMeasurement.decode(wire('03 FF FF FF FF 03 3F FF 07 E7')), /need 11/);
});
