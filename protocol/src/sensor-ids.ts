/**
 * The one canonical form of a sensor id, used by the agent (its allowlists), on the wire, by the hub's API
 * and in the docs: `<source>:<device>`, lower case; a BLE address with dashes (`ble:aa-bb-cc-dd-ee-ff`), or the
 * hex id of a platform that hides addresses; an ANT channel id `ant:<device type>:<device number>:<transmission
 * type>` in decimal without leading zeros; every other id lower-cased and checked against SENSOR_ID_PATTERN. Ids people type (`ble:AA:BB:CC:DD:EE:FF`,
 * `ant:017:012345:05`) are written in it before anything compares them.
 */
import { SENSOR_ID_PATTERN } from './schemas.ts';

const sensorIdRe = new RegExp(SENSOR_ID_PATTERN);
const BLE_ADDRESS = /^([0-9a-f]{2})[:-]?([0-9a-f]{2})[:-]?([0-9a-f]{2})[:-]?([0-9a-f]{2})[:-]?([0-9a-f]{2})[:-]?([0-9a-f]{2})$/;
/** What a platform that hides addresses gives instead (a peripheral UUID): hex digits, perhaps with dashes. */
const BLE_PLATFORM_ID = /^[0-9a-f][0-9a-f-]{7,39}$/;
/** `<source>:<the device's own identity>`, neither part empty. */
const SOURCE_AND_DEVICE = /^[a-z0-9][a-z0-9_-]*:[^:]/;
const ANT_CHANNEL_ID = /^ant:([0-9]{1,3}):([0-9]{1,7}):([0-9]{1,3})$/;
// Device types and transmission types are a byte; device numbers 16 bits, 20 with the transmission type's extension.
const ANT_MAX = { type: 255, number: 0xfffff, tx: 255 } as const;

/** The canonical form of a sensor id, or undefined when `text` is not a sensor id in any accepted spelling. */
export function canonicalSensorId(text: string): string | undefined {
  const lower = text.trim().toLowerCase();
  let id = lower;
  if (lower.startsWith('ble:')) {
    const device = lower.slice(4);
    const octets = BLE_ADDRESS.exec(device);
    if (octets) id = `ble:${octets.slice(1).join('-')}`;
    else if (!BLE_PLATFORM_ID.test(device)) return undefined;
  } else if (lower.startsWith('ant:')) {
    const match = ANT_CHANNEL_ID.exec(lower);
    if (!match) return undefined;
    const [type, number, tx] = match.slice(1).map(Number) as [number, number, number];
    if (type > ANT_MAX.type || number > ANT_MAX.number || tx > ANT_MAX.tx) return undefined;
    id = `ant:${type}:${number}:${tx}`;
  }
  return sensorIdRe.test(id) && SOURCE_AND_DEVICE.test(id) ? id : undefined;
}
