export { SimulatorSource, type SimulatorOptions, type SimulatedAthleteInfo } from './simulator.ts';
export { SimulatorConfig, EquipmentMix, OutdoorTrack, SimulatorError, simulatorConfig, type SimulatorErrorCode, MAX_ATHLETES, MAX_SENSOR_RATE_HZ } from './config.ts';
export type { AthleteProfile, EquipmentKind } from './athlete.ts';
export { NATIVE_RATE_HZ, type SensorKind } from './sensors.ts';
