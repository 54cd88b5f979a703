/**
 * A simulated peripheral's GATT database: service definitions laid out as an ATT attribute table the way
 * a real GATT server does it (Core Spec Vol 3 Part G 3): GAP and GATT services first, then each service
 * declaration, characteristic declarations, values and descriptors, handles counting up from 0x0001.
 */

export type CharacteristicProperty = 'broadcast' | 'read' | 'writeWithoutResponse' | 'write' | 'notify' | 'indicate';

const PROPERTY_BITS: Record<CharacteristicProperty, number> = {
  broadcast: 0x01,
  read: 0x02,
  writeWithoutResponse: 0x04,
  write: 0x08,
  notify: 0x10,
  indicate: 0x20,
};

export interface WriteContext {
  /** False for ATT Write Command (write without response). */
  withResponse: boolean;
  /** The HCI connection handle the write arrived on, as the central's controller numbers it. */
  connectionHandle: number;
  adapterId: number;
  /** This connection's CCCD value for the written characteristic (bit 0 notify, bit 1 indicate). */
  subscription: number;
}

export interface CharacteristicDefinition {
  /** 16-bit ('2a37') or 128-bit UUID. */
  uuid: string;
  properties: CharacteristicProperty[];
  /** The current value for reads (and the first value before any notification). */
  read?: () => Uint8Array;
  /** Called for writes the ATT layer accepted; return an ATT error code to refuse (0 or nothing accepts). */
  write?: (data: Buffer, context: WriteContext) => number | void;
  /** Extra descriptors after the CCCD, e.g. a 0x2901 user description. */
  descriptors?: { uuid: string; value: Uint8Array }[];
}

export interface ServiceDefinition {
  uuid: string;
  characteristics: CharacteristicDefinition[];
}

export const GattUuid = {
  primaryService: '2800',
  secondaryService: '2801',
  include: '2802',
  characteristic: '2803',
  clientCharacteristicConfiguration: '2902',
  genericAccess: '1800',
  genericAttribute: '1801',
  deviceName: '2a00',
  appearance: '2a01',
  serviceChanged: '2a05',
} as const;

const BASE_UUID_SUFFIX = '00001000800000805f9b34fb';

/** Lower-case hex without dashes; a 128-bit UUID on the Bluetooth base becomes its 16-bit form. */
export function canonicalUuid(uuid: string): string {
  const compact = uuid.toLowerCase().replace(/^0x/, '').replaceAll('-', '');
  if (/^[0-9a-f]{4}$/.test(compact)) return compact;
  if (/^[0-9a-f]{32}$/.test(compact)) {
    return compact.startsWith('0000') && compact.endsWith(BASE_UUID_SUFFIX) ? compact.slice(4, 8) : compact;
  }
  throw new RangeError(`not a 16-bit or 128-bit UUID: ${uuid}`);
}

/** Little-endian wire form: 2 bytes for a 16-bit UUID, 16 for a 128-bit one. */
export function uuidToBytes(uuid: string): Buffer {
  const canonical = canonicalUuid(uuid);
  return Buffer.from(canonical, 'hex').reverse();
}

export function uuidFromBytes(bytes: Uint8Array): string {
  return canonicalUuid(Buffer.from(bytes).reverse().toString('hex'));
}

export type AttributeKind = 'service' | 'characteristic' | 'value' | 'cccd' | 'descriptor';

export interface CharacteristicEntry {
  readonly uuid: string;
  readonly definition: CharacteristicDefinition;
  readonly declarationHandle: number;
  readonly valueHandle: number;
  readonly cccdHandle: number | undefined;
  readonly propertyBits: number;
  readonly serviceUuid: string;
}

export interface Attribute {
  readonly handle: number;
  /** Canonical UUID of the attribute type. */
  readonly type: string;
  readonly kind: AttributeKind;
  /** For service declarations: the last handle of the service. */
  readonly groupEnd: number | undefined;
  readonly readable: boolean;
  readonly writable: boolean;
  readonly characteristic: CharacteristicEntry | undefined;
  /** Static value; CCCD and characteristic values are read through the ATT server instead. */
  readonly value: Buffer | undefined;
}

export interface DatabaseOptions {
  deviceName: string;
  appearance?: number;
  services: ServiceDefinition[];
}

