/** Every document collection of the gym domain, declared to the document store at start. */
import type { CollectionSpec } from '../documents/document-store.ts';
import { CLASSES_COLLECTIONS } from './classes/collections.ts';
import { EQUIPMENT_COLLECTIONS } from './equipment/collections.ts';
import { GYM_COLLECTIONS } from './gyms.ts';
import { PAIRING_COLLECTIONS } from './pairing/collections.ts';
import { PHOTOS_COLLECTIONS } from './photos/collections.ts';
import { SESSIONS_COLLECTIONS } from './sessions/collections.ts';
import { SOCIAL_COLLECTIONS } from './social/collections.ts';
import { TRAININGS_COLLECTIONS } from './trainings/collections.ts';
import { WEBHOOKS_COLLECTIONS } from './webhooks/collections.ts';

export const DOMAIN_COLLECTIONS: readonly CollectionSpec[] = [
  ...GYM_COLLECTIONS,
  ...EQUIPMENT_COLLECTIONS,
  ...SOCIAL_COLLECTIONS,
  ...TRAININGS_COLLECTIONS,
  ...CLASSES_COLLECTIONS,
  ...PAIRING_COLLECTIONS,
  ...PHOTOS_COLLECTIONS,
  ...WEBHOOKS_COLLECTIONS,
  ...SESSIONS_COLLECTIONS,
];
