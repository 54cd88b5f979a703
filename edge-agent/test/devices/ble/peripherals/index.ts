/**
 * The simulated peripheral kinds, by the name a scenario file uses for them.
 */
import type { TObject } from '@sinclair/typebox';
import type { SimulatedPeripheral } from '../peripheral.ts';
import { HeartRateStrap, HeartRateStrapSchema } from './heart-rate-strap.ts';
import { PolarBroadcastStrap, PolarBroadcastStrapSchema } from './polar-broadcast-strap.ts';
import { PowerMeter, PowerMeterSchema } from './power-meter.ts';
import { SmartBike, SmartBikeSchema } from './smart-bike.ts';
import { SpeedCadenceSensor, SpeedCadenceSensorSchema } from './speed-cadence-sensor.ts';
import { StairClimber, StairClimberSchema } from './stair-climber.ts';
import { Treadmill, TreadmillSchema } from './treadmill.ts';

export interface PeripheralKind {
  schema: TObject;
  // The options were checked against `schema` before this is called.
  create(options: object): SimulatedPeripheral;
}

export const PERIPHERAL_KINDS = {
  'heart-rate-strap': { schema: HeartRateStrapSchema, create: (options: object) => new HeartRateStrap(options) },
  'power-meter': { schema: PowerMeterSchema, create: (options: object) => new PowerMeter(options) },
  'speed-cadence-sensor': { schema: SpeedCadenceSensorSchema, create: (options: object) => new SpeedCadenceSensor(options) },
  treadmill: { schema: TreadmillSchema, create: (options: object) => new Treadmill(options) },
  'smart-bike': { schema: SmartBikeSchema, create: (options: object) => new SmartBike(options) },
  'polar-broadcast-strap': { schema: PolarBroadcastStrapSchema, create: (options: object) => new PolarBroadcastStrap(options) },
  'stair-climber': { schema: StairClimberSchema, create: (options: object) => new StairClimber(options) },
} as const satisfies Record<string, PeripheralKind>;

export type PeripheralKindName = keyof typeof PERIPHERAL_KINDS;

export { HeartRateStrap, heartRateStrap, HEART_RATE_MEASUREMENT_UUID, type HeartRateStrapOptions } from './heart-rate-strap.ts';
export { PolarBroadcastStrap, polarBroadcastStrap, POLAR_COMPANY_ID, type PolarBroadcastStrapOptions } from './polar-broadcast-strap.ts';
export { PowerMeter, powerMeter, CYCLING_POWER_MEASUREMENT_UUID, type PowerMeterOptions } from './power-meter.ts';
export { SmartBike, smartBike, type SmartBikeOptions } from './smart-bike.ts';
export { SpeedCadenceSensor, speedCadenceSensor, CSC_MEASUREMENT_UUID, type SpeedCadenceSensorOptions } from './speed-cadence-sensor.ts';
export { StairClimber, stairClimber, type StairClimberOptions } from './stair-climber.ts';
export { Treadmill, treadmill, type TreadmillOptions } from './treadmill.ts';
export { FtmsUuid, ControlPointOpcode, ControlPointResult } from './fitness-machine.ts';
export { DeviceInformationUuid, BATTERY_LEVEL_UUID } from './standard-services.ts';
