/** The document collections of equipment. */
import type { CollectionSpec } from '../../documents/document-store.ts';

export const EQUIPMENT_COLLECTIONS: readonly CollectionSpec[] = [];
