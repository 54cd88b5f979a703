/**
 * Advertising and scan response payloads: AD structures (Core Spec Supplement Part A) within the 31 bytes
 * a legacy advertising PDU carries.
 */
import { PulsebridgeError } from '@pulsebridge/runtime';
import { canonicalUuid, uuidToBytes } from './gatt.ts';

export const AdType = {
  flags: 0x01,
  incomplete16BitUuids: 0x02,
  complete16BitUuids: 0x03,
  complete128BitUuids: 0x07,
  shortenedLocalName: 0x08,
  completeLocalName: 0x09,
  txPowerLevel: 0x0a,
  serviceData16Bit: 0x16,
  appearance: 0x19,
  manufacturerData: 0xff,
} as const;

/** LE General Discoverable, BR/EDR not supported: what a sensor advertises when it wants a central. */
export const FLAGS_GENERAL_DISCOVERABLE = 0x06;

export const MAX_LEGACY_ADVERTISING_DATA = 31;

export interface AdvertisingContent {
  /** AD flags; omitted from scan responses, which must not carry them. */
  flags?: number;
  serviceUuids?: string[];
  localName?: string;
  /** Company identifier (little-endian) followed by the company's bytes, as it goes on air. */
  manufacturerData?: Uint8Array;
  serviceData?: { uuid: string; data: Uint8Array }[];
  appearance?: number;
  txPower?: number;
}

export class AdvertisingDataError extends PulsebridgeError<'ADVERTISING_DATA_TOO_LONG'> {
  constructor(message: string) {
    super('ADVERTISING_DATA_TOO_LONG', message);
  }
}

export function adStructure(type: number, data: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from([data.length + 1, type]), data]);
}

export function encodeAdvertisingData(content: AdvertisingContent): Buffer {
  const parts: Buffer[] = [];
  if (content.flags !== undefined) parts.push(adStructure(AdType.flags, Buffer.from([content.flags])));
  const uuids = (content.serviceUuids ?? []).map(canonicalUuid);
  const short = uuids.filter((uuid) => uuid.length === 4);
  const long = uuids.filter((uuid) => uuid.length === 32);
  if (short.length > 0) parts.push(adStructure(AdType.complete16BitUuids, Buffer.concat(short.map(uuidToBytes))));
  if (long.length > 0) parts.push(adStructure(AdType.complete128BitUuids, Buffer.concat(long.map(uuidToBytes))));
  for (const entry of content.serviceData ?? []) {
    parts.push(adStructure(AdType.serviceData16Bit, Buffer.concat([uuidToBytes(entry.uuid), entry.data])));
  }
  if (content.appearance !== undefined) {
    const appearance = Buffer.alloc(2);
    appearance.writeUInt16LE(content.appearance, 0);
    parts.push(adStructure(AdType.appearance, appearance));
  }
  if (content.txPower !== undefined) {
    const power = Buffer.alloc(1);
    power.writeInt8(content.txPower, 0);
    parts.push(adStructure(AdType.txPowerLevel, power));
  }
  if (content.manufacturerData !== undefined) parts.push(adStructure(AdType.manufacturerData, content.manufacturerData));
  if (content.localName !== undefined) parts.push(adStructure(AdType.completeLocalName, Buffer.from(content.localName, 'utf8')));
  const encoded = Buffer.concat(parts);
  if (encoded.length > MAX_LEGACY_ADVERTISING_DATA) {
    throw new AdvertisingDataError(`advertising data is ${encoded.length} bytes, a legacy PDU carries ${MAX_LEGACY_ADVERTISING_DATA}`);
  }
  return encoded;
}

/** Manufacturer data as it goes on air: the company identifier little-endian, then the payload. */
export function manufacturerData(companyId: number, payload: Uint8Array): Buffer {
  const company = Buffer.alloc(2);
  company.writeUInt16LE(companyId, 0);
  return Buffer.concat([company, payload]);
}
