/**
 * One characteristic value of a connected sensor (a notification or a once-only read) through its profile
 * decoder into the sensor book, which emits the readings, merges the facts, counts refusals and quirks and
 * keeps the decoder's state (previous counters) per sensor and characteristic, for the life of one link.
 */
import { BLE_PROFILES } from './profiles/index.ts';
import type { BleSensor, BleSourceParts } from './sensor-entry.ts';

export function decodeCharacteristic(parts: BleSourceParts, entry: BleSensor, uuid: string, data: Uint8Array, now: number): void {
  const profile = BLE_PROFILES.get(uuid);
  if (!profile) return;
  try {
    parts.book.decoded(entry, profile.decode(data, { previous: entry.decoderStates.get(uuid), wheelCircumferenceM: parts.config.wheelCircumferenceM }), uuid, now);
  } catch (error) {
    // A decoder bug must not take the link down with it: count the notification and carry on.
    parts.handlerFailed('BLE notification handling failed', error, { sensor: entry.id, characteristic: uuid });
  }
}
