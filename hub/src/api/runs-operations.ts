/**
 * The operations table of class runs (a coach starts and ends a class; the schedule does when nobody does),
 * their athletes' results, and the opt-in leaderboards of a class run and of a group over a period.
 */
import { Type, type TSchema } from '@sinclair/typebox';
import { GROUP_METRICS, RUN_METRICS } from '../domain/sessions/leaderboards.ts';
import { MEMBERS, STAFF } from './access.ts';
import { INSTANT_PATTERN } from './classes-operations.ts';
import { API_PREFIX, JSON_TYPE, type Operation } from './operation.ts';
import { pageSchema, PageQueryFields } from './pages.ts';
import { GymParam } from './schemas.ts';
import { ClassRunSchema, SessionSchema } from './sessions-schemas.ts';

const ClassId = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$', description: 'A class id' });
const Instant = (description: string) => Type.String({ pattern: INSTANT_PATTERN, description: `${description} (UTC, e.g. 2027-03-22T06:00:00Z)` });

const OccurrencePath = Type.Object({ id: ClassId, start: Instant('The occurrence, by the start its rule gives it') }, { additionalProperties: false });
const RunPath = Type.Object(
  { id: Type.String({ minLength: 1, maxLength: 96, pattern: '^[A-Za-z0-9_@-]+$', description: 'A class run id: <class>@<occurrence start ms>' }) },
  { additionalProperties: false },
);
const GymPath = Type.Object({ gym: GymParam }, { additionalProperties: false });
const GroupPath = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$', description: 'A group id' }) }, { additionalProperties: false });

const literals = <T extends string>(values: readonly T[], description: string) =>
  Type.Union(
    values.map((value) => Type.Literal(value)),
    { description },
  );

const RunsQuery = Type.Object(
  {
    ...PageQueryFields,
    state: Type.Optional(literals(['running', 'ended'], 'Only runs in this state')),
    from: Type.Optional(Instant('Runs started at or after this')),
    to: Type.Optional(Instant('Runs started before this')),
  },
  { additionalProperties: false },
);

export const RunWithCountsSchema = Type.Object({
  ...ClassRunSchema.properties,
  sessions: Type.Object(
    {
      live: Type.Integer({ description: 'Athletes’ sessions still under way' }),
      completed: Type.Integer({ description: 'Athletes’ sessions with results' }),
    },
    { description: 'The athletes’ sessions of the run' },
  ),
});

export const RunResultSchema = Type.Object({
  athlete: Type.String({ description: 'User id of the athlete' }),
  displayName: Type.String({ description: 'Their name' }),
  session: SessionSchema,
});

const METRIC_DESCRIPTION = 'effortPoints (a minute in zone z earns z), kcal, averagePowerW or distanceM';
const RunLeaderboardQuery = Type.Object({ metric: literals(RUN_METRICS, `What to rank by: ${METRIC_DESCRIPTION}`) }, { additionalProperties: false });
const GroupLeaderboardQuery = Type.Object(
  {
    metric: literals(GROUP_METRICS, `What to rank by: the sum of effortPoints, kcal, distanceM or durationS, or the best averagePowerW`),
    from: Instant('Sessions started at or after this'),
    to: Instant('Sessions started before this; at most 366 days after from'),
  },
  { additionalProperties: false },
);

export const LeaderboardSchema = Type.Object({
  metric: Type.String({ description: 'What the entries are ranked by' }),
  items: Type.Array(
    Type.Object({
      rank: Type.Integer({ description: '1 first; equal values share a rank, and the next value takes the next rank' }),
      athlete: Type.Optional(Type.String({ description: 'User id; absent when the athlete shows by an alias' })),
      name: Type.String({ description: 'Display name, or the alias the athlete chose for boards' }),
      value: Type.Number({ description: 'The figure ranked' }),
      sessions: Type.Integer({ description: 'Sessions the figure comes from' }),
      you: Type.Boolean({ description: 'The caller’s own entry (listed whatever their privacy choices)' }),
    }),
    {
      description:
        'Highest first. Lists athletes who opted in (profile `leaderboards`), whose results the caller may see, and who are not hidden on boards; the caller’s own entry always',
    },
  ),
});

