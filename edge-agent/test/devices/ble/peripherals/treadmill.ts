/**
 * A treadmill: Fitness Machine (0x1826) with Treadmill Data 0x2ACD (speed, total distance, inclination and
 * ramp angle, elapsed time: flags 0x040C) notified at 1 Hz, Fitness Machine Feature 0x2ACC, supported speed
 * and inclination ranges, Control Point 0x2AD9 (target speed and inclination) and Status 0x2ADA.
 * Byte layout per shared/reference/sensor-protocols.md 1.6.1.
 */
import { Type, type Static } from '@sinclair/typebox';
import { SimulatedPeripheral } from '../peripheral.ts';
import { Wander, type SeededRandom } from '../random.ts';
import { commonControlHandlers, range, ControlPointOpcode, featureValue, FitnessMachineControl, ftmsServiceData, FtmsUuid, MachineType, targetHandler } from './fitness-machine.ts';
import { basePeripheralOptions, CommonPeripheralProperties } from './options.ts';
import { simulatorDeviceInformation } from './standard-services.ts';

export const TreadmillSchema = Type.Object(
  {
    ...CommonPeripheralProperties,
    /** Belt speed in km/h (default 10). */
    speedKmh: Type.Optional(Type.Number({ minimum: 0, maximum: 25 })),
    /** Incline in percent (default 1). */
    inclinePercent: Type.Optional(Type.Number({ minimum: -5, maximum: 15 })),
  },
  { additionalProperties: false },
);
export type TreadmillOptions = Static<typeof TreadmillSchema>;

const FLAGS = (1 << 2) | (1 << 3) | (1 << 10); // total distance, inclination + ramp, elapsed time
const FEATURES = (1 << 2) | (1 << 3) | (1 << 12); // total distance, inclination, elapsed time
const TARGETS = (1 << 0) | (1 << 1); // speed, inclination
const SPEED_RANGE = { min: 50, max: 2500, increment: 10 }; // 0.01 km/h
const INCLINE_RANGE = { min: -50, max: 150, increment: 5 }; // 0.1 %

export class TreadmillSignal {
  running = true;
  readonly speedKmh: Wander;
  inclinePercent: number;
  private distanceM = 0;
  private elapsedMs = 0;

  constructor(
    random: SeededRandom,
    options: { speedKmh: number; inclinePercent: number },
    private readonly intervalMs: number,
  ) {
    this.speedKmh = new Wander(random, options.speedKmh, { min: 0, max: 25, pull: 0.3, noise: 0.05 });
    this.inclinePercent = options.inclinePercent;
  }

  reset(): void {
    this.distanceM = 0;
    this.elapsedMs = 0;
  }

  next(): Buffer {
    const speed = this.running ? this.speedKmh.step() : 0;
    if (this.running) this.elapsedMs += this.intervalMs;
    this.distanceM += (speed / 3.6) * (this.intervalMs / 1000);
    const value = Buffer.alloc(13);
    value.writeUInt16LE(FLAGS, 0);
    value.writeUInt16LE(Math.round(speed * 100), 2);
    value.writeUIntLE(Math.min(0xffffff, Math.floor(this.distanceM)), 4, 3);
    value.writeInt16LE(Math.round(this.inclinePercent * 10), 7);
    value.writeInt16LE(Math.round((Math.atan(this.inclinePercent / 100) * 180 * 10) / Math.PI), 9);
    value.writeUInt16LE(Math.min(0xffff, Math.floor(this.elapsedMs / 1000)), 11);
    return value;
  }
}

export class Treadmill extends SimulatedPeripheral {
  readonly signal: TreadmillSignal;
  readonly control: FitnessMachineControl;

  constructor(options: TreadmillOptions = {}) {
    const base = basePeripheralOptions(options, { namePrefix: 'TREAD-SIM', addressType: 'public', kindTag: 4 });
    const intervalMs = options.notifyIntervalMs ?? 1000;
    const holder: { signal?: TreadmillSignal } = {};
    const control = new FitnessMachineControl(
      new Map([
        ...commonControlHandlers(holder),
        [
          ControlPointOpcode.setTargetSpeed,
          targetHandler(
            0x05,
            SPEED_RANGE,
            (p) => p.readUInt16LE(0),
            (speed) => holder.signal?.speedKmh.retarget(speed / 100),
          ),
        ],
        [
          ControlPointOpcode.setTargetInclination,
          targetHandler(
            0x06,
            INCLINE_RANGE,
            (p) => p.readInt16LE(0),
            (incline) => {
              if (holder.signal !== undefined) holder.signal.inclinePercent = incline / 10;
            },
          ),
        ],
      ]),
    );
    super({
      ...base,
      advertisement: { serviceUuids: [FtmsUuid.service], serviceData: [ftmsServiceData(MachineType.treadmill)] },
      services: [
        {
          uuid: FtmsUuid.service,
          characteristics: [
            { uuid: FtmsUuid.feature, properties: ['read'], read: () => featureValue(FEATURES, TARGETS) },
            { uuid: FtmsUuid.treadmillData, properties: ['notify'] },
            { uuid: FtmsUuid.supportedSpeedRange, properties: ['read'], read: () => range([SPEED_RANGE.min, SPEED_RANGE.max, SPEED_RANGE.increment]) },
            {
              uuid: FtmsUuid.supportedInclinationRange,
              properties: ['read'],
              read: () => range([INCLINE_RANGE.min, INCLINE_RANGE.max, INCLINE_RANGE.increment]),
            },
            control.controlPoint(),
            control.status(),
          ],
        },
        simulatorDeviceInformation(base.seed, 4, 'TREAD-SIM 500', '7.2.0'),
      ],
    });
    this.signal = new TreadmillSignal(this.random.fork(), { speedKmh: options.speedKmh ?? 10, inclinePercent: options.inclinePercent ?? 1 }, intervalMs);
    holder.signal = this.signal;
    this.control = control;
    control.bind(this);
    this.addNotifier({ uuid: FtmsUuid.treadmillData, intervalMs, next: () => this.signal.next() });
  }
}

export function treadmill(options: TreadmillOptions = {}): Treadmill {
  return new Treadmill(options);
}
