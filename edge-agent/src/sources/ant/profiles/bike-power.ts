/**
 * ANT+ Bicycle Power, device type 11.
 *
 * Power meters send accumulated values with an event counter. Averages between two events are what the
 * profile recommends showing: they stay exact when messages are lost, where the instantaneous field of
 * a lost message is simply gone. The instantaneous value is reported only for the first page, before
 * there is anything to average against.
 */
import type { Measurement } from '../../measurement.ts';
import { refused } from '../../measurement.ts';
import { commonPageFacts } from './common-pages.ts';
import { AntPage, counterDelta, decoded, DEFAULT_WHEEL_CIRCUMFERENCE_M, type AntPageDecoder } from './page.ts';

export const BIKE_POWER_DEVICE_TYPE = 11;
export const BIKE_POWER_CHANNEL_PERIOD = 8182;

export const PowerPage = {
  calibration: 0x01,
  standardPower: 0x10,
  wheelTorque: 0x11,
  crankTorque: 0x12,
  torqueEffectivenessPedalSmoothness: 0x13,
  crankTorqueFrequency: 0x20,
} as const;

interface StandardPowerSample {
  events: number;
  accumulatedPower: number;
}

interface TorqueSample {
  events: number;
  ticks: number;
  period: number;
  torque: number;
}

interface CtfSample {
  events: number;
  timeStamp: number;
  torqueTicks: number;
}

export interface PowerState {
  standard?: StandardPowerSample;
  crankTorque?: TorqueSample;
  wheelTorque?: TorqueSample;
  ctf?: CtfSample;
  /** Event count of the last torque-effectiveness page: the page repeats between events. */
  effectivenessEvents?: number;
  /** Zero-torque frequency of a crank-torque-frequency meter, from its calibration page. */
  ctfOffsetHz?: number;
}

const NOT_USED = 0xff;
const CALIBRATION_CTF = 0x10;
const CTF_ZERO_OFFSET = 0x01;
/** CTF slope is 10.0-50.0 Nm/Hz, sent in tenths; anything else is a corrupt page. */
const CTF_SLOPE_MIN = 100;
const CTF_SLOPE_MAX = 500;

export const decodeBikePower: AntPageDecoder<PowerState> = (bytes, previous, context = {}) => {
  const page = AntPage.from(bytes);
  if (typeof page === 'string') return refused(page);
  const before: PowerState = previous ?? {};

  switch (page.number) {
    case PowerPage.standardPower:
      return decodeStandardPower(page, before);
    case PowerPage.crankTorque: {
      const sample = torqueSample(page);
      return decoded(torqueMeasurements(before.crankTorque, sample, 'crank'), { ...before, crankTorque: sample });
    }
    case PowerPage.wheelTorque: {
      const sample = torqueSample(page);
      const measurements = torqueMeasurements(before.wheelTorque, sample, 'wheel', context.wheelCircumferenceM ?? DEFAULT_WHEEL_CIRCUMFERENCE_M);
      if (page.u8(3) !== NOT_USED) measurements.push({ metric: 'cadence', value: page.u8(3) });
      return decoded(measurements, { ...before, wheelTorque: sample });
    }
    case PowerPage.torqueEffectivenessPedalSmoothness:
      return decodeEffectiveness(page, before);
    case PowerPage.crankTorqueFrequency:
      return decodeCrankTorqueFrequency(page, before);
    case PowerPage.calibration:
      // Only the CTF zero offset matters to decoding; other calibration replies are for the driver.
      if (page.u8(1) === CALIBRATION_CTF && page.u8(2) === CTF_ZERO_OFFSET) return decoded([], { ...before, ctfOffsetHz: page.u16be(6) });
      return decoded([], before);
    default: {
      const facts = commonPageFacts(page);
      return decoded([], before, facts);
    }
  }
};

function decodeStandardPower(page: AntPage, before: PowerState): ReturnType<AntPageDecoder<PowerState>> {
  const sample: StandardPowerSample = { events: page.u8(1), accumulatedPower: page.u16(4) };
  const state: PowerState = { ...before, standard: sample };
  const measurements: Measurement[] = [];

  const pedal = page.u8(2);
  // Bit 7 set: the percentage is the right pedal's, so the left one is known. Clear: the sensor cannot
  // tell which pedal, and the metric is defined as the left pedal's share.
  if (pedal !== NOT_USED && pedal & 0x80 && (pedal & 0x7f) <= 100) measurements.push({ metric: 'pedal_balance', value: 100 - (pedal & 0x7f) });

  // Meters that send torque pages interleave this page; their torque-based figures are the finer ones,
  // and reporting both would put two different values in one series.
  if (before.crankTorque !== undefined || before.wheelTorque !== undefined) return decoded(measurements, state);

  if (page.u8(3) !== NOT_USED) measurements.push({ metric: 'cadence', value: page.u8(3) });
  if (before.standard === undefined) {
    measurements.push({ metric: 'power', value: page.u16(6) });
  } else {
    const events = counterDelta(sample.events, before.standard.events, 0x100);
    if (events > 0) measurements.push({ metric: 'power', value: counterDelta(sample.accumulatedPower, before.standard.accumulatedPower, 0x10000) / events });
  }
  return decoded(measurements, state);
}

