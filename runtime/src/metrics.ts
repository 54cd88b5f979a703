/**
 * The one way a component exposes its counters to Prometheus: it keeps plain numbers in its own state and
 * registers metrics that read them at scrape time, as the Prometheus client guidelines recommend for
 * values that already exist. There is then one source of truth for `/healthz`, logs and `/metrics`.
 */
import { Counter, Gauge, type Registry } from 'prom-client';

export interface ScrapedMetric {
  name: string;
  help: string;
  /** Counters only go up (totals since start); gauges are current values. */
  kind: 'counter' | 'gauge';
  /** The label whose values the reader returns as keys, e.g. 'outcome'; none for a single number. */
  label?: string;
  read: () => number | Readonly<Record<string, number>>;
}

export function registerScraped(registry: Registry, metrics: readonly ScrapedMetric[]): void {
  for (const metric of metrics) {
    const labelNames = metric.label === undefined ? [] : [metric.label];
    const label = metric.label;
    const fill = (target: Gauge | Counter): void => {
      target.reset();
      const value = metric.read();
      if (typeof value === 'number') {
        if (metric.kind === 'gauge') (target as Gauge).set(value);
        else (target as Counter).inc(value);
        return;
      }
      if (label === undefined) throw new TypeError(`metric ${metric.name}: a reader that returns labelled values needs a label name`);
      for (const [key, v] of Object.entries(value)) {
        if (metric.kind === 'gauge') (target as Gauge).set({ [label]: key }, v);
        else (target as Counter).inc({ [label]: key }, v);
      }
    };
    if (metric.kind === 'gauge') {
      new Gauge({ name: metric.name, help: metric.help, labelNames, registers: [registry], collect() { fill(this); } });
    } else {
      new Counter({ name: metric.name, help: metric.help, labelNames, registers: [registry], collect() { fill(this); } });
    }
  }
}
