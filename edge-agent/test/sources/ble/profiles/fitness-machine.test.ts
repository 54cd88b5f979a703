import assert from 'node:assert/strict';
import { test } from 'node:test';
import { crossTrainerData, crossTrainerDataSpec } from '../../../../src/sources/ble/profiles/cross-trainer.ts';
import { parseMachineData } from '../../../../src/sources/ble/profiles/fitness-machine-data.ts';
import { indoorBikeData, indoorBikeDataSpec } from '../../../../src/sources/ble/profiles/indoor-bike.ts';
import { rowerData, rowerDataSpec } from '../../../../src/sources/ble/profiles/rower.ts';
import { stairClimberData, stairClimberDataSpec } from '../../../../src/sources/ble/profiles/stair-climber.ts';
import { treadmillData, treadmillDataSpec } from '../../../../src/sources/ble/profiles/treadmill.ts';
import { accepted, parsed, rejected, values, wire } from './fixtures.ts';

const kmh = (value: number): number => Math.round((value / 3.6) * 1e9) / 1e9;

// Treadmill Data 0x2ACD

test('TM-2: speed 12.50, average speed 12.00 km/h, HR 155', () => {
  const fields = parsed(parseMachineData(treadmillDataSpec, wire('02 01 E2 04 B0 04 9B')));
  assert.deepEqual(fields.values, { instantaneousSpeedKmh: 12.5, averageSpeedKmh: 12, heartRateBpm: 155 });
  assert.deepEqual(values(treadmillData.decode(wire('02 01 E2 04 B0 04 9B'))), { speed: kmh(12.5), heart_rate: 155 });
});

test('TM-3: bit 0 set means no speed; inclination 2.5 % and ramp -1.5 degrees', () => {
  const fields = parsed(parseMachineData(treadmillDataSpec, wire('09 00 19 00 F1 FF')));
  assert.deepEqual(fields.values, { inclinationPercent: 2.5, rampAngleDeg: -1.5 });
  assert.deepEqual(values(treadmillData.decode(wire('09 00 19 00 F1 FF'))), { incline: 2.5 });
});

test('TM-4: force -200 N and power 350 W gated by one bit', () => {
  const fields = parsed(parseMachineData(treadmillDataSpec, wire('01 10 38 FF 5E 01')));
  assert.deepEqual(fields.values, { forceOnBeltN: -200, powerOutputW: 350 });
  assert.deepEqual(values(treadmillData.decode(wire('01 10 38 FF 5E 01'))), { power: 350 });
});

test('TM-5: flags only, nothing present', () => {
  assert.deepEqual(accepted(treadmillData.decode(wire('01 00'))).measurements, []);
});

test('treadmill pace: uint8 per FTMS 1.0, uint16 fallback (GSS reading) reported as a fact when the length says so exactly', () => {
  // Flags 0x0060 with speed: pace fields of 1 byte each -> 2 + 2 + 1 + 1.
  const narrow = parsed(parseMachineData(treadmillDataSpec, wire('60 00 E8 03 32 30')));
  assert.deepEqual([narrow.interpretation, narrow.values.instantaneousPace, narrow.values.averagePace], ['FTMS 1.0', 5, 4.8]);
  const wide = treadmillData.decode(wire('60 00 E8 03 2C 01 36 01'));
  assert.deepEqual(accepted(wide).facts, { ftmsLayout: 'pace uint16 (GSS)' });
  assert.deepEqual(values(wide), { speed: kmh(10) });
  // Neither layout fits 7 bytes exactly: the FTMS 1.0 fields are taken and the extra byte counted as a quirk.
  const between = accepted(treadmillData.decode(wire('60 00 E8 03 2C 01 36')));
  assert.deepEqual([between.facts, between.quirks], [undefined, ['1 unannounced trailing bytes']]);
  rejected(treadmillData.decode(wire('60 00 E8 03 2C')), /5 bytes, flags 0x0060 need 6/);
});

