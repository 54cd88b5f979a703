/** Stored readings: which series exist, raw readings page by page, and rollups per time step. */
import { METRICS, isMetricId, type MetricId } from '@pulsebridge/protocol';
import type { SeriesFilter, SeriesPage, SeriesSelector, SeriesStore } from '../storage/series/series-store.ts';
import type { ApiContext } from './context.ts';
import { API_PREFIX } from './operations.ts';
import { ApiError, invalidParameter } from './problem.ts';
import { cursorScope, decodeCursor, decodeSeriesCursor, encodeCursor, encodeSeriesCursor, parseStep, parseTime } from './query.ts';
import {
  DEFAULT_LIMIT,
  DEFAULT_SERIES_LIMIT,
  DEFAULT_RANGE_MS,
  MAX_RAW_RANGE_MS,
  MAX_ROLLUP_RANGE_MS,
  MAX_ROLLUP_STEPS,
  type ReadingsPage,
  type ReadingsQuery,
  type Rollups,
  type RollupsQuery,
  type SeriesList,
  type SeriesQuery,
} from './schemas.ts';

/**
 * Readings sharing one millisecond that a cursor can step over: far above any real count of agents hearing one
 * sensor, and low enough that skip + a full page stays within what a store returns in one read.
 */
const MAX_CURSOR_SKIP = 50_000;
/** Steps the default step aims at: enough for a chart, cheap to compute. */
const TARGET_AUTO_STEPS = 500;
const AUTO_STEPS_MS = [1_000, 5_000, 10_000, 30_000, 60_000, 300_000, 600_000, 1_800_000, 3_600_000, 21_600_000, 86_400_000, 604_800_000];

export interface ReadingsRoutesOptions {
  store: SeriesStore;
  now: () => number;
}

/** Resolves `from`/`to` with their defaults; `to` defaults to now and `from` to one hour before `to`. */
function timeRange(query: { from?: string; to?: string }, now: () => number): { from: number; to: number } {
  const to = query.to !== undefined ? parseTime(query.to, 'to') : now();
  const from = query.from !== undefined ? parseTime(query.from, 'from') : Math.max(0, to - DEFAULT_RANGE_MS);
  if (from >= to) throw invalidParameter(query.from !== undefined ? 'from' : 'to', `from (${new Date(from).toISOString()}) must be before to (${new Date(to).toISOString()})`);
  return { from, to };
}

function stepsBetween(from: number, to: number, stepMs: number): number {
  const firstStep = Math.floor(from / stepMs) * stepMs;
  return Math.ceil((to - firstStep) / stepMs);
}

function unitOf(metric: MetricId): string {
  return METRICS[metric].unit;
}

