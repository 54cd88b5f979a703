/**
 * Server-Sent Events from the LiveBus. The bus calls listeners synchronously on the ingest path, so a
 * listener only serialises and hands bytes to the socket; a client whose unsent bytes pile up past a bound
 * is disconnected rather than allowed to grow the hub's memory or slow ingest.
 */
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { registerScraped } from '@pulsebridge/runtime';
import { METRICS, isMetricId } from '@pulsebridge/protocol';
import type { LiveBus, LiveFilter, LiveReadings } from '../live/live-bus.ts';
import type { ApiContext } from './context.ts';
import { ApiError } from './problem.ts';
import type { LiveEvent } from './schemas.ts';

export interface LiveStreamLimits {
  /** Comment line sent on idle streams so proxies and load balancers keep them open. */
  heartbeatMs?: number;
  /**
   * Bytes written but not yet taken by the client's socket before the client counts as too slow. Memory per
   * client stays below this plus one event.
   */
  maxBufferedBytes?: number;
  maxClients?: number;
}

export interface LiveStreamsOptions extends LiveStreamLimits {
  bus: LiveBus;
  log: Logger;
  metrics: Registry;
  /** Aborted when the hub stops: open streams end so the HTTP server can close, and new ones are refused. */
  shutdown?: AbortSignal;
}

const DEFAULT_HEARTBEAT_MS = 15_000;
const DEFAULT_MAX_BUFFERED_BYTES = 1024 * 1024;
const DEFAULT_MAX_CLIENTS = 1_000;
/** How long a browser waits before reconnecting after the stream drops. */
const RETRY_MS = 3_000;

export class LiveStreams {
  private readonly bus: LiveBus;
  private readonly log: Logger;
  private readonly heartbeatMs: number;
  private readonly maxBufferedBytes: number;
  private readonly maxClients: number;
  private readonly shutdown: AbortSignal | undefined;
  private active = 0;
  private eventsWritten = 0;
  private readonly disconnects: Record<'slow' | 'too_many_clients', number> = { slow: 0, too_many_clients: 0 };
  /** Ends each open stream; one abort listener for all of them, not one per client. */
  private readonly openStreams = new Set<() => void>();
  private listeningForShutdown = false;
  /**
   * The bus hands the same object to every subscriber without a sensor or metric filter; serialising it once
   * for all of them keeps a busy class board from costing one JSON.stringify per viewer.
   */
  private readonly encoded = new WeakMap<LiveReadings, string>();

  constructor(options: LiveStreamsOptions) {
    this.bus = options.bus;
    this.log = options.log;
    this.heartbeatMs = options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
    this.maxBufferedBytes = options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES;
    this.maxClients = options.maxClients ?? DEFAULT_MAX_CLIENTS;
    this.shutdown = options.shutdown;
    registerScraped(options.metrics, [
      { name: 'pb_hub_sse_clients', help: 'Live (SSE) streams open', kind: 'gauge', read: () => this.active },
      { name: 'pb_hub_sse_events_total', help: 'Live (SSE) events written to clients', kind: 'counter', read: () => this.eventsWritten },
      { name: 'pb_hub_sse_disconnects_total', help: 'Live (SSE) clients the hub disconnected, by reason', kind: 'counter', label: 'reason', read: () => this.disconnects },
    ]);
  }

  /** Streams until the client goes away; resolves then, with the subscription removed. */
  async serve(ctx: ApiContext, filter: LiveFilter): Promise<void> {
    if (this.shutdown?.aborted) throw new ApiError('unavailable', 'the hub is shutting down', { headers: { 'Retry-After': '5' } });
    if (ctx.method === 'HEAD') {
      // A HEAD has no body to stream; answering with the stream's headers is all a client can learn from it.
      ctx.status = 200;
      ctx.set({ 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache, no-transform', 'X-Accel-Buffering': 'no' });
      return;
    }
    if (this.shutdown && !this.listeningForShutdown) {
      this.listeningForShutdown = true;
      this.shutdown.addEventListener(
        'abort',
        () => {
          for (const end of this.openStreams) end();
        },
        { once: true },
      );
    }
    if (this.active >= this.maxClients) {
      this.disconnects.too_many_clients++;
      throw new ApiError('too_many_clients', `the hub serves at most ${this.maxClients} live streams`, { headers: { 'Retry-After': '30' } });
    }
    const res = ctx.res;
    const requestId = ctx.state.requestId;
    // Koa must not end the response when the middleware chain returns: the stream outlives it.
    ctx.respond = false;
    ctx.status = 200;
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      'X-Accel-Buffering': 'no',
    });
    res.socket?.setNoDelay(true);
    this.active++;

    return new Promise<void>((resolve) => {
      let closed = false;
      // Checked before writing: what is still queued from earlier events is the client's backlog, and one
      // event larger than the bound must not disconnect a client that keeps up.
      const write = (chunk: string): boolean => {
        if (closed || res.writableEnded) return false;
        if (res.writableLength > this.maxBufferedBytes) {
          this.disconnects.slow++;
          this.log.info({ reqId: requestId, buffered: res.writableLength }, 'live client too slow; disconnecting');
          res.destroy();
          return false;
        }
        res.write(chunk);
        return true;
      };
      const unsubscribe = this.bus.subscribe(filter, (readings) => {
        try {
          if (write(`event: readings\ndata: ${this.encode(readings)}\n\n`)) this.eventsWritten++;
        } catch (error) {
          // Whatever goes wrong with one viewer must not reach the ingest path that published.
          this.log.warn({ err: error, reqId: requestId }, 'live event not delivered');
          res.destroy();
        }
      });
      const heartbeat = setInterval(() => write(': heartbeat\n\n'), this.heartbeatMs);
      heartbeat.unref();
      const end = (): void => {
        res.end();
      };
      this.openStreams.add(end);
      const cleanup = (): void => {
        if (closed) return;
        closed = true;
        this.openStreams.delete(end);
        clearInterval(heartbeat);
        unsubscribe();
        this.active--;
        resolve();
      };
      res.once('close', cleanup);
      res.once('error', cleanup);
      if (res.destroyed) cleanup();
      else write(`retry: ${RETRY_MS}\n: connected\n\n`);
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
