/**
 * Device Information strings (service 0x180A): manufacturer, model, serial number, revisions. They are
 * read once after connecting and become sensor facts, not readings.
 */
import { refused } from '../../measurement.ts';
import type { BleProfile } from './profile.ts';

/** The longest value an ATT attribute can hold. */
const MAX_ATTRIBUTE_BYTES = 512;

const utf8 = new TextDecoder('utf-8');

export function deviceInformationString(fact: string): BleProfile {
  return {
    name: `device_information_${fact}`,
    decode(data) {
      if (data.length === 0) return refused(`empty ${fact}`);
      if (data.length > MAX_ATTRIBUTE_BYTES) return refused(`${fact} of ${data.length} bytes exceeds ${MAX_ATTRIBUTE_BYTES}`);
      const text = utf8.decode(data);
      // A non-fatal decode marks bad sequences with U+FFFD; checking for it avoids catching decoder errors.
      if (text.includes('\uFFFD')) return refused(`${fact} is not valid UTF-8`);
      // Many devices send a fixed-size, zero-padded buffer.
      const value = text.replace(/^[\s\0]+|[\s\0]+$/g, '');
      if (value.length === 0) return refused(`${fact} is blank`);
      // eslint-disable-next-line no-control-regex -- control characters are exactly what is being refused
      if (/[\u0000-\u001f\u007f]/.test(value)) return refused(`${fact} contains control characters`);
      return { ok: true, measurements: [], facts: { [fact]: value } };
    },
  };
}
