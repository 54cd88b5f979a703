/**
 * A crank power meter: Cycling Power (0x1818) with Cycling Power Measurement 0x2A63 (instantaneous power
 * and crank revolution data, flags 0x0020) notified at 4 Hz, Cycling Power Feature 0x2A65 (crank
 * revolution data supported), Sensor Location 0x2A5D; Battery and Device Information.
 * Byte layout per shared/reference/sensor-protocols.md 1.4.
 */
import { Type, type Static } from '@sinclair/typebox';
import { SimulatedPeripheral } from '../peripheral.ts';
import { Wander, type SeededRandom } from '../random.ts';
import { basePeripheralOptions, CommonPeripheralProperties } from './options.ts';
import { RevolutionCounter } from './revolutions.ts';
import { BatteryLevel, simulatorDeviceInformation, sensorLocation } from './standard-services.ts';

export const PowerMeterSchema = Type.Object(
  {
    ...CommonPeripheralProperties,
    /** Watts the rider settles around (default 200). */
    power: Type.Optional(Type.Number({ minimum: 0, maximum: 2000 })),
    /** Crank cadence in rpm the rider settles around (default 88). */
    cadence: Type.Optional(Type.Number({ minimum: 0, maximum: 200 })),
    /** Cumulative crank revolutions at start; near 65535 to see the counter roll over (default 65500). */
    startCrankRevolutions: Type.Optional(Type.Integer({ minimum: 0, maximum: 0xffff })),
  },
  { additionalProperties: false },
);
export type PowerMeterOptions = Static<typeof PowerMeterSchema>;

export const CYCLING_POWER_MEASUREMENT_UUID = '2a63';
const FLAG_CRANK_REVOLUTION_DATA = 0x0020;
const FEATURE_CRANK_REVOLUTION_DATA = 0x00000008;

export class CrankPowerSignal {
  readonly power: Wander;
  readonly cadence: Wander;
  private readonly crank: RevolutionCounter;

  constructor(
    random: SeededRandom,
    options: { power: number; cadence: number; startCrankRevolutions: number },
    private readonly intervalMs: number,
  ) {
    this.power = new Wander(random, options.power, { min: 0, max: 2000, pull: 0.2, noise: 8 });
    this.cadence = new Wander(random, options.cadence, { min: 0, max: 200, pull: 0.2, noise: 1.5 });
    this.crank = new RevolutionCounter(options.startCrankRevolutions, 0x10000, 0);
  }

  next(): Buffer {
    const cadence = this.cadence.step();
    const power = Math.round(this.cadence.value <= 0 ? 0 : this.power.step());
    const event = this.crank.advance(cadence / 60, this.intervalMs);
    const value = Buffer.alloc(8);
    value.writeUInt16LE(FLAG_CRANK_REVOLUTION_DATA, 0);
    value.writeInt16LE(power, 2);
    value.writeUInt16LE(event.revolutions, 4);
    value.writeUInt16LE(event.eventTime, 6);
    return value;
  }
}

export class PowerMeter extends SimulatedPeripheral {
  readonly signal: CrankPowerSignal;
  readonly battery: BatteryLevel;

  constructor(options: PowerMeterOptions = {}) {
    const base = basePeripheralOptions(options, { namePrefix: 'PWR-SIM', addressType: 'public', kindTag: 2 });
    const intervalMs = options.notifyIntervalMs ?? 250;
    const battery = new BatteryLevel(options.battery ?? 64);
    const feature = Buffer.alloc(4);
    feature.writeUInt32LE(FEATURE_CRANK_REVOLUTION_DATA, 0);
    super({
      ...base,
      appearance: 0x0484, // cycling power sensor
      advertisement: { serviceUuids: ['1818'] },
      services: [
        {
          uuid: '1818',
          characteristics: [
            { uuid: CYCLING_POWER_MEASUREMENT_UUID, properties: ['notify'] },
            { uuid: '2a65', properties: ['read'], read: () => feature },
            sensorLocation(0x05), // left crank
          ],
        },
        battery.service(),
        simulatorDeviceInformation(base.seed, 2, 'PWR-SIM L', '5.0.2'),
      ],
    });
    this.signal = new CrankPowerSignal(
      this.random.fork(),
      { power: options.power ?? 200, cadence: options.cadence ?? 88, startCrankRevolutions: options.startCrankRevolutions ?? 65_500 },
      intervalMs,
    );
    this.battery = battery;
    battery.bind(this);
    this.addNotifier({ uuid: CYCLING_POWER_MEASUREMENT_UUID, intervalMs, next: () => this.signal.next() });
  }
}

export function powerMeter(options: PowerMeterOptions = {}): PowerMeter {
  return new PowerMeter(options);
}