test('treadmill: energy triplet, MET 0.1, elapsed time as a reading; 0xFFFF total energy means not available', () => {
  const frame = '80 06 00 00 2C 01 10 0E 05 5A 3C 00';
  const fields = parsed(parseMachineData(treadmillDataSpec, wire(frame)));
  assert.deepEqual(fields.values, { instantaneousSpeedKmh: 0, totalEnergyKcal: 300, energyPerHourKcal: 3600, energyPerMinuteKcal: 5, metabolicEquivalent: 9, elapsedTimeS: 60 });
  assert.deepEqual(values(treadmillData.decode(wire(frame))), { speed: 0, energy: 300, elapsed_time: 60 });
  assert.deepEqual(values(treadmillData.decode(wire('81 00 FF FF FF FF FF'))), {});
});

// Indoor Bike Data 0x2AD2

test('IBD-1 (incyclist): speed, cadence, distance, power, elapsed time', () => {
  const frame = '54 08 E2 06 7E 00 BB 00 00 4D 00 00 00';
  assert.deepEqual(parsed(parseMachineData(indoorBikeDataSpec, wire(frame))).values, {
    instantaneousSpeedKmh: 17.62,
    instantaneousCadenceRpm: 63,
    totalDistanceM: 187,
    instantaneousPowerW: 77,
    elapsedTimeS: 0,
  });
  assert.deepEqual(values(indoorBikeData.decode(wire(frame))), { speed: kmh(17.62), cadence: 63, distance: 187, power: 77, elapsed_time: 0 });
});

test('IBD-2/IBD-3 (Jetblack Volt): resistance is 2 bytes; HR 0 means no pulse input', () => {
  assert.deepEqual(values(indoorBikeData.decode(wire('64 02 00 00 00 00 14 00 00 00 00'))), { speed: 0, cadence: 0, resistance: 20, power: 0 });
  const volt = indoorBikeData.decode(wire('64 02 C1 08 00 00 14 00 1C 00 00'));
  assert.deepEqual(values(volt), { speed: kmh(22.41), cadence: 0, resistance: 20, power: 28 });
  assert.equal(accepted(volt).facts, undefined);
});

test('IBD-4 (Rave): every optional field, 30 bytes, resistance 1', () => {
  const frame = new Uint8Array(30);
  frame.set([0xfe, 0x1f]);
  frame[13] = 0x01;
  const fields = parsed(parseMachineData(indoorBikeDataSpec, frame));
  assert.equal(fields.interpretation, 'FTMS 1.0');
  assert.equal(Object.keys(fields.values).length, 15);
  assert.equal(fields.values.resistanceLevel, 1);
  assert.equal(fields.values.instantaneousSpeedKmh, 0);
  assert.equal(fields.values.instantaneousPowerW, 0);
  assert.deepEqual(values(indoorBikeData.decode(frame)), { speed: 0, cadence: 0, distance: 0, resistance: 1, power: 0, energy: 0, elapsed_time: 0, remaining_time: 0 });
});

test('IBD-5 (BluetoothThing): speed 21.83 km/h, distance 504 m, power 32 W, average power 20 W', () => {
  const fields = parsed(parseMachineData(indoorBikeDataSpec, wire('D0 00 87 08 F8 01 00 20 00 14 00')));
  assert.deepEqual(fields.values, { instantaneousSpeedKmh: 21.83, totalDistanceM: 504, instantaneousPowerW: 32, averagePowerW: 20 });
});

test('IBD-7 (bluetooth-sig-python): speed 25 km/h, cadence 90 rpm, HR 155', () => {
  assert.deepEqual(values(indoorBikeData.decode(wire('04 02 C4 09 B4 00 9B'))), { speed: kmh(25), cadence: 90, heart_rate: 155 });
});

