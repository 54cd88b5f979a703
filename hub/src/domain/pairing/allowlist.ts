/**
 * The allowlist of a gym's agents: every sensor its agents should admit. It is the sensors bound to an athlete
 * now, the gym's own loaner straps, and the sensors built into its equipment. The pairing channel publishes it
 * to the agents (pairing/allowlist-publisher.ts) whenever one of those changes.
 */
import type { DocumentStore } from '../../documents/document-store.ts';
import { EQUIPMENT } from '../equipment/collections.ts';
import { BINDINGS, GYM_SENSORS } from './collections.ts';

export async function allowlistOf(documents: DocumentStore, gym: string): Promise<string[]> {
  const sensors = new Set<string>();
  for (const binding of await documents.collection(BINDINGS).find({ gym, active: true })) sensors.add(binding.sensor);
  for (const owned of await documents.collection(GYM_SENSORS).find({ gym })) sensors.add(owned.sensor);
  for (const machine of await documents.collection(EQUIPMENT).find({ gym })) for (const sensor of machine.sensors) sensors.add(sensor);
  return [...sensors].sort();
}
