/**
 * The one canonical form of a sensor id, so that what an athlete types, what the agent hears and what the
 * allowlist holds compare equal: the source in lower case, a BLE address as six lower-case octets joined by
 * dashes (`ble:AA:BB:CC:DD:EE:FF` -> `ble:aa-bb-cc-dd-ee-ff`), an ANT id as `ant:<device type>:<device
 * number>:<transmission type>` in decimal without leading zeros. Other sources keep the rest as written:
 * their ids carry device names (`serial:waterrower:ttyUSB0`) that are case-sensitive on the agent.
 *
 * To be replaced by the protocol package's `canonicalSensorId` once it exists, so agent and hub share it.
 */
import { SENSOR_ID_PATTERN } from '@pulsebridge/protocol';

const SENSOR_ID = new RegExp(SENSOR_ID_PATTERN);
const BLE_ADDRESS = /^([0-9a-f]{2})[:-]?([0-9a-f]{2})[:-]?([0-9a-f]{2})[:-]?([0-9a-f]{2})[:-]?([0-9a-f]{2})[:-]?([0-9a-f]{2})$/;
const ANT_ID = /^(\d{1,10}):(\d{1,10}):(\d{1,10})$/;
// Device numbers are 16 bits, 20 with the transmission type's extension; types and transmission types are a byte.
const ANT_MAX = { type: 255, number: 0xfffff, tx: 255 } as const;

/** The canonical form of `text`, or undefined when it is no sensor id. */
export function canonicalSensor(text: string): string | undefined {
  const trimmed = text.trim();
  const colon = trimmed.indexOf(':');
  const source = colon < 0 ? '' : trimmed.slice(0, colon).toLowerCase();
  const rest = colon < 0 ? trimmed : trimmed.slice(colon + 1);
  let canonical: string;
  if (source === 'ble') {
    const octets = BLE_ADDRESS.exec(rest.toLowerCase());
    if (octets === null) return undefined;
    canonical = `ble:${octets.slice(1).join('-')}`;
  } else if (source === 'ant') {
    const parts = ANT_ID.exec(rest);
    if (parts === null) return undefined;
    const [type, number, tx] = parts.slice(1).map(Number) as [number, number, number];
    if (type > ANT_MAX.type || number > ANT_MAX.number || tx > ANT_MAX.tx) return undefined;
    canonical = `ant:${type}:${number}:${tx}`;
  } else {
    canonical = colon < 0 ? trimmed : `${source}:${rest}`;
  }
  return SENSOR_ID.test(canonical) ? canonical : undefined;
}
