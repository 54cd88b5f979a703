/**
 * Fitness Machine Status 0x2ADA: events the machine announces (started, stopped, a target changed). They
 * travel as facts: `ftmsStatus` names the event, parameter facts carry its values in catalogue-style units.
 */
import { refused } from '../../measurement.ts';
import { FIELD_SIZE, hex, readField, type BleProfile, type FieldType } from './profile.ts';

interface Parameter {
  fact: string;
  type: FieldType;
  divisor?: number;
}

interface StatusEvent {
  name: string;
  parameters: Parameter[];
}

function zoneTimes(zones: string[]): Parameter[] {
  return zones.map((zone) => ({ fact: `target${zone[0]?.toUpperCase()}${zone.slice(1)}ZoneTimeS`, type: 'u16' }));
}

const STATUS_EVENTS: Record<number, StatusEvent> = {
  0x01: { name: 'reset', parameters: [] },
  // 1 = stopped, 2 = paused.
  0x02: { name: 'stopped_or_paused_by_user', parameters: [{ fact: 'stopCode', type: 'u8' }] },
  0x03: { name: 'stopped_by_safety_key', parameters: [] },
  0x04: { name: 'started_or_resumed_by_user', parameters: [] },
  0x05: { name: 'target_speed_changed', parameters: [{ fact: 'targetSpeedKmh', type: 'u16', divisor: 100 }] },
  0x06: { name: 'target_incline_changed', parameters: [{ fact: 'targetInclinePercent', type: 's16', divisor: 10 }] },
  0x07: { name: 'target_resistance_changed', parameters: [{ fact: 'targetResistance', type: 'u8', divisor: 10 }] },
  0x08: { name: 'target_power_changed', parameters: [{ fact: 'targetPowerW', type: 's16' }] },
  0x09: { name: 'target_heart_rate_changed', parameters: [{ fact: 'targetHeartRateBpm', type: 'u8' }] },
  0x0a: { name: 'target_expended_energy_changed', parameters: [{ fact: 'targetEnergyKcal', type: 'u16' }] },
  0x0b: { name: 'target_steps_changed', parameters: [{ fact: 'targetSteps', type: 'u16' }] },
  0x0c: { name: 'target_strides_changed', parameters: [{ fact: 'targetStrides', type: 'u16' }] },
  0x0d: { name: 'target_distance_changed', parameters: [{ fact: 'targetDistanceM', type: 'u24' }] },
  0x0e: { name: 'target_training_time_changed', parameters: [{ fact: 'targetTrainingTimeS', type: 'u16' }] },
  0x0f: { name: 'target_time_in_two_zones_changed', parameters: zoneTimes(['fatBurn', 'fitness']) },
  0x10: { name: 'target_time_in_three_zones_changed', parameters: zoneTimes(['light', 'moderate', 'hard']) },
  0x11: { name: 'target_time_in_five_zones_changed', parameters: zoneTimes(['veryLight', 'light', 'moderate', 'hard', 'maximum']) },
  0x12: {
    name: 'indoor_bike_simulation_changed',
    parameters: [
      { fact: 'windSpeedMps', type: 's16', divisor: 1000 },
      { fact: 'gradePercent', type: 's16', divisor: 100 },
      { fact: 'rollingResistanceCoefficient', type: 'u8', divisor: 10_000 },
      { fact: 'windResistanceKgPerM', type: 'u8', divisor: 100 },
    ],
  },
  0x13: { name: 'wheel_circumference_changed', parameters: [{ fact: 'wheelCircumferenceMm', type: 'u16', divisor: 10 }] },
  0x14: { name: 'spin_down_status', parameters: [{ fact: 'spinDownStatus', type: 'u8' }] },
  0x15: { name: 'target_cadence_changed', parameters: [{ fact: 'targetCadenceRpm', type: 'u16', divisor: 2 }] },
  0xff: { name: 'control_permission_lost', parameters: [] },
};

export const fitnessMachineStatus: BleProfile = {
  name: 'fitness_machine_status',
  decode(data) {
    const opCode = data[0];
    if (opCode === undefined) return refused('empty fitness machine status');
    const event = STATUS_EVENTS[opCode];
    if (event === undefined) return refused(`unknown fitness machine status ${hex(opCode, 2)}`);
    const expected = event.parameters.reduce((size, parameter) => size + FIELD_SIZE[parameter.type], 1);
    if (data.length !== expected) return refused(`${event.name} status of ${data.length} bytes, expected ${expected}`);
    const facts: Record<string, string | number> = { ftmsStatus: event.name };
    let offset = 1;
    for (const parameter of event.parameters) {
      facts[parameter.fact] = readField(data, offset, parameter.type) / (parameter.divisor ?? 1);
      offset += FIELD_SIZE[parameter.type];
    }
    return { ok: true, measurements: [], facts };
  },
};
