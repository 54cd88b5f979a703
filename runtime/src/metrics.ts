/**
 * The one way a component exposes its counters to Prometheus: it keeps plain numbers in its own state and
 * registers metrics that read them at scrape time, as the Prometheus client guidelines recommend for
 * values that already exist. There is then one source of truth for `/healthz`, logs and `/metrics`.
 */
import { Counter, Gauge, type Registry } from 'prom-client';

/** One labelled value: the label values by label name, and the number. */
export type ScrapedSample = readonly [labels: Readonly<Record<string, string>>, value: number];

export interface ScrapedMetric {
  name: string;
  help: string;
  /** Counters only go up (totals since start); gauges are current values. */
  kind: 'counter' | 'gauge';
  /**
   * One label whose values the reader returns as keys (`{ sent: 3, acked: 2 }` for 'outcome'), or several
   * labels, for which the reader returns samples (`[[{ kind, result }, 3], ...]`). None for a single number.
   */
  label?: string | readonly string[];
  read: () => number | Readonly<Record<string, number>> | Iterable<ScrapedSample>;
}

/** Counts under several labels, kept as state for a metric with `label: [a, b, ...]` to read. */
export class LabelledCounts {
  private readonly counts = new Map<string, { labels: Record<string, string>; value: number }>();

  constructor(private readonly labelNames: readonly string[]) {}

  inc(labels: Readonly<Record<string, string>>, by = 1): void {
    const key = this.labelNames.map((name) => labels[name] ?? '').join('\u0000');
    const entry = this.counts.get(key);
    if (entry) entry.value += by;
    else this.counts.set(key, { labels: { ...labels }, value: by });
  }

  get(labels: Readonly<Record<string, string>>): number {
    return this.counts.get(this.labelNames.map((name) => labels[name] ?? '').join('\u0000'))?.value ?? 0;
  }

  *samples(): Generator<ScrapedSample> {
    for (const { labels, value } of this.counts.values()) yield [labels, value];
  }
}

export function registerScraped(registry: Registry, metrics: readonly ScrapedMetric[]): void {
  for (const metric of metrics) {
    const labelNames = metric.label === undefined ? [] : typeof metric.label === 'string' ? [metric.label] : [...metric.label];
    const set = (target: Gauge | Counter, labels: Record<string, string> | undefined, value: number): void => {
      if (metric.kind === 'gauge') {
        if (labels) (target as Gauge).set(labels, value);
        else (target as Gauge).set(value);
      } else if (labels) (target as Counter).inc(labels, value);
      else (target as Counter).inc(value);
    };
    const fill = (target: Gauge | Counter): void => {
      target.reset();
      const value = metric.read();
      if (typeof value === 'number') return set(target, undefined, value);
      if (labelNames.length === 0) throw new TypeError(`metric ${metric.name}: a reader that returns labelled values needs a label name`);
      if (Symbol.iterator in value) {
        for (const [labels, v] of value as Iterable<ScrapedSample>) set(target, { ...labels }, v);
        return;
      }
      const [label] = labelNames as [string];
      for (const [key, v] of Object.entries(value)) set(target, { [label]: key }, v);
    };
    const configuration = {
      name: metric.name,
      help: metric.help,
      labelNames,
      registers: [registry],
      collect(this: Gauge | Counter) {
        fill(this);
      },
    };
    if (metric.kind === 'gauge') new Gauge(configuration);
    else new Counter(configuration);
  }
}
