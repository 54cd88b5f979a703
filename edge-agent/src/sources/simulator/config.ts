import { Type, type Static } from '@sinclair/typebox';
import { PulsebridgeError } from '@pulsebridge/runtime';
import { parseSection } from '../config-section.ts';

export type SimulatorErrorCode = 'invalid_range';

/** A request the simulator cannot answer, e.g. readings for a reversed time range. */
export class SimulatorError extends PulsebridgeError<SimulatorErrorCode> {}

/** The fastest rate a sensor may be driven at: keeps sample times at least 10 ms apart, so whole-ms timestamps stay distinct. */
export const MAX_SENSOR_RATE_HZ = 100;
export const MAX_ATHLETES = 1_000;

export const EquipmentMix = Type.Object(
  {
    bike: Type.Number({ minimum: 0, default: 0.5, description: 'weight of athletes on a smart trainer (ANT+ FE-C)' }),
    treadmill: Type.Number({ minimum: 0, default: 0.2, description: 'weight of athletes on a treadmill (BLE FTMS)' }),
    rower: Type.Number({ minimum: 0, default: 0.2, description: 'weight of athletes on a rowing machine (CSAFE over serial)' }),
    outdoor: Type.Number({ minimum: 0, default: 0.1, description: 'weight of athletes running outdoors with a GPS receiver' }),
  },
  {
    default: {},
    additionalProperties: false,
    description: 'Relative share of each kind of equipment; all zero means heart-rate straps only',
  },
);

export const OutdoorTrack = Type.Object(
  {
    latitude: Type.Number({ minimum: -85, maximum: 85, default: 52.5145, description: 'start point, WGS84 degrees' }),
    longitude: Type.Number({ minimum: -180, maximum: 180, default: 13.3501, description: 'start point, WGS84 degrees' }),
    altitude: Type.Number({ minimum: -400, maximum: 8_000, default: 35, description: 'start point, metres above sea level' }),
    loopMeters: Type.Number({ minimum: 200, maximum: 20_000, default: 1_600, description: 'length of one lap around the park' }),
  },
  { default: {}, additionalProperties: false, description: 'Where outdoor athletes run: laps of a park loop starting at this point' },
);

export const SimulatorConfig = Type.Object(
  {
    athletes: Type.Integer({ minimum: 0, maximum: MAX_ATHLETES, default: 20, description: 'every athlete wears a heart-rate strap and uses one piece of equipment' }),
    seed: Type.Integer({ minimum: 0, maximum: 0xffff_ffff, default: 1, description: 'same seed and same time give the same sensor ids and values' }),
    sensorRateHz: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: MAX_SENSOR_RATE_HZ, description: 'drive every sensor at this rate instead of its real one' })),
    maxReadings: Type.Optional(Type.Integer({ minimum: 0, description: 'stop emitting after exactly this many readings' })),
    tickMs: Type.Integer({ minimum: 10, maximum: 1_000, default: 50, description: 'period of the one timer that emits what is due' }),
    rrIntervals: Type.Boolean({ default: true, description: 'emit one rr_interval reading per heartbeat' }),
    equipment: EquipmentMix,
    outdoor: OutdoorTrack,
    admission: Type.Boolean({
      default: false,
      description:
        "simulate radio sensors that must be paired: a sensor sends readings only while admitted (the allow lists, the hub's pairing list or a join window), and reports a signal strength, so the demo and tests can pair simulated straps",
    }),
  },
  { additionalProperties: false },
);
export type SimulatorConfig = Static<typeof SimulatorConfig>;

/** Fills defaults and checks; throws a ConfigError listing every problem. */
export function simulatorConfig(input: unknown = {}): SimulatorConfig {
  return parseSection(SimulatorConfig, input);
}
