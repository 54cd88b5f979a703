/**
 * Counts under two labels (e.g. kind and result), read at scrape time like registerScraped's: registerScraped
 * takes one label, and these metrics already had two when the hub started reading them from state.
 */
import { Counter, type Registry } from 'prom-client';

export class PairCounts {
  private readonly counts = new Map<string, Map<string, number>>();

  inc(first: string, second: string): void {
    let inner = this.counts.get(first);
    if (!inner) this.counts.set(first, (inner = new Map()));
    inner.set(second, (inner.get(second) ?? 0) + 1);
  }

  get(first: string, second: string): number {
    return this.counts.get(first)?.get(second) ?? 0;
  }

  *entries(): Generator<[string, string, number]> {
    for (const [first, inner] of this.counts) for (const [second, n] of inner) yield [first, second, n];
  }
}

export function registerScrapedPairs(registry: Registry, metric: { name: string; help: string; labelNames: readonly [string, string]; counts: PairCounts }): void {
  const [a, b] = metric.labelNames;
  new Counter({
    name: metric.name,
    help: metric.help,
    labelNames: [a, b],
    registers: [registry],
    collect() {
      this.reset();
      for (const [first, second, n] of metric.counts.entries()) this.inc({ [a]: first, [b]: second }, n);
    },
  });
}
