/** The document collections of social: groups (clubs and teams) and friendships. */
import { Type } from '@sinclair/typebox';
import type { CollectionSpec } from '../../documents/document-store.ts';

export const GROUPS = {
  name: 'groups',
  schema: Type.Object(
    {
      id: Type.String(),
      gym: Type.String(),
    },
    { additionalProperties: false },
  ),
  indexes: [{ name: 'by_gym', fields: ['gym'] }],
} as const satisfies CollectionSpec;

export const SOCIAL_COLLECTIONS: readonly CollectionSpec[] = [GROUPS];
