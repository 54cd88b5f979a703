/**
 * A Polar-style strap that broadcasts heart rate in its advertising manufacturer data, so a gym box can
 * read dozens of them without connecting. Manufacturer data: company 0x006B (little-endian), then blocks:
 * a block whose first byte has bit 6 (0x40) set is [type, length, length bytes] and carries no heart
 * rate; a block with bit 6 clear is [flags, kHz code, fast-average HR, slow-average HR] where flags bit 1
 * is sensor contact and bits 2-4 a frame counter that advances with every new heart-rate value.
 * Example (Polar OH1): 6b 00 | 72 06 7f 44 37 00 00 00 | 33 00 3c = a 6-byte 0x72 block, then HR 60.
 */
import { Type, type Static } from '@sinclair/typebox';
import { encodeAdvertisingData, FLAGS_GENERAL_DISCOVERABLE, manufacturerData, type AdvertisingContent } from '../advertising.ts';
import { SimulatedPeripheral } from '../peripheral.ts';
import { SeededRandom, Wander } from '../random.ts';
import { basePeripheralOptions, CommonPeripheralProperties, serialNumber } from './options.ts';
import { BatteryLevel, deviceInformationService } from './standard-services.ts';

export const PolarBroadcastStrapSchema = Type.Object(
  {
    ...CommonPeripheralProperties,
    heartRate: Type.Optional(Type.Number({ minimum: 30, maximum: 230 })),
    /** Send the 4th HR byte (slow average); the OH1 example above has only 3 (default true). */
    slowAverage: Type.Optional(Type.Boolean()),
    /** ADV_IND like real Polar straps (connectable, name in the scan response) or ADV_NONCONN_IND. */
    advertisingPdu: Type.Optional(Type.Union([Type.Literal('ADV_IND'), Type.Literal('ADV_NONCONN_IND')])),
  },
  { additionalProperties: false },
);
export type PolarBroadcastStrapOptions = Static<typeof PolarBroadcastStrapSchema>;

export const POLAR_COMPANY_ID = 0x006b;
/** A non-HR block as seen from an OH1: type 0x72 (bit 6 set), 6 bytes. */
const OTHER_BLOCK = [0x72, 0x06, 0x7f, 0x44, 0x37, 0x00, 0x00, 0x00];
/** Bits 0 and 5 as the OH1 capture has them; their meaning is not documented. */
const HR_FLAGS_BASE = 0x21;

export class BroadcastHeartRate {
  contact = true;
  private readonly wander: Wander;
  private slow: number;
  private counter = 0;

  constructor(
    random: SeededRandom,
    heartRate: number,
    private readonly slowAverage: boolean,
  ) {
    this.wander = new Wander(random, heartRate, { min: 35, max: 220, pull: 0.15, noise: 1.2 });
    this.slow = heartRate;
  }

  get heartRate(): number {
    return Math.round(this.wander.value);
  }

  retarget(heartRate: number): void {
    this.wander.retarget(heartRate);
  }

  /** The manufacturer data (company id included) for the current value. */
  frame(): Buffer {
    const fast = this.contact ? Math.round(this.wander.value) : 0;
    const flags = HR_FLAGS_BASE | (this.contact ? 0x02 : 0) | ((this.counter & 0x07) << 2);
    const block = this.slowAverage ? [flags, 0x00, fast, this.contact ? Math.round(this.slow) : 0] : [flags, 0x00, fast];
    return manufacturerData(POLAR_COMPANY_ID, Buffer.from([...OTHER_BLOCK, ...block]));
  }

  /** A new measurement: the value moves and the frame counter advances. */
  next(): Buffer {
    const value = this.wander.step();
    this.slow += (value - this.slow) * 0.1;
    this.counter = (this.counter + 1) & 0x07;
    return this.frame();
  }
}

export class PolarBroadcastStrap extends SimulatedPeripheral {
  readonly signal: BroadcastHeartRate;
  readonly battery: BatteryLevel;
  private readonly contentFor: (frame: Buffer) => AdvertisingContent;

  constructor(options: PolarBroadcastStrapOptions = {}) {
    const seed = options.seed ?? 1;
    const base = basePeripheralOptions(
      { ...options, name: options.name ?? `Polar OH1 ${serialNumber(seed, 6).slice(-8)}` },
      { namePrefix: 'Polar OH1', addressType: 'random', kindTag: 6 },
    );
    const pdu = options.advertisingPdu ?? 'ADV_IND';
    const contentFor = (frame: Buffer): AdvertisingContent => {
      if (pdu === 'ADV_IND') return { flags: FLAGS_GENERAL_DISCOVERABLE, serviceUuids: ['180d'], manufacturerData: frame };
      // No scan response for a non-connectable broadcaster: the name rides in the advert if it fits.
      const withName = { flags: 0x04, manufacturerData: frame, localName: base.name };
      try {
        encodeAdvertisingData(withName);
        return withName;
      } catch {
        return { flags: 0x04, manufacturerData: frame };
      }
    };
    const signal = new BroadcastHeartRate(new SeededRandom(seed ^ 0x5a5a), options.heartRate ?? 75, options.slowAverage ?? true);
    const battery = new BatteryLevel(options.battery ?? 78);
    super({
      ...base,
      advertisingPdu: pdu,
      advertisingIntervalMs: options.advertisingIntervalMs ?? 250,
      advertisement: contentFor(signal.frame()),
      scanResponse: { localName: base.name },
      services: [battery.service(), deviceInformationService({ manufacturer: 'Polar Electro Oy', model: 'OH1', serialNumber: serialNumber(seed, 6), firmwareRevision: '2.1.9' })],
    });
    this.signal = signal;
    this.battery = battery;
    this.contentFor = contentFor;
    battery.bind(this);
    this.updateAdvertisement(contentFor(signal.frame()), signal.frame());
    this.addTicker(options.notifyIntervalMs ?? 1000, () => {
      const frame = this.signal.next();
      this.updateAdvertisement(this.contentFor(frame), frame);
    });
  }

  setSensorContact(contact: boolean): void {
    this.signal.contact = contact;
  }
}

export function polarBroadcastStrap(options: PolarBroadcastStrapOptions = {}): PolarBroadcastStrap {
  return new PolarBroadcastStrap(options);
}
