/** The document collections of photos. */
import type { CollectionSpec } from '../../documents/document-store.ts';

export const PHOTOS_COLLECTIONS: readonly CollectionSpec[] = [];
