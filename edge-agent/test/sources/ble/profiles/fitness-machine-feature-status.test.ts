import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fitnessMachineFeature } from '../../../../src/sources/ble/profiles/fitness-machine-feature.ts';
import { fitnessMachineStatus } from '../../../../src/sources/ble/profiles/fitness-machine-status.ts';
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
