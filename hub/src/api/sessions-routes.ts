/**
 * Handlers of sessions-operations.ts. Results are stored in the session document when it completes (that is the
 * results cache: reading a session computes nothing); streams are computed from the readings on demand and, for
 * completed sessions, cached by session, revision and resolution (domain.cache).
 */
import type { Static } from '@sinclair/typebox';
import type { Principal } from '../auth/principal.ts';
import { gymsWithRoles } from '../auth/principal.ts';
import type { Domain } from '../domain/domain.ts';
import { SESSIONS, SESSION_SAMPLES, SESSION_SENSORS, type SessionDoc } from '../domain/sessions/collections.ts';
import { completeSession, sessionStreams, startPersonalSession } from '../domain/sessions/sessions.ts';
import { friendshipOf, gymsOf, hasBlocked } from '../domain/social/people.ts';
import { mayViewResults, resultsSettingFrom } from '../domain/social/visibility.ts';
import { downsample, type Resolution, type Streams } from '../results/streams.ts';
import { STAFF } from './access.ts';
import type { ApiContext } from './context.ts';
import { API_PREFIX } from './operation.ts';
import { listPage } from './pages.ts';
import { ApiError, invalidParameter } from './problem.ts';
import type { RouteModule } from './route-module.ts';
import { principalOf } from './self.ts';
import { sessionView } from './sessions-schemas.ts';
import { SESSIONS_OPERATIONS, STREAM_KEYS, type SessionStreamsSchema, type StreamKey } from './sessions-operations.ts';

type StreamsBody = Static<typeof SessionStreamsSchema>;

/** How long a completed session's streams stay cached; a new revision has a new key, so this only bounds memory. */
export const STREAMS_TTL_MS = 3_600_000;
const DEFAULT_PERSONAL_NAME = 'Personal workout';
const DEFAULT_PERSONAL_SPORT = 'training';

/** The cache key of a completed session's streams at one resolution: everything they were computed from. */
export const streamsCacheKey = (session: Pick<SessionDoc, 'id' | 'revision'>, resolution: string): string => `session:${session.id}:${session.revision}:streams:${resolution}`;
/** Every cache entry of a session starts with this (deleted with the session). */
export const sessionCachePrefix = (id: string): string => `session:${id}:`;

/**
 * Whether `viewer` may see `session`: the athlete always; staff (coach, gym admin, platform admin) of the gym the
 * session was held in; anyone else as the athlete's results visibility allows (domain/social/visibility.ts), a
 * block winning over everything but the athlete. Staff of the athlete's other gyms are not staff of this session.
 */
async function mayViewSession(domain: Domain, viewer: Principal, session: SessionDoc): Promise<boolean> {
  if (viewer.subject === session.athlete) return true;
  const staffGyms = gymsWithRoles(viewer, STAFF);
  const staffOfSessionGym = session.gym !== undefined && (staffGyms === 'all' || staffGyms.has(session.gym));
  const [friendship, ofViewer, ofAthlete, setting] = await Promise.all([
    friendshipOf(domain, viewer.subject, session.athlete),
    gymsOf(domain.identity, viewer.subject),
    gymsOf(domain.identity, session.athlete),
    resultsSettingFrom(domain.identity)(session.athlete),
  ]);
  return mayViewResults({
    viewer: viewer.subject,
    athlete: session.athlete,
    setting,
    sharedGyms: [...ofViewer.all].some((gym) => ofAthlete.all.has(gym)),
    friends: friendship?.status === 'friends',
    viewerIsStaffOfAthletesGym: staffOfSessionGym,
    blocked: hasBlocked(friendship, viewer.subject) || hasBlocked(friendship, session.athlete),
  });
}

/** The session `id` if `viewer` may see it; 404 otherwise, the same answer as for a session that does not exist. */
export async function visibleSession(domain: Domain, viewer: Principal, id: string): Promise<SessionDoc> {
  const session = await domain.documents.collection(SESSIONS).get(id);
  if (session === undefined || !(await mayViewSession(domain, viewer, session))) throw new ApiError('not_found', `no session with id ${id}`);
  return session;
}

/**
 * Streams are cached only when they cannot change under their key: a completed session that is not being
 * recomputed. A live session's streams grow every second while its revision stays 0, and a stale one has late
 * readings its revision does not yet account for; either would be served out of date from a cache.
 */
const isFrozen = (session: SessionDoc): boolean => session.state === 'completed' && !session.stale && session.leaseUntil === undefined;

