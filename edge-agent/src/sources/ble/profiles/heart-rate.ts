/** Heart Rate Measurement 0x2A37 (Heart Rate service 0x180D). */
import { refused } from '../../measurement.ts';
import { MeasurementList, readField, hex, recordFlags, type BleProfile, type FlaggedRecord } from './profile.ts';

const HR_UINT16 = 0x01;
const CONTACT_MASK = 0x06;
const ENERGY_PRESENT = 0x08;
const RR_PRESENT = 0x10;
const RESERVED = 0xe0;

const KJ_PER_KCAL = 4.184;

const HEART_RATE_RECORD: FlaggedRecord = {
  what: 'heart rate measurement',
  flagType: 'u8',
  reserved: RESERVED,
  lengthOf: (flags) => 1 + (flags & HR_UINT16 ? 2 : 1) + (flags & ENERGY_PRESENT ? 2 : 0),
  atLeast: true,
};

export type SensorContact = 'unsupported' | 'not_detected' | 'detected';

export interface HeartRateFields {
  heartRateBpm: number;
  contact: SensorContact;
  /** Cumulative since the strap was reset. */
  energyExpendedKj?: number;
  /** In order of the beats, oldest first, in 1/1024 s as sent. */
  rrRaw: number[];
}

export function parseHeartRate(data: Uint8Array): HeartRateFields | { ok: false; reason: string } {
  const flags = recordFlags(data, HEART_RATE_RECORD);
  if (typeof flags !== 'number') return flags;
  const hrSize = flags & HR_UINT16 ? 2 : 1;
  const energySize = flags & ENERGY_PRESENT ? 2 : 0;
  const rrOffset = 1 + hrSize + energySize;

  const rrBytes = data.length - rrOffset;
  if (!(flags & RR_PRESENT) && rrBytes > 0) return refused(`${rrBytes} bytes after the last field of flags ${hex(flags, 2)}`);
  if (flags & RR_PRESENT && rrBytes === 0) return refused('RR flag set but no RR interval follows');
  if (rrBytes % 2 !== 0) return refused('odd number of RR interval bytes');

  const contactBits = (flags & CONTACT_MASK) >> 1;
  const fields: HeartRateFields = {
    heartRateBpm: readField(data, 1, hrSize === 2 ? 'u16' : 'u8'),
    contact: contactBits === 3 ? 'detected' : contactBits === 2 ? 'not_detected' : 'unsupported',
    rrRaw: [],
  };
  if (energySize) fields.energyExpendedKj = readField(data, 1 + hrSize, 'u16');
  for (let offset = rrOffset; offset < data.length; offset += 2) fields.rrRaw.push(readField(data, offset, 'u16'));
  return fields;
}

export function rrRawToMs(raw: number): number {
  return (raw * 1000) / 1024;
}

export const heartRateMeasurement: BleProfile = {
  name: 'heart_rate_measurement',
  decode(data) {
    const fields = parseHeartRate(data);
    if ('ok' in fields) return fields;
    const list = new MeasurementList();
    // Straps send 0 bpm while they search for a pulse; it is never a heart rate. Whether to trust readings
    // without skin contact is the source's call, so the contact state travels as a fact.
    if (fields.heartRateBpm > 0) list.add('heart_rate', fields.heartRateBpm);
    if (fields.energyExpendedKj !== undefined) list.add('energy', fields.energyExpendedKj / KJ_PER_KCAL);
    // The notification leaves right after the newest beat, so the newest RR ends at offset 0 and each older
    // one ends where the next one began.
    const rrMs = fields.rrRaw.map(rrRawToMs);
    let endMs = rrMs.reduce((sum, ms) => sum + ms, 0);
    for (const ms of rrMs) {
      endMs -= ms;
      list.add('rr_interval', ms, 0 - Math.round(endMs));
    }
    return list.result({ sensorContact: fields.contact });
  },
};
