/**
 * Which reading times the hub believes: a window around its own clock. Older than any outbox keeps
 * readings, or later than a small allowance ahead, a time is wrong (a box's clock set to 1970 or 3000), and
 * stored it would sit in an athlete's timeline for good.
 */
import type { SeriesReadings } from '@pulsebridge/protocol';

export interface ReadingTimeWindow {
  /** Readings stamped more than this before the hub's clock are refused. */
  maxReadingAgeMs: number;
  /** Readings stamped more than this after the hub's clock are refused. */
  maxReadingLeadMs: number;
}

export type ReadingTimeProblem = 'too_old' | 'too_far_ahead';
export const READING_TIME_PROBLEMS: readonly ReadingTimeProblem[] = ['too_old', 'too_far_ahead'];

/** Why the time `ts` (UTC ms) is outside the window around `now`, or undefined when it is inside. */
export function readingTimeProblem(ts: number, now: number, window: ReadingTimeWindow): ReadingTimeProblem | undefined {
  if (ts < now - window.maxReadingAgeMs) return 'too_old';
  if (ts > now + window.maxReadingLeadMs) return 'too_far_ahead';
  return undefined;
}

/**
 * The readings inside the window, and how many were left out for each problem. Series keep their order;
 * a series left without readings is dropped. When nothing is out of the window the input is returned as is.
 */
export function readingsInWindow(
  series: readonly SeriesReadings[],
  now: number,
  window: ReadingTimeWindow,
): { series: SeriesReadings[]; refused: Record<ReadingTimeProblem, number> } {
  const refused: Record<ReadingTimeProblem, number> = { too_old: 0, too_far_ahead: 0 };
  const kept: SeriesReadings[] = [];
  let changed = false;
  for (const s of series) {
    let out: SeriesReadings | undefined;
    for (let i = 0; i < s.ts.length; i++) {
      const problem = readingTimeProblem(s.ts[i]!, now, window);
      if (problem) {
        refused[problem]++;
        // Copy only from the first refusal on: a batch inside the window costs no allocation.
        out ??= { sensor: s.sensor, metric: s.metric, ts: s.ts.slice(0, i), values: s.values.slice(0, i) };
      } else if (out) {
        out.ts.push(s.ts[i]!);
        out.values.push(s.values[i]!);
      }
    }
    if (out) changed = true;
    const result = out ?? s;
    if (result.ts.length > 0) kept.push(result);
  }
  return { series: changed ? kept : [...series], refused };
}
