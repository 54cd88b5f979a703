/**
 * What every Server-Sent Events route of the API shares (live readings, live class boards): the headers, HEAD,
 * a heartbeat, a bound on the bytes a client leaves unread (a slow client is disconnected rather than allowed
 * to grow the hub's memory or slow the producer), a cap on open streams, and the end of every stream when the
 * hub stops.
 */
import type { Logger } from 'pino';
import type { ApiContext } from './context.ts';
import { ApiError } from './problem.ts';

export interface SseLimits {
  /** Comment line sent on idle streams so proxies and load balancers keep them open. */
  heartbeatMs?: number;
  /**
   * Bytes written but not yet taken by the client's socket before the client counts as too slow. Memory per
   * client stays below this plus one event.
   */
  maxBufferedBytes?: number;
  maxClients?: number;
}

export interface SseStreamsOptions extends SseLimits {
  log: Logger;
  /** Aborted when the hub stops: open streams end so the HTTP server can close, and new ones are refused. */
  shutdown?: AbortSignal;
}

/** Writes one chunk (one or more whole events) to the client; false when the stream is gone or was dropped as too slow. */
export type SseSend = (chunk: string) => boolean;
/**
 * Connects a stream to its source once the headers are out; returns what disconnects it. `end` closes the
 * stream from the server's side (a class run that ended).
 */
export type SseAttach = (send: SseSend, end: () => void) => (() => void) | Promise<() => void>;

const DEFAULT_HEARTBEAT_MS = 15_000;
const DEFAULT_MAX_BUFFERED_BYTES = 1024 * 1024;
const DEFAULT_MAX_CLIENTS = 1_000;
/** How long a browser waits before reconnecting after the stream drops. */
const RETRY_MS = 3_000;
const HEADERS = { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache, no-transform', 'X-Accel-Buffering': 'no' } as const;

/** One event in the wire format; JSON.stringify escapes line breaks inside strings, so the payload is one `data:` line. */
export function sseEvent(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

export class SseStreams {
  /** Streams open now. */
  active = 0;
  /** Chunks written through `send` (heartbeats not counted). */
  eventsWritten = 0;
  readonly disconnects: Record<'slow' | 'too_many_clients', number> = { slow: 0, too_many_clients: 0 };
  private readonly log: Logger;
  private readonly heartbeatMs: number;
  private readonly maxBufferedBytes: number;
  private readonly maxClients: number;
  private readonly shutdown: AbortSignal | undefined;
  /** Ends each open stream; one abort listener for all of them, not one per client. */
  private readonly openStreams = new Set<() => void>();
  private listeningForShutdown = false;

  constructor(options: SseStreamsOptions) {
    this.log = options.log;
    this.heartbeatMs = options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
    this.maxBufferedBytes = options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES;
    this.maxClients = options.maxClients ?? DEFAULT_MAX_CLIENTS;
    this.shutdown = options.shutdown;
  }

  /** Streams until the client goes away or the source ends it; resolves then, with the source detached. */
  async serve(ctx: ApiContext, attach: SseAttach): Promise<void> {
    if (this.shutdown?.aborted) throw new ApiError('unavailable', 'the hub is shutting down', { headers: { 'Retry-After': '5' } });
    if (ctx.method === 'HEAD') {
      // A HEAD has no body to stream; answering with the stream's headers is all a client can learn from it.
      ctx.status = 200;
      ctx.set({ ...HEADERS });
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
    res.writeHead(200, { ...HEADERS });
    res.socket?.setNoDelay(true);
    this.active++;

    let closed = false;
    let detach: (() => void) | undefined;
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
    const send: SseSend = (chunk) => {
      try {
        if (!write(chunk)) return false;
        this.eventsWritten++;
        return true;
      } catch (error) {
        // Whatever goes wrong with one viewer must not reach the producer (the ingest path that published).
        this.log.warn({ err: error, reqId: requestId }, 'live event not delivered');
        res.destroy();
        return false;
      }
    };
    const end = (): void => {
      res.end();
    };
    const heartbeat = setInterval(() => write(': heartbeat\n\n'), this.heartbeatMs);
    heartbeat.unref();
    this.openStreams.add(end);
    const done = new Promise<void>((resolve) => {
      const cleanup = (): void => {
        if (closed) return;
        closed = true;
        this.openStreams.delete(end);
        clearInterval(heartbeat);
        detach?.();
        this.active--;
        resolve();
      };
      res.once('close', cleanup);
      res.once('error', cleanup);
      if (res.destroyed) cleanup();
    });
    try {
      const detaching = await attach(send, end);
      if (closed) detaching();
      else detach = detaching;
      // After the source is attached: from this comment on, the client misses nothing the source sends.
      write(`retry: ${RETRY_MS}\n: connected\n\n`);
    } catch (error) {
      this.log.warn({ err: error, reqId: requestId }, 'live stream could not start');
      res.destroy();
    }
    return done;
  }
}
