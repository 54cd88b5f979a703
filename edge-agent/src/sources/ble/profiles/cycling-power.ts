/**
 * Cycling Power Measurement 0x2A63 (Cycling Power service 0x1818). Power is signed; wheel event times tick
 * at 1/2048 s (crank times at 1/1024 s, as in CSC); accumulated energy is flag bit 11, the last field.
 */
import { DEFAULT_WHEEL_CIRCUMFERENCE_M, FIELD_SIZE, MeasurementList, readField, recordFlags, type BleProfile, type FieldType } from './profile.ts';
import { CRANK_COUNTER, rateFrom, wheelCounter } from './cycling-speed-cadence.ts';
import { stepRevolutions, type RevolutionTrack } from './revolutions.ts';

const BALANCE_PRESENT = 1 << 0;
const BALANCE_REFERENCE_LEFT = 1 << 1;
const TORQUE_PRESENT = 1 << 2;
const TORQUE_SOURCE_CRANK = 1 << 3;
const WHEEL_PRESENT = 1 << 4;
const CRANK_PRESENT = 1 << 5;
const FORCE_MAGNITUDES_PRESENT = 1 << 6;
const TORQUE_MAGNITUDES_PRESENT = 1 << 7;
const ANGLES_PRESENT = 1 << 8;
const TOP_DEAD_SPOT_PRESENT = 1 << 9;
const BOTTOM_DEAD_SPOT_PRESENT = 1 << 10;
const ENERGY_PRESENT = 1 << 11;
const OFFSET_COMPENSATION = 1 << 12;
const RESERVED = 0xe000;

const TORQUE_MODULUS = 65_536;

export interface CyclingPowerFields {
  powerW: number;
  /** Percent of the total, from the pedal named by `balanceReference`. */
  pedalBalancePercent?: number;
  balanceReference?: 'unknown' | 'left';
  /** Cumulative, in 1/32 N·m as sent. */
  accumulatedTorqueRaw?: number;
  torqueSource: 'wheel' | 'crank';
  /** Wheel time in 1/2048 s. */
  wheel?: { revs: number; time: number };
  crank?: { revs: number; time: number };
  maxForceN?: number;
  minForceN?: number;
  maxTorqueNm?: number;
  minTorqueNm?: number;
  maxAngleDeg?: number;
  minAngleDeg?: number;
  topDeadSpotDeg?: number;
  bottomDeadSpotDeg?: number;
  /** Cumulative mechanical work. */
  accumulatedEnergyKj?: number;
  offsetCompensation: boolean;
}

export interface CyclingPowerState {
  wheel?: RevolutionTrack;
  crank?: RevolutionTrack;
  accumulatedTorqueRaw?: number;
}

/** Bytes each optional flag adds, in field order. */
const OPTIONAL_SIZES: [number, number][] = [
  [BALANCE_PRESENT, 1],
  [TORQUE_PRESENT, 2],
  [WHEEL_PRESENT, 6],
  [CRANK_PRESENT, 4],
  [FORCE_MAGNITUDES_PRESENT, 4],
  [TORQUE_MAGNITUDES_PRESENT, 4],
  [ANGLES_PRESENT, 3],
  [TOP_DEAD_SPOT_PRESENT, 2],
  [BOTTOM_DEAD_SPOT_PRESENT, 2],
  [ENERGY_PRESENT, 2],
];

