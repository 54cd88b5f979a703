/** The operations table of equipment types with their attribute schemas, items, status and maintenance log, built-in sensors. */
import { Type } from '@sinclair/typebox';
import { EQUIPMENT_KINDS, EQUIPMENT_STATUSES } from '../domain/equipment/collections.ts';
import { MAX_SCHEMA_BYTES, MAX_SCHEMA_DEPTH } from '../domain/equipment/attribute-schemas.ts';
import { ADMINS, MEMBERS, STAFF } from './access.ts';
import { API_PREFIX, JSON_TYPE, type Operation } from './operation.ts';
import { pageSchema, PageQueryFields } from './pages.ts';
import { GymParam } from './schemas.ts';

const DOCUMENT_ID = { minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' } as const;
const IdPath = (what: string) => Type.Object({ id: Type.String({ ...DOCUMENT_ID, description: `the id of the ${what}` }) }, { additionalProperties: false });
const TypeIdPath = IdPath('equipment type');
const EquipmentIdPath = IdPath('equipment item');

const Kind = Type.Union(
  EQUIPMENT_KINDS.map((kind) => Type.Literal(kind)),
  { description: `What sort of machine: ${EQUIPMENT_KINDS.join(', ')}` },
);
const Status = Type.Union(
  EQUIPMENT_STATUSES.map((status) => Type.Literal(status)),
  { description: 'in_service (usable), out_of_order (reported broken) or maintenance (being repaired or serviced)' },
);
const AttributesSchema = Type.Record(Type.String(), Type.Unknown(), {
  description:
    `The JSON schema (draft 2020-12, strict: unknown keywords are refused) every item's attributes must match. It must describe an object (type: object), ` +
    `be at most ${MAX_SCHEMA_BYTES} bytes and ${MAX_SCHEMA_DEPTH} levels deep, and reference nothing: keys starting with $ ($ref, $defs, $schema, $id) are refused.`,
});
const Attributes = Type.Record(Type.String(), Type.Unknown(), {
  description: "The item's attributes, as its type's attributesSchema describes them; keys may not start with $ or contain a dot",
});
const SensorRole = Type.String({
  minLength: 1,
  maxLength: 32,
  pattern: '^[a-z][a-z0-9_]*$',
  description: 'What the sensor measures on this machine, e.g. power, cadence, speed, heart_rate, console',
});
const BuiltInSensorBody = Type.Object(
  {
    sensor: Type.String({
      minLength: 1,
      maxLength: 80,
      description: 'Sensor id, e.g. ble:c0-ff-ee-00-00-01 or serial:csafe:430123456; a BLE address may be written with colons and in upper case, it is stored canonical',
    }),
    role: SensorRole,
  },
  { additionalProperties: false },
);
const BuiltInSensors = Type.Array(BuiltInSensorBody, {
  maxItems: 16,
  description: 'The sensors built into the machine; a sensor is built into at most one machine of a gym. Readings of them are known to come from this machine.',
});

const Name = Type.String({ minLength: 1, maxLength: 128, description: 'Display name' });
const Serial = Type.String({ minLength: 1, maxLength: 64, description: "The manufacturer's serial number; unique within the gym" });
const Location = Type.String({ minLength: 1, maxLength: 128, description: 'Where the machine stands, e.g. "Cardio floor, row 2"' });
const Note = Type.String({ minLength: 1, maxLength: 1000, description: 'What was seen or done' });
const Timestamp = (what: string) => Type.String({ format: 'date-time', description: what });

export const EquipmentType = Type.Object({
  id: Type.String({ description: 'Id of the equipment type' }),
  gym: Type.String({ description: 'The gym it belongs to' }),
  name: Type.String({ description: 'Display name, unique within the gym' }),
  kind: Kind,
  attributesSchema: Type.Record(Type.String(), Type.Unknown(), { description: "The JSON schema (draft 2020-12) of its items' attributes" }),
  createdAt: Timestamp('When the type was created'),
  updatedAt: Timestamp('When the type was last changed'),
});

const TypeFields = {
  name: Type.String({ minLength: 1, maxLength: 128, description: 'Display name, unique within the gym' }),
  kind: Kind,
  attributesSchema: AttributesSchema,
};
export const EquipmentTypeCreate = Type.Object({ gym: Type.Optional(GymParam), ...TypeFields }, { additionalProperties: false });
export const EquipmentTypePut = Type.Object(TypeFields, { additionalProperties: false });

export const BuiltInSensor = Type.Object({
  sensor: Type.String({ description: 'Canonical sensor id' }),
  role: Type.String({ description: 'What the sensor measures on this machine' }),
});

export const Equipment = Type.Object({
  id: Type.String({ description: 'Id of the item' }),
  gym: Type.String({ description: 'The gym it belongs to' }),
  name: Type.String({ description: 'Display name' }),
  type: Type.String({ description: 'Id of its equipment type' }),
  serial: Type.String({ description: "The manufacturer's serial number, unique within the gym" }),
  location: Type.Optional(Type.String({ description: 'Where the machine stands' })),
  status: Type.Union(
    EQUIPMENT_STATUSES.map((status) => Type.Literal(status)),
    { description: 'in_service, out_of_order or maintenance; changed through POST /equipment/{id}/status, which logs it' },
  ),
  attributes: Type.Record(Type.String(), Type.Unknown(), { description: "Attributes as its type's schema describes them" }),
  builtIn: Type.Array(BuiltInSensor, { description: 'The sensors built into the machine' }),
  sensors: Type.Array(Type.String(), { description: 'The canonical ids of builtIn, as a plain list' }),
  createdAt: Timestamp('When the item was created'),
  updatedAt: Timestamp('When the item was last changed'),
});

export const EquipmentCreate = Type.Object(
  {
    gym: Type.Optional(GymParam),
    name: Name,
    type: Type.String({ ...DOCUMENT_ID, description: 'Id of an equipment type of the same gym' }),
    serial: Serial,
    location: Type.Optional(Location),
    status: Type.Optional(Status),
    attributes: Type.Optional(Attributes),
    builtIn: Type.Optional(BuiltInSensors),
  },
  { additionalProperties: false },
);

export const EquipmentPatch = Type.Object(
  {
    name: Type.Optional(Name),
    type: Type.Optional(Type.String({ ...DOCUMENT_ID, description: 'Id of an equipment type of the same gym; the attributes are checked against its schema' })),
    serial: Type.Optional(Serial),
    location: Type.Optional(Type.Union([Location, Type.Null()], { description: 'Where the machine stands; null clears it' })),
    attributes: Type.Optional(Attributes),
    builtIn: Type.Optional(BuiltInSensors),
  },
  { additionalProperties: false },
);

export const StatusChange = Type.Object({ status: Status, note: Type.Optional(Note) }, { additionalProperties: false });

export const MaintenanceEntry = Type.Object({
  id: Type.String({ description: 'Id of the log entry' }),
  at: Timestamp('When the change was made'),
  by: Type.String({ description: 'User id of who made it' }),
  from: Type.Optional(Type.String({ description: 'The status before; absent in the entry of the item’s creation' })),
  to: Type.String({ description: 'The status after' }),
  note: Type.Optional(Type.String({ description: 'What was seen or done' })),
});

export const EquipmentTypesQuery = Type.Object({ ...PageQueryFields, gym: Type.Optional(GymParam), kind: Type.Optional(Kind) }, { additionalProperties: false });
export const EquipmentQuery = Type.Object(
  {
    ...PageQueryFields,
    gym: Type.Optional(GymParam),
    type: Type.Optional(Type.String({ ...DOCUMENT_ID, description: 'Only items of this equipment type' })),
    status: Type.Optional(Status),
    location: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'Only items at exactly this location' })),
  },
  { additionalProperties: false },
);
const LogQuery = Type.Object(PageQueryFields, { additionalProperties: false });

