/** The document collections of pairing. */
import type { CollectionSpec } from '../../documents/document-store.ts';

export const PAIRING_COLLECTIONS: readonly CollectionSpec[] = [];
