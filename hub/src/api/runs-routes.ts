/** Handlers of runs-operations.ts. */
import type { Static } from '@sinclair/typebox';
import { gymsWithRoles } from '../auth/principal.ts';
import type { Domain } from '../domain/domain.ts';
import { gymSettings } from '../domain/gyms.ts';
import { CLASSES } from '../domain/classes/collections.ts';
import { findOccurrence } from '../domain/classes/occurrences.ts';
import { DAY_MS, MAX_WINDOW_MS, MINUTE_MS } from '../domain/classes/recurrence.ts';
import { CLASS_RUNS, SESSIONS, type ClassRunDoc } from '../domain/sessions/collections.ts';
import { candidatesOf, groupStandings, rankLeaderboard, runStandings, type LeaderboardMetric, type Standing } from '../domain/sessions/leaderboards.ts';
import { endClassRun, startClassRun } from '../domain/sessions/sessions.ts';
import { STAFF } from './access.ts';
import type { ApiContext } from './context.ts';
import { API_PREFIX } from './operation.ts';
import { listPage } from './pages.ts';
import { ApiError, invalidParameter } from './problem.ts';
import type { RouteModule } from './route-module.ts';
import { RUNS_OPERATIONS, type LeaderboardSchema, type RunResultSchema } from './runs-operations.ts';
import { principalOf, resourceGym } from './self.ts';
import { classRunView, sessionView } from './sessions-schemas.ts';

/** A coach may start a class this long before its scheduled start (warm-up, pairing straps). */
export const EARLY_START_MS = 30 * MINUTE_MS;

type RunResult = Static<typeof RunResultSchema>;
type Leaderboard = Static<typeof LeaderboardSchema>;

function isStaff(ctx: ApiContext, gym: string): boolean {
  const gyms = gymsWithRoles(principalOf(ctx), STAFF);
  return gyms === 'all' || gyms.has(gym);
}

export function runsRoutes(domain: Domain): RouteModule<typeof RUNS_OPERATIONS> {
  const { documents, identity, now } = domain;
  const runs = documents.collection(CLASS_RUNS);
  const sessions = documents.collection(SESSIONS);

  async function runOf(ctx: ApiContext, id: string): Promise<ClassRunDoc> {
    const run = await runs.get(id);
    if (run === undefined || run.gym !== resourceGym(ctx)) throw new ApiError('not_found', `no class run ${id}`);
    return run;
  }

  async function leaderboard(ctx: ApiContext, metric: LeaderboardMetric, standings: Standing[]): Promise<Leaderboard> {
    const viewer = principalOf(ctx).subject;
    const candidates = await candidatesOf(
      domain,
      viewer,
      standings.map((s) => s.athlete),
    );
    return { metric, items: rankLeaderboard(viewer, standings, candidates) };
  }

  return {
    handlers: {
      startClassRun: async (ctx, { params }) => {
        const cls = await documents.collection(CLASSES).get(params.id);
        if (cls === undefined || cls.gym !== resourceGym(ctx)) throw new ApiError('not_found', `no class ${params.id}`);
        const { timeZone } = await gymSettings(documents, cls.gym);
        const occurrence = await findOccurrence(documents, cls, timeZone, Date.parse(params.start));
        if (occurrence === undefined) throw new ApiError('not_found', `class ${cls.id} has no occurrence starting at ${params.start}`);
        const running = await runs.get(occurrence.id);
        if (running === undefined) {
          if (occurrence.cancelled) throw new ApiError('conflict', 'the occurrence is cancelled');
          const at = now();
          if (at < occurrence.startsAt - EARLY_START_MS || at >= occurrence.endsAt) {
            throw new ApiError('conflict', `a class starts from ${EARLY_START_MS / MINUTE_MS} minutes before its scheduled start until its scheduled end`);
          }
        }
        const { run, created } = running === undefined ? await startClassRun(domain, { cls, occurrence, by: principalOf(ctx).subject }) : { run: running, created: false };
        if (run.state === 'ended') throw new ApiError('conflict', 'this class run ended already');
        ctx.status = created ? 201 : 200;
        ctx.body = classRunView(run);
      },
      endClassRun: async (ctx, { params }) => {
        const run = await runOf(ctx, params.id);
        if (run.state === 'ended') throw new ApiError('conflict', 'this class run ended already');
        const cls = await documents.collection(CLASSES).get(run.class);
        if (cls === undefined) throw new ApiError('not_found', `the class of run ${run.id} was removed`);
        const ended = await endClassRun(domain, { run, cls, by: principalOf(ctx).subject });
        // The schedule (on any replica) ended it a moment ago.
        if (ended === undefined) throw new ApiError('conflict', 'this class run ended already');
        ctx.body = classRunView(ended);
      },
      getClassRun: async (ctx, { params }) => {
        const run = await runOf(ctx, params.id);
        const [live, completed] = await Promise.all([sessions.count({ run: run.id, state: 'live' }), sessions.count({ run: run.id, state: 'completed' })]);
        ctx.body = { ...classRunView(run), sessions: { live, completed } };
      },
      listClassRuns: async (ctx, { params, query }) => {
        const startedAt: { gte?: number; lt?: number } = {};
        if (query.from !== undefined) startedAt.gte = Date.parse(query.from);
        if (query.to !== undefined) startedAt.lt = Date.parse(query.to);
        await listPage(ctx, {
          collection: runs,
          where: { gym: params.gym, ...(query.state === undefined ? {} : { state: query.state }), ...(Object.keys(startedAt).length > 0 ? { startedAt } : {}) },
          orderBy: ['startedAt'],
          descending: true,
          query,
          path: `${API_PREFIX}/gyms/${params.gym}/class-runs`,
          params: { state: query.state, from: query.from, to: query.to },
          toItem: classRunView,
        });
      },
      classRunResults: async (ctx, { params, query }) => {
        const run = await runOf(ctx, params.id);
        const caller = principalOf(ctx).subject;
        const page = await listPage(ctx, {
          collection: sessions,
          // Other athletes' results follow their privacy choices elsewhere; here only the gym's staff see them all.
          where: isStaff(ctx, run.gym) ? { run: run.id } : { run: run.id, athlete: caller },
          orderBy: ['athlete'],
          query,
          path: `${API_PREFIX}/class-runs/${run.id}/results`,
          params: {},
          toItem: (doc) => doc,
        });
        const items: RunResult[] = [];
        for (const doc of page.items) {
          const user = await identity.getUser(doc.athlete);
          items.push({ athlete: doc.athlete, displayName: user?.displayName ?? '', session: sessionView(doc) });
        }
        ctx.body = { ...page, items };
      },
      classRunLeaderboard: async (ctx, { params, query }) => {
        const run = await runOf(ctx, params.id);
        ctx.body = await leaderboard(ctx, query.metric, await runStandings(domain, run.id, query.metric));
      },
      groupLeaderboard: async (ctx, { params, query }) => {
        const [from, to] = [Date.parse(query.from), Date.parse(query.to)];
        if (!(to > from)) throw invalidParameter('to', 'must lie after from');
        if (to - from > MAX_WINDOW_MS) throw new ApiError('range_too_large', `a period covers at most ${MAX_WINDOW_MS / DAY_MS} days`, { param: 'to' });
        ctx.body = await leaderboard(ctx, query.metric, await groupStandings(domain, params.id, query.metric, from, to));
      },
    },
  };
}
