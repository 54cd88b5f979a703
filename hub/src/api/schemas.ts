/**
 * The API's schemas: the one source for query validation (query.ts), the handlers' types and the OpenAPI
 * document (openapi.ts).
 */
import { Type, type Static } from '@sinclair/typebox';
import { AGENT_ID_PATTERN, METRIC_IDS, SENSOR_ID_PATTERN, SensorInfo, SourceState } from '@pulsebridge/protocol';
import { MAX_SERIES_CURSOR_CHARS, STEP_PATTERN, TIME_PATTERN } from './query.ts';

export const DEFAULT_RANGE_MS = 3_600_000;
export const MAX_RAW_RANGE_MS = 31 * 86_400_000;
export const MAX_ROLLUP_RANGE_MS = 400 * 86_400_000;
export const DEFAULT_LIMIT = 1_000;
export const MAX_LIMIT = 10_000;
export const MAX_ROLLUP_STEPS = 10_000;
export const DEFAULT_SERIES_LIMIT = 100;
export const MAX_SERIES_LIMIT = 1_000;

export const AgentIdParam = Type.String({ pattern: AGENT_ID_PATTERN, description: 'an agent id: letters, digits, - and _, at most 64 characters' });
// The shape the agent registry accepts for gym ids (registry/sqlite-agent-registry.ts, isGymId).
export const GymParam = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$', description: 'a gym id: letters, digits, ., - and _, at most 64 characters' });
const SensorParam = Type.String({ pattern: SENSOR_ID_PATTERN, description: 'a sensor id: letters, digits and : . _ ~ -, at most 64 characters' });
const MetricParam = Type.Union(
  METRIC_IDS.map((id) => Type.Literal(id)),
  { description: 'Metric from the catalogue' },
);
const TimeParam = (role: string) => Type.String({ pattern: TIME_PATTERN, description: `an ISO 8601 date-time with a zone, or epoch milliseconds (${role})` });

export const AgentsQuery = Type.Object({ gym: Type.Optional(GymParam) }, { additionalProperties: false });
export const AgentPathParams = Type.Object({ id: AgentIdParam }, { additionalProperties: false });

export const SeriesQuery = Type.Object(
  {
    gym: Type.Optional(GymParam),
    agent: Type.Optional(AgentIdParam),
    sensor: Type.Optional(SensorParam),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_SERIES_LIMIT, description: `Series per page, default ${DEFAULT_SERIES_LIMIT}` })),
    cursor: Type.Optional(Type.String({ maxLength: MAX_SERIES_CURSOR_CHARS, description: 'nextCursor of the previous page' })),
  },
  { additionalProperties: false },
);
export type SeriesQuery = Static<typeof SeriesQuery>;

export const ReadingsQuery = Type.Object(
  {
    sensor: SensorParam,
    metric: MetricParam,
    from: Type.Optional(TimeParam('inclusive; default: `to` minus one hour')),
    to: Type.Optional(TimeParam('exclusive; default: now')),
    agent: Type.Optional(AgentIdParam),
    gym: Type.Optional(GymParam),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_LIMIT, description: `Readings per page, default ${DEFAULT_LIMIT}` })),
    cursor: Type.Optional(Type.String({ maxLength: 512, description: 'nextCursor of the previous page' })),
  },
  { additionalProperties: false },
);
export type ReadingsQuery = Static<typeof ReadingsQuery>;

export const RollupsQuery = Type.Object(
  {
    sensor: SensorParam,
    metric: MetricParam,
    from: Type.Optional(TimeParam('inclusive; default: `to` minus one hour')),
    to: Type.Optional(TimeParam('exclusive; default: now')),
    step: Type.Optional(
      Type.String({
        pattern: STEP_PATTERN,
        description: 'milliseconds or a duration like 10s, 1m, 1h, 1d (default: chosen for about 500 steps)',
      }),
    ),
    agent: Type.Optional(AgentIdParam),
    gym: Type.Optional(GymParam),
  },
  { additionalProperties: false },
);
export type RollupsQuery = Static<typeof RollupsQuery>;

export const LiveQuery = Type.Object(
  {
    gym: Type.Optional(GymParam),
    agent: Type.Optional(AgentIdParam),
    sensor: Type.Optional(SensorParam),
    metric: Type.Optional(MetricParam),
  },
  { additionalProperties: false },
);

export const Health = Type.Object({ status: Type.Literal('ok') });
export const Readiness = Type.Object({
  status: Type.Union([Type.Literal('ready'), Type.Literal('not_ready')]),
  checks: Type.Record(Type.String(), Type.String(), { description: 'One line per dependency: "ok" or what is wrong' }),
});

