/**
 * What every BLE GATT profile decoder looks like, and the pieces they share: little-endian field reads
 * behind explicit length checks, and a measurement list that refuses values outside the metric catalogue
 * (the batch codec would reject them later, taking the whole batch with them).
 */
import { METRICS, type MetricId } from '@pulsebridge/protocol';
import { refused, type Decoded, type Measurement, type SensorFacts } from '../../measurement.ts';

/**
 * A common road-bike wheel (700x25C). Only a default: the real circumference comes from the equipment
 * record, because a 10 % wrong wheel gives a 10 % wrong speed.
 */
export const DEFAULT_WHEEL_CIRCUMFERENCE_M = 2.105;

export interface DecodeContext<State> {
  /** The state this profile returned for the previous notification of the same characteristic. */
  previous?: State;
  wheelCircumferenceM?: number;
}

/** What a BLE decoder returns: the shared decoded result (with `quirks` when the bytes bent the spec). */
export type BleDecoded<State = undefined> = Decoded<State>;

export interface BleProfile<State = undefined> {
  /** Short name for logs, counters and benchmarks, e.g. 'heart_rate_measurement'. */
  readonly name: string;
  // Method syntax on purpose: it lets the one table hold profiles of different State types, and the source
  // only ever hands a profile back the state that same profile returned.
  decode(data: Uint8Array, context?: DecodeContext<State>): BleDecoded<State>;
}

export type FieldType = 'u8' | 'u16' | 's16' | 'u24' | 'u32';

export const FIELD_SIZE: Record<FieldType, number> = { u8: 1, u16: 2, s16: 2, u24: 3, u32: 4 };

/** Reads one little-endian field; the caller has already checked that `offset + size <= data.length`. */
export function readField(data: Uint8Array, offset: number, type: FieldType): number {
  const byte = (i: number): number => data[offset + i] ?? 0;
  switch (type) {
    case 'u8':
      return byte(0);
    case 'u16':
      return byte(0) | (byte(1) << 8);
    case 's16':
      return ((byte(0) | (byte(1) << 8)) << 16) >> 16;
    case 'u24':
      return byte(0) | (byte(1) << 8) | (byte(2) << 16);
    case 'u32':
      // `>>> 0` keeps the top bit as magnitude rather than sign.
      return (byte(0) | (byte(1) << 8) | (byte(2) << 16) | (byte(3) << 24)) >>> 0;
  }
}

/** How a record whose flags say how long it is (Heart Rate, CSC, RSC, Cycling Power) begins. */
export interface FlaggedRecord {
  /** Names the record in refusals, e.g. 'CSC measurement'. */
  what: string;
  flagType: 'u8' | 'u16';
  /** Bits the spec reserves; a record that sets one is refused (these profiles have no layout to fall back on). */
  reserved: number;
  /** The length the flags announce. */
  lengthOf: (flags: number) => number;
  /** The announced length is a minimum: a list follows (Heart Rate's RR intervals). */
  atLeast?: boolean;
}

/** The flags of `data`, or the refusal of a record without flags, with reserved bits set, or of another length than its flags announce. */
export function recordFlags(data: Uint8Array, record: FlaggedRecord): number | { ok: false; reason: string } {
  const flagBytes = FIELD_SIZE[record.flagType];
  if (data.length < flagBytes)
    return refused(data.length === 0 ? `empty ${record.what}: shorter than its flags` : `${record.what} of ${data.length} bytes is shorter than its flags`);
  const flags = readField(data, 0, record.flagType);
  const digits = flagBytes * 2;
  if (flags & record.reserved) return refused(`reserved flag bits set in ${hex(flags, digits)}`);
  const expected = record.lengthOf(flags);
  if (record.atLeast ? data.length < expected : data.length !== expected) return refused(`${record.what} of ${data.length} bytes, flags ${hex(flags, digits)} need ${expected}`);
  return flags;
}

export function hex(value: number, digits: number): string {
  return `0x${value.toString(16).padStart(digits, '0')}`;
}

/** Collects measurements; the first one outside its catalogue range turns the result into a refusal. */
export class MeasurementList {
  readonly items: Measurement[] = [];
  private outOfRange: string | undefined;

  add(metric: MetricId, value: number, offsetMs?: number): this {
    const spec = METRICS[metric];
    if (!Number.isFinite(value) || value < spec.min || value > spec.max) {
      this.outOfRange ??= `${metric} ${value} ${spec.unit} outside ${spec.min}..${spec.max}`;
      return this;
    }
    this.items.push(offsetMs === undefined ? { metric, value } : { metric, value, offsetMs });
    return this;
  }

  result<State>(facts?: SensorFacts, state?: State): Decoded<State> {
    if (this.outOfRange !== undefined) return refused(this.outOfRange);
    const decoded: { ok: true; measurements: Measurement[]; facts?: SensorFacts; state?: State } = { ok: true, measurements: this.items };
    if (facts !== undefined && Object.keys(facts).length > 0) decoded.facts = facts;
    if (state !== undefined) decoded.state = state;
    return decoded;
  }
}

export function kmhToMetresPerSecond(kmh: number): number {
  return kmh / 3.6;
}
