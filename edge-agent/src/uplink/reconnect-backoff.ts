/**
 * Delays between reconnect attempts: exponential with jitter, so a hub restart is not met by every gym's
 * agent reconnecting in the same instant.
 */
export interface ReconnectBackoffOptions {
  minMs: number;
  maxMs: number;
  /** Injected for deterministic tests. */
  random?: () => number;
}

export class ReconnectBackoff {
  readonly #minMs: number;
  readonly #maxMs: number;
  readonly #random: () => number;
  #attempts = 0;

  constructor(options: ReconnectBackoffOptions) {
    this.#minMs = options.minMs;
    this.#maxMs = Math.max(options.minMs, options.maxMs);
    this.#random = options.random ?? Math.random;
  }

  get attempts(): number {
    return this.#attempts;
  }

  /** The delay before the next attempt: uniformly between the minimum and a ceiling that doubles per attempt. */
  next(): number {
    const ceiling = Math.min(this.#maxMs, this.#minMs * 2 ** Math.min(this.#attempts, 30));
    this.#attempts++;
    return Math.round(this.#minMs + this.#random() * (ceiling - this.#minMs));
  }

  reset(): void {
    this.#attempts = 0;
  }
}
