/** The document collections of pairing: gym-owned sensors (loaner straps) and bindings of sensors to athletes, kept as history. */
import { Type } from '@sinclair/typebox';
import type { CollectionSpec } from '../../documents/document-store.ts';

export const GYM_SENSORS = {
  name: 'gym_sensors',
  schema: Type.Object(
    {
      id: Type.String(),
      gym: Type.String(),
      /** Canonical sensor id. */
      sensor: Type.String(),
    },
    { additionalProperties: false },
  ),
  indexes: [{ name: 'by_gym_sensor', fields: ['gym', 'sensor'], unique: true }],
} as const satisfies CollectionSpec;

export const BINDINGS = {
  name: 'bindings',
  schema: Type.Object(
    {
      id: Type.String(),
      gym: Type.String(),
      /** Canonical sensor id. */
      sensor: Type.String(),
      athlete: Type.String(),
      /** True while the binding holds; a sensor has at most one active binding per gym. */
      active: Type.Boolean(),
      /** Hub time (ms) from which readings of the sensor are the athlete's. */
      from: Type.Integer(),
      /** Hub time (ms) when it ended (or ends, for a loaner bound to one class); absent while open. */
      until: Type.Optional(Type.Integer()),
    },
    { additionalProperties: false },
  ),
  indexes: [
    { name: 'one_active', fields: ['gym', 'sensor'], unique: true, partial: { active: true } },
    { name: 'by_athlete', fields: ['athlete', 'gym'] },
    { name: 'by_sensor', fields: ['gym', 'sensor', 'from'] },
  ],
} as const satisfies CollectionSpec;

export const PAIRING_COLLECTIONS: readonly CollectionSpec[] = [GYM_SENSORS, BINDINGS];
