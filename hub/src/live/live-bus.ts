/**
 * The live bus: fan-out of freshly stored readings to live subscribers (SSE streams, class boards). Ingest
 * publishes one message per stored batch; publishing never blocks or fails ingest: a slow subscriber is the
 * subscriber's problem (see api/live.ts).
 *
 * Two adapters: MemoryLiveBus (this process only; the embedded default) and RedisLiveBus (redis-live-bus.ts:
 * every replica's subscribers see every replica's readings). `live.bus` in the configuration chooses.
 */
import { Type, type Static } from '@sinclair/typebox';
import type { SeriesReadings } from '@pulsebridge/protocol';

export const LiveConfig = Type.Object(
  {
    bus: Type.Union([Type.Literal('memory'), Type.Literal('redis')], {
      default: 'memory',
      description: "memory: live streams show this replica's readings only. redis: every replica's (through redis.url)",
    }),
  },
  { additionalProperties: false, default: {} },
);
export type LiveConfig = Static<typeof LiveConfig>;

/**
 * How long a new viewer waits for `listening()` before it is served anyway: with Redis out of reach it still
 * gets this replica's readings.
 */
export const LISTENING_WAIT_MS = 2_000;

export interface LiveReadings {
  gym: string;
  agent: string;
  series: SeriesReadings[];
}

export interface LiveFilter {
  gym?: string;
  agent?: string;
  sensor?: string;
  metric?: string;
}

export type LiveListener = (readings: LiveReadings) => void;

export interface LiveBus {
  /**
   * Hands the readings to every subscriber whose filter they pass, and never waits. A subscriber that throws
   * keeps no other from its readings: the first such error is thrown once all had theirs.
   */
  publish(readings: LiveReadings): void;
  /** Returns the unsubscribe function. The listener runs synchronously on the publishing path: keep it short. */
  subscribe(filter: LiveFilter, listener: LiveListener): () => void;
  /**
   * Settles once every subscription made so far also receives what other replicas publish (at once in
   * process). Wait on it before telling a viewer the stream is live, or before reading what was stored so far.
   */
  listening(): Promise<void>;
}

export class MemoryLiveBus implements LiveBus {
  private readonly listeners = new Set<{ filter: LiveFilter; listener: LiveListener }>();

  get subscribers(): number {
    return this.listeners.size;
  }

  publish(readings: LiveReadings): void {
    let failure: { error: unknown } | undefined;
    for (const { filter, listener } of this.listeners) {
      if (filter.gym && filter.gym !== readings.gym) continue;
      if (filter.agent && filter.agent !== readings.agent) continue;
      const series =
        filter.sensor || filter.metric
          ? readings.series.filter((s) => (!filter.sensor || s.sensor === filter.sensor) && (!filter.metric || s.metric === filter.metric))
          : readings.series;
      if (series.length === 0) continue;
      try {
        listener(series === readings.series ? readings : { ...readings, series });
      } catch (error) {
        failure ??= { error };
      }
    }
    if (failure) throw failure.error;
  }

  subscribe(filter: LiveFilter, listener: LiveListener): () => void {
    const entry = { filter, listener };
    this.listeners.add(entry);
    return () => this.listeners.delete(entry);
  }

  listening(): Promise<void> {
    return Promise.resolve();
  }
}
