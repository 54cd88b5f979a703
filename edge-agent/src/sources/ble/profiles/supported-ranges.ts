/**
 * FTMS Supported Resistance Level Range 0x2AD6 and Supported Power Range 0x2AD8: the limits a machine
 * accepts for its targets, read once after connecting. Each is minimum, maximum (sint16) and the smallest
 * step (uint16), and becomes three facts.
 */
import { refused } from '../../measurement.ts';
import { readField, type BleProfile } from './profile.ts';

const RANGE_BYTES = 6;

function supportedRange(name: string, factPrefix: string, divisor: number): BleProfile {
  return {
    name,
    decode(data) {
      if (data.length < RANGE_BYTES) return refused(`${name} of ${data.length} bytes, expected ${RANGE_BYTES}`);
      const minimum = readField(data, 0, 's16') / divisor;
      const maximum = readField(data, 2, 's16') / divisor;
      const increment = readField(data, 4, 'u16') / divisor;
      if (minimum > maximum) return refused(`${name} minimum ${minimum} above maximum ${maximum}`);
      const facts = { [`${factPrefix}Min`]: minimum, [`${factPrefix}Max`]: maximum, [`${factPrefix}Increment`]: increment };
      if (data.length > RANGE_BYTES) return { ok: true, measurements: [], facts, quirks: [`${data.length - RANGE_BYTES} unannounced trailing bytes`] };
      return { ok: true, measurements: [], facts };
    },
  };
}

/** Resolution 0.1, unitless, as the FTMS Resistance Level. */
export const supportedResistanceLevelRange = supportedRange('supported_resistance_level_range', 'ftmsResistanceLevel', 10);

/** Watts. */
export const supportedPowerRange = supportedRange('supported_power_range', 'ftmsPowerW', 1);
