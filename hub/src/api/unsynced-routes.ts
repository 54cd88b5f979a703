/**
 * Readings held apart because the boot that stamped them never had its clock confirmed (see
 * storage/series/unsynced.ts): which boots an agent has held, their readings at the stamped times, and the
 * two ways to settle a boot: correct it (into the series, shifted by an offset) or discard it.
 */
import type { Static } from '@sinclair/typebox';
import type { Logger } from 'pino';
import { METRICS, isMetricId } from '@pulsebridge/protocol';
import type { AgentRegistry } from '../registry/agent-registry.ts';
import type { SeriesStore } from '../storage/series/series-store.ts';
import type { UnsyncedBoot, UnsyncedSelector } from '../storage/series/unsynced.ts';
import type { UnsyncedTally } from '../unsynced/unsynced-tally.ts';
import type { ApiContext } from './context.ts';
import { API_PREFIX } from './operations.ts';
import { ApiError, invalidParameter } from './problem.ts';
import { cursorScope, decodeCursor, encodeCursor, parseTime } from './query.ts';
import type { AgentPathParams } from './schemas.ts';
import type { UnsyncedBootParams, UnsyncedCorrected, UnsyncedCorrectionBody, UnsyncedDiscarded, UnsyncedReadingsPage, UnsyncedReadingsQuery } from './unsynced-schemas.ts';
import { MAX_OFFSET_MS } from './unsynced-schemas.ts';

const DEFAULT_LIMIT = 1_000;
/** Readings of one boot sharing one stamp: one per sensor and metric, far below this. */
const MAX_CURSOR_SKIP = 50_000;

export interface UnsyncedRoutesOptions {
  store: SeriesStore;
  registry: AgentRegistry;
  tally: UnsyncedTally;
  /** The check ingest applies to the time of any reading it receives; corrected readings pass it too. */
  acceptsReadingTime: (ts: number) => boolean;
  log: Logger;
}

type BootInput = { params: Static<typeof UnsyncedBootParams> };

/** The offset a correction asks for; 400 naming the field when it is missing, doubled or out of range. */
export function correctionOffset(body: UnsyncedCorrectionBody): number {
  const pair = body.stamped !== undefined || body.actual !== undefined;
  if (body.offsetMs !== undefined && pair) throw invalidParameter('offsetMs', 'give either offsetMs or stamped and actual, not both');
  if (body.offsetMs !== undefined) return body.offsetMs;
  if (body.stamped === undefined) throw invalidParameter(pair ? 'stamped' : 'offsetMs', pair ? 'is required with actual' : 'is required (or stamped and actual)');
  if (body.actual === undefined) throw invalidParameter('actual', 'is required with stamped');
  const time = (value: number | string, param: string): number => (typeof value === 'number' ? value : parseTime(value, param));
  const offset = time(body.actual, 'actual') - time(body.stamped, 'stamped');
  if (Math.abs(offset) > MAX_OFFSET_MS) throw invalidParameter('actual', `the offset ${offset} ms is out of range`);
  return offset;
}

