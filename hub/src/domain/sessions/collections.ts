/**
 * The document collections of training sessions: class runs (an occurrence of a class being held), athletes'
 * sessions (in a class, personal, or imported from a file) with their results, the sensor intervals a
 * completed session was attributed from (to find late readings), and the samples of imported sessions.
 */
import { Type } from '@sinclair/typebox';
import type { CollectionSpec, DocumentOf } from '../../documents/document-store.ts';

export const RUN_STATES = ['running', 'ended'] as const;

/**
 * One occurrence of a class being held. `id` is the occurrence's id (`${class}@${start}`), so an occurrence runs
 * at most once: the coach's start and the schedule's start (on any replica) cannot both make one.
 */
export const CLASS_RUNS = {
  name: 'class_runs',
  schema: Type.Object(
    {
      id: Type.String(),
      gym: Type.String(),
      class: Type.String(),
      /** The occurrence's identity: the instant the rule gives it (ms). */
      occurrenceStart: Type.Integer(),
      /** When the schedule has it start and end (overrides applied), ms. */
      scheduledStart: Type.Integer(),
      scheduledEnd: Type.Integer(),
      state: Type.Union(RUN_STATES.map((s) => Type.Literal(s))),
      startedAt: Type.Integer(),
      /** A user id, or `schedule` when it started by itself. */
      startedBy: Type.String(),
      endedAt: Type.Optional(Type.Integer()),
      endedBy: Type.Optional(Type.String()),
    },
    { additionalProperties: false },
  ),
  indexes: [
    { name: 'by_state_end', fields: ['state', 'scheduledEnd'] },
    { name: 'by_gym_start', fields: ['gym', 'startedAt'] },
    { name: 'by_class_start', fields: ['class', 'occurrenceStart'] },
  ],
} as const satisfies CollectionSpec;

export const SESSION_KINDS = ['class', 'personal', 'imported'] as const;
export type SessionKind = (typeof SESSION_KINDS)[number];
export const SESSION_STATES = ['live', 'completed'] as const;

/**
 * One athlete's training session. Readings are not copied into it: they stay in the series store and are
 * attributed when needed, by the bindings valid at each reading's time (attribution.ts). Its results are
 * computed when it completes, and again when late readings arrive (`revision` counts the versions).
 */
export const SESSIONS = {
  name: 'sessions',
  schema: Type.Object(
    {
      id: Type.String(),
      athlete: Type.String(),
      kind: Type.Union(SESSION_KINDS.map((k) => Type.Literal(k))),
      /** The gym it was held in; absent for imported sessions. */
      gym: Type.Optional(Type.String()),
      /** The class run (its id) for class sessions. */
      run: Type.Optional(Type.String()),
      class: Type.Optional(Type.String()),
      name: Type.String(),
      /** running, cycling, ... (files/workout.ts WORKOUT_SPORTS). */
      sport: Type.String(),
      state: Type.Union(SESSION_STATES.map((s) => Type.Literal(s))),
      startedAt: Type.Integer(),
      endedAt: Type.Optional(Type.Integer()),
      /** 0 until results exist; each recomputation that changes them adds one. */
      revision: Type.Integer({ minimum: 0 }),
      /** The results (results/metrics.ts SessionResults), as computed at `computedAt`. */
      results: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
      computedAt: Type.Optional(Type.Integer()),
      /** When late readings last changed the results after the session completed. */
      changedAt: Type.Optional(Type.Integer()),
      /** Late readings were stored for it: its results are being recomputed. */
      stale: Type.Boolean(),
      /** Until when (ms) one replica holds it for recomputation; it is free again after. */
      leaseUntil: Type.Optional(Type.Integer()),
      /** Figures copied from the results for leaderboards (queryable: top-level numbers). */
      effortPoints: Type.Optional(Type.Number()),
      kcal: Type.Optional(Type.Number()),
      averagePowerW: Type.Optional(Type.Number()),
      distanceM: Type.Optional(Type.Number()),
      durationS: Type.Optional(Type.Number()),
      /** Imported sessions: the file's format and name. */
      source: Type.Optional(Type.Object({ format: Type.String(), fileName: Type.Optional(Type.String()) }, { additionalProperties: false })),
      /** Imported sessions: SHA-256 (hex) of the file, top-level so that importing the same file twice clashes (one_import_per_file). */
      sourceSha256: Type.Optional(Type.String()),
      createdAt: Type.Integer(),
    },
    { additionalProperties: false },
  ),
  indexes: [
    { name: 'by_athlete_start', fields: ['athlete', 'startedAt'] },
    { name: 'one_per_run', fields: ['run', 'athlete'], unique: true, partial: { kind: 'class' } },
    // One live personal session per athlete, however many starts arrive at once (the API answers 409).
    { name: 'one_live_personal', fields: ['athlete'], unique: true, partial: { kind: 'personal', state: 'live' } },
    { name: 'by_run', fields: ['run', 'athlete'] },
    { name: 'by_state_kind', fields: ['state', 'kind', 'startedAt'] },
    { name: 'by_stale', fields: ['stale', 'leaseUntil'] },
    { name: 'by_class_start', fields: ['class', 'startedAt'] },
    { name: 'one_import_per_file', fields: ['athlete', 'sourceSha256'], unique: true, partial: { kind: 'imported' } },
  ],
} as const satisfies CollectionSpec;

