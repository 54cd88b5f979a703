/**
 * Options every simulated peripheral takes, as a TypeBox schema so the preload's scenario JSON is checked
 * against the same definition the factories use.
 */
import { Type, type Static, type TProperties } from '@sinclair/typebox';
import type { AddressType } from '../hci.ts';
import type { PeripheralOptions } from '../peripheral.ts';
import { SeededRandom } from '../random.ts';

export const CommonPeripheralProperties = {
  name: Type.Optional(Type.String({ minLength: 1, maxLength: 29 })),
  address: Type.Optional(Type.String({ pattern: '^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$' })),
  addressType: Type.Optional(Type.Union([Type.Literal('public'), Type.Literal('random')])),
  seed: Type.Optional(Type.Integer({ minimum: 0, maximum: 0xffffffff })),
  rssi: Type.Optional(Type.Number({ minimum: -127, maximum: 20 })),
  rssiJitter: Type.Optional(Type.Number({ minimum: 0, maximum: 30 })),
  advertisingIntervalMs: Type.Optional(Type.Number({ minimum: 1, maximum: 10_240 })),
  /** Time between measurement notifications (each profile has its real default). */
  notifyIntervalMs: Type.Optional(Type.Number({ minimum: 1, maximum: 60_000 })),
  serverMtu: Type.Optional(Type.Integer({ minimum: 23, maximum: 517 })),
  maxConnections: Type.Optional(Type.Integer({ minimum: 1, maximum: 8 })),
  advertising: Type.Optional(Type.Boolean()),
  battery: Type.Optional(Type.Integer({ minimum: 0, maximum: 100 })),
} satisfies TProperties;

export const CommonPeripheralSchema = Type.Object(CommonPeripheralProperties);
export type CommonPeripheralOptions = Static<typeof CommonPeripheralSchema>;

export interface ProfileDefaults {
  namePrefix: string;
  addressType: AddressType;
  /** Distinguishes the default addresses of different kinds built from the same seed. */
  kindTag: number;
}

/** The options a SimulatedPeripheral needs, filled from the common options and a profile's defaults. */
export function basePeripheralOptions(options: CommonPeripheralOptions, defaults: ProfileDefaults): Omit<PeripheralOptions, 'services'> & { name: string; seed: number } {
  const seed = options.seed ?? 1;
  const addressType = options.addressType ?? defaults.addressType;
  const serial = ((seed * 2654435761) >>> 0).toString(16).toUpperCase().padStart(8, '0').slice(-4);
  return {
    name: options.name ?? `${defaults.namePrefix} ${serial}`,
    address: options.address ?? defaultAddress(seed, defaults.kindTag, addressType),
    addressType,
    rssi: options.rssi,
    rssiJitter: options.rssiJitter,
    advertisingIntervalMs: options.advertisingIntervalMs,
    serverMtu: options.serverMtu,
    maxConnections: options.maxConnections,
    advertising: options.advertising,
    seed,
  };
}

/** A stable address per (seed, kind): random static (top bits 11) or a public one with a fixed OUI. */
export function defaultAddress(seed: number, kindTag: number, addressType: AddressType): string {
  const random = new SeededRandom((seed * 31 + kindTag * 7919) >>> 0);
  const bytes = random.bytes(6);
  if (addressType === 'random') {
    bytes[0] = (bytes[0] ?? 0) | 0xc0;
  } else {
    bytes[0] = 0x00;
    bytes[1] = 0x22;
    bytes[2] = 0xd0;
  }
  return [...bytes].map((byte) => byte.toString(16).padStart(2, '0')).join(':');
}

export function serialNumber(seed: number, kindTag: number): string {
  return `${kindTag.toString().padStart(2, '0')}${((seed * 2654435761) >>> 0).toString().padStart(10, '0')}`;
}
