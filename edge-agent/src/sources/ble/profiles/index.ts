/**
 * The BLE profile table: characteristic UUID (16-bit, lower-case hex) to decoder. Adding a device profile
 * is a decoder file, one line here and its vectors test.
 */
import { batteryLevel } from './battery.ts';
import { crossTrainerData } from './cross-trainer.ts';
import { cscMeasurement } from './cycling-speed-cadence.ts';
import { cyclingPowerMeasurement } from './cycling-power.ts';
import { deviceInformationString } from './device-information.ts';
import { fitnessMachineFeature } from './fitness-machine-feature.ts';
import { fitnessMachineStatus } from './fitness-machine-status.ts';
import { heartRateMeasurement } from './heart-rate.ts';
import { indoorBikeData } from './indoor-bike.ts';
import type { BleProfile } from './profile.ts';
import { rowerData } from './rower.ts';
import { rscMeasurement } from './running-speed-cadence.ts';
import { treadmillData } from './treadmill.ts';

export { DEFAULT_WHEEL_CIRCUMFERENCE_M, type BleProfile, type DecodeContext } from './profile.ts';

export const BLE_PROFILES: ReadonlyMap<string, BleProfile<unknown>> = new Map<string, BleProfile<unknown>>([
  ['2a37', heartRateMeasurement],
  ['2a19', batteryLevel],
  ['2a29', deviceInformationString('manufacturer')],
  ['2a24', deviceInformationString('model')],
  ['2a25', deviceInformationString('serialNumber')],
  ['2a26', deviceInformationString('firmwareRevision')],
  ['2a27', deviceInformationString('hardwareRevision')],
  ['2a28', deviceInformationString('softwareRevision')],
  ['2a5b', cscMeasurement],
  ['2a63', cyclingPowerMeasurement],
  ['2a53', rscMeasurement],
  ['2acd', treadmillData],
  ['2ad2', indoorBikeData],
  ['2ad1', rowerData],
  ['2ace', crossTrainerData],
  ['2acc', fitnessMachineFeature],
  ['2ada', fitnessMachineStatus],
]);

const BASE_UUID_SUFFIX = '00001000800000805f9b34fb';

/**
 * The 16-bit form of a characteristic UUID as noble ('2a37'), Web Bluetooth
 * ('00002a37-0000-1000-8000-00805f9b34fb') or people ('0x2A37') write it; undefined for a vendor UUID.
 */
export function shortUuid(uuid: string): string | undefined {
  const compact = uuid.toLowerCase().replace(/^0x/, '').replaceAll('-', '');
  if (/^[0-9a-f]{4}$/.test(compact)) return compact;
  if (/^0000[0-9a-f]{4}/.test(compact) && compact.length === 32 && compact.endsWith(BASE_UUID_SUFFIX)) return compact.slice(4, 8);
  return undefined;
}

export function profileFor(uuid: string): BleProfile<unknown> | undefined {
  const short = shortUuid(uuid);
  return short === undefined ? undefined : BLE_PROFILES.get(short);
}
