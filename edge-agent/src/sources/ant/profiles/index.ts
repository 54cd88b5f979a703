/**
 * The ANT+ profiles the agent decodes, by device type: adding a device is a decoder file, a line here
 * and its vectors test.
 */
import type { Decoded } from '../../measurement.ts';
import { BIKE_POWER_CHANNEL_PERIOD, BIKE_POWER_DEVICE_TYPE, decodeBikePower } from './bike-power.ts';
import {
  CADENCE_CHANNEL_PERIOD,
  CADENCE_DEVICE_TYPE,
  decodeBikeCadence,
  decodeBikeSpeed,
  decodeSpeedAndCadence,
  SPEED_AND_CADENCE_CHANNEL_PERIOD,
  SPEED_AND_CADENCE_DEVICE_TYPE,
  SPEED_CHANNEL_PERIOD,
  SPEED_DEVICE_TYPE,
} from './bike-speed-cadence.ts';
import { decodeFitnessEquipment, FITNESS_EQUIPMENT_CHANNEL_PERIOD, FITNESS_EQUIPMENT_DEVICE_TYPE } from './fitness-equipment.ts';
import { decodeHeartRate, HEART_RATE_CHANNEL_PERIOD, HEART_RATE_DEVICE_TYPE } from './heart-rate.ts';
import type { AntDecodeContext, AntPageDecoder } from './page.ts';
import { decodeStrideSpeedDistance, STRIDE_SPEED_DISTANCE_CHANNEL_PERIOD, STRIDE_SPEED_DISTANCE_DEVICE_TYPE } from './stride-speed-distance.ts';

export interface AntProfile {
  /** Short name used in logs, metrics and benchmarks. */
  name: string;
  deviceType: number;
  /** Channel period (1/32768 s) to open a channel for this profile. */
  channelPeriod: number;
  /**
   * The profile's decoder with its state made opaque: the source keeps whatever state a sensor's last
   * page returned and hands it back with that sensor's next page.
   */
  decode(page: Uint8Array, previous: unknown, context?: AntDecodeContext): Decoded<unknown>;
}

function profile<State>(name: string, deviceType: number, channelPeriod: number, decode: AntPageDecoder<State>): AntProfile {
  return {
    name,
    deviceType,
    channelPeriod,
    // The state handed back is always one this decoder returned for the same sensor, so the cast holds.
    decode: (page, previous, context) => decode(page, previous as State | undefined, context),
  };
}

export const ANT_PROFILES: ReadonlyMap<number, AntProfile> = new Map(
  [
    profile('heart_rate', HEART_RATE_DEVICE_TYPE, HEART_RATE_CHANNEL_PERIOD, decodeHeartRate),
    profile('speed_cadence', SPEED_AND_CADENCE_DEVICE_TYPE, SPEED_AND_CADENCE_CHANNEL_PERIOD, decodeSpeedAndCadence),
    profile('cadence', CADENCE_DEVICE_TYPE, CADENCE_CHANNEL_PERIOD, decodeBikeCadence),
    profile('speed', SPEED_DEVICE_TYPE, SPEED_CHANNEL_PERIOD, decodeBikeSpeed),
    profile('stride_speed_distance', STRIDE_SPEED_DISTANCE_DEVICE_TYPE, STRIDE_SPEED_DISTANCE_CHANNEL_PERIOD, decodeStrideSpeedDistance),
    profile('bike_power', BIKE_POWER_DEVICE_TYPE, BIKE_POWER_CHANNEL_PERIOD, decodeBikePower),
    profile('fitness_equipment', FITNESS_EQUIPMENT_DEVICE_TYPE, FITNESS_EQUIPMENT_CHANNEL_PERIOD, decodeFitnessEquipment),
  ].map((p) => [p.deviceType, p]),
);

/** The profile for a device type as received (the pairing bit, if present, is ignored). */
export function antProfileFor(deviceType: number): AntProfile | undefined {
  return ANT_PROFILES.get(deviceType & 0x7f);
}