export const OutboxView = Type.Object(
  {
    readings: Type.Integer({ minimum: 0 }),
    bytes: Type.Integer({ minimum: 0 }),
    oldestAgeMs: Type.Integer({ minimum: 0 }),
    dropped: Type.Integer({ minimum: 0 }),
  },
  { description: "The agent's buffer as it last reported it" },
);

export const AgentSensor = Type.Object(
  {
    ...SensorInfo.properties,
    signalDbm: Type.Optional(
      Type.Integer({
        minimum: -127,
        maximum: 20,
        description:
          "Signal strength, dBm, in the agent's latest status: BLE adverts or link (and the simulator); absent for sensors whose radio reports none (ANT+, serial) and from older agents",
      }),
    ),
    signalAt: Type.Optional(Type.String({ format: 'date-time', description: 'When the agent last heard the sensor at that signal (agent clock); present with signalDbm' })),
  },
  { description: 'A sensor the agent last reported, with its latest signal where known' },
);
export type AgentSensor = Static<typeof AgentSensor>;

export const Agent = Type.Object({
  id: Type.String(),
  gym: Type.String(),
  online: Type.Boolean(),
  enrolled: Type.Boolean({ description: 'Whether the agent holds credentials: false until its enrollment code is redeemed (and after a rotation)' }),
  disabled: Type.Boolean({ description: 'Disabled agents are refused by the broker until enabled again' }),
  lastSeen: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'Last time the hub heard from the agent' }),
  version: Type.Union([Type.String(), Type.Null()]),
  outbox: Type.Union([OutboxView, Type.Null()]),
  sources: Type.Record(Type.String(), Type.Object({ state: SourceState, detail: Type.Optional(Type.String()) })),
  sensors: Type.Array(AgentSensor, { description: 'Sensors the agent last reported seeing' }),
  unsyncedReadings: Type.Integer({ minimum: 0, description: "Readings held apart because their boot's clock was never confirmed: see /agents/{id}/unsynced" }),
});
export type Agent = Static<typeof Agent>;
export const AgentList = Type.Array(Agent);

export const SeriesEntry = Type.Object({
  gym: Type.String(),
  agent: Type.String(),
  sensor: Type.String(),
  metric: Type.String(),
  unit: Type.String(),
});
export const SeriesList = Type.Object({
  series: Type.Array(SeriesEntry, { description: 'Ordered by gym, agent, sensor, then metric' }),
  nextCursor: Type.Optional(Type.String({ description: 'Present when more series remain: pass it as `cursor`' })),
  next: Type.Optional(Type.String({ description: 'The next page as a ready-made URL (also in the Link header)' })),
});
export type SeriesList = Static<typeof SeriesList>;

export const ReadingsPage = Type.Object({
  sensor: Type.String(),
  metric: Type.String(),
  unit: Type.String(),
  from: Type.Integer({ description: 'Inclusive start of the whole query, UTC ms' }),
  to: Type.Integer({ description: 'Exclusive end of the whole query, UTC ms' }),
  readings: Type.Array(Type.Object({ ts: Type.Integer({ description: 'UTC ms' }), value: Type.Number() }), { description: 'Oldest first' }),
  nextCursor: Type.Optional(Type.String({ description: 'Present when more readings remain: pass it as `cursor`' })),
  next: Type.Optional(Type.String({ description: 'The next page as a ready-made URL (also in the Link header)' })),
});
export type ReadingsPage = Static<typeof ReadingsPage>;

export const Rollups = Type.Object({
  sensor: Type.String(),
  metric: Type.String(),
  unit: Type.String(),
  from: Type.Integer(),
  to: Type.Integer(),
  step: Type.Integer({ description: 'Step in ms; steps are aligned to multiples of it since the epoch' }),
  rollups: Type.Array(
    Type.Object({
      ts: Type.Integer({ description: 'Start of the step, UTC ms' }),
      min: Type.Number(),
      max: Type.Number(),
      mean: Type.Number(),
      count: Type.Integer({ minimum: 1 }),
    }),
    { description: 'Steps without readings are left out' },
  ),
});
export type Rollups = Static<typeof Rollups>;

export const LiveEvent = Type.Object(
  {
    gym: Type.String(),
    agent: Type.String(),
    series: Type.Array(
      Type.Object({
        sensor: Type.String(),
        metric: Type.String(),
        unit: Type.String(),
        ts: Type.Array(Type.Integer()),
        values: Type.Array(Type.Number()),
      }),
    ),
  },
  { description: 'Data of one `readings` event' },
);
export type LiveEvent = Static<typeof LiveEvent>;
