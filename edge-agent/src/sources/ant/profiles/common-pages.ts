/**
 * Pages that describe the sensor rather than the workout: the common pages 0x50-0x52 every ANT+ profile
 * may send, and the background pages 1-3 of the older profiles (heart rate, speed and cadence).
 * They become sensor facts, not measurements.
 */
import type { SensorFacts } from '../../measurement.ts';
import type { AntDecodeContext, AntPage } from './page.ts';

export const CommonPage = {
  manufacturerInfo: 0x50,
  productInfo: 0x51,
  batteryStatus: 0x52,
} as const;

const BATTERY_STATUS: Record<number, string> = { 1: 'new', 2: 'good', 3: 'ok', 4: 'low', 5: 'critical' };
const NOT_SET_U8 = 0xff;
const NOT_SET_U32 = 0xffffffff;
/** A coarse battery voltage of 0xF means the sensor does not measure its voltage. */
const COARSE_VOLTAGE_INVALID = 0x0f;

/** Facts from a common page, or undefined when the page is not one of them. */
export function commonPageFacts(page: AntPage): SensorFacts | undefined {
  switch (page.number) {
    case CommonPage.manufacturerInfo: {
      const facts: SensorFacts = { manufacturerId: page.u16(4), modelNumber: page.u16(6) };
      if (page.u8(3) !== NOT_SET_U8) facts.hardwareRevision = page.u8(3);
      return facts;
    }
    case CommonPage.productInfo: {
      const supplemental = page.u8(2);
      const main = page.u8(3);
      // The profile defines the version as main/10, or (main*100 + supplemental)/1000 when the second is set.
      const facts: SensorFacts = { softwareVersion: supplemental === NOT_SET_U8 ? main / 10 : (main * 100 + supplemental) / 1000 };
      if (page.u32(4) !== NOT_SET_U32) facts.serialNumber = page.u32(4);
      return facts;
    }
    case CommonPage.batteryStatus: {
      const flags = page.u8(7);
      const facts = batteryFacts(page.u8(6), flags);
      // Bit 7 chooses the operating-time unit: 2 s, or 16 s for sensors that run for years.
      facts.operatingTimeS = page.u24(3) * (flags & 0x80 ? 2 : 16);
      return facts;
    }
    default:
      return undefined;
  }
}

/** Battery voltage and status from a fractional-voltage byte and a coarse-voltage/status byte. */
export function batteryFacts(fractionalVoltage: number, coarseAndStatus: number): SensorFacts {
  const facts: SensorFacts = {};
  const coarse = coarseAndStatus & 0x0f;
  if (coarse !== COARSE_VOLTAGE_INVALID) facts.batteryVoltage = coarse + fractionalVoltage / 256;
  const status = BATTERY_STATUS[(coarseAndStatus >> 4) & 0x07];
  if (status) facts.batteryStatus = status;
  return facts;
}

/** Background pages 1-3 shared by the heart-rate and speed/cadence profiles. */
export function backgroundPageFacts(page: AntPage, context: AntDecodeContext): SensorFacts | undefined {
  switch (page.number) {
    case 1:
      return { operatingTimeS: page.u24(1) * 2 };
    case 2: {
      const facts: SensorFacts = { manufacturerId: page.u8(1) };
      // The page holds only the serial number's upper half; the device number is its lower half.
      // Multiplication, not `<<`, so a top bit set stays positive.
      if (context.deviceNumber !== undefined) facts.serialNumber = page.u16(2) * 0x10000 + (context.deviceNumber & 0xffff);
      return facts;
    }
    case 3:
      return { hardwareVersion: page.u8(1), softwareVersion: page.u8(2), modelNumber: page.u8(3) };
    default:
      return undefined;
  }
}
