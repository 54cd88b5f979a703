/**
 * Server-Sent Events from the LiveBus. The bus calls listeners synchronously on the ingest path, so a
 * listener only serialises and hands bytes to the socket; a client whose unsent bytes pile up past a bound
 * is disconnected rather than allowed to grow the hub's memory or slow ingest (sse.ts).
 */
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { registerScraped, settlesWithin } from '@pulsebridge/runtime';
import { METRICS, isMetricId } from '@pulsebridge/protocol';
import { LISTENING_WAIT_MS, type LiveBus, type LiveFilter, type LiveReadings } from '../live/live-bus.ts';
import type { ApiContext } from './context.ts';
import { SseStreams, type SseLimits } from './sse.ts';
import type { LiveEvent } from './schemas.ts';

export type LiveStreamLimits = SseLimits;

export interface LiveStreamsOptions extends LiveStreamLimits {
  bus: LiveBus;
  log: Logger;
  metrics: Registry;
  /** Aborted when the hub stops: open streams end so the HTTP server can close, and new ones are refused. */
  shutdown?: AbortSignal;
}

export class LiveStreams {
  private readonly bus: LiveBus;
  private readonly streams: SseStreams;
  /**
   * The bus hands the same object to every subscriber without a sensor or metric filter; serialising it once
   * for all of them keeps many viewers from costing one JSON.stringify each.
   */
  private readonly encoded = new WeakMap<LiveReadings, string>();

  constructor(options: LiveStreamsOptions) {
    this.bus = options.bus;
    const streams = new SseStreams(options);
    this.streams = streams;
    registerScraped(options.metrics, [
      { name: 'pb_hub_sse_clients', help: 'Live (SSE) streams open', kind: 'gauge', read: () => streams.active },
      { name: 'pb_hub_sse_events_total', help: 'Live (SSE) events written to clients', kind: 'counter', read: () => streams.eventsWritten },
      { name: 'pb_hub_sse_disconnects_total', help: 'Live (SSE) clients the hub disconnected, by reason', kind: 'counter', label: 'reason', read: () => streams.disconnects },
    ]);
  }

  /** Streams until the client goes away; resolves then, with the subscription removed. */
  async serve(ctx: ApiContext, filter: LiveFilter): Promise<void> {
    await this.streams.serve(ctx, async (send) => {
      const unsubscribe = this.bus.subscribe(filter, (readings) => send(`event: readings\ndata: ${this.encode(readings)}\n\n`));
      // The stream says it is connected once other replicas' readings reach it too; this replica's already do, so
      // a Redis that does not answer delays the viewer a little, never refuses it.
      await settlesWithin(this.bus.listening(), LISTENING_WAIT_MS);
      return unsubscribe;
    });
  }

  private encode(readings: LiveReadings): string {
    let text = this.encoded.get(readings);
    if (text === undefined) {
      const event: LiveEvent = {
        gym: readings.gym,
        agent: readings.agent,
        series: readings.series.map((s) => ({
          sensor: s.sensor,
          metric: s.metric,
          unit: isMetricId(s.metric) ? METRICS[s.metric].unit : '',
          ts: s.ts,
          values: s.values,
        })),
      };
      // JSON.stringify escapes line breaks inside strings, so the payload is always one `data:` line.
      text = JSON.stringify(event);
      this.encoded.set(readings, text);
    }
    return text;
  }
}
