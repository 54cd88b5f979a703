/**
 * Fitness Machine Feature 0x2ACC: what the machine measures and which targets it accepts, read once after
 * connecting. Becomes two facts listing feature names, e.g. "average_speed,cadence,power_measurement".
 */
import { refused } from '../../measurement.ts';
import { readField, type BleProfile } from './profile.ts';

const MACHINE_FEATURES = [
  'average_speed',
  'cadence',
  'total_distance',
  'inclination',
  'elevation_gain',
  'pace',
  'step_count',
  'resistance_level',
  'stride_count',
  'expended_energy',
  'heart_rate_measurement',
  'metabolic_equivalent',
  'elapsed_time',
  'remaining_time',
  'power_measurement',
  'force_on_belt_and_power_output',
  'user_data_retention',
];

const TARGET_SETTINGS = [
  'speed',
  'inclination',
  'resistance',
  'power',
  'heart_rate',
  'expended_energy',
  'step_number',
  'stride_number',
  'distance',
  'training_time',
  'time_in_two_heart_rate_zones',
  'time_in_three_heart_rate_zones',
  'time_in_five_heart_rate_zones',
  'indoor_bike_simulation',
  'wheel_circumference',
  'spin_down_control',
  'cadence',
];

/** Bits newer than this table are named "bit<n>" rather than refused: a feature list cannot misalign. */
function names(bits: number, table: string[]): string {
  const out: string[] = [];
  for (let bit = 0; bit < 32; bit++) {
    if ((bits >>> bit) & 1) out.push(table[bit] ?? `bit${bit}`);
  }
  return out.join(',');
}

export const fitnessMachineFeature: BleProfile = {
  name: 'fitness_machine_feature',
  decode(data) {
    if (data.length !== 8) return refused(`fitness machine feature of ${data.length} bytes, expected 8`);
    return {
      ok: true,
      measurements: [],
      facts: {
        ftmsMachineFeatures: names(readField(data, 0, 'u32'), MACHINE_FEATURES),
        ftmsTargetSettings: names(readField(data, 4, 'u32'), TARGET_SETTINGS),
      },
    };
  },
};
