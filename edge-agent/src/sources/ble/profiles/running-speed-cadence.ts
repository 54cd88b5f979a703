/** RSC Measurement 0x2A53 (Running Speed and Cadence service 0x1814): foot pods. */
import { refused } from '../../measurement.ts';
import { MeasurementList, hex, readField, type BleProfile } from './profile.ts';

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
  const flags = data[0];
  if (flags === undefined) return refused('empty RSC measurement');
  if (flags & RESERVED) return refused(`reserved flag bits set in ${hex(flags, 2)}`);
  const expected = 4 + (flags & STRIDE_PRESENT ? 2 : 0) + (flags & DISTANCE_PRESENT ? 4 : 0);
  if (data.length !== expected) return refused(`RSC measurement of ${data.length} bytes, flags ${hex(flags, 2)} need ${expected}`);
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
