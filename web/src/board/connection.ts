/**
 * Follows one run's board stream: connects, hands every event over, and when the stream drops reconnects after
 * the shared jittered backoff (the first `board` event after a reconnect restores every tile). It stops for
 * good on `ended`, on `stop()`, and when the hub says the run is not there (404) or the caller may not see it.
 */
import { Backoff } from '../../../runtime/src/backoff.ts';
import type { ServerEvent } from '../lib/api.ts';

export type ConnectionStatus = 'connecting' | 'live' | 'reconnecting' | 'ended' | 'failed';

/** Api.stream bound to the run's board path. */
export type OpenStream = (onEvent: (event: ServerEvent) => void, signal: AbortSignal) => Promise<void>;

export interface BoardConnectionOptions {
  open: OpenStream;
  onEvent(event: ServerEvent): void;
  onStatus(status: ConnectionStatus): void;
  backoff?: Backoff;
}

export const RECONNECT_INITIAL_MS = 1_000;
export const RECONNECT_MAX_MS = 30_000;

export class BoardConnection {
  private readonly backoff: Backoff;
  private controller: AbortController | undefined;
  private retry: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;
  status: ConnectionStatus = 'connecting';

  constructor(private readonly options: BoardConnectionOptions) {
    this.backoff = options.backoff ?? new Backoff({ initialMs: RECONNECT_INITIAL_MS, maxMs: RECONNECT_MAX_MS });
  }

  start(): void {
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retry);
    this.controller?.abort();
  }

  private connect(): void {
    if (this.stopped) return;
    const controller = new AbortController();
    this.controller = controller;
    this.options
      .open((event) => {
        if (this.stopped) return;
        if (event.event === 'board' && this.status !== 'live') {
          this.backoff.reset();
          this.setStatus('live');
        }
        this.options.onEvent(event);
        if (event.event === 'ended') this.finish('ended');
      }, controller.signal)
      .then(
        () => this.dropped(),
        (error: unknown) => {
          const status = (error as { status?: unknown } | null)?.status;
          if (status === 404 || status === 403) this.finish('failed');
          else this.dropped();
        },
      );
  }

  private dropped(): void {
    if (this.stopped) return;
    this.setStatus('reconnecting');
    this.retry = setTimeout(() => this.connect(), this.backoff.next());
  }

  private finish(status: 'ended' | 'failed'): void {
    this.stop();
    this.setStatus(status);
  }

  private setStatus(status: ConnectionStatus): void {
    if (this.status === status) return;
    this.status = status;
    this.options.onStatus(status);
  }
}
