/**
 * The document collections of equipment: equipment types (each with the JSON schema of its items' attributes),
 * items with their built-in sensors, the items' maintenance log, and the claims that keep a sensor built into
 * at most one machine of a gym.
 */
import { Type, type Static } from '@sinclair/typebox';
import type { CollectionSpec, DocumentOf } from '../../documents/document-store.ts';

export const EQUIPMENT_KINDS = ['bike', 'rower', 'treadmill', 'ski_erg', 'elliptical', 'stepper', 'strength', 'other'] as const;
export type EquipmentKind = (typeof EQUIPMENT_KINDS)[number];

export const EQUIPMENT_STATUSES = ['in_service', 'out_of_order', 'maintenance'] as const;
export type EquipmentStatus = (typeof EQUIPMENT_STATUSES)[number];

export const EQUIPMENT_TYPES = {
  name: 'equipment_types',
  schema: Type.Object(
    {
      id: Type.String(),
      gym: Type.String(),
      name: Type.String(),
      kind: Type.Union(EQUIPMENT_KINDS.map((kind) => Type.Literal(kind))),
      /** The JSON schema (draft 2020-12, checked by attribute-schemas.ts) every item's `attributes` must match. */
      attributesSchema: Type.Record(Type.String(), Type.Unknown()),
      createdAt: Type.Integer(),
      updatedAt: Type.Integer(),
    },
    { additionalProperties: false },
  ),
  indexes: [
    { name: 'by_gym', fields: ['gym'] },
    { name: 'by_gym_name', fields: ['gym', 'name'], unique: true },
  ],
} as const satisfies CollectionSpec;

export const BuiltInSensor = Type.Object({ sensor: Type.String(), role: Type.String() });
export type BuiltInSensor = Static<typeof BuiltInSensor>;

export const EQUIPMENT = {
  name: 'equipment',
  schema: Type.Object(
    {
      id: Type.String(),
      gym: Type.String(),
      /**
       * Canonical ids of the sensors built into the machine: a reading of one comes from this machine. The
       * same ids as `builtIn`, kept as a plain list for the pairing allowlist (domain/pairing/allowlist.ts).
       */
      sensors: Type.Array(Type.String()),
      name: Type.String(),
      /** Id of its equipment type (same gym). */
      type: Type.String(),
      serial: Type.String(),
      location: Type.Optional(Type.String()),
      status: Type.Union(EQUIPMENT_STATUSES.map((status) => Type.Literal(status))),
      attributes: Type.Record(Type.String(), Type.Unknown()),
      builtIn: Type.Array(BuiltInSensor),
      /** Entries written to its maintenance log: the next entry's `seq`, so the log has an order even within a millisecond. */
      logged: Type.Integer(),
      createdAt: Type.Integer(),
      updatedAt: Type.Integer(),
    },
    { additionalProperties: false },
  ),
  indexes: [
    { name: 'by_gym', fields: ['gym'] },
    { name: 'unique_serial', fields: ['gym', 'serial'], unique: true },
    { name: 'by_gym_name', fields: ['gym', 'name'] },
    { name: 'by_gym_type', fields: ['gym', 'type', 'name'] },
    { name: 'by_gym_status', fields: ['gym', 'status', 'name'] },
    { name: 'by_gym_location', fields: ['gym', 'location', 'name'] },
  ],
} as const satisfies CollectionSpec;

/** One entry of an item's maintenance log: every status change, and notes. */
export const EQUIPMENT_LOG = {
  name: 'equipment_log',
  schema: Type.Object(
    {
      id: Type.String(),
      gym: Type.String(),
      equipment: Type.String(),
      /** 0 for the entry of the item's creation, then one more for each entry. */
      seq: Type.Integer(),
      /** Hub time (ms). */
      at: Type.Integer(),
      /** User id of who made the change. */
      by: Type.String(),
      /** The status before; absent for the entry that records the item's creation. */
      from: Type.Optional(Type.Union(EQUIPMENT_STATUSES.map((status) => Type.Literal(status)))),
      to: Type.Union(EQUIPMENT_STATUSES.map((status) => Type.Literal(status))),
      note: Type.Optional(Type.String()),
    },
    { additionalProperties: false },
  ),
  indexes: [{ name: 'by_equipment', fields: ['equipment', 'seq'], unique: true }],
} as const satisfies CollectionSpec;

/**
 * A sensor built into a machine, one document per sensor. Neither store indexes array elements the same way
 * (MongoDB's multikey unique index spans documents but not one document's duplicates; SQLite's JSON cannot be
 * indexed per element at all), so the one-machine-per-sensor rule rests on this scalar unique index. A check
 * inside the transaction alone would not do in MongoDB: two transactions writing different machines do not
 * conflict there (write skew), while two claims of one sensor do.
 */
export const EQUIPMENT_SENSORS = {
  name: 'equipment_sensors',
  schema: Type.Object(
    {
      id: Type.String(),
      gym: Type.String(),
      /** Canonical sensor id. */
      sensor: Type.String(),
      equipment: Type.String(),
    },
    { additionalProperties: false },
  ),
  indexes: [
    { name: 'one_machine', fields: ['gym', 'sensor'], unique: true },
    { name: 'by_equipment', fields: ['equipment'] },
  ],
} as const satisfies CollectionSpec;

export type EquipmentTypeDoc = DocumentOf<typeof EQUIPMENT_TYPES.schema>;
export type EquipmentDoc = DocumentOf<typeof EQUIPMENT.schema>;
export type EquipmentLogDoc = DocumentOf<typeof EQUIPMENT_LOG.schema>;

export const EQUIPMENT_COLLECTIONS: readonly CollectionSpec[] = [EQUIPMENT_TYPES, EQUIPMENT, EQUIPMENT_LOG, EQUIPMENT_SENSORS];
