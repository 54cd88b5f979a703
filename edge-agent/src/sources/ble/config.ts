/**
 * Configuration of the BLE source: which HCI adapters, which sensors it admits, and the limits and
 * timeouts of scanning and GATT connections. Also the BLE sensor id: `ble:` and the device address.
 */
import { Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { Value } from '@sinclair/typebox/value';
import { canonicalSensorId } from '@pulsebridge/protocol';
import { ConfigError } from '@pulsebridge/runtime';
import { admissionConfigFields } from '../admission.ts';
import { DEFAULT_WHEEL_CIRCUMFERENCE_M } from './profiles/index.ts';

/** As written in `allow`: `ble:` then the address (either separator, any case) or a platform id. */
export const BLE_SENSOR_ID_INPUT_PATTERN = '^ble:[0-9A-Za-z][0-9A-Za-z:._~-]{0,59}$';

export const BleSourceConfig = Type.Object(
  {
    adapters: Type.Array(Type.Integer({ minimum: 0, maximum: 31 }), {
      default: [0],
      minItems: 1,
      maxItems: 8,
      uniqueItems: true,
      description: 'HCI device ids of the Bluetooth adapters to use (0 is hci0); each runs its own scan and connections',
    }),
    ...admissionConfigFields(BLE_SENSOR_ID_INPUT_PATTERN, 'ble:<address>, e.g. ble:c0-ff-ee-00-00-01'),
    maxJoined: Type.Integer({ minimum: 1, maximum: 4096, default: 256, description: 'most sensors one process admits through permit-join' }),
    rssiFloorDbm: Type.Integer({ minimum: -127, maximum: 20, default: -90, description: 'adverts weaker than this neither admit a sensor nor start a connection' }),
    scanAllAdverts: Type.Boolean({
      default: false,
      description: 'ask noble for every advert, not only those naming a profile service: hears broadcast straps that name no service, at more CPU',
    }),
    polarBroadcast: Type.Boolean({ default: true, description: 'read heart rate from Polar straps advertisements instead of connecting to them' }),
    seenDevicesCapacity: Type.Integer({ minimum: 16, maximum: 65_536, default: 2048, description: 'devices remembered between adverts; the least recently heard are forgotten' }),
    maxConnections: Type.Integer({ minimum: 1, maximum: 32, default: 5, description: 'concurrent GATT connections per adapter (real adapters manage about 5 to 8)' }),
    startTimeoutMs: Type.Integer({ minimum: 10, maximum: 60_000, default: 5_000, description: 'how long start() waits for each adapter to power on and scan' }),
    connectTimeoutMs: Type.Integer({ minimum: 10, maximum: 60_000, default: 10_000, description: 'how long one connection attempt may take' }),
    gattTimeoutMs: Type.Integer({ minimum: 10, maximum: 60_000, default: 5_000, description: 'how long one GATT step (discovery, subscribe, read, disconnect) may take' }),
    reconnectInitialMs: Type.Integer({ minimum: 10, maximum: 600_000, default: 1_000, description: 'first wait before reconnecting a sensor after a failure or link loss' }),
    reconnectMaxMs: Type.Integer({ minimum: 10, maximum: 600_000, default: 30_000, description: 'longest wait between reconnect attempts' }),
    silenceTimeoutMs: Type.Integer({
      minimum: 10,
      maximum: 600_000,
      default: 10_000,
      description: 'a connected sensor that sends nothing this long is disconnected and reconnected',
    }),
    adapterSilenceMs: Type.Integer({
      minimum: 10,
      maximum: 3_600_000,
      default: 60_000,
      description: 'an adapter that hears nothing this long while scanning is reset; repeated resets wait longer',
    }),
    wheelCircumferenceM: Type.Number({ exclusiveMinimum: 0, maximum: 5, default: DEFAULT_WHEEL_CIRCUMFERENCE_M, description: 'wheel circumference for speed sensors' }),
  },
  { additionalProperties: false },
);
export type BleSourceConfig = Static<typeof BleSourceConfig>;

const checker = TypeCompiler.Compile(BleSourceConfig);

/**
 * The rules of a BLE source configuration the schema cannot express, for a config that passed the schema;
 * `path` is where it sits in the whole configuration (e.g. '/sources/ble').
 */
export function bleConfigProblems(config: BleSourceConfig, path: string): string[] {
  const problems: string[] = [];
  if (config.reconnectMaxMs < config.reconnectInitialMs) {
    problems.push(`${path}/reconnectMaxMs: ${config.reconnectMaxMs} is below ${path}/reconnectInitialMs (${config.reconnectInitialMs})`);
  }
  config.allow.forEach((id, index) => {
    if (normalizeBleSensorId(id) === undefined) problems.push(`${path}/allow/${index}: ${id} is not a BLE sensor id`);
  });
  return problems;
}

/** Schema and cross-field problems of a BLE source configuration on its own (paths from its root). */
export function bleSourceConfigProblems(value: unknown): string[] {
  const problems = [...checker.Errors(value)].map((e) => `${e.path || '/'}: ${e.message}`);
  return problems.length > 0 ? problems : bleConfigProblems(value as BleSourceConfig, '');
}

/** Fills defaults and checks a BLE source configuration on its own; throws a ConfigError listing every problem. */
export function bleSourceConfig(input: unknown = {}): BleSourceConfig {
  const value: unknown = Value.Default(BleSourceConfig, Value.Clone(input ?? {}));
  const problems = bleSourceConfigProblems(value);
  if (problems.length > 0) throw new ConfigError(problems);
  return value as BleSourceConfig;
}

const ADDRESS = /^[0-9a-f]{2}([:-][0-9a-f]{2}){5}$/;

/**
 * The sensor id of a device: `ble:` and its address with dashes (`ble:aa-bb-cc-dd-ee-ff`, the canonical
 * form), stable across restarts and the same whichever adapter hears it. Platforms that hide addresses
 * (noble reports 'unknown') give an opaque id instead. Undefined when neither makes a valid sensor id.
 */
export function bleSensorId(address: string | undefined, platformId: string | undefined): string | undefined {
  if (address !== undefined && ADDRESS.test(address.toLowerCase())) return canonicalSensorId(`ble:${address}`);
  return platformId === undefined ? undefined : canonicalSensorId(`ble:${platformId}`);
}

/** An id as people write it in `allow` (`ble:AA:BB:CC:DD:EE:FF`) in the canonical form the source produces. */
export function normalizeBleSensorId(text: string): string | undefined {
  return text.toLowerCase().startsWith('ble:') ? canonicalSensorId(text) : undefined;
}
