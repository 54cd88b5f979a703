/**
 * CSC Measurement 0x2A5B (Cycling Speed and Cadence service 0x1816). The sensor sends counters, so speed
 * and cadence come from two consecutive notifications; the state carries the previous counters.
 */
import { METRICS } from '@pulsebridge/protocol';
import { DEFAULT_WHEEL_CIRCUMFERENCE_M, MeasurementList, readField, recordFlags, type BleProfile } from './profile.ts';
import { stepRevolutions, type RevolutionCounter, type RevolutionStep, type RevolutionTrack } from './revolutions.ts';

const WHEEL_PRESENT = 0x01;
const CRANK_PRESENT = 0x02;
const RESERVED = 0xfc;

export interface CscFields {
  wheel?: { revs: number; time: number };
  crank?: { revs: number; time: number };
}

export interface RevolutionState {
  wheel?: RevolutionTrack;
  crank?: RevolutionTrack;
}

export function parseCsc(data: Uint8Array): CscFields | { ok: false; reason: string } {
  const flags = recordFlags(data, { what: 'CSC measurement', flagType: 'u8', reserved: RESERVED, lengthOf: (f) => 1 + (f & WHEEL_PRESENT ? 6 : 0) + (f & CRANK_PRESENT ? 4 : 0) });
  if (typeof flags !== 'number') return flags;
  const fields: CscFields = {};
  let offset = 1;
  if (flags & WHEEL_PRESENT) {
    fields.wheel = { revs: readField(data, offset, 'u32'), time: readField(data, offset + 4, 'u16') };
    offset += 6;
  }
  if (flags & CRANK_PRESENT) fields.crank = { revs: readField(data, offset, 'u16'), time: readField(data, offset + 2, 'u16') };
  return fields;
}

export function wheelCounter(ticksPerSecond: number, circumferenceM: number): RevolutionCounter {
  return { revModulus: 2 ** 32, ticksPerSecond, maxRevsPerSecond: METRICS.speed.max / circumferenceM };
}

export const CRANK_COUNTER: RevolutionCounter = { revModulus: 65_536, ticksPerSecond: 1024, maxRevsPerSecond: METRICS.cadence.max / 60 };

/** Turns a step into a value: a fresh rate, 0 once stopped, nothing while holding or re-baselining. */
export function rateFrom(step: RevolutionStep, perRevPerSecond: number): number | undefined {
  if (step.kind === 'rate') return step.revsPerSecond * perRevPerSecond;
  if (step.kind === 'stopped') return 0;
  return undefined;
}

export const cscMeasurement: BleProfile<RevolutionState> = {
  name: 'csc_measurement',
  decode(data, context = {}) {
    const fields = parseCsc(data);
    if ('ok' in fields) return fields;
    const circumferenceM = context.wheelCircumferenceM ?? DEFAULT_WHEEL_CIRCUMFERENCE_M;
    const state: RevolutionState = { ...context.previous };
    const list = new MeasurementList();
    if (fields.wheel) {
      const { track, step } = stepRevolutions(wheelCounter(1024, circumferenceM), state.wheel, fields.wheel.revs, fields.wheel.time);
      state.wheel = track;
      const speed = rateFrom(step, circumferenceM);
      if (speed !== undefined) list.add('speed', speed);
    }
    if (fields.crank) {
      const { track, step } = stepRevolutions(CRANK_COUNTER, state.crank, fields.crank.revs, fields.crank.time);
      state.crank = track;
      const cadence = rateFrom(step, 60);
      if (cadence !== undefined) list.add('cadence', cadence);
    }
    return list.result(undefined, state);
  },
};