/**
 * The sensors a completed session's readings came from, one document per binding interval (clipped to the
 * session). A reading stored later for one of these sensors at a time inside an interval is a late reading of
 * that session: its results are recomputed (late-readings.ts).
 */
export const SESSION_SENSORS = {
  name: 'session_sensors',
  schema: Type.Object(
    {
      id: Type.String(),
      session: Type.String(),
      athlete: Type.String(),
      gym: Type.String(),
      sensor: Type.String(),
      from: Type.Integer(),
      until: Type.Integer(),
    },
    { additionalProperties: false },
  ),
  indexes: [
    { name: 'by_gym_sensor_until', fields: ['gym', 'sensor', 'until'] },
    { name: 'by_until', fields: ['until'] },
    { name: 'by_session', fields: ['session'] },
    { name: 'by_athlete', fields: ['athlete'] },
  ],
} as const satisfies CollectionSpec;

/** Samples per SESSION_SAMPLES document: an hour at 1 Hz, so no document grows past MongoDB's limits. */
export const SAMPLES_PER_CHUNK = 3600;

/**
 * The readings of an imported session (they come from a file, not from the gym's sensors), as 1 Hz streams cut
 * into chunks of SAMPLES_PER_CHUNK seconds: `streams` holds the slice [seq * SAMPLES_PER_CHUNK, ...) of each.
 */
export const SESSION_SAMPLES = {
  name: 'session_samples',
  schema: Type.Object(
    {
      id: Type.String(),
      session: Type.String(),
      athlete: Type.String(),
      seq: Type.Integer({ minimum: 0 }),
      streams: Type.Record(Type.String(), Type.Array(Type.Unknown())),
    },
    { additionalProperties: false },
  ),
  indexes: [
    { name: 'by_session_seq', fields: ['session', 'seq'], unique: true },
    { name: 'by_athlete', fields: ['athlete'] },
  ],
} as const satisfies CollectionSpec;

export type ClassRunDoc = DocumentOf<typeof CLASS_RUNS.schema>;
export type SessionDoc = DocumentOf<typeof SESSIONS.schema>;
export type SessionSensorDoc = DocumentOf<typeof SESSION_SENSORS.schema>;

export const SESSIONS_COLLECTIONS: readonly CollectionSpec[] = [CLASS_RUNS, SESSIONS, SESSION_SENSORS, SESSION_SAMPLES];
