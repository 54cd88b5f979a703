/**
 * Matches what the stick sends against what the driver waits for. The stick answers one command at a time,
 * but broadcast data keeps streaming in between, so every waiter filters for its own answer.
 */
import { withTimeout } from '@pulsebridge/runtime';
import type { AntMessage } from '../codec/messages.ts';
import { AntStickError } from './errors.ts';

interface Pending {
  match(message: AntMessage): boolean;
  resolve(message: AntMessage): void;
  reject(error: Error): void;
}

export class ResponseWaiter {
  private readonly pending = new Set<Pending>();

  /**
   * Resolves with the first message `match` accepts; rejects with AntStickError('timeout') naming `what`
   * after `timeoutMs`.
   */
  wait(what: string, match: (message: AntMessage) => boolean, timeoutMs: number): Promise<AntMessage> {
    let entry: Pending | undefined;
    const answer = new Promise<AntMessage>((resolve, reject) => {
      entry = { match, resolve, reject };
      this.pending.add(entry);
    });
    return withTimeout(answer, timeoutMs, what, {
      onTimeout: () => {
        if (entry) this.pending.delete(entry);
      },
      error: (timeout) => new AntStickError('timeout', timeout.message),
    });
  }

  /** Hands a message to the first waiter that wants it; true if one did. */
  offer(message: AntMessage): boolean {
    for (const entry of this.pending) {
      if (!entry.match(message)) continue;
      this.pending.delete(entry);
      entry.resolve(message);
      return true;
    }
    return false;
  }

  rejectAll(error: Error): void {
    for (const entry of this.pending) entry.reject(error);
    this.pending.clear();
  }

  get size(): number {
    return this.pending.size;
  }
}
