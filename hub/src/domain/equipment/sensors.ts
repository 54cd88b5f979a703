/** Which machine a sensor's readings come from, for the attribution of results. Sensor ids are canonical (protocol canonicalSensorId). */
import type { DocumentSession } from '../../documents/document-store.ts';
import { EQUIPMENT, EQUIPMENT_SENSORS, type EquipmentDoc } from './collections.ts';

/**
 * The machine of the gym that `sensor` (canonical id) is built into, if any: a reading of that sensor in that
 * gym comes from this machine, which is how results attribute its readings.
 */
export async function machineOfSensor(documents: DocumentSession, gym: string, sensor: string): Promise<EquipmentDoc | undefined> {
  const claim = await documents.collection(EQUIPMENT_SENSORS).findOne({ gym, sensor });
  if (claim === undefined) return undefined;
  return documents.collection(EQUIPMENT).get(claim.equipment);
}