/** The longest use taken at once: a session, as long as a loan may be. */
export const MAX_USE_MINUTES = 720;

export const UseBody = Type.Object(
  {
    minutes: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: MAX_USE_MINUTES,
        description: 'How long the athlete will use it; the use then ends by itself. Left out, it lasts until released (DELETE /equipment/{id}/use)',
      }),
    ),
  },
  { additionalProperties: false },
);

export const EquipmentUse = Type.Object({
  equipment: Type.String({ description: 'Id of the machine' }),
  athlete: Type.String({ description: 'User id of the athlete using it' }),
  sensors: Type.Array(Type.String(), { description: "The machine's built-in sensors whose readings are the athlete's meanwhile" }),
  from: Timestamp('From when its readings are the athlete’s'),
  until: Type.Optional(Timestamp('When the use ends (or ended); absent while it lasts until released')),
  active: Type.Boolean({ description: 'True while the use holds' }),
});

/** A type's schema may be up to MAX_SCHEMA_BYTES, plus the rest of the body. */
const TYPE_BODY_LIMIT = MAX_SCHEMA_BYTES + 4 * 1024;

export const EQUIPMENT_OPERATIONS = {
  listEquipmentTypes: {
    operationId: 'listEquipmentTypes',
    path: `${API_PREFIX}/equipment-types`,
    tag: 'equipment',
    summary: "A gym's equipment types, by name",
    access: { roles: MEMBERS, scope: 'gym:read', gym: 'query' },
    query: EquipmentTypesQuery,
    response: { description: 'A page of equipment types', contentType: JSON_TYPE, schema: pageSchema(EquipmentType, 'Equipment types by name') },
    problems: ['invalid_parameter', 'unavailable'],
  },
  createEquipmentType: {
    operationId: 'createEquipmentType',
    method: 'post',
    path: `${API_PREFIX}/equipment-types`,
    tag: 'equipment',
    summary: 'Creates an equipment type with the JSON schema of its items’ attributes',
    description: 'The schema is checked when saved: draft 2020-12 in strict mode, self-contained, bounded in size and depth. A bad one is a 400 whose detail says where.',
    access: { roles: ADMINS, scope: 'gym:write', gym: 'body' },
    body: EquipmentTypeCreate,
    bodyLimitBytes: TYPE_BODY_LIMIT,
    response: { description: 'The new type', contentType: JSON_TYPE, schema: EquipmentType, status: 201 },
    problems: ['invalid_parameter', 'conflict', 'unavailable'],
  },
  getEquipmentType: {
    operationId: 'getEquipmentType',
    path: `${API_PREFIX}/equipment-types/:id`,
    tag: 'equipment',
    summary: 'An equipment type',
    access: { roles: MEMBERS, scope: 'gym:read', gym: { resource: 'equipment_type' } },
    params: TypeIdPath,
    response: { description: 'The type', contentType: JSON_TYPE, schema: EquipmentType },
    problems: ['invalid_parameter', 'not_found', 'unavailable'],
  },
  putEquipmentType: {
    operationId: 'putEquipmentType',
    method: 'put',
    path: `${API_PREFIX}/equipment-types/:id`,
    tag: 'equipment',
    summary: 'Changes an equipment type: its name, kind and attributes schema',
    description:
      'A new schema must accept the attributes of every existing item of the type; otherwise the change is refused with 409 saying how many items do not match. Change those items first.',
    access: { roles: ADMINS, scope: 'gym:write', gym: { resource: 'equipment_type' } },
    params: TypeIdPath,
    body: EquipmentTypePut,
    bodyLimitBytes: TYPE_BODY_LIMIT,
    response: { description: 'The changed type', contentType: JSON_TYPE, schema: EquipmentType },
    problems: ['invalid_parameter', 'not_found', 'conflict', 'unavailable'],
  },
  deleteEquipmentType: {
    operationId: 'deleteEquipmentType',
    method: 'delete',
    path: `${API_PREFIX}/equipment-types/:id`,
    tag: 'equipment',
    summary: 'Deletes an equipment type no item uses (409 while any does)',
    access: { roles: ADMINS, scope: 'gym:write', gym: { resource: 'equipment_type' } },
    params: TypeIdPath,
    response: { description: 'Deleted', contentType: JSON_TYPE, status: 204 },
    problems: ['invalid_parameter', 'not_found', 'conflict', 'unavailable'],
  },
  listEquipment: {
    operationId: 'listEquipment',
    path: `${API_PREFIX}/equipment`,
    tag: 'equipment',
    summary: "A gym's equipment items by name, optionally of one type, status or location",
    access: { roles: MEMBERS, scope: 'gym:read', gym: 'query' },
    query: EquipmentQuery,
    response: { description: 'A page of items', contentType: JSON_TYPE, schema: pageSchema(Equipment, 'Items by name') },
    problems: ['invalid_parameter', 'unavailable'],
  },
  createEquipment: {
    operationId: 'createEquipment',
    method: 'post',
    path: `${API_PREFIX}/equipment`,
    tag: 'equipment',
    summary: 'Adds an equipment item to the gym, with its built-in sensors',
    description:
      "The attributes are checked against the type's schema (400 naming the failing attribute). The serial number and each built-in sensor must be free in the gym (409). The gym's agents are told their new allowlist.",
    access: { roles: ADMINS, scope: 'gym:write', gym: 'body' },
    body: EquipmentCreate,
    response: { description: 'The new item', contentType: JSON_TYPE, schema: Equipment, status: 201 },
    problems: ['invalid_parameter', 'conflict', 'unavailable'],
  },
  getEquipment: {
    operationId: 'getEquipment',
    path: `${API_PREFIX}/equipment/:id`,
    tag: 'equipment',
    summary: 'An equipment item',
    access: { roles: MEMBERS, scope: 'gym:read', gym: { resource: 'equipment' } },
    params: EquipmentIdPath,
    response: { description: 'The item', contentType: JSON_TYPE, schema: Equipment },
    problems: ['invalid_parameter', 'not_found', 'unavailable'],
  },
  patchEquipment: {
    operationId: 'patchEquipment',
    method: 'patch',
    path: `${API_PREFIX}/equipment/:id`,
    tag: 'equipment',
    summary: 'Changes the given fields of an equipment item (its status changes through POST /equipment/{id}/status)',
    description: 'builtIn replaces the whole list. The attributes are checked against the (new) type’s schema; serial and sensors must be free in the gym (409).',
    access: { roles: ADMINS, scope: 'gym:write', gym: { resource: 'equipment' } },
    params: EquipmentIdPath,
    body: EquipmentPatch,
    response: { description: 'The changed item', contentType: JSON_TYPE, schema: Equipment },
    problems: ['invalid_parameter', 'not_found', 'conflict', 'unavailable'],
  },
  deleteEquipment: {
    operationId: 'deleteEquipment',
    method: 'delete',
    path: `${API_PREFIX}/equipment/:id`,
    tag: 'equipment',
    summary: 'Removes an equipment item with its maintenance log; its sensors leave the gym’s allowlist',
    access: { roles: ADMINS, scope: 'gym:write', gym: { resource: 'equipment' } },
    params: EquipmentIdPath,
    response: { description: 'Deleted', contentType: JSON_TYPE, status: 204 },
    problems: ['invalid_parameter', 'not_found', 'unavailable'],
  },
  setEquipmentStatus: {
    operationId: 'setEquipmentStatus',
    method: 'post',
    path: `${API_PREFIX}/equipment/:id/status`,
    tag: 'equipment',
    summary: "Changes an item's status and logs it with a note: a coach reports a machine out of order, an admin puts it back in service",
    description: "A change of status (not a note on the same status) is delivered to the gym's webhook subscribers as equipment.status_changed.",
    access: { roles: STAFF, scope: 'gym:write', gym: { resource: 'equipment' } },
    params: EquipmentIdPath,
    body: StatusChange,
    response: { description: 'The item with its new status', contentType: JSON_TYPE, schema: Equipment },
    problems: ['invalid_parameter', 'not_found', 'unavailable'],
  },
  useEquipment: {
    operationId: 'useEquipment',
    method: 'post',
    path: `${API_PREFIX}/equipment/:id/use`,
    tag: 'equipment',
    summary: 'An athlete takes a machine: the readings of its built-in sensors are theirs from now on',
    description:
      'Only an athlete of the machine’s gym, for themselves. Refused with 409 when the machine is not in service, has no built-in sensor, ' +
      'is in use (by anyone: release it first), or one of its sensors is bound to someone else. With minutes, the use ends by itself then.',
    access: { roles: MEMBERS, scope: 'me:write', gym: { resource: 'equipment' } },
    params: EquipmentIdPath,
    body: UseBody,
    response: { description: 'The use (201)', contentType: JSON_TYPE, schema: EquipmentUse, status: 201 },
    problems: ['invalid_parameter', 'not_found', 'conflict', 'unavailable'],
  },
  releaseEquipment: {
    operationId: 'releaseEquipment',
    method: 'delete',
    path: `${API_PREFIX}/equipment/:id/use`,
    tag: 'equipment',
    summary: 'Ends the use of a machine now: by the athlete using it, or by the gym’s staff',
    access: { roles: MEMBERS, scope: 'me:write', gym: { resource: 'equipment' } },
    params: EquipmentIdPath,
    response: { description: 'The ended use', contentType: JSON_TYPE, schema: EquipmentUse },
    problems: ['invalid_parameter', 'not_found', 'unavailable'],
  },
  listMaintenance: {
    operationId: 'listEquipmentMaintenance',
    path: `${API_PREFIX}/equipment/:id/maintenance`,
    tag: 'equipment',
    summary: "An item's maintenance log, newest first: every status change with who made it and their note",
    access: { roles: STAFF, scope: 'gym:read', gym: { resource: 'equipment' } },
    params: EquipmentIdPath,
    query: LogQuery,
    response: { description: 'A page of log entries', contentType: JSON_TYPE, schema: pageSchema(MaintenanceEntry, 'Log entries, newest first') },
    problems: ['invalid_parameter', 'not_found', 'unavailable'],
  },
} as const satisfies Record<string, Operation>;