test('indoor bike resistance as uint8 x10 (GSS reading) is taken only when the length requires it', () => {
  const decoded = indoorBikeData.decode(wire('21 00 0C'));
  assert.deepEqual(values(decoded), { resistance: 120 });
  assert.deepEqual(accepted(decoded).facts, { ftmsLayout: 'resistance uint8 x10 (GSS)' });
  assert.deepEqual(values(indoorBikeData.decode(wire('21 00 FF FF'))), { resistance: -1 });
});

test('a record split over two notifications: each packet decodes on its own, together they carry the record', () => {
  // More Data set: no speed, cadence + power. Final packet: speed only.
  const first = values(indoorBikeData.decode(wire('45 00 B4 00 C8 00')));
  const last = values(indoorBikeData.decode(wire('00 00 C4 09')));
  assert.deepEqual({ ...first, ...last }, { cadence: 90, power: 200, speed: kmh(25) });
  assert.equal(first.speed, undefined);
});

test('indoor bike bits 1 and 2 are average speed then cadence, not the swapped XML names', () => {
  const fields = parsed(parseMachineData(indoorBikeDataSpec, wire('07 00 E8 03 B4 00')));
  assert.deepEqual(fields.values, { averageSpeedKmh: 10, instantaneousCadenceRpm: 90 });
});

// Rower Data 0x2AD1 (WaterRower vendor library, bluetooth-sig-python)

test('RW-1..RW-7: strokes, distance, signed power, HR, MET', () => {
  const rower = (frame: string) => parsed(parseMachineData(rowerDataSpec, wire(frame))).values;
  assert.deepEqual(rower('00 00 07 00 00'), { strokeRateSpm: 3.5, strokeCount: 0 });
  assert.deepEqual(rower('00 00 00 01 01'), { strokeRateSpm: 0, strokeCount: 257 });
  assert.deepEqual(rower('05 00 01 02 04'), { totalDistanceM: 262657 });
  assert.deepEqual(rower('21 00 FF FE'), { instantaneousPowerW: -257 });
  assert.deepEqual(rower('01 02 AA'), { heartRateBpm: 170 });
  assert.deepEqual(rower('01 04 7B'), { metabolicEquivalent: 12.3 });
  assert.deepEqual(rower('00 02 3C 96 00 8C'), { strokeRateSpm: 30, strokeCount: 150, heartRateBpm: 140 });
  assert.deepEqual(values(rowerData.decode(wire('00 02 3C 96 00 8C'))), { stroke_rate: 30, stroke_count: 150, heart_rate: 140 });
  assert.deepEqual(values(rowerData.decode(wire('05 00 01 02 04'))), { distance: 262657 });
  assert.deepEqual(values(rowerData.decode(wire('21 00 FF FE'))), { power: -257 });
});

test('rower resistance: sint16 (WaterRower: 01 02 -> 513, FF FE -> -257), uint8 x10 fallback', () => {
  assert.deepEqual(values(rowerData.decode(wire('81 00 01 02'))), { resistance: 513 });
  assert.deepEqual(values(rowerData.decode(wire('81 00 FF FE'))), { resistance: -257 });
  assert.deepEqual(values(rowerData.decode(wire('81 00 05'))), { resistance: 50 });
});

// Cross Trainer Data 0x2ACE (24-bit flags)

test('CT-1: speed 15 km/h, HR 160, moving backward', () => {
  const fields = parsed(parseMachineData(crossTrainerDataSpec, wire('00 88 00 DC 05 A0')));
  assert.deepEqual(fields.values, { instantaneousSpeedKmh: 15, heartRateBpm: 160, movingBackward: 1 });
  assert.deepEqual(values(crossTrainerData.decode(wire('00 88 00 DC 05 A0'))), { speed: kmh(15), heart_rate: 160 });
});

test('CT-3 and CT-4: no speed, backward; flags only', () => {
  assert.deepEqual(parsed(parseMachineData(crossTrainerDataSpec, wire('01 80 00'))).values, { movingBackward: 1 });
  assert.deepEqual(parsed(parseMachineData(crossTrainerDataSpec, wire('01 00 00'))).values, {});
});

