/**
 * Heart rate that Polar straps (H7, H9, H10, OH1, Verity Sense) broadcast in their advertisements, so a
 * receiver can show it without a connection: manufacturer-specific data of company 0x006B.
 *
 * Layout after the 2-byte company id (little-endian 0x006B) is a series of blocks:
 * - first byte with bit 6 (0x40) set: a typed block `[type, length, <length bytes>]`, skipped here;
 * - first byte with bit 6 clear: the heart-rate block, running to the end of the data:
 *   `[flags, kHz code, fast-average HR, slow-average HR]`. Older straps send 3 bytes and only one HR.
 *   Flags: bit 0 battery status, bit 1 sensor contact, bits 2-4 a frame counter that advances when the
 *   HR value is new (adverts repeat the same value many times a second), bit 5 broadcast bit.
 *
 * The HR to show is the slow average when present (Polar BLE SDK `hrValueForDisplay`). Reference vector
 * from the Polar BLE SDK (OH1): `6b 00 72 06 7f 44 37 00 00 00 33 00 3c`.
 */
import { refused } from '../../measurement.ts';
import { hex } from './profile.ts';

export const POLAR_COMPANY_ID = 0x006b;
/** The refusal of Polar data without a heart-rate block: a Polar device that is not broadcasting it. */
export const NO_HEART_RATE_BLOCK = 'no heart rate block';

const TYPED_BLOCK = 0x40;
const CONTACT = 0x02;
const COUNTER_MASK = 0x1c;
const COUNTER_SHIFT = 2;
const OLD_BLOCK_LENGTH = 3;
const FULL_BLOCK_LENGTH = 4;

export interface PolarBroadcastHeartRate {
  /** Slow average on 4-byte blocks, the only HR byte on 3-byte blocks; 0 while the strap searches. */
  heartRateBpm: number;
  /** Only on 4-byte blocks. */
  fastAverageBpm?: number;
  sensorContact: boolean;
  /** 0-7; advances when the HR value is new. Older 3-byte straps do not advance it reliably. */
  frameCounter: number;
  /** 3 (older straps: one HR byte) or 4. */
  blockLength: 3 | 4;
}

/** True when the manufacturer data names Polar; cheap enough to run on every advert. */
export function isPolarManufacturerData(data: Uint8Array | undefined): data is Uint8Array {
  return data !== undefined && data.length >= 2 && data[0] === (POLAR_COMPANY_ID & 0xff) && data[1] === POLAR_COMPANY_ID >> 8;
}

export function parsePolarBroadcast(data: Uint8Array): PolarBroadcastHeartRate | { ok: false; reason: string } {
  if (data.length < 2) return refused(`manufacturer data of ${data.length} bytes has no company id`);
  const company = (data[0] ?? 0) | ((data[1] ?? 0) << 8);
  if (company !== POLAR_COMPANY_ID) return refused(`company id ${hex(company, 4)} is not Polar (${hex(POLAR_COMPANY_ID, 4)})`);
  let offset = 2;
  while (offset < data.length) {
    const first = data[offset] ?? 0;
    if (first & TYPED_BLOCK) {
      const length = data[offset + 1];
      if (length === undefined) return refused(`typed block ${hex(first, 2)} at byte ${offset} is truncated before its length`);
      const end = offset + 2 + length;
      if (end > data.length) return refused(`typed block ${hex(first, 2)} at byte ${offset} claims ${length} bytes, only ${data.length - offset - 2} follow`);
      offset = end;
      continue;
    }
    const blockLength = data.length - offset;
    if (blockLength < OLD_BLOCK_LENGTH) return refused(`heart rate block at byte ${offset} is truncated: ${blockLength} bytes, at least ${OLD_BLOCK_LENGTH} needed`);
    // Bytes past the fourth belong to fields this decoder does not read.
    const full = blockLength >= FULL_BLOCK_LENGTH;
    const fast = data[offset + 2] ?? 0;
    const parsed: PolarBroadcastHeartRate = {
      heartRateBpm: full ? (data[offset + 3] ?? 0) : fast,
      sensorContact: (first & CONTACT) !== 0,
      frameCounter: (first & COUNTER_MASK) >> COUNTER_SHIFT,
      blockLength: full ? 4 : 3,
    };
    if (full) parsed.fastAverageBpm = fast;
    return parsed;
  }
  return refused(NO_HEART_RATE_BLOCK);
}
