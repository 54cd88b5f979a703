/** Logs a repeating problem once per interval and key, and says how many were left unlogged. */
export class LogLimiter {
  private readonly seen = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly intervalMs: number,
    private readonly maxKeys = 10_000,
  ) {}

  /** The number suppressed since the last one let through, or undefined when this one is suppressed. */
  admit(key: string, at: number): number | undefined {
    const entry = this.seen.get(key);
    if (entry && at - entry.at < this.intervalMs) {
      entry.suppressed++;
      return undefined;
    }
    // Keys come from agents (ids, event types): keep the map bounded rather than exact.
    if (!entry && this.seen.size >= this.maxKeys) this.seen.clear();
    this.seen.set(key, { at, suppressed: 0 });
    return entry?.suppressed ?? 0;
  }
}