test('cross trainer: steps, strides, elevation in whole metres, incline, resistance x0.1, power', () => {
  const frame = 'F9 01 00 8C 00 87 00 E8 03 0A 00 05 00 32 00 F6 FF 4B 00 96 00';
  assert.deepEqual(parsed(parseMachineData(crossTrainerDataSpec, wire(frame))).values, {
    stepsPerMinute: 140,
    averageStepRate: 135,
    strideCount: 100,
    positiveElevationGainM: 10,
    negativeElevationGainM: 5,
    inclinationPercent: 5,
    rampAngleDeg: -1,
    resistanceLevel: 7.5,
    instantaneousPowerW: 150,
  });
  assert.deepEqual(values(crossTrainerData.decode(wire(frame))), { cadence: 140, stride_count: 100, incline: 5, resistance: 7.5, power: 150 });
});

test('elapsed and remaining time become readings on every machine when the flags announce them', () => {
  // Treadmill bits 10 and 11, indoor bike and rower bits 11 and 12, cross trainer bits 13 and 14.
  assert.deepEqual(values(treadmillData.decode(wire('01 0C 58 02 2C 01'))), { elapsed_time: 600, remaining_time: 300 });
  assert.deepEqual(values(indoorBikeData.decode(wire('01 18 58 02 2C 01'))), { elapsed_time: 600, remaining_time: 300 });
  assert.deepEqual(values(rowerData.decode(wire('01 18 58 02 2C 01'))), { elapsed_time: 600, remaining_time: 300 });
  assert.deepEqual(values(crossTrainerData.decode(wire('01 60 00 58 02 2C 01'))), { elapsed_time: 600, remaining_time: 300 });
  assert.deepEqual(values(rowerData.decode(wire('01 08 10 0E'))), { elapsed_time: 3600 }, 'remaining time only when announced');
  rejected(rowerData.decode(wire('01 18 58 02 2C')), /5 bytes, flags 0x1801 need 6/);
});

// Stair Climber Data 0x2AD0

test('stair climber: every field, floors to remaining time, in flag order', () => {
  const frame = 'FE 03 0C 00 3C 00 3A 00 24 00 2C 01 2D 00 1C 02 09 80 41 58 02 2C 01';
  assert.deepEqual(parsed(parseMachineData(stairClimberDataSpec, wire(frame))).values, {
    floors: 12,
    stepsPerMinute: 60,
    averageStepRate: 58,
    positiveElevationGainM: 36,
    strideCount: 300,
    totalEnergyKcal: 45,
    energyPerHourKcal: 540,
    energyPerMinuteKcal: 9,
    heartRateBpm: 128,
    metabolicEquivalent: 6.5,
    elapsedTimeS: 600,
    remainingTimeS: 300,
  });
  assert.deepEqual(values(stairClimberData.decode(wire(frame))), {
    floors: 12,
    cadence: 60,
    elevation_gain: 36,
    stride_count: 300,
    energy: 45,
    heart_rate: 128,
    elapsed_time: 600,
    remaining_time: 300,
  });
});

test('stair climber: bit 0 clear means floors are present; set, they are not', () => {
  assert.deepEqual(values(stairClimberData.decode(wire('00 00 0C 00'))), { floors: 12 });
  assert.deepEqual(values(stairClimberData.decode(wire('41 00 80'))), { heart_rate: 128 });
  assert.deepEqual(values(stairClimberData.decode(wire('01 00'))), {});
});

test('stair climber: records shorter than their flags are refused', () => {
  rejected(stairClimberData.decode(wire('00')), /shorter than its flags/);
  rejected(stairClimberData.decode(wire('00 00 0C')), /3 bytes, flags 0x0000 need 4/);
  rejected(stairClimberData.decode(wire('09 00 24')), /3 bytes, flags 0x0009 need 4/);
});

