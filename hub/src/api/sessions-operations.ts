/**
 * The operations table of training sessions for the apps: my sessions (list, start and end a personal one,
 * read, delete), anyone's session the caller may see, and a session's streams in the shape of Strava's.
 */
import { Type, type TSchema } from '@sinclair/typebox';
import { SESSION_KINDS } from '../domain/sessions/collections.ts';
import { WORKOUT_SPORTS } from '../files/workout.ts';
import { ANY_PERSON, MEMBERS } from './access.ts';
import { INSTANT_PATTERN } from './classes-operations.ts';
import { API_PREFIX, JSON_TYPE, type Operation } from './operation.ts';
import { pageSchema, PageQueryFields } from './pages.ts';
import { GymParam } from './schemas.ts';
import { SessionSchema } from './sessions-schemas.ts';

/** The streams a session may have, in the order Strava lists them; `time` is always answered. */
export const STREAM_KEYS = ['time', 'heartrate', 'watts', 'cadence', 'velocity', 'distance', 'latlng', 'altitude'] as const;
export type StreamKey = (typeof STREAM_KEYS)[number];

const SessionId = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$', description: 'A session id' });
const SessionPath = Type.Object({ id: SessionId }, { additionalProperties: false });
const Instant = (description: string) => Type.String({ pattern: INSTANT_PATTERN, description: `${description} (UTC, e.g. 2027-03-22T06:00:00Z)` });

const MySessionsQuery = Type.Object(
  {
    ...PageQueryFields,
    kind: Type.Optional(
      Type.Union(
        SESSION_KINDS.map((k) => Type.Literal(k)),
        { description: 'Only sessions of this kind: class, personal or imported' },
      ),
    ),
    from: Type.Optional(Instant('Only sessions started at or after this instant')),
    to: Type.Optional(Instant('Only sessions started before this instant')),
  },
  { additionalProperties: false },
);

const StartSessionBody = Type.Object(
  {
    gym: Type.Optional(Type.String({ ...GymParam, description: 'The gym the workout takes place in (one the caller is a member of); default: the caller’s only gym' })),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'What to call it; default: Personal workout' })),
    sport: Type.Optional(
      Type.Union(
        WORKOUT_SPORTS.map((s) => Type.Literal(s)),
        { description: `${WORKOUT_SPORTS.join(', ')}; default: training` },
      ),
    ),
  },
  { additionalProperties: false },
);

const StreamsQuery = Type.Object(
  {
    keys: Type.Optional(
      Type.String({
        maxLength: 200,
        pattern: '^[a-z]+(,[a-z]+)*$',
        description: `Comma-separated streams to answer, of ${STREAM_KEYS.join(', ')}; default: every stream the session has. time is always answered`,
      }),
    ),
    resolution: Type.Optional(
      Type.String({
        maxLength: 6,
        pattern: '^(low|medium|high|[1-9][0-9]{0,5})$',
        description: 'low (at most 100 points), medium (1000), high (every second, the default), or a number of points',
      }),
    ),
  },
  { additionalProperties: false },
);

const ScalarData = Type.Array(Type.Union([Type.Number(), Type.Null()]), { description: 'One value per point; null where the metric has none' });
const LatLngData = Type.Array(Type.Union([Type.Tuple([Type.Number(), Type.Number()]), Type.Null()]), {
  description: '[latitude, longitude] in degrees per point; null without a position',
});
const streamOf = <D extends TSchema>(data: D, description: string) =>
  Type.Optional(
    Type.Object(
      {
        data,
        seriesType: Type.Literal('time', { description: 'The streams are aligned on time' }),
        originalSize: Type.Integer({ description: 'Points at 1 Hz, before downsampling' }),
        resolution: Type.String({ description: 'The resolution asked for' }),
      },
      { description },
    ),
  );

export const SessionStreamsSchema = Type.Object({
  session: Type.String({ description: 'The session id' }),
  revision: Type.Integer({ description: 'The revision of the session the streams belong to (see the session’s revision)' }),
  resolution: Type.String({ description: 'low, medium, high or a number of points, as asked' }),
  originalSize: Type.Integer({ description: 'Seconds of the session: points at 1 Hz' }),
  size: Type.Integer({ description: 'Points in each stream answered' }),
  streams: Type.Object(
    {
      time: streamOf(Type.Array(Type.Number()), 'Seconds from the session’s start (the mean second of each point when downsampled)'),
      heartrate: streamOf(ScalarData, 'Heart rate, bpm'),
      watts: streamOf(ScalarData, 'Power, W'),
      cadence: streamOf(ScalarData, 'Cadence, rpm'),
      velocity: streamOf(ScalarData, 'Speed, m/s'),
      distance: streamOf(ScalarData, 'Cumulative distance, m'),
      latlng: streamOf(LatLngData, 'Position'),
      altitude: streamOf(ScalarData, 'Altitude, m'),
    },
    { description: 'One stream per metric, keyed by its type as Strava’s key_by_type answers; a metric the session has no reading of is absent' },
  ),
});

