/**
 * The BLE profile table: every characteristic the agent decodes, with everything the source needs to know
 * about it: its service, the sensor kind it implies, whether it is subscribed to or read once, and its
 * decoder. The source derives its scan filter, its kinds and its read-once set from this table alone, so
 * adding a device profile is a decoder file, one entry here and its vectors test.
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
import { stairClimberData } from './stair-climber.ts';
import { supportedPowerRange, supportedResistanceLevelRange } from './supported-ranges.ts';
import { trainingStatus } from './training-status.ts';
import { treadmillData } from './treadmill.ts';

export { DEFAULT_WHEEL_CIRCUMFERENCE_M, type BleDecoded, type BleProfile, type DecodeContext } from './profile.ts';

export interface BleService {
  /** 16-bit UUID, lower-case hex, as noble writes it. */
  uuid: string;
  /**
   * What a device advertising this service is, before its characteristics say more; undefined for services
   * that say nothing about the sensor (battery, device information). Services with a kind are scanned for.
   */
  kind?: string;
}

const HEART_RATE: BleService = { uuid: '180d', kind: 'heart_rate' };
const CYCLING_POWER: BleService = { uuid: '1818', kind: 'bike_power' };
const CYCLING_SPEED_CADENCE: BleService = { uuid: '1816', kind: 'speed_cadence' };
const RUNNING_SPEED_CADENCE: BleService = { uuid: '1814', kind: 'running_speed_cadence' };
const FITNESS_MACHINE: BleService = { uuid: '1826', kind: 'fitness_machine' };
const BATTERY: BleService = { uuid: '180f' };
const DEVICE_INFORMATION: BleService = { uuid: '180a' };

/** notify: subscribed to (notifications or indications); read_once: read after the first connection, a fact. */
export type BleDelivery = 'notify' | 'read_once';

export interface BleProfileEntry {
  /** 16-bit characteristic UUID, lower-case hex. */
  characteristic: string;
  service: BleService;
  /** What a sensor notifying this characteristic is; undefined when it says nothing about that. */
  kind?: string;
  delivery: BleDelivery;
  profile: BleProfile<unknown>;
}

/**
 * Sensor kinds, most specific first: a sensor (or an advert) matching several entries takes the kind of the
 * first, so a treadmill that also notifies heart rate is a treadmill.
 */
export const BLE_PROFILE_TABLE: readonly BleProfileEntry[] = [
  { characteristic: '2acd', service: FITNESS_MACHINE, kind: 'treadmill', delivery: 'notify', profile: treadmillData },
  { characteristic: '2ad2', service: FITNESS_MACHINE, kind: 'bike', delivery: 'notify', profile: indoorBikeData },
  { characteristic: '2ad1', service: FITNESS_MACHINE, kind: 'rower', delivery: 'notify', profile: rowerData },
  { characteristic: '2ace', service: FITNESS_MACHINE, kind: 'cross_trainer', delivery: 'notify', profile: crossTrainerData },
  { characteristic: '2ad0', service: FITNESS_MACHINE, kind: 'stair_climber', delivery: 'notify', profile: stairClimberData },
  { characteristic: '2ada', service: FITNESS_MACHINE, delivery: 'notify', profile: fitnessMachineStatus },
  { characteristic: '2ad3', service: FITNESS_MACHINE, delivery: 'notify', profile: trainingStatus },
  { characteristic: '2acc', service: FITNESS_MACHINE, delivery: 'read_once', profile: fitnessMachineFeature },
  { characteristic: '2ad6', service: FITNESS_MACHINE, delivery: 'read_once', profile: supportedResistanceLevelRange },
  { characteristic: '2ad8', service: FITNESS_MACHINE, delivery: 'read_once', profile: supportedPowerRange },
  { characteristic: '2a63', service: CYCLING_POWER, kind: 'bike_power', delivery: 'notify', profile: cyclingPowerMeasurement },
  { characteristic: '2a5b', service: CYCLING_SPEED_CADENCE, kind: 'speed_cadence', delivery: 'notify', profile: cscMeasurement },
  { characteristic: '2a53', service: RUNNING_SPEED_CADENCE, kind: 'running_speed_cadence', delivery: 'notify', profile: rscMeasurement },
  { characteristic: '2a37', service: HEART_RATE, kind: 'heart_rate', delivery: 'notify', profile: heartRateMeasurement },
  { characteristic: '2a19', service: BATTERY, delivery: 'read_once', profile: batteryLevel },
  { characteristic: '2a29', service: DEVICE_INFORMATION, delivery: 'read_once', profile: deviceInformationString('manufacturer') },
  { characteristic: '2a24', service: DEVICE_INFORMATION, delivery: 'read_once', profile: deviceInformationString('model') },
  { characteristic: '2a25', service: DEVICE_INFORMATION, delivery: 'read_once', profile: deviceInformationString('serialNumber') },
  { characteristic: '2a26', service: DEVICE_INFORMATION, delivery: 'read_once', profile: deviceInformationString('firmwareRevision') },
  { characteristic: '2a27', service: DEVICE_INFORMATION, delivery: 'read_once', profile: deviceInformationString('hardwareRevision') },
  { characteristic: '2a28', service: DEVICE_INFORMATION, delivery: 'read_once', profile: deviceInformationString('softwareRevision') },
];

/** Characteristic UUID to decoder. */
export const BLE_PROFILES: ReadonlyMap<string, BleProfile<unknown>> = new Map(BLE_PROFILE_TABLE.map((entry) => [entry.characteristic, entry.profile]));

/** Characteristic UUID to its whole entry. */
export const BLE_PROFILE_ENTRIES: ReadonlyMap<string, BleProfileEntry> = new Map(BLE_PROFILE_TABLE.map((entry) => [entry.characteristic, entry]));

/** Service UUID to the sensor kind its adverts imply, most specific first; these are the services scanned for. */
export const BLE_SERVICE_KINDS: ReadonlyMap<string, string> = new Map(
  BLE_PROFILE_TABLE.flatMap(({ service }) => (service.kind === undefined ? [] : [[service.uuid, service.kind] as const])),
);

/** Services whose adverts make a device a candidate, as noble writes them. */
export const BLE_SCAN_SERVICES: readonly string[] = [...BLE_SERVICE_KINDS.keys()];

/** Characteristic UUID to the sensor kind it implies, most specific first. */
export const BLE_CHARACTERISTIC_KINDS: ReadonlyMap<string, string> = new Map(
  BLE_PROFILE_TABLE.flatMap((entry) => (entry.kind === undefined ? [] : [[entry.characteristic, entry.kind] as const])),
);

/** The kind of a sensor that notifies `subscribed`, by the most specific characteristic among them. */
export function kindOfCharacteristics(subscribed: readonly string[]): string | undefined {
  for (const [characteristic, kind] of BLE_CHARACTERISTIC_KINDS) if (subscribed.includes(characteristic)) return kind;
  return undefined;
}

/** The kind of an advertised device by the most specific profile service among `services`. */
export function kindOfServices(services: readonly string[]): string {
  for (const [service, kind] of BLE_SERVICE_KINDS) if (services.includes(service)) return kind;
  return 'unknown';
}

export function isReadOnce(characteristic: string): boolean {
  return BLE_PROFILE_ENTRIES.get(characteristic)?.delivery === 'read_once';
}

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