const json = <S extends TSchema>(description: string, schema: S, status?: 200 | 201) => ({
  description,
  contentType: JSON_TYPE,
  schema,
  ...(status === undefined ? {} : { status }),
});
const runAccess = (roles: typeof STAFF, scope: 'gym:read' | 'gym:write') => ({ roles, scope, gym: { resource: 'class_run' } }) as const;

export const RUNS_OPERATIONS = {
  startClassRun: {
    operationId: 'startClassRun',
    method: 'post',
    path: `${API_PREFIX}/classes/:id/occurrences/:start/run`,
    tag: 'class runs',
    summary: 'Starts the class now: each athlete holding a place gets a session; repeating it answers the running run (200)',
    description:
      'Refused with 409 for a cancelled occurrence, outside [scheduled start - 30 min, scheduled end), or when the run ended already. The schedule starts a run nobody started at its scheduled start.',
    access: { roles: STAFF, scope: 'gym:write', gym: { resource: 'class' } },
    params: OccurrencePath,
    response: json('The run (201 when started now, 200 when it was running)', ClassRunSchema, 201),
    problems: ['invalid_parameter', 'not_found', 'conflict', 'unavailable'],
  },
  endClassRun: {
    operationId: 'endClassRun',
    method: 'post',
    path: `${API_PREFIX}/class-runs/:id/end`,
    tag: 'class runs',
    summary: 'Ends the class now; every athlete’s session completes with its results',
    description: 'Refused with 409 when the run ended already (by the coach or by the schedule at its scheduled end).',
    access: runAccess(STAFF, 'gym:write'),
    params: RunPath,
    response: json('The ended run', ClassRunSchema),
    problems: ['invalid_parameter', 'not_found', 'conflict', 'unavailable'],
  },
  getClassRun: {
    operationId: 'getClassRun',
    path: `${API_PREFIX}/class-runs/:id`,
    tag: 'class runs',
    summary: 'A class run, with its athletes’ sessions counted',
    access: runAccess(MEMBERS, 'gym:read'),
    params: RunPath,
    response: json('The run', RunWithCountsSchema),
    problems: ['invalid_parameter', 'not_found', 'unavailable'],
  },
  listClassRuns: {
    operationId: 'listClassRuns',
    path: `${API_PREFIX}/gyms/:gym/class-runs`,
    tag: 'class runs',
    summary: 'A gym’s class runs, started by a coach or by the schedule, newest first',
    access: { roles: MEMBERS, scope: 'gym:read', gym: 'path' },
    params: GymPath,
    query: RunsQuery,
    response: json('A page of runs', pageSchema(ClassRunSchema, 'Runs, newest start first')),
    problems: ['invalid_parameter', 'unavailable'],
  },
  classRunResults: {
    operationId: 'getClassRunResults',
    path: `${API_PREFIX}/class-runs/:id/results`,
    tag: 'class runs',
    summary: 'The athletes’ sessions of a run with their results: every athlete’s for the gym’s staff, the caller’s own for anyone else',
    access: runAccess(MEMBERS, 'gym:read'),
    params: RunPath,
    query: Type.Object({ ...PageQueryFields }, { additionalProperties: false }),
    response: json('A page of results, by athlete id', pageSchema(RunResultSchema, 'Sessions by athlete id')),
    problems: ['invalid_parameter', 'not_found', 'unavailable'],
  },
  classRunLeaderboard: {
    operationId: 'getClassRunLeaderboard',
    path: `${API_PREFIX}/class-runs/:id/leaderboard`,
    tag: 'leaderboards',
    summary: 'The opt-in leaderboard of a class run, by one figure of the athletes’ results',
    access: runAccess(MEMBERS, 'gym:read'),
    params: RunPath,
    query: RunLeaderboardQuery,
    response: json('The leaderboard', LeaderboardSchema),
    problems: ['invalid_parameter', 'not_found', 'unavailable'],
  },
  groupLeaderboard: {
    operationId: 'getGroupLeaderboard',
    path: `${API_PREFIX}/groups/:id/leaderboard`,
    tag: 'leaderboards',
    summary: 'The opt-in leaderboard of a group’s members over a period, from their completed sessions started in it',
    access: { roles: MEMBERS, scope: 'gym:read', gym: { resource: 'group' } },
    params: GroupPath,
    query: GroupLeaderboardQuery,
    response: json('The leaderboard', LeaderboardSchema),
    problems: ['invalid_parameter', 'range_too_large', 'not_found', 'unavailable'],
  },
} as const satisfies Record<string, Operation>;