export function unsyncedRoutes(options: UnsyncedRoutesOptions) {
  const { store, registry, tally, log } = options;

  /** The agent's boots; 404 for an agent neither the registry nor the store knows (a removed agent's boots stay reachable). */
  async function bootsOf(agent: string): Promise<UnsyncedBoot[]> {
    const [record, boots] = await Promise.all([registry.get(agent), store.listUnsynced({ agent })]);
    if (!record && boots.length === 0) throw new ApiError('not_found', `no agent with id ${agent}`);
    return boots;
  }

  async function bootOf(agent: string, boot: string): Promise<UnsyncedBoot> {
    const found = (await bootsOf(agent)).find((b) => b.boot === boot);
    if (!found) throw new ApiError('not_found', `agent ${agent} has no unsynced readings of boot ${boot}`);
    return found;
  }

  return {
    async listUnsynced(ctx: ApiContext, input: { params: Static<typeof AgentPathParams> }): Promise<void> {
      const boots = await bootsOf(input.params.id);
      ctx.body = boots.map(({ agent, boot, gym, readings, firstStamp, lastStamp, sensors }) => ({ agent, boot, gym, readings, firstStamp, lastStamp, sensors }));
    },

    async readUnsynced(ctx: ApiContext, input: BootInput & { query: UnsyncedReadingsQuery }): Promise<void> {
      const { id: agent, boot } = input.params;
      const q = input.query;
      const limit = q.limit ?? DEFAULT_LIMIT;
      const scope = cursorScope(['unsynced', agent, boot, q.sensor, q.metric]);
      const cursor = q.cursor !== undefined ? decodeCursor(q.cursor, scope, MAX_CURSOR_SKIP) : { from: 0, skip: 0 };
      await bootOf(agent, boot);
      const selector: UnsyncedSelector = { agent, boot, from: cursor.from };
      if (q.sensor !== undefined) selector.sensor = q.sensor;
      if (q.metric !== undefined) selector.metric = q.metric;
      // One more than the page tells whether another page exists without a second query.
      const points = await store.readUnsynced(selector, cursor.skip + limit + 1);
      let skipped = 0;
      while (skipped < cursor.skip && points[skipped]?.ts === cursor.from) skipped++;
      const rest = points.slice(skipped);
      const page = rest.slice(0, limit);
      const body: UnsyncedReadingsPage = {
        agent,
        boot,
        readings: page.map(({ sensor, metric, ts, value }) => ({ sensor, metric, unit: isMetricId(metric) ? METRICS[metric].unit : '', ts, value })),
      };
      const last = page.at(-1);
      if (rest.length > limit && last) {
        let sameTs = 0;
        for (let i = page.length - 1; i >= 0 && page[i]!.ts === last.ts; i--) sameTs++;
        if (last.ts === cursor.from) sameTs += skipped;
        body.nextCursor = encodeCursor({ from: last.ts, skip: sameTs }, scope);
        const params = new URLSearchParams();
        if (q.sensor !== undefined) params.set('sensor', q.sensor);
        if (q.metric !== undefined) params.set('metric', q.metric);
        if (q.limit !== undefined) params.set('limit', String(q.limit));
        params.set('cursor', body.nextCursor);
        body.next = `${API_PREFIX}/agents/${agent}/unsynced/${boot}/readings?${params.toString()}`;
        ctx.set('Link', `<${body.next}>; rel="next"`);
      }
      ctx.body = body;
    },

    async correctUnsynced(ctx: ApiContext, input: BootInput & { body: UnsyncedCorrectionBody }): Promise<void> {
      const { id: agent, boot } = input.params;
      const offsetMs = correctionOffset(input.body);
      await bootOf(agent, boot);
      const { moved, refused } = await store.correctUnsynced({ agent, boot, offsetMs, accepts: options.acceptsReadingTime });
      await tally.refresh();
      log.info({ agent, boot, offsetMs, moved, refused, reqId: ctx.state.requestId }, 'unsynced boot corrected into the series');
      const body: UnsyncedCorrected = { agent, boot, offsetMs, moved, refused };
      ctx.body = body;
    },

    async discardUnsynced(ctx: ApiContext, input: BootInput): Promise<void> {
      const { id: agent, boot } = input.params;
      await bootOf(agent, boot);
      const discarded = await store.discardUnsynced(agent, boot);
      await tally.refresh();
      // Someone raced this request to the same boot.
      if (discarded === 0) throw new ApiError('not_found', `agent ${agent} has no unsynced readings of boot ${boot}`);
      log.info({ agent, boot, discarded, reqId: ctx.state.requestId }, 'unsynced boot discarded');
      const body: UnsyncedDiscarded = { agent, boot, discarded };
      ctx.body = body;
    },
  };
}
