import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cyclingPowerMeasurement, parseCyclingPower, type CyclingPowerState } from '../../../../src/sources/ble/profiles/cycling-power.ts';
import type { Decoded } from '../../../../src/sources/measurement.ts';
import { near, parsed, rejected, values, wire } from './fixtures.ts';

function run(frames: string[], wheelCircumferenceM?: number): Decoded<CyclingPowerState>[] {
  let previous: CyclingPowerState | undefined;
  return frames.map((frame) => {
    const decoded = cyclingPowerMeasurement.decode(wire(frame), { previous, wheelCircumferenceM });
    if (decoded.ok) previous = decoded.state;
    return decoded;
  });
}

test('CP-1 (pycycling) and CP-5 (bluetooth-sig-python): power only', () => {
  assert.deepEqual(values(cyclingPowerMeasurement.decode(wire('00 00 D2 04'))), { power: 1234 });
  assert.deepEqual(values(cyclingPowerMeasurement.decode(wire('00 00 FA 00'))), { power: 250 });
});

test('CP-2 (pycycling): wheel data in 1/2048 s and crank data in 1/1024 s', () => {
  const fields = parsed(parseCyclingPower(wire('30 00 D2 04 FF FF FF FF 03 3F FF 07 E7 0F')));
  assert.equal(fields.powerW, 1234);
  assert.deepEqual(fields.wheel, { revs: 4294967295, time: 16131 });
  assert.deepEqual(fields.crank, { revs: 2047, time: 4071 });
});

test('CP-6: pedal balance 50 % with an unknown reference is parsed but not claimed as the left pedal', () => {
  const fields = parsed(parseCyclingPower(wire('01 00 2C 01 64')));
  assert.equal(fields.pedalBalancePercent, 50);
  assert.equal(fields.balanceReference, 'unknown');
  assert.deepEqual(values(cyclingPowerMeasurement.decode(wire('01 00 2C 01 64'))), { power: 300 });
  // Same frame with bit 1 (reference = left): now it is the left pedal's share.
  assert.deepEqual(values(cyclingPowerMeasurement.decode(wire('03 00 2C 01 5A'))), { power: 300, pedal_balance: 45 });
});

test('CP-7: wheel 12345 at 2048/2048 s; the next second with 2 more revs is 2 x circumference m/s', () => {
  const fields = parsed(parseCyclingPower(wire('10 00 4B 01 39 30 00 00 00 08')));
  assert.equal(fields.powerW, 331);
  assert.deepEqual(fields.wheel, { revs: 12345, time: 2048 });
  const [, second] = run(['10 00 4B 01 39 30 00 00 00 08', '10 00 4B 01 3B 30 00 00 00 10'], 2.1);
  near(values(second!).speed, 4.2, 1e-9, 'speed');
});

test('CP-8: crank 400 at 1.0 s; one more revolution 0.75 s later is 80 rpm', () => {
  const fields = parsed(parseCyclingPower(wire('20 00 70 01 90 01 00 04')));
  assert.equal(fields.powerW, 368);
  assert.deepEqual(fields.crank, { revs: 400, time: 1024 });
  const [, second] = run(['20 00 70 01 90 01 00 04', '20 00 70 01 91 01 00 07']);
  assert.deepEqual(values(second!), { power: 368, cadence: 80 });
});

test('instantaneous power is signed', () => {
  assert.deepEqual(values(cyclingPowerMeasurement.decode(wire('00 00 F6 FF'))), { power: -10 });
});

test('bit 3 (torque source) carries no field; accumulated energy is bit 11 and the last field', () => {
  // SIGPY reads `08 00 40 01 0A 00` as energy at bit 3; bit 3 has no field, so these bytes are 2 too many.
  rejected(cyclingPowerMeasurement.decode(wire('08 00 40 01 0A 00')), /6 bytes, flags 0x0008 need 4/);
  const fields = parsed(parseCyclingPower(wire('08 08 40 01 0A 00')));
  assert.deepEqual([fields.powerW, fields.torqueSource, fields.accumulatedEnergyKj], [320, 'crank', 10]);
});

test('every optional field in order: balance, torque, wheel, crank, forces, torques, angles, dead spots, energy', () => {
  const frame = wire(
    [
      'FF 1F', // flags: bits 0-12
      '2C 01', // 300 W
      '64', // balance 50 %
      '40 00', // accumulated torque 64/32 N·m
      '0A 00 00 00 00 08', // wheel 10 @ 1 s
      '05 00 00 04', // crank 5 @ 1 s
      'C8 00 38 FF', // force max 200, min -200 N
      '40 01 C0 FF', // torque max 10, min -2 N·m
      '5A A0 0F', // angles: max 0x05A = 90, min 0x0FA = 250
      '0A 00', // top dead spot 10
      'BE 00', // bottom dead spot 190
      '2A 00', // energy 42 kJ
    ].join(' '),
  );
  const fields = parsed(parseCyclingPower(frame));
  assert.deepEqual(fields, {
    powerW: 300,
    pedalBalancePercent: 50,
    balanceReference: 'left',
    accumulatedTorqueRaw: 64,
    torqueSource: 'crank',
    wheel: { revs: 10, time: 2048 },
    crank: { revs: 5, time: 1024 },
    maxForceN: 200,
    minForceN: -200,
    maxTorqueNm: 10,
    minTorqueNm: -2,
    maxAngleDeg: 90,
    minAngleDeg: 250,
    topDeadSpotDeg: 10,
    bottomDeadSpotDeg: 190,
    accumulatedEnergyKj: 42,
    offsetCompensation: true,
  });
});

test('average torque is the accumulated torque increase per revolution of its source, across rollover', () => {
  // Crank source (bit 3), torque + crank (bits 2, 5): 0xFFF0 -> 0x0030 is 64/32 = 2 N·m over 2 revs.
  const [, second] = run(['2C 00 C8 00 F0 FF 0A 00 00 04', '2C 00 C8 00 30 00 0C 00 00 0C']);
  assert.deepEqual(values(second!), { power: 200, cadence: 60, torque: 1 });
});

test('bad CP input is refused with a reason', () => {
  rejected(cyclingPowerMeasurement.decode(wire('')), /shorter than its flags/);
  rejected(cyclingPowerMeasurement.decode(wire('00')), /shorter than its flags/);
  rejected(cyclingPowerMeasurement.decode(wire('00 00 FA')), /3 bytes, flags 0x0000 need 4/);
  rejected(cyclingPowerMeasurement.decode(wire('00 00 FA 00 00')), /5 bytes, flags 0x0000 need 4/);
  rejected(cyclingPowerMeasurement.decode(wire('00 20 FA 00')), /reserved flag bits/);
  rejected(cyclingPowerMeasurement.decode(wire('30 00 D2 04 FF FF FF FF 03 3F FF 07 E7')), /need 14/);
  rejected(cyclingPowerMeasurement.decode(wire('03 00 2C 01 CA')), /pedal_balance 101 %/);
});
