/**
 * Matches what the stick sends against what the driver waits for. The stick answers one command at a time,
 * but broadcast data keeps streaming in between, so every waiter filters for its own answer.
 */
import type { AntMessage } from '../codec/messages.ts';
import { AntStickError } from './errors.ts';

interface Pending {
  match(message: AntMessage): boolean;
  resolve(message: AntMessage): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

export class ResponseWaiter {
  private readonly pending = new Set<Pending>();

  /**
   * Resolves with the first message `match` accepts; rejects with AntStickError('timeout') naming `what`
   * after `timeoutMs`.
   */
  wait(what: string, match: (message: AntMessage) => boolean, timeoutMs: number): Promise<AntMessage> {
    return new Promise((resolve, reject) => {
      const entry: Pending = {
        match,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.pending.delete(entry);
          reject(new AntStickError('timeout', `timed out after ${timeoutMs} ms waiting for ${what}`));
        }, timeoutMs),
      };
      this.pending.add(entry);
    });
  }

  /** Hands a message to the first waiter that wants it; true if one did. */
  offer(message: AntMessage): boolean {
    for (const entry of this.pending) {
      if (!entry.match(message)) continue;
      clearTimeout(entry.timer);
      this.pending.delete(entry);
      entry.resolve(message);
      return true;
    }
    return false;
  }

  rejectAll(error: Error): void {
    for (const entry of this.pending) {
      clearTimeout(entry.timer);
      entry.reject(error);
    }
    this.pending.clear();
  }

  get size(): number {
    return this.pending.size;
  }
}
