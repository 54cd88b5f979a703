/**
 * A smart indoor bike: Fitness Machine (0x1826) with Indoor Bike Data 0x2AD2 (speed, instantaneous cadence,
 * instantaneous power: flags 0x0044) notified at 1 Hz, Fitness Machine Feature 0x2ACC, supported resistance
 * and power ranges, Control Point 0x2AD9 (target resistance, target power for ERG mode) and Status 0x2ADA.
 * Byte layout per shared/reference/sensor-protocols.md 1.6.2.
 */
import { Type, type Static } from '@sinclair/typebox';
import { SimulatedPeripheral } from '../peripheral.ts';
import { Wander, type SeededRandom } from '../random.ts';
import {
  commonControlHandlers,
  range,
  ControlPointOpcode,
  ControlPointResult,
  featureValue,
  FitnessMachineControl,
  ftmsServiceData,
  FtmsUuid,
  MachineType,
  targetHandler,
} from './fitness-machine.ts';
import { basePeripheralOptions, CommonPeripheralProperties } from './options.ts';
import { simulatorDeviceInformation } from './standard-services.ts';

export const SmartBikeSchema = Type.Object(
  {
    ...CommonPeripheralProperties,
    power: Type.Optional(Type.Number({ minimum: 0, maximum: 2000 })),
    cadence: Type.Optional(Type.Number({ minimum: 0, maximum: 200 })),
  },
  { additionalProperties: false },
);
export type SmartBikeOptions = Static<typeof SmartBikeSchema>;

const FLAGS = (1 << 2) | (1 << 6); // instantaneous cadence, instantaneous power (speed present: bit 0 clear)
const FEATURES = (1 << 1) | (1 << 14); // cadence, power measurement
const TARGETS = (1 << 2) | (1 << 3); // resistance, power
const RESISTANCE_RANGE = { min: 0, max: 200, increment: 10 }; // 0.1 units
const POWER_RANGE = { min: 0, max: 2000, increment: 1 }; // W

export class IndoorBikeSignal {
  running = true;
  readonly power: Wander;
  readonly cadence: Wander;
  resistance = 50;

  constructor(random: SeededRandom, options: { power: number; cadence: number }) {
    this.power = new Wander(random, options.power, { min: 0, max: 2000, pull: 0.25, noise: 6 });
    this.cadence = new Wander(random, options.cadence, { min: 0, max: 200, pull: 0.2, noise: 1.2 });
  }

  reset(): void {
    this.resistance = 50;
  }

  next(): Buffer {
    const power = this.running ? Math.round(this.power.step()) : 0;
    const cadence = this.running ? this.cadence.step() : 0;
    // Flat-road speed for that power: P = k v^3 with k ~ 0.3 (drag only).
    const speedKmh = Math.cbrt(power / 0.3) * 3.6;
    const value = Buffer.alloc(8);
    value.writeUInt16LE(FLAGS, 0);
    value.writeUInt16LE(Math.round(speedKmh * 100), 2);
    value.writeUInt16LE(Math.round(cadence * 2), 4);
    value.writeInt16LE(power, 6);
    return value;
  }
}

export class SmartBike extends SimulatedPeripheral {
  readonly signal: IndoorBikeSignal;
  readonly control: FitnessMachineControl;

  constructor(options: SmartBikeOptions = {}) {
    const base = basePeripheralOptions(options, { namePrefix: 'BIKE-SIM', addressType: 'random', kindTag: 5 });
    const intervalMs = options.notifyIntervalMs ?? 1000;
    const holder: { signal?: IndoorBikeSignal } = {};
    const control = new FitnessMachineControl(
      new Map([
        ...commonControlHandlers(holder),
        [
          ControlPointOpcode.setTargetResistance,
          (parameters: Buffer) => {
            const level = parameters[0];
            if (parameters.length !== 1 || level === undefined || level > RESISTANCE_RANGE.max) return { result: ControlPointResult.invalidParameter };
            if (holder.signal !== undefined) holder.signal.resistance = level;
            return { result: ControlPointResult.success, status: Buffer.from([0x07, level]) };
          },
        ],
        [
          ControlPointOpcode.setTargetPower,
          targetHandler(
            0x08,
            POWER_RANGE,
            (p) => p.readInt16LE(0),
            (watts) => holder.signal?.power.retarget(watts),
          ),
        ],
      ]),
    );
    super({
      ...base,
      appearance: 0x0480, // generic cycling
      advertisement: { serviceUuids: [FtmsUuid.service, '1818'], serviceData: [ftmsServiceData(MachineType.indoorBike)] },
      services: [
        {
          uuid: FtmsUuid.service,
          characteristics: [
            { uuid: FtmsUuid.feature, properties: ['read'], read: () => featureValue(FEATURES, TARGETS) },
            { uuid: FtmsUuid.indoorBikeData, properties: ['notify'] },
            {
              uuid: FtmsUuid.supportedResistanceRange,
              properties: ['read'],
              read: () => range([RESISTANCE_RANGE.min, RESISTANCE_RANGE.max, RESISTANCE_RANGE.increment]),
            },
            { uuid: FtmsUuid.supportedPowerRange, properties: ['read'], read: () => range([POWER_RANGE.min, POWER_RANGE.max, POWER_RANGE.increment]) },
            control.controlPoint(),
            control.status(),
          ],
        },
        simulatorDeviceInformation(base.seed, 5, 'BIKE-SIM S', '4.4.1'),
      ],
    });
    this.signal = new IndoorBikeSignal(this.random.fork(), { power: options.power ?? 180, cadence: options.cadence ?? 90 });
    holder.signal = this.signal;
    this.control = control;
    control.bind(this);
    this.addNotifier({ uuid: FtmsUuid.indoorBikeData, intervalMs, next: () => this.signal.next() });
  }
}

export function smartBike(options: SmartBikeOptions = {}): SmartBike {
  return new SmartBike(options);
}
