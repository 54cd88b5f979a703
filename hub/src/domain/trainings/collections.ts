/** The document collections of trainings. */
import type { CollectionSpec } from '../../documents/document-store.ts';

export const TRAININGS_COLLECTIONS: readonly CollectionSpec[] = [];
