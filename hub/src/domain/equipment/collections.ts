/** The document collections of equipment: equipment types (each with the JSON schema of its items' attributes) and items. */
import { Type } from '@sinclair/typebox';
import type { CollectionSpec } from '../../documents/document-store.ts';

export const EQUIPMENT_TYPES = {
  name: 'equipment_types',
  schema: Type.Object(
    {
      id: Type.String(),
      gym: Type.String(),
    },
    { additionalProperties: false },
  ),
  indexes: [{ name: 'by_gym', fields: ['gym'] }],
} as const satisfies CollectionSpec;

export const EQUIPMENT = {
  name: 'equipment',
  schema: Type.Object(
    {
      id: Type.String(),
      gym: Type.String(),
      /** Canonical ids of the sensors built into the machine: a reading of one comes from this machine. */
      sensors: Type.Array(Type.String()),
    },
    { additionalProperties: false },
  ),
  indexes: [{ name: 'by_gym', fields: ['gym'] }],
} as const satisfies CollectionSpec;

export const EQUIPMENT_COLLECTIONS: readonly CollectionSpec[] = [EQUIPMENT_TYPES, EQUIPMENT];
