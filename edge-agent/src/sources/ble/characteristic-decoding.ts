/**
 * One characteristic value of a connected sensor (a notification or a once-only read) through its profile
 * decoder into the sensor book: readings emitted, facts merged, refusals and quirks counted. The decoder's
 * state (previous counters) is kept per sensor and characteristic, for the life of one link.
 */
import type { BleSensorBook } from './ble-sensor-book.ts';
import { BLE_PROFILES } from './profiles/index.ts';
import type { SensorEntry } from './sensor-entry.ts';

export function decodeCharacteristic(book: BleSensorBook, entry: SensorEntry, uuid: string, data: Uint8Array, now: number, wheelCircumferenceM: number): void {
  const profile = BLE_PROFILES.get(uuid);
  if (!profile) return;
  const sensor = entry.record;
  try {
    const result = profile.decode(data, { previous: entry.decoderStates.get(uuid), wheelCircumferenceM });
    if (!result.ok) {
      book.refused(sensor, 'BLE notification refused', { characteristic: uuid, reason: result.reason });
      return;
    }
    if ('quirks' in result) book.quirks(sensor, uuid, result.quirks);
    if (result.state !== undefined) entry.decoderStates.set(uuid, result.state);
    if (result.facts) book.mergeFacts(sensor, result.facts);
    for (const m of result.measurements) {
      if (m.metric === 'battery') book.mergeFacts(sensor, { battery: m.value });
      book.emit(sensor, m.metric, m.value, now + (m.offsetMs ?? 0));
    }
  } catch (error) {
    // A decoder or sink bug must not take the link down with it: count the notification and carry on.
    book.handlerFailed('BLE notification handling failed', error, { sensor: entry.id, characteristic: uuid });
  }
}
