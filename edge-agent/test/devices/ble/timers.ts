/**
 * Every timer the fake world starts goes through one TimerSet, so `world.close()` can clear them all and
 * the process can exit; after close, nothing new can be scheduled.
 */

export interface Cancelable {
  cancel(): void;
}

const NOTHING: Cancelable = { cancel: () => undefined };

export class TimerSet {
  private readonly timeouts = new Set<NodeJS.Timeout>();
  private readonly immediates = new Set<NodeJS.Immediate>();
  private closed = false;

  get isClosed(): boolean {
    return this.closed;
  }

  timeout(callback: () => void, ms: number): Cancelable {
    if (this.closed) return NOTHING;
    const timer = setTimeout(() => {
      this.timeouts.delete(timer);
      callback();
    }, ms);
    this.timeouts.add(timer);
    return {
      cancel: () => {
        clearTimeout(timer);
        this.timeouts.delete(timer);
      },
    };
  }

  interval(callback: () => void, ms: number): Cancelable {
    if (this.closed) return NOTHING;
    const timer = setInterval(callback, ms);
    this.timeouts.add(timer);
    return {
      cancel: () => {
        clearInterval(timer);
        this.timeouts.delete(timer);
      },
    };
  }

  immediate(callback: () => void): Cancelable {
    if (this.closed) return NOTHING;
    const immediate = setImmediate(() => {
      this.immediates.delete(immediate);
      callback();
    });
    this.immediates.add(immediate);
    return {
      cancel: () => {
        clearImmediate(immediate);
        this.immediates.delete(immediate);
      },
    };
  }

  close(): void {
    this.closed = true;
    for (const timer of this.timeouts) clearTimeout(timer);
    for (const immediate of this.immediates) clearImmediate(immediate);
    this.timeouts.clear();
    this.immediates.clear();
  }
}
