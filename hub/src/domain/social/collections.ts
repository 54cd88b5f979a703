/** The document collections of social. */
import type { CollectionSpec } from '../../documents/document-store.ts';

export const SOCIAL_COLLECTIONS: readonly CollectionSpec[] = [];
