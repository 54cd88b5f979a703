/**
 * The metric catalogue: every quantity a reading can carry, its unit, and the resolution it travels with.
 *
 * `code` is what goes on the wire. Codes are append-only: never reuse or renumber one, because agents in
 * the field and stored data keep using the old meaning.
 *
 * `decimals` fixes the wire resolution: a value is sent as round(value * 10^decimals). It is chosen at or
 * below what the best sensors of that kind resolve, so quantising loses nothing real.
 */
export interface MetricSpec {
  readonly code: number;
  readonly unit: string;
  readonly decimals: number;
  readonly min: number;
  readonly max: number;
  readonly description: string;
}

export const METRICS = {
  heart_rate: { code: 1, unit: 'bpm', decimals: 0, min: 0, max: 300, description: 'Heart rate' },
  rr_interval: { code: 2, unit: 'ms', decimals: 0, min: 0, max: 65_535, description: 'Time between two heartbeats; the reading time is the later beat' },
  power: { code: 3, unit: 'W', decimals: 0, min: -32_768, max: 32_767, description: 'Mechanical power' },
  cadence: { code: 4, unit: 'rpm', decimals: 1, min: 0, max: 400, description: 'Crank, step or pedal cadence' },
  speed: { code: 5, unit: 'm/s', decimals: 3, min: 0, max: 100, description: 'Speed over ground or belt' },
  distance: { code: 6, unit: 'm', decimals: 1, min: 0, max: 100_000_000, description: 'Distance accumulated since the session started' },
  incline: { code: 7, unit: '%', decimals: 1, min: -100, max: 100, description: 'Treadmill incline (grade)' },
  stroke_rate: { code: 8, unit: 'rpm', decimals: 1, min: 0, max: 255, description: 'Rowing strokes per minute' },
  energy: { code: 9, unit: 'kcal', decimals: 0, min: 0, max: 1_000_000, description: 'Energy expended since the session started' },
  latitude: { code: 10, unit: 'degrees', decimals: 7, min: -90, max: 90, description: 'WGS84 latitude' },
  longitude: { code: 11, unit: 'degrees', decimals: 7, min: -180, max: 180, description: 'WGS84 longitude' },
  altitude: { code: 12, unit: 'm', decimals: 1, min: -1_000, max: 10_000, description: 'Altitude above mean sea level' },
  battery: { code: 13, unit: '%', decimals: 0, min: 0, max: 100, description: 'Battery level' },
  stroke_count: { code: 14, unit: 'count', decimals: 0, min: 0, max: 10_000_000, description: 'Strokes since the session started' },
  heading: { code: 15, unit: 'degrees', decimals: 1, min: 0, max: 360, description: 'Course over ground, clockwise from true north' },
  torque: { code: 16, unit: 'N·m', decimals: 2, min: -1_000, max: 1_000, description: 'Crank or wheel torque' },
  pedal_balance: { code: 17, unit: '%', decimals: 1, min: 0, max: 100, description: 'Share of power from the left pedal' },
  resistance: { code: 18, unit: 'level', decimals: 1, min: -1_000, max: 1_000, description: 'Resistance level of a fitness machine' },
  stride_count: { code: 19, unit: 'count', decimals: 0, min: 0, max: 10_000_000, description: 'Strides since the session started' },
  gps_speed: { code: 20, unit: 'm/s', decimals: 3, min: 0, max: 100, description: 'Speed over ground reported by a GPS receiver' },
  torque_effectiveness_left: { code: 21, unit: '%', decimals: 1, min: 0, max: 100, description: 'Share of the left crank torque that drives the pedal forward' },
  torque_effectiveness_right: { code: 22, unit: '%', decimals: 1, min: 0, max: 100, description: 'Share of the right crank torque that drives the pedal forward' },
  pedal_smoothness_left: { code: 23, unit: '%', decimals: 1, min: 0, max: 100, description: 'Average over peak power of the left pedal stroke' },
  pedal_smoothness_right: { code: 24, unit: '%', decimals: 1, min: 0, max: 100, description: 'Average over peak power of the right pedal stroke' },
  pedal_smoothness: { code: 25, unit: '%', decimals: 1, min: 0, max: 100, description: 'Average over peak power of both pedals together, from meters that cannot tell them apart' },
  stride_length: { code: 26, unit: 'm', decimals: 2, min: 0, max: 10, description: 'Length of one running stride' },
  elapsed_time: {
    code: 27,
    unit: 's',
    decimals: 0,
    min: 0,
    max: 10_000_000,
    description: 'Time since the workout started, as the machine counts it (FTMS elapsed time, CSAFE work time)',
  },
  remaining_time: { code: 28, unit: 's', decimals: 0, min: 0, max: 10_000_000, description: 'Time left in the programmed workout, as the machine counts it' },
  odometer: { code: 29, unit: 'm', decimals: 0, min: 0, max: 4_294_967_295, description: 'Lifetime distance of the machine' },
  floors: { code: 30, unit: 'count', decimals: 0, min: 0, max: 65_535, description: 'Floors climbed since the session started (stair climber)' },
  elevation_gain: { code: 31, unit: 'm', decimals: 1, min: 0, max: 100_000, description: 'Positive elevation gained since the session started' },
} as const satisfies Record<string, MetricSpec>;

export type MetricId = keyof typeof METRICS;

export const METRIC_IDS = Object.keys(METRICS) as MetricId[];

const byCode = new Map<number, MetricId>(METRIC_IDS.map((id) => [METRICS[id].code, id]));

export function metricByCode(code: number): MetricId | undefined {
  return byCode.get(code);
}

export function isMetricId(value: string): value is MetricId {
  return Object.hasOwn(METRICS, value);
}
