/**
 * Whether the outbox's file takes writes, and when to try again when it does not. A full SD card rarely
 * frees within a flush interval, so after a failed open or commit the next automatic attempt waits for the
 * runtime Backoff (1 s doubling to 30 s); an explicit flush() still tries at once.
 */
import { Backoff, errorMessage } from '@pulsebridge/runtime';
import type { OutboxStorageState } from './types.ts';

const RETRY_INITIAL_MS = 1_000;
const RETRY_MAX_MS = 30_000;

export class StorageHealth {
  private readonly retry = new Backoff({ initialMs: RETRY_INITIAL_MS, maxMs: RETRY_MAX_MS });
  private retryAtMono = Number.NEGATIVE_INFINITY;
  /** What failed and why, by operation, until that operation or a commit succeeds. */
  private readonly failures = new Map<string, string>();

  /** Records a failed operation; returns the error's message. */
  failed(what: string, err: unknown): string {
    const why = errorMessage(err);
    this.failures.set(what, why);
    return why;
  }

  /** The operation succeeded: it is no longer a reason to say storage fails. */
  succeeded(what: string): void {
    this.failures.delete(what);
  }

  /** The file opened or took a commit: nothing that failed before says it cannot write any more. */
  writable(): void {
    this.failures.clear();
    this.retry.reset();
    this.retryAtMono = Number.NEGATIVE_INFINITY;
  }

  /** After a failed open or commit: the next automatic attempt waits for the backoff. */
  retryLater(mono: number): void {
    this.retryAtMono = mono + this.retry.next();
  }

  /** False while the backoff after a failure runs. */
  mayTry(mono: number): boolean {
    return mono >= this.retryAtMono;
  }

  state(open: boolean): OutboxStorageState {
    if (!open) return 'unopened';
    return this.failures.size > 0 ? 'failing' : 'ok';
  }

  /** Why storage is not ok, e.g. "commit readings: database or disk is full"; null when it is. */
  problem(open: boolean): string | null {
    if (this.failures.size === 0) return open ? null : 'not open';
    return [...this.failures].map(([what, why]) => `${what}: ${why}`).join('; ');
  }
}