function parseResolution(text: string | undefined): { resolution: Resolution; label: string } {
  if (text === undefined || text === 'high') return { resolution: 'high', label: 'high' };
  if (text === 'low' || text === 'medium') return { resolution: text, label: text };
  const points = Number(text);
  if (!Number.isSafeInteger(points) || points < 1) throw invalidParameter('resolution', 'must be low, medium, high or a number of points');
  return { resolution: points, label: String(points) };
}

function parseKeys(text: string | undefined): StreamKey[] | undefined {
  if (text === undefined) return undefined;
  const keys = new Set<StreamKey>(['time']);
  for (const key of text.split(',')) {
    if (!(STREAM_KEYS as readonly string[]).includes(key)) throw invalidParameter('keys', `unknown stream ${key.slice(0, 32)}; accepted: ${STREAM_KEYS.join(', ')}`);
    keys.add(key as StreamKey);
  }
  // In the table's order, so the same set asked in any order is one ETag.
  return STREAM_KEYS.filter((k) => keys.has(k));
}

/**
 * Decimals kept per stream: finer than any sensor measures (averaging 4 Hz readings adds digits, not precision),
 * and an hour at 1 Hz answers in a third of the bytes. Positions keep 6 (about 0.1 m).
 */
const DECIMALS: Record<StreamKey, number> = { time: 1, heartrate: 1, watts: 1, cadence: 1, velocity: 3, distance: 2, latlng: 6, altitude: 2 };

function rounded(key: StreamKey, data: readonly unknown[]): unknown[] {
  const scale = 10 ** DECIMALS[key];
  const round = (value: number) => Math.round(value * scale) / scale;
  if (key === 'latlng') return data.map((p) => (p === null ? null : (p as [number, number]).map(round)));
  return data.map((value) => (value === null ? null : round(value as number)));
}

function streamsBody(session: SessionDoc, full: Streams, resolution: Resolution, label: string): StreamsBody {
  const sampled = downsample(full, resolution);
  const originalSize = full.time.length;
  const streams: StreamsBody['streams'] = {};
  for (const key of STREAM_KEYS) {
    const data = sampled[key];
    if (data !== undefined) (streams as Record<string, unknown>)[key] = { data: rounded(key, data), seriesType: 'time', originalSize, resolution: label };
  }
  return { session: session.id, revision: session.revision, resolution: label, originalSize, size: sampled.time.length, streams };
}

/** The 1 Hz streams back from a cached `high` body. */
function streamsOf(body: StreamsBody): Streams {
  const streams: Record<string, unknown> = { time: [] };
  for (const [key, stream] of Object.entries(body.streams)) if (stream !== undefined) streams[key] = stream.data;
  return streams as unknown as Streams;
}

