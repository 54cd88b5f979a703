/**
 * A combined speed and cadence sensor: Cycling Speed and Cadence (0x1816) with CSC Measurement 0x2A5B
 * (wheel and crank data, flags 0x03) notified at 1 Hz, CSC Feature 0x2A5C, Sensor Location 0x2A5D; Battery
 * and Device Information. Counters and event times start close to their rollover by default so a test of
 * a few seconds sees wheel revolutions wrap at 2^32, crank revolutions at 2^16 and event times at 64 s.
 * Byte layout per shared/reference/sensor-protocols.md 1.3.
 */
import { Type, type Static } from '@sinclair/typebox';
import { manufacturerData } from '../advertising.ts';
import { SimulatedPeripheral } from '../peripheral.ts';
import { Wander, type SeededRandom } from '../random.ts';
import { basePeripheralOptions, CommonPeripheralProperties } from './options.ts';
import { RevolutionCounter } from './revolutions.ts';
import { BatteryLevel, simulatorDeviceInformation, sensorLocation } from './standard-services.ts';

export const SpeedCadenceSensorSchema = Type.Object(
  {
    ...CommonPeripheralProperties,
    /** Speed in km/h the rider settles around (default 30). */
    speedKmh: Type.Optional(Type.Number({ minimum: 0, maximum: 120 })),
    cadence: Type.Optional(Type.Number({ minimum: 0, maximum: 200 })),
    /** Wheel circumference the simulated bike has, in metres (default 2.105). */
    wheelCircumferenceM: Type.Optional(Type.Number({ minimum: 0.5, maximum: 4 })),
    startWheelRevolutions: Type.Optional(Type.Integer({ minimum: 0, maximum: 0xffffffff })),
    startCrankRevolutions: Type.Optional(Type.Integer({ minimum: 0, maximum: 0xffff })),
    /** Simulated clock at start in ms; event times roll over at 64 000 ms (default 60 000). */
    startTimeMs: Type.Optional(Type.Number({ minimum: 0, maximum: 64_000 })),
  },
  { additionalProperties: false },
);
export type SpeedCadenceSensorOptions = Static<typeof SpeedCadenceSensorSchema>;

export const CSC_MEASUREMENT_UUID = '2a5b';

export class SpeedCadenceSignal {
  readonly speedKmh: Wander;
  readonly cadence: Wander;
  private readonly wheel: RevolutionCounter;
  private readonly crank: RevolutionCounter;

  constructor(
    random: SeededRandom,
    private readonly options: Required<
      Pick<SpeedCadenceSensorOptions, 'speedKmh' | 'cadence' | 'wheelCircumferenceM' | 'startWheelRevolutions' | 'startCrankRevolutions' | 'startTimeMs'>
    >,
    private readonly intervalMs: number,
  ) {
    this.speedKmh = new Wander(random, options.speedKmh, { min: 0, max: 120, pull: 0.2, noise: 0.4 });
    this.cadence = new Wander(random, options.cadence, { min: 0, max: 200, pull: 0.2, noise: 1.5 });
    this.wheel = new RevolutionCounter(options.startWheelRevolutions, 2 ** 32, options.startTimeMs);
    this.crank = new RevolutionCounter(options.startCrankRevolutions, 0x10000, options.startTimeMs);
  }

  next(): Buffer {
    const wheelPerSecond = this.speedKmh.step() / 3.6 / this.options.wheelCircumferenceM;
    const wheel = this.wheel.advance(wheelPerSecond, this.intervalMs);
    const crank = this.crank.advance(this.cadence.step() / 60, this.intervalMs);
    const value = Buffer.alloc(11);
    value.writeUInt8(0x03, 0);
    value.writeUInt32LE(wheel.revolutions, 1);
    value.writeUInt16LE(wheel.eventTime, 5);
    value.writeUInt16LE(crank.revolutions, 7);
    value.writeUInt16LE(crank.eventTime, 9);
    return value;
  }
}

export class SpeedCadenceSensor extends SimulatedPeripheral {
  readonly signal: SpeedCadenceSignal;
  readonly battery: BatteryLevel;

  constructor(options: SpeedCadenceSensorOptions = {}) {
    const base = basePeripheralOptions(options, { namePrefix: 'CSC-SIM', addressType: 'random', kindTag: 3 });
    const intervalMs = options.notifyIntervalMs ?? 1000;
    const battery = new BatteryLevel(options.battery ?? 93);
    const feature = Buffer.from([0x03, 0x00]); // wheel and crank revolution data supported
    super({
      ...base,
      appearance: 0x0485, // cycling speed and cadence sensor
      // Many such sensors also put a vendor block in the advert; company 0x0059 (Nordic) with a short tag.
      advertisement: { serviceUuids: ['1816'], manufacturerData: manufacturerData(0x0059, Buffer.from([0x43, 0x53, 0x01])) },
      services: [
        {
          uuid: '1816',
          characteristics: [
            { uuid: CSC_MEASUREMENT_UUID, properties: ['notify'] },
            { uuid: '2a5c', properties: ['read'], read: () => feature },
            sensorLocation(0x0c), // rear wheel
          ],
        },
        battery.service(),
        simulatorDeviceInformation(base.seed, 3, 'CSC-SIM', '1.9.0'),
      ],
    });
    this.signal = new SpeedCadenceSignal(
      this.random.fork(),
      {
        speedKmh: options.speedKmh ?? 30,
        cadence: options.cadence ?? 85,
        wheelCircumferenceM: options.wheelCircumferenceM ?? 2.105,
        startWheelRevolutions: options.startWheelRevolutions ?? 0xffffffff - 6,
        startCrankRevolutions: options.startCrankRevolutions ?? 0xffff - 2,
        startTimeMs: options.startTimeMs ?? 60_000,
      },
      intervalMs,
    );
    this.battery = battery;
    battery.bind(this);
    this.addNotifier({ uuid: CSC_MEASUREMENT_UUID, intervalMs, next: () => this.signal.next() });
  }
}

export function speedCadenceSensor(options: SpeedCadenceSensorOptions = {}): SpeedCadenceSensor {
  return new SpeedCadenceSensor(options);
}
