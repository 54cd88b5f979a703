/**
 * In-process fan-out of freshly stored readings to live subscribers (SSE today). Publishing never blocks
 * ingest: a slow subscriber is the subscriber's problem (see api/live.ts).
 */
import type { SeriesReadings } from '@pulsebridge/protocol';

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

export class LiveBus {
  private readonly listeners = new Set<{ filter: LiveFilter; listener: LiveListener }>();

  publish(readings: LiveReadings): void {
    for (const { filter, listener } of this.listeners) {
      if (filter.gym && filter.gym !== readings.gym) continue;
      if (filter.agent && filter.agent !== readings.agent) continue;
      const series =
        filter.sensor || filter.metric
          ? readings.series.filter((s) => (!filter.sensor || s.sensor === filter.sensor) && (!filter.metric || s.metric === filter.metric))
          : readings.series;
      if (series.length > 0) listener(series === readings.series ? readings : { ...readings, series });
    }
  }

  subscribe(filter: LiveFilter, listener: LiveListener): () => void {
    const entry = { filter, listener };
    this.listeners.add(entry);
    return () => this.listeners.delete(entry);
  }
}
