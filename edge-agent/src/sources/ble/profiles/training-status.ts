/**
 * FTMS Training Status 0x2AD3: what the machine's workout program is doing (idle, warming up, an interval,
 * cooling down). Becomes facts: the status code, its name and, when the machine sends one, its own text.
 */
import { refused } from '../../measurement.ts';
import { hex, type BleProfile } from './profile.ts';

const STRING_PRESENT = 0x01;
/** The text continues in a long read of the characteristic; what came in the notification is kept. */
const EXTENDED_STRING_PRESENT = 0x02;
const RESERVED = 0xfc;
const MAX_ATTRIBUTE_BYTES = 512;

const STATUS_NAMES = [
  'other',
  'idle',
  'warming_up',
  'low_intensity_interval',
  'high_intensity_interval',
  'recovery_interval',
  'isometric',
  'heart_rate_control',
  'fitness_test',
  'speed_below_control_region',
  'speed_above_control_region',
  'cool_down',
  'watt_control',
  'manual_mode',
  'pre_workout',
  'post_workout',
];

const utf8 = new TextDecoder('utf-8');

export const trainingStatus: BleProfile = {
  name: 'training_status',
  decode(data) {
    if (data.length < 2) return refused(`training status of ${data.length} bytes, expected at least 2`);
    if (data.length > MAX_ATTRIBUTE_BYTES) return refused(`training status of ${data.length} bytes exceeds ${MAX_ATTRIBUTE_BYTES}`);
    const flags = data[0] ?? 0;
    const code = data[1] ?? 0;
    const quirks: string[] = [];
    if (flags & RESERVED) quirks.push(`training status flags ${hex(flags, 2)} set reserved bits`);
    // Codes newer than this table are named by number rather than refused.
    const facts: Record<string, string | number> = { ftmsTrainingStatus: code, ftmsTrainingStatusName: STATUS_NAMES[code] ?? `status_${hex(code, 2)}` };
    if (flags & (STRING_PRESENT | EXTENDED_STRING_PRESENT)) {
      const text = utf8.decode(data.subarray(2));
      if (text.includes('\uFFFD')) return refused('training status text is not valid UTF-8');
      const value = text.replace(/^[\s\0]+|[\s\0]+$/g, '');
      // eslint-disable-next-line no-control-regex -- control characters are exactly what is being refused
      if (/[\u0000-\u001f\u007f]/.test(value)) return refused('training status text contains control characters');
      if (value.length > 0) facts.ftmsTrainingStatusText = value;
    } else if (data.length > 2) {
      quirks.push(`${data.length - 2} unannounced trailing bytes`);
    }
    return quirks.length > 0 ? { ok: true, measurements: [], facts, quirks } : { ok: true, measurements: [], facts };
  },
};
