/**
 * ANT+ Heart Rate Monitor, device type 120.
 *
 * Every page ends with the same 4 bytes: beat event time (1/1024 s, wraps 64 s), beat count (wraps 256)
 * and the computed heart rate. Bytes 0-3 carry a page only on "paged" straps, which flip bit 7 of byte 0
 * every 4 messages; legacy straps never flip it and put arbitrary bytes there. So page contents are only
 * trusted once the toggle has been seen to flip.
 */
import type { Measurement, SensorFacts } from '../../measurement.ts';
import { refused } from '../../measurement.ts';
import { backgroundPageFacts, batteryFacts } from './common-pages.ts';
import { AntPage, counterDelta, decoded, type AntPageDecoder } from './page.ts';

export const HEART_RATE_DEVICE_TYPE = 120;
export const HEART_RATE_CHANNEL_PERIOD = 8070;

export interface HeartRateState {
  beatTime: number;
  beatCount: number;
  toggle: boolean;
  /** The toggle bit has flipped at least once: bytes 0-3 are a real page. */
  paged: boolean;
}

const PREVIOUS_BEAT_PAGE = 4;
/**
 * Page 5 is a swim-interval summary (interval average and maximum, session average) that straps send only
 * in swim mode: averages the strap computed, not heart rates, so it yields no measurement.
 */
const SWIM_INTERVAL_PAGE = 5;
const CAPABILITIES_PAGE = 6;
const BATTERY_PAGE = 7;
/** Page 6 bits of bytes 2 (supported) and 3 (enabled); bits 6-7 belong to the manufacturer. */
const HRM_FEATURES: readonly [number, string][] = [
  [0x01, 'running'],
  [0x02, 'cycling'],
  [0x04, 'swimming'],
];
/** Heart rate 0 means the strap has no valid value (e.g. not on skin yet). */
const HEART_RATE_INVALID = 0;
const BATTERY_PERCENT_NOT_USED = 0xff;

export const decodeHeartRate: AntPageDecoder<HeartRateState> = (bytes, previous, context = {}) => {
  const page = AntPage.from(bytes);
  if (typeof page === 'string') return refused(page);

  const beatTime = page.u16(4);
  const beatCount = page.u8(6);
  const heartRate = page.u8(7);
  const paged = previous !== undefined && (previous.paged || previous.toggle !== page.toggle);
  const state: HeartRateState = { beatTime, beatCount, toggle: page.toggle, paged };

  const measurements: Measurement[] = [];
  if (heartRate !== HEART_RATE_INVALID) measurements.push({ metric: 'heart_rate', value: heartRate });

  // Straps repeat a beat in several messages: only a count that moved brings a new interval.
  const newBeats = previous === undefined ? 0 : counterDelta(beatCount, previous.beatCount, 256);
  let rrTicks = 0;
  if (paged && page.number === PREVIOUS_BEAT_PAGE && newBeats > 0) {
    // Page 4 holds the previous beat's time itself, so it stays right after missed messages.
    rrTicks = counterDelta(beatTime, page.u16(2), 0x10000);
  } else if (previous !== undefined && newBeats === 1) {
    rrTicks = counterDelta(beatTime, previous.beatTime, 0x10000);
  }
  if (rrTicks > 0) measurements.push({ metric: 'rr_interval', value: (rrTicks * 1000) / 1024 });

  let facts: SensorFacts | undefined;
  if (paged && page.number === BATTERY_PAGE) {
    const percent = page.u8(1);
    if (percent !== BATTERY_PERCENT_NOT_USED && percent <= 100) measurements.push({ metric: 'battery', value: percent });
    facts = batteryFacts(page.u8(2), page.u8(3));
  } else if (paged && page.number === CAPABILITIES_PAGE) {
    facts = { featuresSupported: featureNames(page.u8(2)), featuresEnabled: featureNames(page.u8(3)) };
  } else if (paged && page.number !== SWIM_INTERVAL_PAGE) {
    facts = backgroundPageFacts(page, context);
  }

  return decoded(measurements, state, facts);
};

/** The extended-data features of page 6 as a comma-separated list, e.g. 'running,cycling', or 'none'. */
function featureNames(bits: number): string {
  const names = HRM_FEATURES.filter(([bit]) => bits & bit).map(([, name]) => name);
  return names.length > 0 ? names.join(',') : 'none';
}