export function readingsRoutes(options: ReadingsRoutesOptions) {
  const { store, now } = options;

  return {
    async listSeries(ctx: ApiContext, input: { query: SeriesQuery }): Promise<void> {
      const q = input.query;
      const limit = q.limit ?? DEFAULT_SERIES_LIMIT;
      const filter: SeriesFilter = {};
      if (q.gym !== undefined) filter.gym = q.gym;
      if (q.agent !== undefined) filter.agent = q.agent;
      if (q.sensor !== undefined) filter.sensor = q.sensor;
      const scope = cursorScope(['series', q.gym, q.agent, q.sensor]);
      const page: SeriesPage = { limit: limit + 1 };
      if (q.cursor !== undefined) page.after = decodeSeriesCursor(q.cursor, scope);
      // One more than the page tells whether another page exists without a second query.
      const found = await store.listSeries(filter, page);
      const listed = found.slice(0, limit);
      const body: SeriesList = { series: [] };
      // A store can outlive a catalogue change; a series whose metric is no longer known has no unit to show.
      for (const s of listed) if (isMetricId(s.metric)) body.series.push({ gym: s.gym, agent: s.agent, sensor: s.sensor, metric: s.metric, unit: unitOf(s.metric) });
      const last = listed.at(-1);
      if (found.length > limit && last) {
        const nextCursor = encodeSeriesCursor(last, scope);
        const params = new URLSearchParams();
        if (q.gym !== undefined) params.set('gym', q.gym);
        if (q.agent !== undefined) params.set('agent', q.agent);
        if (q.sensor !== undefined) params.set('sensor', q.sensor);
        if (q.limit !== undefined) params.set('limit', String(q.limit));
        params.set('cursor', nextCursor);
        body.nextCursor = nextCursor;
        body.next = `${API_PREFIX}/series?${params.toString()}`;
        ctx.set('Link', `<${body.next}>; rel="next"`);
      }
      ctx.body = body;
    },

    async readings(ctx: ApiContext, input: { query: ReadingsQuery }): Promise<void> {
      const q = input.query;
      const { from, to } = timeRange(q, now);
      const limit = q.limit ?? DEFAULT_LIMIT;
      const scope = cursorScope([q.sensor, q.metric, q.agent, q.gym]);
      const cursor = q.cursor !== undefined ? decodeCursor(q.cursor, scope, MAX_CURSOR_SKIP) : { from, skip: 0 };
      if (cursor.from < from) throw invalidParameter('cursor', 'starts before from; keep from and to of the query that issued it (the next URL does)');
      if (to - from > MAX_RAW_RANGE_MS) {
        throw new ApiError('range_too_large', `from: raw readings span at most ${MAX_RAW_RANGE_MS / 86_400_000} days per query; use /rollups for longer ranges`, { param: 'from' });
      }
      const body: ReadingsPage = { sensor: q.sensor, metric: q.metric, unit: unitOf(q.metric), from, to, readings: [] };
      if (cursor.from >= to) {
        ctx.body = body;
        return;
      }
      const selector: SeriesSelector = { sensor: q.sensor, metric: q.metric, from: cursor.from, to };
      if (q.agent !== undefined) selector.agent = q.agent;
      if (q.gym !== undefined) selector.gym = q.gym;
      // One more than the page tells whether another page exists without a second query.
      const points = await store.readRaw(selector, cursor.skip + limit + 1);
      let skipped = 0;
      while (skipped < cursor.skip && points[skipped]?.ts === cursor.from) skipped++;
      const rest = points.slice(skipped);
      const page = rest.slice(0, limit);
      body.readings = page.map((p) => ({ ts: p.ts, value: p.value }));
      const last = page.at(-1);
      if (rest.length > limit && last) {
        let sameTs = 0;
        for (let i = page.length - 1; i >= 0 && page[i]!.ts === last.ts; i--) sameTs++;
        if (last.ts === cursor.from) sameTs += skipped;
        const nextCursor = encodeCursor({ from: last.ts, skip: sameTs }, scope);
        const params = new URLSearchParams({ sensor: q.sensor, metric: q.metric });
        if (q.agent !== undefined) params.set('agent', q.agent);
        if (q.gym !== undefined) params.set('gym', q.gym);
        params.set('from', String(from));
        params.set('to', String(to));
        if (q.limit !== undefined) params.set('limit', String(q.limit));
        params.set('cursor', nextCursor);
        body.nextCursor = nextCursor;
        body.next = `${API_PREFIX}/readings?${params.toString()}`;
        ctx.set('Link', `<${body.next}>; rel="next"`);
      }
      ctx.body = body;
    },

    async rollups(ctx: ApiContext, input: { query: RollupsQuery }): Promise<void> {
      const q = input.query;
      const { from, to } = timeRange(q, now);
      if (to - from > MAX_ROLLUP_RANGE_MS) {
        throw new ApiError('range_too_large', `from: rollups span at most ${MAX_ROLLUP_RANGE_MS / 86_400_000} days per query`, { param: 'from' });
      }
      let stepMs: number;
      if (q.step !== undefined) {
        stepMs = parseStep(q.step, 'step');
        const steps = stepsBetween(from, to, stepMs);
        if (steps > MAX_ROLLUP_STEPS) {
          throw new ApiError('too_many_steps', `step: ${steps} steps of ${stepMs} ms in this range; at most ${MAX_ROLLUP_STEPS}`, { param: 'step' });
        }
      } else {
        stepMs = AUTO_STEPS_MS.find((candidate) => stepsBetween(from, to, candidate) <= TARGET_AUTO_STEPS) ?? AUTO_STEPS_MS.at(-1)!;
      }
      const selector: SeriesSelector = { sensor: q.sensor, metric: q.metric, from, to };
      if (q.agent !== undefined) selector.agent = q.agent;
      if (q.gym !== undefined) selector.gym = q.gym;
      const points = await store.readRollup(selector, stepMs);
      const body: Rollups = {
        sensor: q.sensor,
        metric: q.metric,
        unit: unitOf(q.metric),
        from,
        to,
        step: stepMs,
        rollups: points.map((p) => ({ ts: p.ts, min: p.min, max: p.max, mean: p.mean, count: p.count })),
      };
      ctx.body = body;
    },
  };
}
