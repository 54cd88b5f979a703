/** RSC Measurement 0x2A53 (Running Speed and Cadence service 0x1814): foot pods. */
import { MeasurementList, readField, recordFlags, type BleProfile } from './profile.ts';

const STRIDE_PRESENT = 0x01;
const DISTANCE_PRESENT = 0x02;
const RUNNING = 0x04;
const RESERVED = 0xf8;

export interface RscFields {
  speedMps: number;
  /** Steps per minute (both feet). */
  cadenceSpm: number;
  running: boolean;
  strideLengthM?: number;
  totalDistanceM?: number;
}

export function parseRsc(data: Uint8Array): RscFields | { ok: false; reason: string } {
  const flags = recordFlags(data, {
    what: 'RSC measurement',
    flagType: 'u8',
    reserved: RESERVED,
    lengthOf: (f) => 4 + (f & STRIDE_PRESENT ? 2 : 0) + (f & DISTANCE_PRESENT ? 4 : 0),
  });
  if (typeof flags !== 'number') return flags;
  const fields: RscFields = {
    speedMps: readField(data, 1, 'u16') / 256,
    cadenceSpm: readField(data, 3, 'u8'),
    running: (flags & RUNNING) !== 0,
  };
  let offset = 4;
  if (flags & STRIDE_PRESENT) {
    fields.strideLengthM = readField(data, offset, 'u16') / 100;
    offset += 2;
  }
  if (flags & DISTANCE_PRESENT) fields.totalDistanceM = readField(data, offset, 'u32') / 10;
  return fields;
}

export const rscMeasurement: BleProfile = {
  name: 'rsc_measurement',
  decode(data) {
    const fields = parseRsc(data);
    if ('ok' in fields) return fields;
    const list = new MeasurementList().add('speed', fields.speedMps).add('cadence', fields.cadenceSpm);
    if (fields.strideLengthM !== undefined) list.add('stride_length', fields.strideLengthM);
    if (fields.totalDistanceM !== undefined) list.add('distance', fields.totalDistanceM);
    return list.result();
  },
};
