/**
 * The collection of each kind of document the API's paths name by `:id` (access `{ resource }`): the access
 * gate reads the document's `gym` to decide whether the caller may touch it (404 when not).
 */
import type { ResourceKind } from '../api/access.ts';
import type { CollectionSpec, DocumentStore } from '../documents/document-store.ts';
import { CLASSES } from './classes/collections.ts';
import { EQUIPMENT, EQUIPMENT_TYPES } from './equipment/collections.ts';
import { GYM_SENSORS } from './pairing/collections.ts';
import { GROUPS } from './social/collections.ts';
import { TRAININGS } from './trainings/collections.ts';
import { WEBHOOK_SUBSCRIPTIONS } from './webhooks/collections.ts';
import { CLASS_RUNS } from './sessions/collections.ts';

export const RESOURCE_COLLECTIONS: Readonly<Record<ResourceKind, CollectionSpec>> = {
  equipment_type: EQUIPMENT_TYPES,
  equipment: EQUIPMENT,
  group: GROUPS,
  training: TRAININGS,
  class: CLASSES,
  gym_sensor: GYM_SENSORS,
  webhook: WEBHOOK_SUBSCRIPTIONS,
  class_run: CLASS_RUNS,
};

/** The gym of the document of `kind` with this id; undefined when there is none. */
export async function gymOfResource(documents: DocumentStore, kind: ResourceKind, id: string): Promise<string | undefined> {
  const doc = (await documents.collection(RESOURCE_COLLECTIONS[kind]).get(id)) as { gym?: unknown } | undefined;
  return typeof doc?.gym === 'string' ? doc.gym : undefined;
}
