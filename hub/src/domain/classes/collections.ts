/** The document collections of classes. */
import type { CollectionSpec } from '../../documents/document-store.ts';

export const CLASSES_COLLECTIONS: readonly CollectionSpec[] = [];
