/**
 * Tells the operator, through the agent's events, that readings were dropped: at most once per interval,
 * with how many since the last report and the totals by reason. The outbox counts every drop itself, so it
 * is the one place that can say so.
 */
import type { OutboxDropped } from './types.ts';

export interface OutboxDropReport {
  /** Readings dropped since the previous report. */
  readings: number;
  totals: OutboxDropped;
  /** One line for an operator, e.g. "12 readings dropped since the last report (totals: overflow 12)". */
  summary: string;
}

/** Reports are this far apart at least, so a full outbox does not flood the hub with events. */
export const DROP_REPORT_INTERVAL_MS = 10_000;

export class DropReporter {
  private reported = 0;
  private lastReportMono = Number.NEGATIVE_INFINITY;

  /** Drops counted so far are not news: they were there when the outbox opened. */
  baseline(totals: OutboxDropped): void {
    this.reported = sum(totals);
  }

  /** A report when readings were dropped since the last one and the interval has passed. */
  check(totals: OutboxDropped, mono: number): OutboxDropReport | undefined {
    const total = sum(totals);
    if (total <= this.reported || mono - this.lastReportMono < DROP_REPORT_INTERVAL_MS) return undefined;
    const readings = total - this.reported;
    this.reported = total;
    this.lastReportMono = mono;
    const by = Object.entries(totals)
      .filter(([, n]) => n > 0)
      .map(([why, n]) => `${why} ${n}`)
      .join(', ');
    return { readings, totals: { ...totals }, summary: `${readings} readings dropped since the last report (totals: ${by})` };
  }
}

function sum(totals: OutboxDropped): number {
  let total = 0;
  for (const n of Object.values(totals)) total += n;
  return total;
}
