/** The document collections of trainings: workout templates. */
import { Type } from '@sinclair/typebox';
import type { CollectionSpec } from '../../documents/document-store.ts';

export const TRAININGS = {
  name: 'trainings',
  schema: Type.Object(
    {
      id: Type.String(),
      gym: Type.String(),
    },
    { additionalProperties: false },
  ),
  indexes: [{ name: 'by_gym', fields: ['gym'] }],
} as const satisfies CollectionSpec;

export const TRAININGS_COLLECTIONS: readonly CollectionSpec[] = [TRAININGS];
