/** The document collections of classes: classes (recurring by RRULE in the gym's time zone), their occurrences and bookings. */
import { Type } from '@sinclair/typebox';
import type { CollectionSpec } from '../../documents/document-store.ts';

export const CLASSES = {
  name: 'classes',
  schema: Type.Object(
    {
      id: Type.String(),
      gym: Type.String(),
    },
    { additionalProperties: false },
  ),
  indexes: [{ name: 'by_gym', fields: ['gym'] }],
} as const satisfies CollectionSpec;

export const CLASSES_COLLECTIONS: readonly CollectionSpec[] = [CLASSES];