/** Page 0x13 bytes are in 1/2 %; 0xFF means not measured. */
const HALF_PERCENT_INVALID = 0xff;
/** In the right-pedal-smoothness byte: the left byte holds both pedals combined. */
const SMOOTHNESS_COMBINED = 0xfe;

/**
 * Torque effectiveness and pedal smoothness, averaged by the meter over the event. A page that repeats the
 * last event count brings nothing new.
 */
function decodeEffectiveness(page: AntPage, before: PowerState): ReturnType<AntPageDecoder<PowerState>> {
  const events = page.u8(1);
  const state: PowerState = { ...before, effectivenessEvents: events };
  if (before.effectivenessEvents === events) return decoded([], state);
  const measurements: Measurement[] = [];
  const add = (metric: Measurement['metric'], raw: number): void => {
    if (raw !== HALF_PERCENT_INVALID && raw <= 200) measurements.push({ metric, value: raw / 2 });
  };
  add('torque_effectiveness_left', page.u8(2));
  add('torque_effectiveness_right', page.u8(3));
  if (page.u8(5) === SMOOTHNESS_COMBINED) {
    add('pedal_smoothness', page.u8(4));
  } else {
    add('pedal_smoothness_left', page.u8(4));
    add('pedal_smoothness_right', page.u8(5));
  }
  return decoded(measurements, state);
}

function torqueSample(page: AntPage): TorqueSample {
  return { events: page.u8(1), ticks: page.u8(2), period: page.u16(4), torque: page.u16(6) };
}

/**
 * Average torque, power and cadence (crank) or speed (wheel) between two torque pages. Period is in
 * 1/2048 s and torque in 1/32 N·m, both accumulated.
 */
function torqueMeasurements(previous: TorqueSample | undefined, current: TorqueSample, kind: 'crank' | 'wheel', circumferenceM = 0): Measurement[] {
  if (previous === undefined) return [];
  const events = counterDelta(current.events, previous.events, 0x100);
  if (events === 0) return [];
  const periodTicks = counterDelta(current.period, previous.period, 0x10000);
  // Events without elapsed period: the sensor says the crank or wheel stopped (coasting).
  if (periodTicks === 0)
    return kind === 'crank'
      ? [
          { metric: 'power', value: 0 },
          { metric: 'cadence', value: 0 },
        ]
      : [
          { metric: 'power', value: 0 },
          { metric: 'speed', value: 0 },
        ];
  const seconds = periodTicks / 2048;
  const torque = counterDelta(current.torque, previous.torque, 0x10000) / (32 * events);
  const angularVelocity = (2 * Math.PI * events) / seconds;
  const measurements: Measurement[] = [
    { metric: 'power', value: torque * angularVelocity },
    { metric: 'torque', value: torque },
  ];
  if (kind === 'crank') measurements.push({ metric: 'cadence', value: (60 * events) / seconds });
  else measurements.push({ metric: 'speed', value: (counterDelta(current.ticks, previous.ticks, 0x100) * circumferenceM) / seconds });
  return measurements;
}

/**
 * Crank torque frequency (SRM-style) meters: big-endian fields, time stamp in 1/2000 s, and a torque
 * that needs the zero offset from calibration. Until the offset is known only cadence is reported.
 */
function decodeCrankTorqueFrequency(page: AntPage, before: PowerState): ReturnType<AntPageDecoder<PowerState>> {
  const slope = page.u16be(2);
  if (slope < CTF_SLOPE_MIN || slope > CTF_SLOPE_MAX) return refused(`crank torque frequency slope ${slope} outside ${CTF_SLOPE_MIN}..${CTF_SLOPE_MAX}`);
  const sample: CtfSample = { events: page.u8(1), timeStamp: page.u16be(4), torqueTicks: page.u16be(6) };
  const state: PowerState = { ...before, ctf: sample };
  const previous = before.ctf;
  if (previous === undefined) return decoded([], state);
  const events = counterDelta(sample.events, previous.events, 0x100);
  const seconds = counterDelta(sample.timeStamp, previous.timeStamp, 0x10000) / 2000;
  if (events === 0 || seconds === 0) return decoded([], state);

  const cadence = (60 * events) / seconds;
  const measurements: Measurement[] = [{ metric: 'cadence', value: cadence }];
  if (before.ctfOffsetHz !== undefined) {
    const torqueFrequencyHz = counterDelta(sample.torqueTicks, previous.torqueTicks, 0x10000) / seconds - before.ctfOffsetHz;
    const torque = torqueFrequencyHz / (slope / 10);
    measurements.push({ metric: 'torque', value: torque }, { metric: 'power', value: (torque * cadence * Math.PI) / 30 });
  }
  return decoded(measurements, state);
}
