/**
 * Schemas of the routes that show and settle readings held apart because their boot's clock was never
 * confirmed (see unsynced-routes.ts): validation, handler types and the OpenAPI document.
 */
import { Type, type Static } from '@sinclair/typebox';
import { METRIC_IDS, SENSOR_ID_PATTERN } from '@pulsebridge/protocol';
import { TIME_PATTERN } from './query.ts';
import { AgentPathParams, MAX_LIMIT } from './schemas.ts';

/** About 8 000 years either way: any clock a box can have, and nothing that overflows a time. */
export const MAX_OFFSET_MS = 253_402_300_799_999;

const BootParam = Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$', description: 'a boot id as the agent named it: letters, digits, - and _, at most 64 characters' });

export const UnsyncedBootParams = Type.Object({ ...AgentPathParams.properties, boot: BootParam }, { additionalProperties: false });

export const UnsyncedReadingsQuery = Type.Object(
  {
    sensor: Type.Optional(Type.String({ pattern: SENSOR_ID_PATTERN, description: 'a sensor id: letters, digits and : . _ ~ -, at most 64 characters' })),
    metric: Type.Optional(
      Type.Union(
        METRIC_IDS.map((id) => Type.Literal(id)),
        { description: 'Metric from the catalogue' },
      ),
    ),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_LIMIT, description: `Readings per page, default 1000` })),
    cursor: Type.Optional(Type.String({ maxLength: 512, description: 'nextCursor of the previous page' })),
  },
  { additionalProperties: false },
);
export type UnsyncedReadingsQuery = Static<typeof UnsyncedReadingsQuery>;

const StampedTime = (role: string) =>
  Type.Union([Type.Integer({ minimum: 0, maximum: MAX_OFFSET_MS }), Type.String({ pattern: TIME_PATTERN })], {
    description: `${role}: epoch milliseconds, or an ISO 8601 date-time with a zone`,
  });

export const UnsyncedCorrectionBody = Type.Object(
  {
    offsetMs: Type.Optional(
      Type.Integer({ minimum: -MAX_OFFSET_MS, maximum: MAX_OFFSET_MS, description: "milliseconds to add to every stamped time (true time minus the boot's clock)" }),
    ),
    stamped: Type.Optional(StampedTime("a time as the boot's clock stamped it")),
    actual: Type.Optional(StampedTime('the true time at that moment')),
  },
  { additionalProperties: false, description: 'Either offsetMs, or stamped and actual (the offset is actual minus stamped)' },
);
export type UnsyncedCorrectionBody = Static<typeof UnsyncedCorrectionBody>;

export const UnsyncedBootView = Type.Object({
  agent: Type.String(),
  boot: Type.String({ description: "The boot whose clock stamped the readings; 'unknown' for agents that do not name boots" }),
  gym: Type.String(),
  readings: Type.Integer({ minimum: 1 }),
  firstStamp: Type.Integer({ description: "Oldest time as the boot's clock stamped it (not true time), UTC ms" }),
  lastStamp: Type.Integer({ description: "Newest time as the boot's clock stamped it (not true time), UTC ms" }),
  sensors: Type.Array(Type.String()),
});
export const UnsyncedBootList = Type.Array(UnsyncedBootView, { description: 'Boots of the agent with readings held apart, by boot id' });

export const UnsyncedReadingsPage = Type.Object({
  agent: Type.String(),
  boot: Type.String(),
  readings: Type.Array(
    Type.Object({
      sensor: Type.String(),
      metric: Type.String(),
      unit: Type.String(),
      ts: Type.Integer({ description: "As the boot's clock stamped it, UTC ms" }),
      value: Type.Number(),
    }),
    { description: 'Oldest stamp first; readings of one stamp by sensor, then metric' },
  ),
  nextCursor: Type.Optional(Type.String({ description: 'Present when more readings remain: pass it as `cursor`' })),
  next: Type.Optional(Type.String({ description: 'The next page as a ready-made URL (also in the Link header)' })),
});
export type UnsyncedReadingsPage = Static<typeof UnsyncedReadingsPage>;

export const UnsyncedCorrected = Type.Object({
  agent: Type.String(),
  boot: Type.String(),
  offsetMs: Type.Integer(),
  moved: Type.Integer({ minimum: 0, description: 'Readings now in their series at stamp + offsetMs' }),
  refused: Type.Integer({ minimum: 0, description: 'Readings whose corrected time the hub refuses (as it would from an agent); discarded' }),
});
export type UnsyncedCorrected = Static<typeof UnsyncedCorrected>;

export const UnsyncedDiscarded = Type.Object({
  agent: Type.String(),
  boot: Type.String(),
  discarded: Type.Integer({ minimum: 1 }),
});
export type UnsyncedDiscarded = Static<typeof UnsyncedDiscarded>;
