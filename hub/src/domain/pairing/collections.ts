/**
 * The document collections of pairing: gym-owned sensors (loaner straps), bindings of sensors to athletes,
 * kept as history, and the tap-to-pair discovery windows (kept here, not in memory, so that whichever hub
 * replica a phone's poll reaches can answer it).
 */
import { Type } from '@sinclair/typebox';
import type { CollectionSpec } from '../../documents/document-store.ts';

export const BINDING_KINDS = ['own', 'loaner', 'equipment'] as const;
export type BindingKind = (typeof BINDING_KINDS)[number];

export const GYM_SENSORS = {
  name: 'gym_sensors',
  schema: Type.Object(
    {
      id: Type.String(),
      gym: Type.String(),
      /** Canonical sensor id. */
      sensor: Type.String(),
      /** heart_rate, bike, ... as agents name sensor kinds. */
      kind: Type.String(),
      /** What staff call it ("Loaner 7", the number on the strap). */
      label: Type.Optional(Type.String()),
      createdAt: Type.Integer(),
      updatedAt: Type.Integer(),
    },
    { additionalProperties: false },
  ),
  indexes: [
    { name: 'by_gym_sensor', fields: ['gym', 'sensor'], unique: true },
    { name: 'by_gym_label', fields: ['gym', 'label'] },
  ],
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
      /**
       * own: the athlete's sensor, claimed by them; loaner: a gym-owned strap a coach lent for one class;
       * equipment: a sensor built into a machine the athlete uses (POST /equipment/{id}/use), one binding per sensor.
       */
      kind: Type.Union(BINDING_KINDS.map((kind) => Type.Literal(kind))),
      /** The athlete's name for their sensor ("my chest strap"). */
      label: Type.Optional(Type.String()),
      /** The gym sensor lent (loaner). */
      gymSensor: Type.Optional(Type.String()),
      /** The class a loan is for. */
      classId: Type.Optional(Type.String()),
      /** The machine used (equipment): the sensor is built into it. */
      equipment: Type.Optional(Type.String()),
      /** The user who made the binding: the athlete, or the coach who lent the strap. */
      createdBy: Type.String(),
      /** The user who ended it early, when someone did (absent when it ran out by itself). */
      endedBy: Type.Optional(Type.String()),
    },
    { additionalProperties: false },
  ),
  indexes: [
    { name: 'one_active', fields: ['gym', 'sensor'], unique: true, partial: { active: true } },
    { name: 'by_athlete', fields: ['athlete', 'gym'] },
    { name: 'by_sensor', fields: ['gym', 'sensor', 'from'] },
    { name: 'by_gym_from', fields: ['gym', 'from'] },
    { name: 'by_active_until', fields: ['active', 'until'] },
    { name: 'by_equipment', fields: ['equipment', 'active'] },
  ],
} as const satisfies CollectionSpec;

export const PAIRING_WINDOWS = {
  name: 'pairing_windows',
  schema: Type.Object(
    {
      id: Type.String(),
      gym: Type.String(),
      /** The athlete who opened it: only they see its candidates and confirm one. */
      athlete: Type.String(),
      /** Hub time (ms) it opened: agents' reports from then on count. */
      openedAt: Type.Integer(),
      /** Hub time (ms) the agents stop reporting. */
      until: Type.Integer(),
      /** Hub time (ms) after which it is gone: a while after `until`, for the athlete to confirm. */
      expiresAt: Type.Integer(),
    },
    { additionalProperties: false },
  ),
  indexes: [{ name: 'by_expiry', fields: ['expiresAt'] }],
} as const satisfies CollectionSpec;

export const PAIRING_COLLECTIONS: readonly CollectionSpec[] = [GYM_SENSORS, BINDINGS, PAIRING_WINDOWS];
