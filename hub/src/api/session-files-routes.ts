/** Handlers of session-files-operations.ts: workout files in and out of sessions, and "my data" as one archive. */
import { createHash, randomUUID } from 'node:crypto';
import { basename } from 'node:path';
import { Readable } from 'node:stream';
import type { Domain } from '../domain/domain.ts';
import { myDataArchive } from '../domain/my-data.ts';
import { SESSIONS, type SessionDoc } from '../domain/sessions/collections.ts';
import { athleteFacts, figuresOf, saveImportedStreams, sessionStreams } from '../domain/sessions/sessions.ts';
import { exportWorkout, importWorkout, WORKOUT_CONTENT_TYPES, WorkoutFileError, type Workout, type WorkoutFormat } from '../files/index.ts';
import { streamsToWorkout, workoutToStreams } from '../files/session-workout.ts';
import { sessionResults } from '../results/metrics.ts';
import { ApiError } from './problem.ts';
import type { RouteModule } from './route-module.ts';
import { principalOf } from './self.ts';
import { SESSION_FILES_OPERATIONS } from './session-files-operations.ts';
import { sessionView } from './sessions-schemas.ts';

const MAX_FILE_NAME_LENGTH = 200;

/** The file name a Content-Disposition header gives (RFC 6266: filename* first), without any directory. */
export function dispositionFileName(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const extended = /filename\*\s*=\s*(?:UTF-8|ISO-8859-1)'[^']*'([^;\s]+)/i.exec(header)?.[1];
  let name: string | undefined;
  if (extended !== undefined) {
    try {
      name = decodeURIComponent(extended);
    } catch {
      name = undefined;
    }
  }
  name ??= /filename\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]+))/i
    .exec(header)
    ?.slice(1)
    .find((part) => part !== undefined)
    ?.replace(/\\(.)/g, '$1');
  // Browsers send only the base name, but a client may send a path, with either separator.
  const base = name === undefined ? undefined : basename(name.replaceAll('\\', '/')).trim();
  return base ? base.slice(0, MAX_FILE_NAME_LENGTH) : undefined;
}

/** A refused file as the problem the client reads: what is wrong with it, in the detail. */
function fileProblem(error: WorkoutFileError): ApiError {
  switch (error.code) {
    case 'unsupported_format':
      return new ApiError('unsupported_media_type', error.message, { param: 'body' });
    case 'too_large':
      return new ApiError('payload_too_large', error.message, { param: 'body' });
    case 'too_many_samples':
      return new ApiError('invalid_parameter', `too many samples: ${error.message}`, { param: 'body' });
    case 'corrupt':
      return new ApiError('invalid_parameter', `corrupt or truncated file: ${error.message}`, { param: 'body' });
  }
}

function readWorkout(bytes: Buffer): { format: WorkoutFormat; workout: Workout } {
  try {
    return importWorkout(bytes);
  } catch (error) {
    if (error instanceof WorkoutFileError) throw fileProblem(error);
    // A parser failing on bytes nobody checked yet is a damaged file, whatever the parser threw.
    throw new ApiError('invalid_parameter', `corrupt or truncated file: ${(error as Error).message}`, { param: 'body' });
  }
}

export function sessionFilesRoutes(domain: Domain): RouteModule<typeof SESSION_FILES_OPERATIONS> {
  const { documents } = domain;
  const sessions = documents.collection(SESSIONS);

  return {
    handlers: {
      importMySession: async (ctx, { query, upload }) => {
        const athlete = principalOf(ctx).subject;
        if (upload.length === 0) throw new ApiError('invalid_parameter', 'is empty: send the workout file itself as the body', { param: 'body' });
        const { format, workout } = readWorkout(upload);
        const streams = workoutToStreams(workout);
        if (workout.samples.length === 0 || streams.time.length === 0) {
          throw new ApiError('invalid_parameter', `corrupt or truncated file: the ${format.toUpperCase()} file holds no samples`, { param: 'body' });
        }
        const sha256 = createHash('sha256').update(upload).digest('hex');
        const earlier = await sessions.findOne({ athlete, kind: 'imported', sourceSha256: sha256 });
        if (earlier !== undefined) throw new ApiError('conflict', `this file was imported already, as session ${earlier.id}`);
        const fileName = dispositionFileName(ctx.get('Content-Disposition')) ?? query.name;
        const startMs = workout.startTime;
        // Resampling keeps at most a day (results/streams.ts): the session ends where its streams do.
        const endMs = startMs + streams.time.length * 1000;
        const results = sessionResults(streams, await athleteFacts(domain.identity, athlete, startMs));
        const now = domain.now();
        const session: SessionDoc = {
          id: randomUUID(),
          athlete,
          kind: 'imported',
          name: fileName ?? `${format.toUpperCase()} workout`,
          sport: workout.sport,
          state: 'completed',
          startedAt: startMs,
          endedAt: endMs,
          revision: 1,
          results: results as unknown as Record<string, unknown>,
          computedAt: now,
          stale: false,
          ...figuresOf(results),
          source: { format, ...(fileName === undefined ? {} : { fileName }) },
          sourceSha256: sha256,
          createdAt: now,
        };
        // The same file sent twice at once: the unique index (one_import_per_file) lets one in, the other gets 409.
        await documents.transaction(async (tx) => {
          await tx.collection(SESSIONS).insert(session);
          await saveImportedStreams(tx, session, streams);
        });
        ctx.status = 201;
        ctx.body = sessionView(session);
      },
      exportMySession: async (ctx, { params, query }) => {
        const session = await sessions.get(params.id);
        // Someone else's session answers like one that does not exist.
        if (session === undefined || session.athlete !== principalOf(ctx).subject) throw new ApiError('not_found', `no session ${params.id}`);
        const streams = await sessionStreams(domain, session);
        const bytes = exportWorkout(streamsToWorkout(streams, session.startedAt, session.sport), query.format);
        ctx.status = 200;
        ctx.type = WORKOUT_CONTENT_TYPES[query.format];
        ctx.set('Content-Disposition', `attachment; filename="${session.id}.${query.format}"`);
        ctx.body = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      },
      exportMyData: async (ctx) => {
        const user = principalOf(ctx).subject;
        const archive = Readable.from(myDataArchive(domain, user), { objectMode: false });
        archive.on('error', (error) => domain.log.error({ err: error, user }, 'the my-data archive failed part-way; the download ends truncated'));
        ctx.status = 200;
        ctx.type = 'application/zip';
        ctx.set('Content-Disposition', 'attachment; filename="pulsebridge-my-data.zip"');
        ctx.set('Cache-Control', 'private, no-store');
        ctx.body = archive;
      },
    },
  };
}
