import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fitnessMachineFeature } from '../../../../src/sources/ble/profiles/fitness-machine-feature.ts';
import { fitnessMachineStatus } from '../../../../src/sources/ble/profiles/fitness-machine-status.ts';
import { supportedPowerRange, supportedResistanceLevelRange } from '../../../../src/sources/ble/profiles/supported-ranges.ts';
import { trainingStatus } from '../../../../src/sources/ble/profiles/training-status.ts';
import { accepted, rejected, wire } from './fixtures.ts';

test('feature (incyclist): power and cadence, no heart rate; power and simulation targets', () => {
  const facts = accepted(fitnessMachineFeature.decode(wire('03 40 00 00 0C 60 00 00'))).facts;
  assert.deepEqual(facts, {
    ftmsMachineFeatures: 'average_speed,cadence,power_measurement',
    ftmsTargetSettings: 'resistance,power,indoor_bike_simulation,wheel_circumference',
  });
  assert.doesNotMatch(String(facts?.ftmsMachineFeatures), /heart_rate/);
});

test('feature: bits newer than the table are named, not dropped; wrong length is refused', () => {
  assert.deepEqual(accepted(fitnessMachineFeature.decode(wire('00 00 02 80 00 00 00 00'))).facts, {
    ftmsMachineFeatures: 'bit17,bit31',
    ftmsTargetSettings: '',
  });
  rejected(fitnessMachineFeature.decode(wire('03 40 00 00 0C 60 00')), /7 bytes, expected 8/);
  rejected(fitnessMachineFeature.decode(wire('')), /0 bytes, expected 8/);
});

test('status 0x12 (BluetoothThing, MINOURA): simulation parameters', () => {
  const facts = accepted(fitnessMachineStatus.decode(wire('12 00 00 5E 01 21 22'))).facts;
  assert.deepEqual(facts, {
    ftmsStatus: 'indoor_bike_simulation_changed',
    windSpeedMps: 0,
    gradePercent: 3.5,
    rollingResistanceCoefficient: 0.0033,
    windResistanceKgPerM: 0.34,
  });
});

test('status 0x08 (incyclist): target power 96 W; a bare 08 (Think XX01) is too short', () => {
  assert.deepEqual(accepted(fitnessMachineStatus.decode(wire('08 60 00'))).facts, { ftmsStatus: 'target_power_changed', targetPowerW: 96 });
  rejected(fitnessMachineStatus.decode(wire('08')), /1 bytes, expected 3/);
});

test('status events without parameters, signed parameters, and bad input', () => {
  assert.deepEqual(accepted(fitnessMachineStatus.decode(wire('04'))).facts, { ftmsStatus: 'started_or_resumed_by_user' });
  assert.deepEqual(accepted(fitnessMachineStatus.decode(wire('06 EC FF'))).facts, { ftmsStatus: 'target_incline_changed', targetInclinePercent: -2 });
  assert.deepEqual(accepted(fitnessMachineStatus.decode(wire('0F 2C 01 58 02'))).facts, {
    ftmsStatus: 'target_time_in_two_zones_changed',
    targetFatBurnZoneTimeS: 300,
    targetFitnessZoneTimeS: 600,
  });
  rejected(fitnessMachineStatus.decode(wire('')), /empty/);
  rejected(fitnessMachineStatus.decode(wire('04 00')), /2 bytes, expected 1/);
  rejected(fitnessMachineStatus.decode(wire('42')), /unknown fitness machine status 0x42/);
});

// Training Status 0x2AD3, Supported Resistance Level Range 0x2AD6, Supported Power Range 0x2AD8

test('training status: the code and its name become facts, with the machine text when the flags announce one', () => {
  assert.deepEqual(accepted(trainingStatus.decode(wire('00 01'))).facts, { ftmsTrainingStatus: 1, ftmsTrainingStatusName: 'idle' });
  assert.deepEqual(accepted(trainingStatus.decode(wire('01 0D 51 75 69 63 6B 00'))).facts, {
    ftmsTrainingStatus: 13,
    ftmsTrainingStatusName: 'manual_mode',
    ftmsTrainingStatusText: 'Quick',
  });
  assert.equal(accepted(trainingStatus.decode(wire('00 0F'))).facts?.ftmsTrainingStatusName, 'post_workout');
  // Codes newer than the table are named by number, not refused.
  assert.equal(accepted(trainingStatus.decode(wire('00 20'))).facts?.ftmsTrainingStatusName, 'status_0x20');
});

test('training status: too short, invalid UTF-8 or control characters are refused', () => {
  rejected(trainingStatus.decode(wire('')), /0 bytes, expected at least 2/);
  rejected(trainingStatus.decode(wire('01')), /1 bytes, expected at least 2/);
  rejected(trainingStatus.decode(wire('01 02 C3 28')), /not valid UTF-8/);
  rejected(trainingStatus.decode(wire('01 02 41 07 42')), /control characters/);
});

test('supported resistance level range (0.1 resolution) and power range (W) become facts', () => {
  assert.deepEqual(accepted(supportedResistanceLevelRange.decode(wire('0A 00 C8 00 05 00'))).facts, {
    ftmsResistanceLevelMin: 1,
    ftmsResistanceLevelMax: 20,
    ftmsResistanceLevelIncrement: 0.5,
  });
  assert.deepEqual(accepted(supportedPowerRange.decode(wire('F6 FF 90 01 05 00'))).facts, { ftmsPowerWMin: -10, ftmsPowerWMax: 400, ftmsPowerWIncrement: 5 });
});

test('supported ranges: short records and a minimum above the maximum are refused', () => {
  rejected(supportedPowerRange.decode(wire('19 00 90 01 05')), /5 bytes, expected 6/);
  rejected(supportedResistanceLevelRange.decode(wire('')), /0 bytes, expected 6/);
  rejected(supportedPowerRange.decode(wire('90 01 19 00 05 00')), /minimum 400 above maximum 25/);
});
