/** The operations table of workout files (FIT, GPX, TCX) in and out of sessions, and of "my data" as one archive. */
import { Type } from '@sinclair/typebox';
import { DEFAULT_WORKOUT_FILE_LIMITS, WORKOUT_CONTENT_TYPES } from '../files/index.ts';
import { ANY_PERSON } from './access.ts';
import { API_PREFIX, JSON_TYPE, type Operation } from './operation.ts';
import { SessionSchema } from './sessions-schemas.ts';

export const WORKOUT_FORMATS = ['fit', 'gpx', 'tcx'] as const;

/** Content-Types an import may declare: what the phone apps and browsers send for these files. */
export const IMPORT_CONTENT_TYPES = [
  'application/octet-stream',
  WORKOUT_CONTENT_TYPES.fit,
  WORKOUT_CONTENT_TYPES.gpx,
  WORKOUT_CONTENT_TYPES.tcx,
  'application/xml',
  'text/xml',
] as const;

export const IMPORT_MAX_BYTES = DEFAULT_WORKOUT_FILE_LIMITS.maxBytes;

export const ImportQuery = Type.Object(
  {
    name: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 200,
        description: "The file's name, when the request has no Content-Disposition filename; it names the session and is kept in its source",
      }),
    ),
  },
  { additionalProperties: false },
);

export const SessionPath = Type.Object(
  { id: Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_-]+$', description: 'The session id' }) },
  { additionalProperties: false },
);

export const ExportQuery = Type.Object(
  {
    format: Type.Union(
      WORKOUT_FORMATS.map((format) => Type.Literal(format)),
      { description: 'fit (every metric), tcx (every metric), or gpx (position, elevation, heart rate and cadence; seconds without a position are left out)' },
    ),
  },
  { additionalProperties: false },
);

const IMPORT_DESCRIPTION =
  'The body is the workout file itself, FIT, GPX or TCX, told apart by its content (not its Content-Type or name). ' +
  `A body over ${IMPORT_MAX_BYTES} bytes is refused with 413 before it is read whole. ` +
  'A file of none of these formats (or XML with a DOCTYPE) is refused with 415; an empty body, a corrupt or truncated file, one without any timed sample, ' +
  `or one of more than ${DEFAULT_WORKOUT_FILE_LIMITS.maxSamples} samples with 400, the detail saying why. ` +
  'The session is imported (no gym), completed, starts and ends when the file does, and has the sport the file names; its samples are resampled to 1 Hz ' +
  'streams like the readings of a gym session, and its results are computed from them with my profile as it is now (revision 1). ' +
  'The same file (by its SHA-256) imported twice is refused with 409: the first import is the session.';

export const SESSION_FILES_OPERATIONS = {
  importMySession: {
    operationId: 'importMySession',
    method: 'post',
    path: `${API_PREFIX}/me/sessions/import`,
    tag: 'sessions',
    summary: 'Imports a workout recorded elsewhere (FIT, GPX or TCX file) as one of my sessions',
    description: IMPORT_DESCRIPTION,
    access: { roles: ANY_PERSON, scope: 'me:write', gym: 'self' },
    query: ImportQuery,
    upload: { contentTypes: IMPORT_CONTENT_TYPES, maxBytes: IMPORT_MAX_BYTES },
    response: { description: 'The imported session with its results', contentType: JSON_TYPE, schema: SessionSchema, status: 201 },
    problems: ['invalid_parameter', 'conflict', 'payload_too_large', 'unsupported_media_type', 'unavailable'],
  },
  exportMySession: {
    operationId: 'exportMySession',
    path: `${API_PREFIX}/me/sessions/:id/export`,
    tag: 'sessions',
    summary: 'One of my sessions (of any kind) as a FIT, GPX or TCX file',
    description:
      'Its 1 Hz streams, one sample per second, as an attachment. A session without any reading still gives a valid file, with no samples ' +
      '(such a file is refused on import: it holds nothing to import). Another athlete’s session is answered 404, like one that does not exist.',
    access: { roles: ANY_PERSON, scope: 'me:read', gym: 'self' },
    params: SessionPath,
    query: ExportQuery,
    response: { description: `The file, with Content-Disposition attachment (${Object.values(WORKOUT_CONTENT_TYPES).join(', ')})`, contentType: 'application/octet-stream' },
    problems: ['invalid_parameter', 'not_found', 'unavailable'],
  },
  exportMyData: {
    operationId: 'exportMyData',
    path: `${API_PREFIX}/me/export`,
    tag: 'sessions',
    summary: 'All my data as one zip archive',
    description:
      'account.json (the account without secrets), profile.json, memberships.json, bookings.json, bindings.json (my sensor pairings), friends.json, ' +
      'groups.json (the groups I am in), sessions.json (every session of mine), and for each session sessions/<id>.fit and sessions/<id>.json (its 1 Hz streams). ' +
      'The archive is streamed while it is built, one session at a time, so it may be large; a failure part-way ends the download with a truncated archive.',
    access: { roles: ANY_PERSON, scope: 'me:read', gym: 'self' },
    response: { description: 'The zip archive, as an attachment', contentType: 'application/zip' },
    problems: ['unavailable'],
  },
} as const satisfies Record<string, Operation>;
