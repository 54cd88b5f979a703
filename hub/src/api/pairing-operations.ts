/** The operations table of sensor pairing: claims by id and tap-to-pair, gym-owned loaner straps, the history of bindings, the agents' allowlist. */
import { Type } from '@sinclair/typebox';
import { ADMINS, MEMBERS, STAFF } from './access.ts';
import { API_PREFIX, JSON_TYPE, type Operation } from './operation.ts';
import { pageSchema, PageQueryFields } from './pages.ts';
import { TIME_PATTERN } from './query.ts';
import { GymParam } from './schemas.ts';

export const MAX_PERMIT_JOIN_SECONDS = 600;
export const DISCOVERY_SECONDS = 30;

const DocumentId = (what: string) => Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$', description: what });
const SensorInput = Type.String({
  minLength: 1,
  maxLength: 64,
  description:
    'A sensor id as printed or typed: `ble:AA:BB:CC:DD:EE:FF`, `ble:aa-bb-cc-dd-ee-ff`, `ant:120:12345:1`, ... The hub stores and answers its canonical form (`ble:aa-bb-cc-dd-ee-ff`, `ant:120:12345:1`)',
});
const Label = Type.String({ minLength: 1, maxLength: 64 });
const SensorKind = Type.String({ minLength: 1, maxLength: 32, pattern: '^[a-z][a-z0-9_]*$', description: 'heart_rate, bike, rower, ... as agents name sensor kinds' });
const Time = (role: string) => Type.String({ pattern: TIME_PATTERN, description: `an ISO 8601 date-time with a zone, or epoch milliseconds (${role})` });
const DateTime = (description: string) => Type.String({ format: 'date-time', description });

export const Binding = Type.Object(
  {
    id: Type.String({ description: 'The binding id (to unpair it: DELETE /me/sensors/{id})' }),
    gym: Type.String({ description: 'The gym the sensor is paired in' }),
    sensor: Type.String({ description: 'Canonical sensor id' }),
    athlete: Type.String({ description: 'User id of the athlete who wears it' }),
    athleteName: Type.Optional(Type.String({ description: 'Display name of the athlete (staff views)' })),
    kind: Type.Union([Type.Literal('own'), Type.Literal('loaner'), Type.Literal('equipment')], {
      description: "own: the athlete's sensor, claimed by them; loaner: a gym-owned strap lent for one class; equipment: built into a machine the athlete uses",
    }),
    active: Type.Boolean({ description: 'True while the binding holds' }),
    from: DateTime('From when readings of the sensor are the athlete’s'),
    until: Type.Optional(DateTime('When it ended, or ends (a loan ends by itself at the end of its class)')),
    label: Type.Optional(Type.String({ description: "The athlete's name for the sensor" })),
    gymSensor: Type.Optional(Type.String({ description: 'The gym sensor lent (loaner)' })),
    classId: Type.Optional(Type.String({ description: 'The class a loan is for' })),
    equipment: Type.Optional(Type.String({ description: 'The machine used (equipment)' })),
  },
  { description: 'A sensor bound to an athlete in a gym: readings of the sensor between from and until are theirs' },
);

export const GymSensor = Type.Object(
  {
    id: Type.String({ description: 'The gym sensor id' }),
    gym: Type.String({ description: 'The gym that owns it' }),
    sensor: Type.String({ description: 'Canonical sensor id' }),
    kind: Type.String({ description: 'heart_rate, bike, ...' }),
    label: Type.Optional(Type.String({ description: 'What staff call it, e.g. the number on the strap' })),
    createdAt: DateTime('When it was registered'),
    updatedAt: DateTime('When it last changed'),
  },
  { description: 'A sensor the gym owns (a loaner strap): always on its agents’ allowlist, lent to athletes for a class' },
);

export const Candidate = Type.Object({
  sensor: Type.String({ description: 'Canonical sensor id' }),
  kind: Type.String({ description: 'heart_rate for a strap' }),
  rssi: Type.Union([Type.Number(), Type.Null()], { description: 'Signal strength in dBm where the radio reports it: the strongest is the nearest' }),
  agent: Type.String({ description: 'The agent that heard it best' }),
  seenAt: DateTime('When an agent last reported it'),
});

