/**
 * A stair climber: Fitness Machine (0x1826) with Stair Climber Data 0x2AD0 (floors, step rate, positive
 * elevation gain, elapsed time: flags 0x010A) notified at 1 Hz, Training Status 0x2AD3, Fitness Machine
 * Feature 0x2ACC and Status 0x2ADA. No control point: the climber is driven from its own console.
 */
import { Type, type Static } from '@sinclair/typebox';
import { SimulatedPeripheral } from '../peripheral.ts';
import { Wander, type SeededRandom } from '../random.ts';
import { featureValue, ftmsServiceData, FtmsUuid, MachineType } from './fitness-machine.ts';
import { basePeripheralOptions, CommonPeripheralProperties } from './options.ts';
import { simulatorDeviceInformation } from './standard-services.ts';

export const StairClimberSchema = Type.Object(
  {
    ...CommonPeripheralProperties,
    /** Steps per minute (default 70). */
    stepRate: Type.Optional(Type.Number({ minimum: 10, maximum: 200 })),
  },
  { additionalProperties: false },
);
export type StairClimberOptions = Static<typeof StairClimberSchema>;

const FLAGS = (1 << 1) | (1 << 3) | (1 << 8); // floors (bit 0 clear), step rate, elevation gain, elapsed time
const FEATURES = (1 << 4) | (1 << 7) | (1 << 12); // elevation gain, step count, elapsed time
/** A floor of about 3 m, climbed in 16 steps of 19 cm. */
const STEPS_PER_FLOOR = 16;
const METRES_PER_STEP = 0.19;
/** Training Status: no text, "manual mode (quick start)". */
const TRAINING_STATUS_MANUAL = Buffer.from([0x00, 0x0d]);

export class StairClimberSignal {
  readonly stepRate: Wander;
  private steps = 0;
  private elapsedMs = 0;

  constructor(
    random: SeededRandom,
    stepRate: number,
    private readonly intervalMs: number,
  ) {
    this.stepRate = new Wander(random, stepRate, { min: 10, max: 200, pull: 0.3, noise: 1 });
  }

  next(): Buffer {
    const rate = this.stepRate.step();
    this.elapsedMs += this.intervalMs;
    this.steps += (rate / 60) * (this.intervalMs / 1000);
    const value = Buffer.alloc(10);
    value.writeUInt16LE(FLAGS, 0);
    value.writeUInt16LE(Math.min(0xffff, Math.floor(this.steps / STEPS_PER_FLOOR)), 2);
    value.writeUInt16LE(Math.round(rate), 4);
    value.writeUInt16LE(Math.min(0xffff, Math.floor(this.steps * METRES_PER_STEP)), 6);
    value.writeUInt16LE(Math.min(0xffff, Math.floor(this.elapsedMs / 1000)), 8);
    return value;
  }
}

export class StairClimber extends SimulatedPeripheral {
  readonly signal: StairClimberSignal;

  constructor(options: StairClimberOptions = {}) {
    const base = basePeripheralOptions(options, { namePrefix: 'STAIR-SIM', addressType: 'public', kindTag: 7 });
    const intervalMs = options.notifyIntervalMs ?? 1000;
    super({
      ...base,
      advertisement: { serviceUuids: [FtmsUuid.service], serviceData: [ftmsServiceData(MachineType.stairClimber)] },
      services: [
        {
          uuid: FtmsUuid.service,
          characteristics: [
            { uuid: FtmsUuid.feature, properties: ['read'], read: () => featureValue(FEATURES, 0) },
            { uuid: FtmsUuid.stairClimberData, properties: ['notify'] },
            { uuid: FtmsUuid.trainingStatus, properties: ['read', 'notify'], read: () => TRAINING_STATUS_MANUAL },
            { uuid: FtmsUuid.status, properties: ['notify'] },
          ],
        },
        simulatorDeviceInformation(base.seed, 7, 'STAIR-SIM 300', '2.0.1'),
      ],
    });
    this.signal = new StairClimberSignal(this.random.fork(), options.stepRate ?? 70, intervalMs);
    this.addNotifier({ uuid: FtmsUuid.stairClimberData, intervalMs, next: () => this.signal.next() });
  }
}

export function stairClimber(options: StairClimberOptions = {}): StairClimber {
  return new StairClimber(options);
}
