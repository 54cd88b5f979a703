/** Message handling and ack publishes in progress, so stop() can wait for them. */
import { settlesWithin } from '@pulsebridge/runtime';
import type { Logger } from 'pino';

export class Tasks {
  private pending = 0;
  private idle: { promise: Promise<void>; resolve: () => void } | undefined;

  constructor(private readonly log: Logger) {}

  /** A counter rather than a set of promises: this runs for every message and ack, on the hot path. */
  track(task: Promise<void>): void {
    this.pending++;
    task.then(this.done, (err: unknown) => {
      this.log.error({ err }, 'ingest task failed unexpectedly');
      this.done();
    });
  }

  /** Waits for every tracked task, at most `withinMs`. */
  async settle(withinMs: number): Promise<void> {
    if (this.pending === 0) return;
    if (!this.idle) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      this.idle = { promise, resolve };
    }
    await settlesWithin(this.idle.promise, withinMs);
  }

  private readonly done = (): void => {
    this.pending--;
    if (this.pending === 0 && this.idle) {
      this.idle.resolve();
      this.idle = undefined;
    }
  };
}