export const DiscoveryWindow = Type.Object({
  windowId: Type.String({ description: 'Poll /me/sensors/discover/{windowId}, then confirm with POST /me/sensors { gym, sensor, window }' }),
  gym: Type.String({ description: 'The gym whose agents listen' }),
  until: DateTime('When the agents stop listening'),
});

export const Discovery = Type.Object({
  windowId: Type.String({ description: 'The window polled' }),
  gym: Type.String({ description: 'The gym whose agents listen' }),
  until: DateTime('When the agents stop listening'),
  open: Type.Boolean({ description: 'False once the agents stopped listening; the candidates heard meanwhile may still be confirmed for a while' }),
  candidates: Type.Array(Candidate, {
    description:
      'New heart-rate straps the gym’s agents heard since the window opened, strongest first: show the first one and let the athlete confirm it. Sensors paired in the gym already and gym-owned ones are left out',
  }),
});

export const Allowlist = Type.Object({
  gym: Type.String({ description: 'The gym whose agents get it' }),
  sensors: Type.Array(Type.String(), { description: 'Canonical ids, sorted: sensors bound to an athlete now, the gym’s own sensors, and those built into its equipment' }),
});

const BindingPath = Type.Object({ binding: DocumentId('a binding id') }, { additionalProperties: false });
const WindowPath = Type.Object({ window: DocumentId('a discovery window id') }, { additionalProperties: false });
const IdPath = Type.Object({ id: DocumentId('a gym sensor id') }, { additionalProperties: false });
const GymPath = Type.Object({ gym: GymParam }, { additionalProperties: false });

export const ClaimBody = Type.Object(
  {
    gym: GymParam,
    sensor: SensorInput,
    label: Type.Optional(Label),
    window: Type.Optional(DocumentId('The discovery window the sensor was picked from (tap-to-pair): it must be one of its candidates')),
  },
  { additionalProperties: false },
);

export const GymSensorBody = Type.Object({ gym: GymParam, sensor: SensorInput, kind: Type.Optional(SensorKind), label: Type.Optional(Label) }, { additionalProperties: false });
export const GymSensorPatch = Type.Object({ kind: Type.Optional(SensorKind), label: Type.Optional(Label) }, { additionalProperties: false, minProperties: 1 });

export const LoanBody = Type.Object(
  {
    athlete: DocumentId('User id of the athlete, a member of the gym'),
    from: Type.Optional(Time('start of the loan; default now')),
    until: Time('end of the loan, the end of the class: the strap is given back by itself then; at most 12 hours after from'),
    classId: Type.Optional(DocumentId('The class the strap is lent for')),
  },
  { additionalProperties: false },
);

export const BindingsQuery = Type.Object(
  {
    ...PageQueryFields,
    active: Type.Optional(Type.Union([Type.Literal('true'), Type.Literal('false')], { description: 'true: who wears which sensor now; false: ended bindings only' })),
    athlete: Type.Optional(DocumentId('Only this athlete’s bindings')),
    sensor: Type.Optional(SensorInput),
  },
  { additionalProperties: false },
);
export const GymSensorsQuery = Type.Object({ ...PageQueryFields, gym: Type.Optional(GymParam) }, { additionalProperties: false });
export const PermitJoinBody = Type.Object(
  { seconds: Type.Integer({ minimum: 1, maximum: MAX_PERMIT_JOIN_SECONDS, description: 'How long the agents admit any new sensor' }) },
  { additionalProperties: false },
);

