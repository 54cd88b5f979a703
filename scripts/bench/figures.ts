/**
 * What every benchmark shares: the median of its runs and the one output format, a JSON line per figure
 * (DESIGN §9): {"name", "value", "unit", ...details}.
 */

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

export function printFigure(name: string, value: number, unit: string, details: Record<string, unknown> = {}): void {
  console.log(JSON.stringify({ name, value, unit, ...details }));
}

/** Items per second of `timed`, which returns how many items it handled: the median of `runs` calls. */
export function medianRate(runs: number, timed: () => number): number {
  const rates: number[] = [];
  for (let run = 0; run < runs; run++) {
    const started = process.hrtime.bigint();
    const items = timed();
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    rates.push(items / seconds);
  }
  return median(rates);
}
