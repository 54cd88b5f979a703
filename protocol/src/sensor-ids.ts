/**
 * The one canonical form of a sensor id, used by the agent (its allowlists), on the wire, by the hub's API
 * and in the docs: lower case; a BLE address with dashes (`ble:aa-bb-cc-dd-ee-ff`); an ANT channel id
 * `ant:<device type>:<device number>:<transmission type>` in decimal without leading zeros; every other id
 * lower-cased and checked against SENSOR_ID_PATTERN. Ids people type (`ble:AA:BB:CC:DD:EE:FF`,
 * `ant:017:012345:05`) are written in it before anything compares them.
 */
import { SENSOR_ID_PATTERN } from './schemas.ts';

const sensorIdRe = new RegExp(SENSOR_ID_PATTERN);
const BLE_ADDRESS = /^[0-9a-f]{2}([:-][0-9a-f]{2}){5}$/;
const ANT_CHANNEL_ID = /^ant:([0-9]{1,3}):([0-9]{1,7}):([0-9]{1,3})$/;

/** The canonical form of a sensor id, or undefined when `text` is not a sensor id in any accepted spelling. */
export function canonicalSensorId(text: string): string | undefined {
  const lower = text.trim().toLowerCase();
  let id = lower;
  if (lower.startsWith('ble:')) {
    const address = lower.slice(4);
    if (BLE_ADDRESS.test(address)) id = `ble:${address.replaceAll(':', '-')}`;
  } else if (lower.startsWith('ant:')) {
    const match = ANT_CHANNEL_ID.exec(lower);
    if (!match) return undefined;
    id = `ant:${Number(match[1])}:${Number(match[2])}:${Number(match[3])}`;
  }
  return sensorIdRe.test(id) ? id : undefined;
}
