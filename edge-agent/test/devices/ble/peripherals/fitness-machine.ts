/**
 * What the Fitness Machine Service (0x1826) profiles share: the Fitness Machine Control Point 0x2AD9
 * (write + indicate; a client must take control with op 0x00 first and gets [0x80, op, result] back as an
 * indication) and Fitness Machine Status 0x2ADA notifications of what changed.
 */
import { AttError } from '../att-server.ts';
import type { CharacteristicDefinition, WriteContext } from '../gatt.ts';
import type { SimulatedPeripheral } from '../peripheral.ts';

export const FtmsUuid = {
  service: '1826',
  feature: '2acc',
  treadmillData: '2acd',
  indoorBikeData: '2ad2',
  stairClimberData: '2ad0',
  trainingStatus: '2ad3',
  supportedSpeedRange: '2ad4',
  supportedInclinationRange: '2ad5',
  supportedResistanceRange: '2ad6',
  supportedPowerRange: '2ad8',
  controlPoint: '2ad9',
  status: '2ada',
} as const;

export const ControlPointOpcode = {
  requestControl: 0x00,
  reset: 0x01,
  setTargetSpeed: 0x02,
  setTargetInclination: 0x03,
  setTargetResistance: 0x04,
  setTargetPower: 0x05,
  startOrResume: 0x07,
  stopOrPause: 0x08,
  responseCode: 0x80,
} as const;

export const ControlPointResult = {
  success: 0x01,
  opCodeNotSupported: 0x02,
  invalidParameter: 0x03,
  operationFailed: 0x04,
  controlNotPermitted: 0x05,
} as const;

export interface ControlOutcome {
  result: number;
  /** A Fitness Machine Status notification to send when the operation succeeded. */
  status?: Buffer;
}

export type ControlHandler = (parameters: Buffer) => ControlOutcome;

/**
 * A Set Target op with one 16-bit parameter: refused outside `range` (raw units), else applied and
 * announced with status op `statusOp` carrying the same parameter.
 */
export function targetHandler(statusOp: number, range: { min: number; max: number }, read: (parameters: Buffer) => number, apply: (raw: number) => void): ControlHandler {
  return (parameters) => {
    if (parameters.length !== 2) return { result: ControlPointResult.invalidParameter };
    const raw = read(parameters);
    if (raw < range.min || raw > range.max) return { result: ControlPointResult.invalidParameter };
    apply(raw);
    return { result: ControlPointResult.success, status: Buffer.from([statusOp, ...parameters]) };
  };
}

/** Machine type bits of the FTMS advertising service data (FTMS 1.0, 4.3.1.1). */
export const MachineType = {
  treadmill: 0x0001,
  stairClimber: 0x0008,
  indoorBike: 0x0020,
} as const;

/** FTMS service data for the advertisement: flags (0x01 machine available) and the machine type. */
export function ftmsServiceData(machineType: number): { uuid: string; data: Buffer } {
  const data = Buffer.alloc(3);
  data.writeUInt8(0x01, 0);
  data.writeUInt16LE(machineType, 1);
  return { uuid: FtmsUuid.service, data };
}

/** Fitness Machine Feature 0x2ACC: machine features then target setting features, uint32 each. */
export function featureValue(machineFeatures: number, targetSettingFeatures: number): Buffer {
  const value = Buffer.alloc(8);
  value.writeUInt32LE(machineFeatures, 0);
  value.writeUInt32LE(targetSettingFeatures, 4);
  return value;
}

export class FitnessMachineControl {
  private readonly controllers = new Set<string>();
  private peripheral: SimulatedPeripheral | undefined;

  constructor(private readonly handlers: ReadonlyMap<number, ControlHandler>) {}

  bind(peripheral: SimulatedPeripheral): void {
    this.peripheral = peripheral;
  }

  controlPoint(): CharacteristicDefinition {
    return { uuid: FtmsUuid.controlPoint, properties: ['write', 'indicate'], write: (data, context) => this.write(data, context) };
  }

  status(): CharacteristicDefinition {
    return { uuid: FtmsUuid.status, properties: ['notify'] };
  }

  /** Sends a Fitness Machine Status notification, e.g. [0x04] started by the user at the console. */
  notifyStatus(status: Uint8Array): void {
    this.peripheral?.emit(FtmsUuid.status, status);
  }

  private write(data: Buffer, context: WriteContext): number | void {
    // FTMS 4.16.2: writing the control point without indications enabled is refused at the ATT layer.
    if ((context.subscription & 0x0002) === 0) return AttError.cccdImproperlyConfigured;
    const op = data[0];
    if (op === undefined) return AttError.invalidAttributeValueLength;
    const client = `${context.adapterId}/${context.connectionHandle}`;
    let outcome: ControlOutcome;
    if (op === ControlPointOpcode.requestControl) {
      this.controllers.add(client);
      outcome = { result: ControlPointResult.success };
    } else if (!this.controllers.has(client)) {
      outcome = { result: ControlPointResult.controlNotPermitted };
    } else {
      const handler = this.handlers.get(op);
      outcome = handler === undefined ? { result: ControlPointResult.opCodeNotSupported } : handler(data.subarray(1));
    }
    const peripheral = this.peripheral;
    // The indication follows the Write Response, which the ATT server sends when this returns.
    queueMicrotask(() => {
      peripheral?.emit(FtmsUuid.controlPoint, Buffer.from([ControlPointOpcode.responseCode, op, outcome.result]), 'indication', {
        adapterId: context.adapterId,
        connectionHandle: context.connectionHandle,
      });
      if (outcome.result === ControlPointResult.success && outcome.status !== undefined) peripheral?.emit(FtmsUuid.status, outcome.status);
    });
  }
}

/** Handlers every machine understands: reset, start/resume and stop/pause. */
/** What the common handlers drive; the signal is set after the peripheral is built, hence the holder. */
export interface MachineHolder {
  signal?: { running: boolean; reset(): void };
}

/** The range fields of a Supported ... Range characteristic: signed 16-bit minimum, maximum, increment. */
export function range(values: number[]): Buffer {
  const value = Buffer.alloc(values.length * 2);
  values.forEach((entry, index) => value.writeInt16LE(entry, index * 2));
  return value;
}

export function commonControlHandlers(holder: MachineHolder): [number, ControlHandler][] {
  const machine = {
    get running(): boolean {
      return holder.signal?.running ?? false;
    },
    set running(value: boolean) {
      if (holder.signal !== undefined) holder.signal.running = value;
    },
    reset: (): void => holder.signal?.reset(),
  };
  return [
    [
      ControlPointOpcode.reset,
      () => {
        machine.reset();
        return { result: ControlPointResult.success, status: Buffer.from([0x01]) };
      },
    ],
    [
      ControlPointOpcode.startOrResume,
      () => {
        machine.running = true;
        return { result: ControlPointResult.success, status: Buffer.from([0x04]) };
      },
    ],
    [
      ControlPointOpcode.stopOrPause,
      (parameters) => {
        const kind = parameters[0];
        if (parameters.length !== 1 || (kind !== 0x01 && kind !== 0x02)) return { result: ControlPointResult.invalidParameter };
        machine.running = false;
        return { result: ControlPointResult.success, status: Buffer.from([0x02, kind]) };
      },
    ],
  ];
}
