/**
 * What every ANT+ page decoder shares: the 8-byte page, its field readers, counter rollover and the
 * context a source hands to decoders.
 */
import { METRICS } from '@pulsebridge/protocol';
import type { Decoded, Measurement, SensorFacts } from '../../measurement.ts';

export const ANT_PAGE_LENGTH = 8;

/** What a source knows about a sensor beyond the page itself. */
export interface AntDecodeContext {
  /** The 20-bit device number, which completes serial numbers of the background manufacturer page. */
  deviceNumber?: number;
  /** Wheel circumference in metres for speed sensors and wheel-torque power meters. */
  wheelCircumferenceM?: number;
}

/** 700x25c, the most common road wheel in gyms' bikes and trainers. */
export const DEFAULT_WHEEL_CIRCUMFERENCE_M = 2.105;

/**
 * A page decoder: a pure function of the page and the state it returned for the previous page of the same
 * sensor (undefined for the first page, or after the source dropped a stale state).
 */
export type AntPageDecoder<State> = (page: Uint8Array, previous: State | undefined, context?: AntDecodeContext) => Decoded<State>;

/** Little-endian field readers over a page whose length was checked. */
export class AntPage {
  readonly number: number;
  /** Bit 7 of byte 0 in profiles that flip it every 4 messages to show they send paged data. */
  readonly toggle: boolean;
  private readonly view: DataView;

  private constructor(bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.number = this.view.getUint8(0) & 0x7f;
    this.toggle = (this.view.getUint8(0) & 0x80) !== 0;
  }

  /** A page, or the reason the bytes are not one. */
  static from(bytes: Uint8Array): AntPage | string {
    if (bytes.length !== ANT_PAGE_LENGTH) return `ANT+ page must be ${ANT_PAGE_LENGTH} bytes, got ${bytes.length}`;
    return new AntPage(bytes);
  }

  /** Byte 0 whole, for profiles without a page number. */
  get first(): number {
    return this.view.getUint8(0);
  }

  u8(offset: number): number {
    return this.view.getUint8(offset);
  }

  u16(offset: number): number {
    return this.view.getUint16(offset, true);
  }

  /** Crank-torque-frequency pages are big-endian. */
  u16be(offset: number): number {
    return this.view.getUint16(offset, false);
  }

  i16(offset: number): number {
    return this.view.getInt16(offset, true);
  }

  u24(offset: number): number {
    return this.view.getUint16(offset, true) + this.view.getUint8(offset + 2) * 0x10000;
  }

  u32(offset: number): number {
    return this.view.getUint32(offset, true);
  }
}

/** How far a wrapping counter advanced from `previous` to `current`. */
export function counterDelta(current: number, previous: number, modulus: number): number {
  return (((current - previous) % modulus) + modulus) % modulus;
}

/**
 * A successful result holding only the measurements the catalogue can carry. A value outside its range
 * comes from a counter that reset or a corrupt field, not from an athlete; the hub would refuse it, so it
 * is dropped here while the state still moves on (refusing the page would keep a stale baseline).
 */
export function decoded<State>(measurements: Measurement[], state: State, facts?: SensorFacts): Decoded<State> {
  const valid = measurements.filter((m) => {
    const { min, max } = METRICS[m.metric];
    return Number.isFinite(m.value) && m.value >= min && m.value <= max;
  });
  return facts && Object.keys(facts).length > 0 ? { ok: true, measurements: valid, facts, state } : { ok: true, measurements: valid, state };
}
