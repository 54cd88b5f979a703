/** The operations table of live class boards: a Server-Sent Events stream per running class run, and its tiles once as JSON. */
import { Type, type Static } from '@sinclair/typebox';
import { MEMBERS } from './access.ts';
import { API_PREFIX, JSON_TYPE, type Operation } from './operation.ts';

const RunPath = Type.Object(
  { id: Type.String({ minLength: 3, maxLength: 96, pattern: '^[A-Za-z0-9_@-]+$', description: 'A class run: the occurrence id <class>@<start ms>' }) },
  { additionalProperties: false },
);

export const BoardTileSchema = Type.Object({
  tile: Type.String({ description: 'Stable for the run: a `tiles` event replaces the tiles with these keys' }),
  athlete: Type.Optional(Type.String({ description: "The athlete's user id; absent when the athlete is shown by alias" })),
  name: Type.String({ description: "The athlete's display name, or the alias they chose (profile boardVisibility)" }),
  heartRateBpm: Type.Optional(Type.Integer({ description: 'Latest heart rate, beats per minute' })),
  percentOfMax: Type.Optional(Type.Integer({ description: 'Heart rate as % of the maximum (measured in the profile, else 208 - 0.7 x age)' })),
  zone: Type.Optional(Type.Integer({ minimum: 0, maximum: 5, description: 'Heart-rate zone 1..5 (50-60 ... 90-100 % of max); 0 below 50 %' })),
  effortPoints: Type.Optional(Type.Number({ description: 'Effort points since the run started (a minute in zone z is worth z); absent without a known maximum heart rate' })),
  kcal: Type.Optional(Type.Number({ description: 'Calories since the run started (Keytel 2005); absent when the profile lacks weight, birth date or sex' })),
  powerW: Type.Optional(Type.Integer({ description: 'Latest power, watts, when a power sensor is bound' })),
  cadenceRpm: Type.Optional(Type.Integer({ description: 'Latest cadence, rpm, when a cadence sensor is bound' })),
  quiet: Type.Boolean({ description: "The athlete's sensors sent nothing for sessions.quietAfterMs (or nothing yet)" }),
  lastSeenAt: Type.Optional(Type.String({ format: 'date-time', description: "Time of the athlete's latest reading" })),
});

export const BoardSnapshotSchema = Type.Object({
  run: Type.String({ description: 'The class run' }),
  state: Type.Union([Type.Literal('running'), Type.Literal('ended')], { description: 'An ended run has no board: its results are in the sessions' }),
  at: Type.String({ format: 'date-time', description: 'When the tiles were taken' }),
  tiles: Type.Array(BoardTileSchema, { description: 'One per athlete of the run who did not choose to be hidden; empty once the run ended' }),
});
export type BoardSnapshot = Static<typeof BoardSnapshotSchema>;

export const BOARD_OPERATIONS = {
  streamClassBoard: {
    operationId: 'streamClassBoard',
    path: `${API_PREFIX}/class-runs/:id/board`,
    tag: 'sessions',
    summary: 'Server-Sent Events of the live board of a running class run',
    description:
      'Events: `board` (every tile, on connecting and at least once a second), `tiles` (only the tiles a batch of readings ' +
      'changed, as soon as it is stored), `ended` (the run ended; the stream closes). Each data line is the JSON described ' +
      'here. A comment line arrives every 15 s; a client that falls too far behind is disconnected (reconnect: the first ' +
      '`board` event restores everything). Athletes who chose an alias show without their id; hidden ones not at all. Any hub ' +
      'replica serves any board. Accepts `?access_token=` because EventSource cannot set headers.',
    access: { roles: MEMBERS, scope: 'gym:read', gym: { resource: 'class_run' }, tokenInQuery: true },
    params: RunPath,
    response: { description: 'text/event-stream of `board`, `tiles` and `ended` events', contentType: 'text/event-stream', schema: BoardSnapshotSchema },
    problems: ['invalid_parameter', 'not_found', 'too_many_clients', 'unavailable'],
  },
  getClassBoard: {
    operationId: 'getClassBoard',
    path: `${API_PREFIX}/class-runs/:id/board/snapshot`,
    tag: 'sessions',
    summary: 'The tiles of the live board of a class run, once',
    description: 'The same tiles as a `board` event of the stream. For an ended run: state `ended` and no tiles.',
    access: { roles: MEMBERS, scope: 'gym:read', gym: { resource: 'class_run' } },
    params: RunPath,
    response: { description: 'The tiles now', contentType: JSON_TYPE, schema: BoardSnapshotSchema },
    problems: ['invalid_parameter', 'not_found'],
  },
} as const satisfies Record<string, Operation>;
