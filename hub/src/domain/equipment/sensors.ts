/**
 * The sensors built into machines: the canonical form of their ids, and which machine a sensor's readings come
 * from (for the attribution of results).
 */
import { PulsebridgeError } from '@pulsebridge/runtime';
import { SENSOR_ID_PATTERN } from '@pulsebridge/protocol';
import type { DocumentSession } from '../../documents/document-store.ts';
import { EQUIPMENT, EQUIPMENT_SENSORS, type EquipmentDoc } from './collections.ts';

const SENSOR_ID = new RegExp(SENSOR_ID_PATTERN);

export class SensorIdRefused extends PulsebridgeError<'invalid_sensor_id'> {}

/**
 * The canonical form of a sensor id as people type it: the source in lower case, and a BLE address in lower
 * case with dashes (`ble:AA:BB:CC:DD:EE:FF` -> `ble:aa-bb-cc-dd-ee-ff`). The rest keeps its case: serial
 * device names are case-sensitive. Throws SensorIdRefused when the result is no sensor id.
 *
 * Stands in for the protocol's `canonicalSensorId` until it lands; replace it then.
 */
export function canonicalSensorIdOrRefuse(text: string): string {
  const trimmed = text.trim();
  const colon = trimmed.indexOf(':');
  const source = (colon < 0 ? trimmed : trimmed.slice(0, colon)).toLowerCase();
  const rest = colon < 0 ? '' : trimmed.slice(colon + 1);
  const canonical = colon < 0 ? source : source === 'ble' ? `ble:${rest.toLowerCase().replaceAll(':', '-')}` : `${source}:${rest}`;
  if (colon <= 0 || rest === '' || !SENSOR_ID.test(canonical)) {
    throw new SensorIdRefused('invalid_sensor_id', `${JSON.stringify(text.slice(0, 80))} is not a sensor id (<source>:<device>, e.g. ble:c0-ff-ee-00-00-01)`);
  }
  return canonical;
}

/**
 * The machine of the gym that `sensor` (canonical id) is built into, if any: a reading of that sensor in that
 * gym comes from this machine. The results issue attributes readings with it.
 */
export async function machineOfSensor(documents: DocumentSession, gym: string, sensor: string): Promise<EquipmentDoc | undefined> {
  const claim = await documents.collection(EQUIPMENT_SENSORS).findOne({ gym, sensor });
  if (claim === undefined) return undefined;
  return documents.collection(EQUIPMENT).get(claim.equipment);
}