export function sessionsRoutes(domain: Domain): RouteModule<typeof SESSIONS_OPERATIONS> {
  const sessions = domain.documents.collection(SESSIONS);

  async function mySession(ctx: ApiContext, id: string): Promise<SessionDoc> {
    const session = await sessions.get(id);
    if (session === undefined || session.athlete !== principalOf(ctx).subject) throw new ApiError('not_found', `you have no session with id ${id}`);
    return session;
  }

  // A cache that fails is a miss, never a refusal: the streams are computed instead.
  async function cacheGet(key: string): Promise<string | undefined> {
    try {
      return await domain.cache.get(key);
    } catch (error) {
      domain.log.warn({ err: error, key }, 'streams cache read failed');
      return undefined;
    }
  }
  async function cacheSet(key: string, text: string): Promise<void> {
    try {
      await domain.cache.set(key, text, STREAMS_TTL_MS);
    } catch (error) {
      domain.log.warn({ err: error, key }, 'streams cache write failed');
    }
  }

  /** A frozen session's 1 Hz streams body as JSON text, cached; the other resolutions are downsampled from it. */
  async function highText(session: SessionDoc): Promise<string> {
    const key = streamsCacheKey(session, 'high');
    const hit = await cacheGet(key);
    if (hit !== undefined) return hit;
    const text = JSON.stringify(streamsBody(session, await sessionStreams(domain, session), 'high', 'high'));
    await cacheSet(key, text);
    return text;
  }

  /**
   * The streams body as JSON text, every stream; from the cache for a frozen session. Every resolution is
   * downsampled from the rounded 1 Hz streams, so an answer is the same whatever was cached before it.
   */
  async function streamsText(session: SessionDoc, resolution: Resolution, label: string): Promise<string> {
    if (!isFrozen(session)) {
      const high = streamsBody(session, await sessionStreams(domain, session), 'high', 'high');
      return JSON.stringify(label === 'high' ? high : streamsBody(session, streamsOf(high), resolution, label));
    }
    if (label === 'high') return highText(session);
    const key = streamsCacheKey(session, label);
    const hit = await cacheGet(key);
    if (hit !== undefined) return hit;
    const text = JSON.stringify(streamsBody(session, streamsOf(JSON.parse(await highText(session)) as StreamsBody), resolution, label));
    await cacheSet(key, text);
    return text;
  }

  return {
    handlers: {
      listMySessions: async (ctx, { query }) => {
        const range = { ...(query.from === undefined ? {} : { gte: Date.parse(query.from) }), ...(query.to === undefined ? {} : { lt: Date.parse(query.to) }) };
        if (range.gte !== undefined && range.lt !== undefined && range.gte >= range.lt) throw invalidParameter('to', 'must be after from');
        await listPage(ctx, {
          collection: sessions,
          where: {
            athlete: principalOf(ctx).subject,
            ...(query.kind === undefined ? {} : { kind: query.kind }),
            ...(Object.keys(range).length === 0 ? {} : { startedAt: range }),
          },
          orderBy: ['startedAt'],
          descending: true,
          query,
          path: `${API_PREFIX}/me/sessions`,
          params: { kind: query.kind, from: query.from, to: query.to },
          toItem: sessionView,
        });
      },
      startMySession: async (ctx, { body }) => {
        const principal = principalOf(ctx);
        if (principal.kind !== 'user') throw new ApiError('forbidden', 'a personal session is a person’s: it needs a person’s token, not a service’s');
        const live = await sessions.findOne({ athlete: principal.subject, kind: 'personal', state: 'live' });
        if (live !== undefined) throw new ApiError('conflict', `your personal session ${live.id} is still live: end it first`);
        // The unique index one_live_personal settles two starts at once: the second answers 409.
        const session = await startPersonalSession(domain, {
          athlete: principal.subject,
          gym: body.gym!,
          name: body.name ?? DEFAULT_PERSONAL_NAME,
          sport: body.sport ?? DEFAULT_PERSONAL_SPORT,
        });
        ctx.status = 201;
        ctx.body = sessionView(session);
      },
      endMySession: async (ctx, { params }) => {
        const session = await mySession(ctx, params.id);
        if (session.kind === 'class') throw new ApiError('conflict', `session ${session.id} is a class session: it ends with its class run`);
        if (session.state !== 'live') throw new ApiError('conflict', `session ${session.id} has ended already`);
        const completed = await completeSession(domain, session.id, domain.now());
        if (completed === undefined) throw new ApiError('conflict', `session ${session.id} has ended already`);
        ctx.body = sessionView(completed);
      },
      getMySession: async (ctx, { params }) => {
        ctx.body = sessionView(await mySession(ctx, params.id));
      },
      deleteMySession: async (ctx, { params }) => {
        const session = await mySession(ctx, params.id);
        if (session.state === 'live') throw new ApiError('conflict', `session ${session.id} is live: end it before deleting it`);
        const deleted = await domain.documents.transaction(async (tx) => {
          // Guarded by the state read: a session cannot be live again, but the guard keeps the rule in one place.
          if ((await tx.collection(SESSIONS).delete({ id: session.id, state: 'completed' })) === 0) return false;
          await tx.collection(SESSION_SENSORS).delete({ session: session.id });
          await tx.collection(SESSION_SAMPLES).delete({ session: session.id });
          return true;
        });
        if (!deleted) throw new ApiError('not_found', `you have no session with id ${params.id}`);
        await domain.cache.deletePrefix(sessionCachePrefix(session.id));
        ctx.body = sessionView(session);
      },
      getSession: async (ctx, { params }) => {
        ctx.body = sessionView(await visibleSession(domain, principalOf(ctx), params.id));
      },
      getSessionStreams: async (ctx, { params, query }) => {
        const { resolution, label } = parseResolution(query.resolution);
        const keys = parseKeys(query.keys);
        const session = await visibleSession(domain, principalOf(ctx), params.id);
        ctx.status = 200;
        if (isFrozen(session)) {
          ctx.etag = `${session.id}.${session.revision}.${label}.${keys?.join('+') ?? 'all'}`;
          // The app may keep it, but asks each time: a late reading makes a new revision, hence a new ETag.
          ctx.set('Cache-Control', 'private, no-cache');
          if (ctx.fresh) {
            ctx.status = 304;
            return;
          }
        }
        const text = await streamsText(session, resolution, label);
        ctx.type = 'application/json';
        if (keys === undefined) {
          ctx.body = text;
          return;
        }
        const body = JSON.parse(text) as StreamsBody;
        const streams = body.streams as Record<string, unknown>;
        for (const key of Object.keys(streams)) if (!(keys as readonly string[]).includes(key)) delete streams[key];
        ctx.body = JSON.stringify(body);
      },
    },
  };
}