test('records shorter than their flags announce are refused with a reason', () => {
  rejected(indoorBikeData.decode(wire('')), /shorter than its flags/);
  rejected(indoorBikeData.decode(wire('54')), /shorter than its flags/);
  rejected(crossTrainerData.decode(wire('01 00')), /shorter than its flags/);
  rejected(indoorBikeData.decode(wire('54 08 E2 06 7E 00 BB 00 00 4D 00 00')), /12 bytes, flags 0x0854 need 13/);
  rejected(treadmillData.decode(wire('01 0C 58 02 2C')), /5 bytes, flags 0x0c01 need 6/);
  rejected(stairClimberData.decode(wire('41 00')), /2 bytes, flags 0x0041 need 3/);
  // 0xFFFF x 0.01 km/h is 182 m/s: impossible, refused rather than sent.
  rejected(treadmillData.decode(wire('00 00 FF FF')), /speed 182.0\d* m\/s outside 0..100/);
});

test('unannounced trailing bytes (Concept2 PM5: one, commercial treadmills: four) are ignored and counted as a quirk', () => {
  const pm5 = accepted(rowerData.decode(wire('00 02 3C 96 00 8C 00')));
  assert.deepEqual(values(rowerData.decode(wire('00 02 3C 96 00 8C 00'))), { stroke_rate: 30, stroke_count: 150, heart_rate: 140 });
  assert.deepEqual(pm5.quirks, ['1 unannounced trailing bytes']);
  const treadmill = treadmillData.decode(wire('02 01 E2 04 B0 04 9B 00 00 00 00'));
  assert.deepEqual(values(treadmill), { speed: kmh(12.5), heart_rate: 155 });
  assert.deepEqual(accepted(treadmill).quirks, ['4 unannounced trailing bytes']);
  const bike = indoorBikeData.decode(wire('54 08 E2 06 7E 00 BB 00 00 4D 00 00 00 00'));
  assert.deepEqual(values(bike), { speed: kmh(17.62), cadence: 63, distance: 187, power: 77, elapsed_time: 0 });
  assert.deepEqual(accepted(bike).quirks, ['1 unannounced trailing bytes']);
  assert.deepEqual(accepted(crossTrainerData.decode(wire('00 88 00 DC 05 A0 FF'))).quirks, ['1 unannounced trailing bytes']);
  assert.deepEqual(accepted(stairClimberData.decode(wire('00 00 0C 00 01 02'))).quirks, ['2 unannounced trailing bytes']);
  // A record exactly as specified carries no quirks at all.
  assert.equal(accepted(rowerData.decode(wire('00 02 3C 96 00 8C'))).quirks, undefined);
});

test('reserved flag bits are ignored and counted as a quirk; the announced fields still decode', () => {
  const cases: [typeof indoorBikeData, string, string][] = [
    [indoorBikeData, '01 20', 'flags 0x2001 set reserved bits 0x2000'],
    [treadmillData, '01 80', 'flags 0x8001 set reserved bits 0x8000'],
    [rowerData, '01 40', 'flags 0x4001 set reserved bits 0x4000'],
    [crossTrainerData, '01 00 01', 'flags 0x010001 set reserved bits 0x010000'],
    [stairClimberData, '01 04', 'flags 0x0401 set reserved bits 0x0400'],
  ];
  for (const [profile, frame, quirk] of cases) {
    const decoded = accepted(profile.decode(wire(frame)));
    assert.deepEqual([decoded.measurements, decoded.quirks], [[], [quirk]], frame);
  }
  // Walking pad: reserved bit 15 and a trailing byte on a speed record; both quirks, speed still read.
  const pad = treadmillData.decode(wire('00 80 E8 03 00'));
  assert.deepEqual(values(pad), { speed: kmh(10) });
  assert.deepEqual(accepted(pad).quirks, ['flags 0x8000 set reserved bits 0x8000', '1 unannounced trailing bytes']);
});