export class GattDatabase {
  readonly attributes: readonly Attribute[];
  readonly characteristics: readonly CharacteristicEntry[];
  private readonly byHandle: Map<number, Attribute>;

  constructor(options: DatabaseOptions) {
    const attributes: Attribute[] = [];
    const characteristics: CharacteristicEntry[] = [];
    const appearance = Buffer.alloc(2);
    appearance.writeUInt16LE(options.appearance ?? 0, 0);
    const services: ServiceDefinition[] = [
      {
        uuid: GattUuid.genericAccess,
        characteristics: [
          { uuid: GattUuid.deviceName, properties: ['read'], read: () => Buffer.from(options.deviceName, 'utf8') },
          { uuid: GattUuid.appearance, properties: ['read'], read: () => appearance },
        ],
      },
      {
        uuid: GattUuid.genericAttribute,
        // The database never changes, but real servers expose Service Changed and noble must cope with it.
        characteristics: [{ uuid: GattUuid.serviceChanged, properties: ['indicate'] }],
      },
      ...options.services,
    ];

    let handle = 1;
    for (const service of services) {
      const serviceUuid = canonicalUuid(service.uuid);
      const serviceHandle = handle++;
      const serviceAttributes: Attribute[] = [];
      for (const definition of service.characteristics) {
        const uuid = canonicalUuid(definition.uuid);
        const propertyBits = definition.properties.reduce((bits, property) => bits | PROPERTY_BITS[property], 0);
        const declarationHandle = handle++;
        const valueHandle = handle++;
        const wantsCccd = definition.properties.includes('notify') || definition.properties.includes('indicate');
        const cccdHandle = wantsCccd ? handle++ : undefined;
        const entry: CharacteristicEntry = {
          uuid,
          definition,
          declarationHandle,
          valueHandle,
          cccdHandle,
          propertyBits,
          serviceUuid,
        };
        characteristics.push(entry);
        const declarationValue = Buffer.alloc(3);
        declarationValue.writeUInt8(propertyBits, 0);
        declarationValue.writeUInt16LE(valueHandle, 1);
        serviceAttributes.push({
          handle: declarationHandle,
          type: GattUuid.characteristic,
          kind: 'characteristic',
          groupEnd: undefined,
          readable: true,
          writable: false,
          characteristic: entry,
          value: Buffer.concat([declarationValue, uuidToBytes(uuid)]),
        });
        serviceAttributes.push({
          handle: valueHandle,
          type: uuid,
          kind: 'value',
          groupEnd: undefined,
          readable: definition.properties.includes('read'),
          writable: definition.properties.includes('write') || definition.properties.includes('writeWithoutResponse'),
          characteristic: entry,
          value: undefined,
        });
        if (cccdHandle !== undefined) {
          serviceAttributes.push({
            handle: cccdHandle,
            type: GattUuid.clientCharacteristicConfiguration,
            kind: 'cccd',
            groupEnd: undefined,
            readable: true,
            writable: true,
            characteristic: entry,
            value: undefined,
          });
        }
        for (const descriptor of definition.descriptors ?? []) {
          serviceAttributes.push({
            handle: handle++,
            type: canonicalUuid(descriptor.uuid),
            kind: 'descriptor',
            groupEnd: undefined,
            readable: true,
            writable: false,
            characteristic: entry,
            value: Buffer.from(descriptor.value),
          });
        }
      }
      attributes.push({
        handle: serviceHandle,
        type: GattUuid.primaryService,
        kind: 'service',
        groupEnd: handle - 1,
        readable: true,
        writable: false,
        characteristic: undefined,
        value: uuidToBytes(serviceUuid),
      });
      attributes.push(...serviceAttributes);
    }
    if (handle > 0xffff) throw new RangeError('GATT database exceeds the 16-bit handle space');
    this.attributes = attributes;
    this.characteristics = characteristics;
    this.byHandle = new Map(attributes.map((attribute) => [attribute.handle, attribute]));
  }

  get(handle: number): Attribute | undefined {
    return this.byHandle.get(handle);
  }

  /** Attributes with start <= handle <= end, in handle order. */
  range(start: number, end: number): Attribute[] {
    return this.attributes.filter((attribute) => attribute.handle >= start && attribute.handle <= end);
  }

  characteristic(uuid: string): CharacteristicEntry | undefined {
    const canonical = canonicalUuid(uuid);
    return this.characteristics.find((entry) => entry.uuid === canonical);
  }
}
