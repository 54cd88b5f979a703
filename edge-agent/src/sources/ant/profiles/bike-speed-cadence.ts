/**
 * ANT+ Bike Speed and Cadence profile: speed sensors (device type 123), cadence sensors (122) and
 * combined sensors (121).
 *
 * Sensors report the time of the last revolution event (1/1024 s, wraps 64 s) and a cumulative
 * revolution count (wraps 65536); rates come from two consecutive samples. A sensor repeats the same
 * event while nothing turns, so an unchanged event time means "no news", and many repeats mean stopped.
 */
import { METRICS } from '@pulsebridge/protocol';
import type { Measurement, SensorFacts } from '../../measurement.ts';
import { refused } from '../../measurement.ts';
import { backgroundPageFacts, batteryFacts } from './common-pages.ts';
import { AntPage, counterDelta, decoded, DEFAULT_WHEEL_CIRCUMFERENCE_M, type AntDecodeContext, type AntPageDecoder } from './page.ts';

export const SPEED_AND_CADENCE_DEVICE_TYPE = 121;
export const CADENCE_DEVICE_TYPE = 122;
export const SPEED_DEVICE_TYPE = 123;
export const SPEED_AND_CADENCE_CHANNEL_PERIOD = 8086;
export const CADENCE_CHANNEL_PERIOD = 8102;
export const SPEED_CHANNEL_PERIOD = 8118;

/** 12 repeated events at 4 Hz = 3 s without a revolution: below 20 rpm, or below ~2.5 km/h, is stopped. */
export const STOPPED_AFTER_REPEATS = 12;

export interface RevolutionState {
  eventTime: number;
  revolutions: number;
  /** Messages in a row that repeated the same event. */
  repeats: number;
}

type RevolutionStep = { kind: 'baseline' } | { kind: 'waiting' } | { kind: 'stopped' } | { kind: 'event'; seconds: number; revolutions: number };

/** Compares a sample with the previous one of the same counter pair. */
export function stepRevolutions(previous: RevolutionState | undefined, eventTime: number, revolutions: number): { step: RevolutionStep; state: RevolutionState } {
  const fresh: RevolutionState = { eventTime, revolutions, repeats: 0 };
  if (previous === undefined) return { step: { kind: 'baseline' }, state: fresh };
  const ticks = counterDelta(eventTime, previous.eventTime, 0x10000);
  const turns = counterDelta(revolutions, previous.revolutions, 0x10000);
  if (ticks === 0) {
    // Revolutions without a new event time is a counter reset or a glitch: start over from here.
    if (turns !== 0) return { step: { kind: 'baseline' }, state: fresh };
    const repeats = previous.repeats + 1;
    return { step: { kind: repeats >= STOPPED_AFTER_REPEATS ? 'stopped' : 'waiting' }, state: { ...previous, repeats } };
  }
  // The first event after a stop spans the whole pause (possibly more than the 64 s the time can count).
  if (previous.repeats >= STOPPED_AFTER_REPEATS) return { step: { kind: 'baseline' }, state: fresh };
  return { step: { kind: 'event', seconds: ticks / 1024, revolutions: turns }, state: fresh };
}

/**
 * A rate above the catalogue's maximum is a counter that jumped (sensor reset, swapped battery), not a
 * real speed: nothing is reported and the new sample becomes the baseline.
 */
function plausible(value: number, max: number): boolean {
  return Number.isFinite(value) && value <= max;
}

export interface SpeedState {
  wheel: RevolutionState;
  distanceM: number;
  toggle: boolean;
  paged: boolean;
}

export interface CadenceState {
  crank: RevolutionState;
  toggle: boolean;
  paged: boolean;
}

export interface SpeedAndCadenceState {
  crank: RevolutionState;
  wheel: RevolutionState;
  distanceM: number;
}

const BATTERY_PAGE = 4;
const MOTION_PAGE = 5;

