/**
 * A chest strap: Heart Rate (0x180D) with Heart Rate Measurement 0x2A37 notified at 1 Hz, including the RR
 * intervals of the beats since the previous notification (1/1024 s), Body Sensor Location 0x2A38, Heart
 * Rate Control Point 0x2A39 (0x01 resets Energy Expended); Battery and Device Information.
 * Byte layout per shared/reference/sensor-protocols.md 1.1.
 */
import { Type, type Static } from '@sinclair/typebox';
import { SimulatedPeripheral } from '../peripheral.ts';
import { Wander, type SeededRandom } from '../random.ts';
import { basePeripheralOptions, CommonPeripheralProperties } from './options.ts';
import { BatteryLevel, simulatorDeviceInformation } from './standard-services.ts';

export const HeartRateStrapSchema = Type.Object(
  {
    ...CommonPeripheralProperties,
    /** The heart rate the wearer settles around (bpm, default 72). */
    heartRate: Type.Optional(Type.Number({ minimum: 30, maximum: 230 })),
    /** Send Energy Expended (flag bit 3) in every notification (default false). */
    energyExpended: Type.Optional(Type.Boolean()),
    /** Send RR intervals (flag bit 4) (default true). */
    rrIntervals: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type HeartRateStrapOptions = Static<typeof HeartRateStrapSchema>;

export const HEART_RATE_MEASUREMENT_UUID = '2a37';
const HRS_ERROR_CONTROL_POINT_NOT_SUPPORTED = 0x80;

/** The strap's physiology: a wandering heart rate, beats spaced by it, energy accumulating. */
export class HeartRateSignal {
  contact = true;
  private readonly wander: Wander;
  private simulatedMs = 0;
  private nextBeatMs: number;
  private energyKilojoules = 0;

  constructor(
    private readonly random: SeededRandom,
    heartRate: number,
    private readonly intervalMs: number,
    private readonly options: { energyExpended: boolean; rrIntervals: boolean },
  ) {
    this.wander = new Wander(random, heartRate, { min: 35, max: 220, pull: 0.15, noise: 1.2 });
    this.nextBeatMs = random.between(0, 60_000 / heartRate);
  }

  get heartRate(): number {
    return Math.round(this.wander.value);
  }

  retarget(heartRate: number): void {
    this.wander.retarget(heartRate);
  }

  resetEnergy(): void {
    this.energyKilojoules = 0;
  }

  /** The next Heart Rate Measurement value, one notification interval later. */
  next(): Buffer {
    this.simulatedMs += this.intervalMs;
    const heartRate = Math.round(this.wander.step());
    this.energyKilojoules += (this.intervalMs / 1000) * (heartRate / 200);
    const rr: number[] = [];
    while (this.nextBeatMs <= this.simulatedMs) {
      const beatMs = (60_000 / heartRate) * (1 + this.random.gaussian() * 0.02);
      this.nextBeatMs += beatMs;
      rr.push(Math.round((beatMs * 1024) / 1000));
    }
    // Bits 1-2: contact supported (0b10) and detected (0b11). No contact: no beats, no heart rate.
    let flags = this.contact ? 0x06 : 0x04;
    const fields: number[] = [];
    if (this.options.energyExpended) {
      flags |= 0x08;
      const energy = Math.min(0xffff, Math.floor(this.energyKilojoules));
      fields.push(energy & 0xff, energy >> 8);
    }
    // 9 RR values fill a 23-byte ATT MTU (20 bytes of value) with flags, an 8-bit heart rate and no energy.
    const rrRoom = this.options.energyExpended ? 8 : 9;
    if (this.options.rrIntervals && this.contact && rr.length > 0) {
      flags |= 0x10;
      for (const value of rr.slice(-rrRoom)) fields.push(value & 0xff, value >> 8);
    }
    return Buffer.from([flags, this.contact ? heartRate : 0, ...fields]);
  }
}

export class HeartRateStrap extends SimulatedPeripheral {
  readonly signal: HeartRateSignal;
  readonly battery: BatteryLevel;

  constructor(options: HeartRateStrapOptions = {}) {
    const base = basePeripheralOptions(options, { namePrefix: 'HRM-SIM', addressType: 'random', kindTag: 1 });
    const intervalMs = options.notifyIntervalMs ?? 1000;
    const battery = new BatteryLevel(options.battery ?? 87);
    // Built before super() because the GATT definitions close over it.
    const holder: { signal?: HeartRateSignal } = {};
    super({
      ...base,
      appearance: 0x0341, // heart rate belt
      advertisement: { serviceUuids: ['180d', '180f'], appearance: 0x0341 },
      scanResponse: { localName: base.name, txPower: 0 },
      services: [
        {
          uuid: '180d',
          characteristics: [
            { uuid: HEART_RATE_MEASUREMENT_UUID, properties: ['notify'] },
            { uuid: '2a38', properties: ['read'], read: () => Buffer.from([0x01]) }, // chest
            {
              uuid: '2a39',
              properties: ['write'],
              write: (data) => {
                if (data.length !== 1 || data[0] !== 0x01) return HRS_ERROR_CONTROL_POINT_NOT_SUPPORTED;
                holder.signal?.resetEnergy();
              },
            },
          ],
        },
        battery.service(),
        simulatorDeviceInformation(base.seed, 1, 'HRM-SIM 2', '3.1.4', 'B'),
      ],
    });
    this.signal = new HeartRateSignal(this.random.fork(), options.heartRate ?? 72, intervalMs, {
      energyExpended: options.energyExpended ?? false,
      rrIntervals: options.rrIntervals ?? true,
    });
    holder.signal = this.signal;
    this.battery = battery;
    battery.bind(this);
    this.addNotifier({ uuid: HEART_RATE_MEASUREMENT_UUID, intervalMs, next: () => this.signal.next() });
  }

  setSensorContact(contact: boolean): void {
    this.signal.contact = contact;
  }
}

export function heartRateStrap(options: HeartRateStrapOptions = {}): HeartRateStrap {
  return new HeartRateStrap(options);
}