const RESULTS_NOTE = 'Results are computed when the session ends and stored with it (the results cache); late readings make them computed again as the next revision.';

export const SESSIONS_OPERATIONS = {
  listMySessions: {
    operationId: 'listMySessions',
    path: `${API_PREFIX}/me/sessions`,
    tag: 'sessions',
    summary: 'The caller’s training sessions (class, personal and imported), newest first, with their results',
    description: RESULTS_NOTE,
    access: { roles: ANY_PERSON, scope: 'me:read', gym: 'self' },
    query: MySessionsQuery,
    response: { description: 'A page of sessions', contentType: JSON_TYPE, schema: pageSchema(SessionSchema, 'Sessions by start, newest first') },
    problems: ['invalid_parameter', 'unavailable'],
  },
  startMySession: {
    operationId: 'startMySession',
    method: 'post',
    path: `${API_PREFIX}/me/sessions`,
    tag: 'sessions',
    summary: 'Starts a personal workout now in a gym the caller is a member of; readings of the sensors bound to them there become its streams',
    description: 'One personal session at a time: while one is live, starting another answers 409. A session nobody ends is ended six hours after its start.',
    access: { roles: MEMBERS, scope: 'me:write', gym: 'body' },
    body: StartSessionBody,
    response: { description: 'The live session (201)', contentType: JSON_TYPE, schema: SessionSchema, status: 201 },
    problems: ['invalid_parameter', 'conflict', 'unavailable'],
  },
  endMySession: {
    operationId: 'endMySession',
    method: 'post',
    path: `${API_PREFIX}/me/sessions/:id/end`,
    tag: 'sessions',
    summary: 'Ends the caller’s live personal session now and answers it with its results',
    description: 'A class session ends with its class run, not here (409); a completed session answers 409. ' + RESULTS_NOTE,
    access: { roles: ANY_PERSON, scope: 'me:write', gym: 'self' },
    params: SessionPath,
    response: { description: 'The completed session with its results', contentType: JSON_TYPE, schema: SessionSchema },
    problems: ['invalid_parameter', 'not_found', 'conflict', 'unavailable'],
  },
  getMySession: {
    operationId: 'getMySession',
    path: `${API_PREFIX}/me/sessions/:id`,
    tag: 'sessions',
    summary: 'One of the caller’s sessions, with its results once completed',
    description: RESULTS_NOTE,
    access: { roles: ANY_PERSON, scope: 'me:read', gym: 'self' },
    params: SessionPath,
    response: { description: 'The session', contentType: JSON_TYPE, schema: SessionSchema },
    problems: ['invalid_parameter', 'not_found', 'unavailable'],
  },
  deleteMySession: {
    operationId: 'deleteMySession',
    method: 'delete',
    path: `${API_PREFIX}/me/sessions/:id`,
    tag: 'sessions',
    summary: 'Deletes one of the caller’s completed sessions: its results, its samples and its cached streams',
    description: 'The gym’s sensor readings it was computed from stay in the series store (they are the gym’s, attributed by pairing); a live session answers 409: end it first.',
    access: { roles: ANY_PERSON, scope: 'me:write', gym: 'self' },
    params: SessionPath,
    response: { description: 'The deleted session', contentType: JSON_TYPE, schema: SessionSchema },
    problems: ['invalid_parameter', 'not_found', 'conflict', 'unavailable'],
  },
  getSession: {
    operationId: 'getSession',
    path: `${API_PREFIX}/sessions/:id`,
    tag: 'sessions',
    summary: 'Anyone’s session the caller may see: their own, one the athlete’s results visibility shows them, or one held in a gym they coach or run',
    description: 'A session the caller may not see answers 404, exactly like one that does not exist. ' + RESULTS_NOTE,
    access: { roles: ANY_PERSON, scope: 'me:read', gym: 'self' },
    params: SessionPath,
    response: { description: 'The session', contentType: JSON_TYPE, schema: SessionSchema },
    problems: ['invalid_parameter', 'not_found', 'unavailable'],
  },
  getSessionStreams: {
    operationId: 'getSessionStreams',
    path: `${API_PREFIX}/sessions/:id/streams`,
    tag: 'sessions',
    summary: 'A session’s readings as time-aligned 1 Hz streams, one array per metric, downsampled to the resolution asked for',
    description:
      'Visible to whoever may see the session (getSession). A completed session’s streams carry an ETag (session, revision, resolution, keys): ' +
      'revalidate with If-None-Match for a 304. A live session’s streams grow every second and are never cached.',
    access: { roles: ANY_PERSON, scope: 'me:read', gym: 'self' },
    params: SessionPath,
    query: StreamsQuery,
    response: { description: 'The streams', contentType: JSON_TYPE, schema: SessionStreamsSchema },
    problems: ['invalid_parameter', 'not_found', 'unavailable'],
  },
} as const satisfies Record<string, Operation>;