export const PAIRING_OPERATIONS = {
  listMySensors: {
    operationId: 'listMySensors',
    path: `${API_PREFIX}/me/sensors`,
    tag: 'pairing',
    summary: 'The sensors bound to me now, in every gym (my own and straps lent to me)',
    access: { roles: MEMBERS, scope: 'me:read', gym: 'self' },
    response: { description: 'My active bindings, newest first', contentType: JSON_TYPE, schema: Type.Object({ items: Type.Array(Binding) }) },
    problems: ['unavailable'],
  },
  claimSensor: {
    operationId: 'claimSensor',
    method: 'post',
    path: `${API_PREFIX}/me/sensors`,
    tag: 'pairing',
    summary: 'Pairs a sensor with me in a gym, by its id or as picked from a discovery window',
    description:
      'From then on the gym’s agents admit it and its readings are mine. A sensor is paired to at most one athlete per gym: one paired to someone else is a 409. The gym’s own loaner straps are lent by a coach, not claimed.',
    access: { roles: MEMBERS, scope: 'me:write', gym: 'self' },
    body: ClaimBody,
    response: { description: 'The new binding', contentType: JSON_TYPE, schema: Binding, status: 201 },
    problems: ['invalid_parameter', 'not_found', 'conflict', 'unavailable'],
  },
  unpairSensor: {
    operationId: 'unpairSensor',
    method: 'delete',
    path: `${API_PREFIX}/me/sensors/:binding`,
    tag: 'pairing',
    summary: 'Ends one of my bindings; its history stays, so past readings remain mine',
    access: { roles: MEMBERS, scope: 'me:write', gym: 'self' },
    params: BindingPath,
    response: { description: 'The ended binding', contentType: JSON_TYPE, schema: Binding },
    problems: ['invalid_parameter', 'not_found', 'unavailable'],
  },
  openDiscovery: {
    operationId: 'openSensorDiscovery',
    method: 'post',
    path: `${API_PREFIX}/me/sensors/discover`,
    tag: 'pairing',
    summary: `Tap-to-pair: the gym’s agents listen ${DISCOVERY_SECONDS} s for new heart-rate straps near them`,
    description: 'Hold the strap close to the gym’s receiver, then poll the window: its strongest new strap is most likely yours.',
    access: { roles: MEMBERS, scope: 'me:write', gym: 'self' },
    body: Type.Object({ gym: GymParam }, { additionalProperties: false }),
    response: { description: 'The window to poll', contentType: JSON_TYPE, schema: DiscoveryWindow, status: 201 },
    problems: ['invalid_parameter', 'unavailable'],
  },
  getDiscovery: {
    operationId: 'getSensorDiscovery',
    path: `${API_PREFIX}/me/sensors/discover/:window`,
    tag: 'pairing',
    summary: 'The new heart-rate straps heard in my discovery window, strongest first',
    access: { roles: MEMBERS, scope: 'me:read', gym: 'self' },
    params: WindowPath,
    response: { description: 'The window and its candidates', contentType: JSON_TYPE, schema: Discovery },
    problems: ['invalid_parameter', 'not_found', 'unavailable'],
  },
  listGymSensors: {
    operationId: 'listGymSensors',
    path: `${API_PREFIX}/gym-sensors`,
    tag: 'pairing',
    summary: 'The sensors a gym owns (loaner straps), by sensor id',
    access: { roles: STAFF, scope: 'gym:read', gym: 'query' },
    query: GymSensorsQuery,
    response: { description: 'A page of gym sensors', contentType: JSON_TYPE, schema: pageSchema(GymSensor, 'Gym sensors by sensor id') },
    problems: ['invalid_parameter', 'unavailable'],
  },
  createGymSensor: {
    operationId: 'createGymSensor',
    method: 'post',
    path: `${API_PREFIX}/gym-sensors`,
    tag: 'pairing',
    summary: 'Registers a sensor the gym owns: its agents admit it from now on, and coaches lend it',
    description: 'A sensor an athlete has paired in the gym is theirs until they unpair it: registering it then is a 409.',
    access: { roles: STAFF, scope: 'gym:write', gym: 'body' },
    body: GymSensorBody,
    response: { description: 'The gym sensor', contentType: JSON_TYPE, schema: GymSensor, status: 201 },
    problems: ['invalid_parameter', 'conflict', 'unavailable'],
  },
  getGymSensor: {
    operationId: 'getGymSensor',
    path: `${API_PREFIX}/gym-sensors/:id`,
    tag: 'pairing',
    summary: 'A gym sensor',
    access: { roles: STAFF, scope: 'gym:read', gym: { resource: 'gym_sensor' } },
    params: IdPath,
    response: { description: 'The gym sensor', contentType: JSON_TYPE, schema: GymSensor },
    problems: ['invalid_parameter', 'not_found', 'unavailable'],
  },
  patchGymSensor: {
    operationId: 'patchGymSensor',
    method: 'patch',
    path: `${API_PREFIX}/gym-sensors/:id`,
    tag: 'pairing',
    summary: 'Changes a gym sensor’s kind or label (its id is what it is: register another sensor instead)',
    access: { roles: STAFF, scope: 'gym:write', gym: { resource: 'gym_sensor' } },
    params: IdPath,
    body: GymSensorPatch,
    response: { description: 'The gym sensor', contentType: JSON_TYPE, schema: GymSensor },
    problems: ['invalid_parameter', 'not_found', 'unavailable'],
  },
  deleteGymSensor: {
    operationId: 'deleteGymSensor',
    method: 'delete',
    path: `${API_PREFIX}/gym-sensors/:id`,
    tag: 'pairing',
    summary: 'Retires a gym sensor: its agents stop admitting it; the history of its loans stays',
    description: 'A strap on loan now is a 409: end the loan first (or wait for its class to end).',
    access: { roles: STAFF, scope: 'gym:write', gym: { resource: 'gym_sensor' } },
    params: IdPath,
    response: { description: 'Retired', contentType: JSON_TYPE, status: 204 },
    problems: ['invalid_parameter', 'not_found', 'conflict', 'unavailable'],
  },
  lendGymSensor: {
    operationId: 'lendGymSensor',
    method: 'post',
    path: `${API_PREFIX}/gym-sensors/:id/loans`,
    tag: 'pairing',
    summary: 'Lends a gym sensor to an athlete of the gym for one class; the loan ends by itself at `until`',
    access: { roles: STAFF, scope: 'gym:write', gym: { resource: 'gym_sensor' } },
    params: IdPath,
    body: LoanBody,
    response: { description: 'The loan, a binding of kind loaner', contentType: JSON_TYPE, schema: Binding, status: 201 },
    problems: ['invalid_parameter', 'not_found', 'conflict', 'unavailable'],
  },
  listBindings: {
    operationId: 'listGymBindings',
    path: `${API_PREFIX}/gyms/:gym/bindings`,
    tag: 'pairing',
    summary: 'Which sensor belongs to whom in a gym: its bindings, now and in the past, newest first',
    access: { roles: STAFF, scope: 'gym:read', gym: 'path' },
    params: GymPath,
    query: BindingsQuery,
    response: { description: 'A page of bindings', contentType: JSON_TYPE, schema: pageSchema(Binding, 'Bindings, the latest start first') },
    problems: ['invalid_parameter', 'unavailable'],
  },
  permitJoin: {
    operationId: 'permitJoin',
    method: 'post',
    path: `${API_PREFIX}/gyms/:gym/permit-join`,
    tag: 'pairing',
    summary: 'Opens the permit-join window on the gym’s agents: for `seconds` they admit any new sensor',
    access: { roles: ADMINS, scope: 'gym:write', gym: 'path' },
    params: GymPath,
    body: PermitJoinBody,
    response: {
      description: 'The window asked for',
      contentType: JSON_TYPE,
      schema: Type.Object({ gym: Type.String({ description: 'The gym whose agents admit new sensors' }), until: DateTime('When the agents stop admitting new sensors') }),
    },
    problems: ['invalid_parameter', 'unavailable'],
  },
  getAllowlist: {
    operationId: 'getGymAllowlist',
    path: `${API_PREFIX}/gyms/:gym/allowlist`,
    tag: 'pairing',
    summary: 'The sensors the gym’s agents admit, as they are sent to them',
    access: { roles: STAFF, scope: 'gym:read', gym: 'path' },
    params: GymPath,
    response: { description: 'The allowlist', contentType: JSON_TYPE, schema: Allowlist },
    problems: ['invalid_parameter', 'unavailable'],
  },
} as const satisfies Record<string, Operation>;