function wheelMeasurements(step: RevolutionStep, circumferenceM: number, distanceM: number): { measurements: Measurement[]; distanceM: number } {
  if (step.kind === 'stopped') return { measurements: [{ metric: 'speed', value: 0 }], distanceM };
  if (step.kind !== 'event') return { measurements: [], distanceM };
  const speed = (step.revolutions * circumferenceM) / step.seconds;
  if (!plausible(speed, METRICS.speed.max)) return { measurements: [], distanceM };
  const distance = distanceM + step.revolutions * circumferenceM;
  return {
    measurements: [
      { metric: 'speed', value: speed },
      { metric: 'distance', value: distance },
    ],
    distanceM: distance,
  };
}

function crankMeasurements(step: RevolutionStep): Measurement[] {
  if (step.kind === 'stopped') return [{ metric: 'cadence', value: 0 }];
  if (step.kind !== 'event') return [];
  const cadence = (step.revolutions * 60) / step.seconds;
  return plausible(cadence, METRICS.cadence.max) ? [{ metric: 'cadence', value: cadence }] : [];
}

/** Pages 1-5 of speed-only and cadence-only sensors; trusted only once the toggle bit has flipped. */
function backgroundFacts(page: AntPage, paged: boolean, context: AntDecodeContext): { facts?: SensorFacts; stopped: boolean } {
  if (!paged) return { stopped: false };
  if (page.number === BATTERY_PAGE) return { facts: batteryFacts(page.u8(2), page.u8(3)), stopped: false };
  if (page.number === MOTION_PAGE) return { stopped: (page.u8(1) & 0x01) !== 0 };
  const facts = backgroundPageFacts(page, context);
  return facts ? { facts, stopped: false } : { stopped: false };
}

export const decodeBikeSpeed: AntPageDecoder<SpeedState> = (bytes, previous, context = {}) => {
  const page = AntPage.from(bytes);
  if (typeof page === 'string') return refused(page);
  const paged = previous !== undefined && (previous.paged || previous.toggle !== page.toggle);
  const { step, state: wheel } = stepRevolutions(previous?.wheel, page.u16(4), page.u16(6));
  const wheelResult = wheelMeasurements(step, context.wheelCircumferenceM ?? DEFAULT_WHEEL_CIRCUMFERENCE_M, previous?.distanceM ?? 0);
  const { facts, stopped } = backgroundFacts(page, paged, context);
  const measurements = wheelResult.measurements;
  if (stopped && !measurements.some((m) => m.metric === 'speed')) measurements.push({ metric: 'speed', value: 0 });
  const state: SpeedState = { wheel, distanceM: wheelResult.distanceM, toggle: page.toggle, paged };
  return decoded(measurements, state, facts);
};

export const decodeBikeCadence: AntPageDecoder<CadenceState> = (bytes, previous, context = {}) => {
  const page = AntPage.from(bytes);
  if (typeof page === 'string') return refused(page);
  const paged = previous !== undefined && (previous.paged || previous.toggle !== page.toggle);
  const { step, state: crank } = stepRevolutions(previous?.crank, page.u16(4), page.u16(6));
  const measurements = crankMeasurements(step);
  const { facts } = backgroundFacts(page, paged, context);
  const state: CadenceState = { crank, toggle: page.toggle, paged };
  return decoded(measurements, state, facts);
};

/** Combined sensors send a single page with no page number: all 8 bytes are the two counter pairs. */
export const decodeSpeedAndCadence: AntPageDecoder<SpeedAndCadenceState> = (bytes, previous, context = {}) => {
  const page = AntPage.from(bytes);
  if (typeof page === 'string') return refused(page);
  const crankStep = stepRevolutions(previous?.crank, page.u16(0), page.u16(2));
  const wheelStep = stepRevolutions(previous?.wheel, page.u16(4), page.u16(6));
  const wheelResult = wheelMeasurements(wheelStep.step, context.wheelCircumferenceM ?? DEFAULT_WHEEL_CIRCUMFERENCE_M, previous?.distanceM ?? 0);
  return decoded([...crankMeasurements(crankStep.step), ...wheelResult.measurements], {
    crank: crankStep.state,
    wheel: wheelStep.state,
    distanceM: wheelResult.distanceM,
  });
};