export function parseCyclingPower(data: Uint8Array): CyclingPowerFields | { ok: false; reason: string } {
  const flags = recordFlags(data, {
    what: 'cycling power measurement',
    flagType: 'u16',
    reserved: RESERVED,
    lengthOf: (f) => OPTIONAL_SIZES.reduce((size, [flag, bytes]) => (f & flag ? size + bytes : size), 4),
  });
  if (typeof flags !== 'number') return flags;

  let offset = 2;
  const next = (type: FieldType): number => {
    const value = readField(data, offset, type);
    offset += FIELD_SIZE[type];
    return value;
  };
  const fields: CyclingPowerFields = {
    powerW: next('s16'),
    torqueSource: flags & TORQUE_SOURCE_CRANK ? 'crank' : 'wheel',
    offsetCompensation: (flags & OFFSET_COMPENSATION) !== 0,
  };
  if (flags & BALANCE_PRESENT) {
    fields.pedalBalancePercent = next('u8') / 2;
    fields.balanceReference = flags & BALANCE_REFERENCE_LEFT ? 'left' : 'unknown';
  }
  if (flags & TORQUE_PRESENT) fields.accumulatedTorqueRaw = next('u16');
  if (flags & WHEEL_PRESENT) fields.wheel = { revs: next('u32'), time: next('u16') };
  if (flags & CRANK_PRESENT) fields.crank = { revs: next('u16'), time: next('u16') };
  if (flags & FORCE_MAGNITUDES_PRESENT) {
    fields.maxForceN = next('s16');
    fields.minForceN = next('s16');
  }
  if (flags & TORQUE_MAGNITUDES_PRESENT) {
    fields.maxTorqueNm = next('s16') / 32;
    fields.minTorqueNm = next('s16') / 32;
  }
  if (flags & ANGLES_PRESENT) {
    // Two 12-bit angles packed in three bytes, maximum in the low 12 bits.
    const packed = next('u24');
    fields.maxAngleDeg = packed & 0xfff;
    fields.minAngleDeg = packed >> 12;
  }
  if (flags & TOP_DEAD_SPOT_PRESENT) fields.topDeadSpotDeg = next('u16');
  if (flags & BOTTOM_DEAD_SPOT_PRESENT) fields.bottomDeadSpotDeg = next('u16');
  if (flags & ENERGY_PRESENT) fields.accumulatedEnergyKj = next('u16');
  return fields;
}

export const cyclingPowerMeasurement: BleProfile<CyclingPowerState> = {
  name: 'cycling_power_measurement',
  decode(data, context = {}) {
    const fields = parseCyclingPower(data);
    if ('ok' in fields) return fields;
    const circumferenceM = context.wheelCircumferenceM ?? DEFAULT_WHEEL_CIRCUMFERENCE_M;
    const previous = context.previous ?? {};
    const state: CyclingPowerState = { ...previous };
    const list = new MeasurementList().add('power', fields.powerW);
    // The catalogue's balance is the left pedal's share; with an unknown reference it could be either pedal.
    if (fields.pedalBalancePercent !== undefined && fields.balanceReference === 'left') list.add('pedal_balance', fields.pedalBalancePercent);

    const revsSinceLast: { wheel?: number; crank?: number } = {};
    if (fields.wheel) {
      const { track, step } = stepRevolutions(wheelCounter(2048, circumferenceM), previous.wheel, fields.wheel.revs, fields.wheel.time);
      state.wheel = track;
      if (step.kind === 'rate') revsSinceLast.wheel = step.revs;
      const speed = rateFrom(step, circumferenceM);
      if (speed !== undefined) list.add('speed', speed);
    }
    if (fields.crank) {
      const { track, step } = stepRevolutions(CRANK_COUNTER, previous.crank, fields.crank.revs, fields.crank.time);
      state.crank = track;
      if (step.kind === 'rate') revsSinceLast.crank = step.revs;
      const cadence = rateFrom(step, 60);
      if (cadence !== undefined) list.add('cadence', cadence);
    }
    if (fields.accumulatedTorqueRaw !== undefined) {
      // Accumulated torque grows by the average torque of each revolution of its source, so the average
      // over an interval is its increase divided by the revolutions in that interval.
      const revs = revsSinceLast[fields.torqueSource];
      if (previous.accumulatedTorqueRaw !== undefined && revs !== undefined && revs > 0) {
        const increase = (((fields.accumulatedTorqueRaw - previous.accumulatedTorqueRaw) % TORQUE_MODULUS) + TORQUE_MODULUS) % TORQUE_MODULUS;
        list.add('torque', increase / 32 / revs);
      }
      state.accumulatedTorqueRaw = fields.accumulatedTorqueRaw;
    }
    return list.result(undefined, state);
  },
};
