/**
 * How sessions and class runs look in the API, shared by every route that answers with one (my sessions,
 * class runs and their results, imports). Results are described field by field: the mobile app and the web app
 * are built on the OpenAPI document.
 */
import { Type, type Static } from '@sinclair/typebox';
import { SESSION_KINDS, SESSION_STATES, type ClassRunDoc, type SessionDoc } from '../domain/sessions/collections.ts';
import type { SessionResults } from '../results/metrics.ts';
import { isoTime } from './self.ts';

const Zones = Type.Array(Type.Number(), { minItems: 5, maxItems: 5, description: 'Zones 1 to 5 (50-60, 60-70, 70-80, 80-90, 90+ % of max heart rate)' });

export const ResultsSchema = Type.Object(
  {
    durationS: Type.Number({ description: 'Seconds covered (1 Hz)' }),
    averageHeartRateBpm: Type.Optional(Type.Number()),
    maxHeartRateBpm: Type.Optional(Type.Number()),
    heartRate: Type.Optional(
      Type.Object({
        averageBpm: Type.Number(),
        maxBpm: Type.Number(),
        maxHeartRateUsed: Type.Number({ description: 'The maximum heart rate the zones are relative to' }),
        maxHeartRateSource: Type.Union([Type.Literal('profile'), Type.Literal('age')], { description: 'profile: measured; age: 208 - 0.7 x age (Tanaka)' }),
        secondsInZone: Zones,
        effortPointsByZone: Zones,
        effortPoints: Type.Number({ description: 'A minute in zone z earns z points' }),
      }),
    ),
    calories: Type.Object({
      kcal: Type.Optional(Type.Number({ description: 'From heart rate, age, weight and sex (Keytel et al. 2005)' })),
      unavailable: Type.Optional(Type.String({ description: 'Why kcal is absent (a profile fact missing)' })),
    }),
    power: Type.Optional(Type.Object({ averageW: Type.Number(), maxW: Type.Number(), weightedW: Type.Optional(Type.Number({ description: '30 s rolling, 4th-power mean' })) })),
    distanceM: Type.Optional(Type.Number()),
    averagePaceSPerKm: Type.Optional(Type.Number()),
    averageSpeedMps: Type.Optional(Type.Number()),
    elevationGainM: Type.Optional(Type.Number({ description: 'Climbs of at least 3 m' })),
    records: Type.Object({
      bestPowerW: Type.Record(Type.String(), Type.Number(), { description: 'Best average power over 60, 300 and 1200 s' }),
      fastestS: Type.Record(Type.String(), Type.Number(), { description: 'Fastest time over 1000 and 5000 m' }),
    }),
  },
  { description: 'Results of a session; recomputed when late readings arrive (see revision and changedAt)' },
);

export const SessionSchema = Type.Object({
  id: Type.String(),
  athlete: Type.String({ description: 'User id of the athlete' }),
  kind: Type.Union(
    SESSION_KINDS.map((k) => Type.Literal(k)),
    { description: 'class: in a class run; personal: started by the athlete in a gym; imported: from a FIT, GPX or TCX file' },
  ),
  gym: Type.Optional(Type.String()),
  run: Type.Optional(Type.String({ description: 'The class run, for class sessions' })),
  class: Type.Optional(Type.String()),
  name: Type.String(),
  sport: Type.String(),
  state: Type.Union(
    SESSION_STATES.map((s) => Type.Literal(s)),
    { description: 'live until it ends; completed once its results exist' },
  ),
  startedAt: Type.String({ format: 'date-time' }),
  endedAt: Type.Optional(Type.String({ format: 'date-time' })),
  revision: Type.Integer({ description: '0 while live, 1 once completed, one more each time late readings changed the results' }),
  changedAt: Type.Optional(Type.String({ format: 'date-time', description: 'When late readings last changed the results' })),
  recomputing: Type.Boolean({ description: 'Late readings arrived; the results are being computed again' }),
  results: Type.Optional(ResultsSchema),
  source: Type.Optional(Type.Object({ format: Type.String(), fileName: Type.Optional(Type.String()) })),
});
export type SessionView = Static<typeof SessionSchema>;

export function sessionView(doc: SessionDoc): SessionView {
  const view: SessionView = {
    id: doc.id,
    athlete: doc.athlete,
    kind: doc.kind,
    name: doc.name,
    sport: doc.sport,
    state: doc.state,
    startedAt: isoTime(doc.startedAt),
    revision: doc.revision,
    recomputing: doc.stale || doc.leaseUntil !== undefined,
  };
  if (doc.gym !== undefined) view.gym = doc.gym;
  if (doc.run !== undefined) view.run = doc.run;
  if (doc.class !== undefined) view.class = doc.class;
  if (doc.endedAt !== undefined) view.endedAt = isoTime(doc.endedAt);
  if (doc.changedAt !== undefined) view.changedAt = isoTime(doc.changedAt);
  if (doc.results !== undefined) view.results = doc.results as unknown as SessionResults as SessionView['results'];
  if (doc.source !== undefined) view.source = doc.source;
  return view;
}

export const ClassRunSchema = Type.Object({
  id: Type.String({ description: 'The occurrence id: <class>@<start ms>' }),
  gym: Type.String(),
  class: Type.String(),
  occurrenceStart: Type.String({ format: 'date-time', description: 'The occurrence as the schedule names it' }),
  scheduledStart: Type.String({ format: 'date-time' }),
  scheduledEnd: Type.String({ format: 'date-time' }),
  state: Type.Union([Type.Literal('running'), Type.Literal('ended')]),
  startedAt: Type.String({ format: 'date-time' }),
  startedBy: Type.String({ description: 'A user id, or "schedule"' }),
  endedAt: Type.Optional(Type.String({ format: 'date-time' })),
  endedBy: Type.Optional(Type.String()),
});
export type ClassRunView = Static<typeof ClassRunSchema>;

export function classRunView(run: ClassRunDoc): ClassRunView {
  const view: ClassRunView = {
    id: run.id,
    gym: run.gym,
    class: run.class,
    occurrenceStart: isoTime(run.occurrenceStart),
    scheduledStart: isoTime(run.scheduledStart),
    scheduledEnd: isoTime(run.scheduledEnd),
    state: run.state,
    startedAt: isoTime(run.startedAt),
    startedBy: run.startedBy,
  };
  if (run.endedAt !== undefined) view.endedAt = isoTime(run.endedAt);
  if (run.endedBy !== undefined) view.endedBy = run.endedBy;
  return view;
}
