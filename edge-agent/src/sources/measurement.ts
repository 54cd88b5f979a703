/**
 * What a profile decoder returns: measurements in the catalogue's units, or a reason the bytes were refused.
 * Decoders are pure functions of their input (plus, for profiles that derive rates from counters, the
 * previous sample they are handed back); the source stamps the sensor id and the receive time.
 */
import type { MetricId } from '@pulsebridge/protocol';

export interface Measurement {
  metric: MetricId;
  value: number;
  /**
   * When the measurement happened relative to the receive time, in ms (<= 0). RR intervals use it: each
   * ends at a beat that happened before the notification arrived.
   */
  offsetMs?: number;
}

/** Facts about a sensor rather than readings of it: battery pages, manufacturer and model, firmware. */
export type SensorFacts = Record<string, string | number>;

export type Decoded<State = undefined> =
  | {
      ok: true;
      measurements: Measurement[];
      facts?: SensorFacts;
      state?: State;
      /**
       * How the bytes bent the spec in a way the decoder could step around (unannounced trailing bytes,
       * reserved flag bits), one description each; the sensor book counts them per sensor.
       */
      quirks?: string[];
    }
  | { ok: false; reason: string };

export function refused(reason: string): { ok: false; reason: string } {
  return { ok: false, reason };
}
