/**
 * The one retry delay of every Pulsebridge process: exponential with jitter, so a hub restart is not met by
 * every gym's agent reconnecting in the same instant, and a flapping sensor does not hammer its radio.
 *
 * The n-th delay (n from 0) is drawn uniformly from [ceiling·(1 − jitter), ceiling], where the ceiling is
 * `initialMs · factor^n`, capped at `maxMs`; never below `initialMs`.
 */
export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  /** Growth per attempt; default 2. */
  factor?: number;
  /** Share of the ceiling that is randomised, 0..1; default 0.5. */
  jitter?: number;
  /** Injected for deterministic tests. */
  random?: () => number;
}

export class Backoff {
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly factor: number;
  private readonly jitter: number;
  private readonly random: () => number;
  private count = 0;

  constructor(options: BackoffOptions) {
    this.initialMs = options.initialMs;
    this.maxMs = Math.max(options.initialMs, options.maxMs);
    this.factor = options.factor ?? 2;
    this.jitter = Math.min(1, Math.max(0, options.jitter ?? 0.5));
    this.random = options.random ?? Math.random;
  }

  /** Delays handed out since the last reset. */
  get attempts(): number {
    return this.count;
  }

  /** The ceiling of the next delay, without jitter. */
  get ceilingMs(): number {
    return Math.min(this.maxMs, this.initialMs * this.factor ** Math.min(this.count, 64));
  }

  /** The delay before the next attempt; counts the attempt. */
  next(): number {
    const ceiling = this.ceilingMs;
    this.count++;
    return Math.max(this.initialMs, Math.round(ceiling * (1 - this.jitter * this.random())));
  }

  /** After a success: the next delay starts from `initialMs` again. */
  reset(): void {
    this.count = 0;
  }
}
