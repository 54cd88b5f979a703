/**
 * What every benchmark shares: the median of its runs, rates timed by the wall clock and by CPU time, a
 * scratch folder, and the one output format, a JSON line per figure (DESIGN §9): {"name", "value", "unit", ...details}.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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

/** Items per second of one timed piece of work, by the wall clock and by the CPU time it took. */
export interface Rate {
  wall: number;
  cpu: number;
}

function rateSince(items: number, cpu0: NodeJS.CpuUsage, wall0: bigint): Rate {
  const wallSeconds = Number(process.hrtime.bigint() - wall0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  return { wall: items / wallSeconds, cpu: items / ((cpu.user + cpu.system) / 1e6) };
}

/** The rate at which `work` handles `items`. */
export function timedRate(items: number, work: () => void): Rate {
  const cpu0 = process.cpuUsage();
  const wall0 = process.hrtime.bigint();
  work();
  return rateSince(items, cpu0, wall0);
}

export async function timedRateAsync(items: number, work: () => Promise<void>): Promise<Rate> {
  const cpu0 = process.cpuUsage();
  const wall0 = process.hrtime.bigint();
  await work();
  return rateSince(items, cpu0, wall0);
}

/**
 * One rate figure against the bare tool underneath: the median wall-clock rate of `ours`, with the median of
 * `bare` as its limit, their ratio, and both CPU-time rates.
 */
export function printRate(name: string, unit: string, ours: readonly Rate[], bare: readonly Rate[], details: Record<string, unknown> = {}): void {
  const value = median(ours.map((r) => r.wall));
  const limit = median(bare.map((r) => r.wall));
  printFigure(name, Math.round(value), unit, {
    limit: Math.round(limit),
    ratio: +(value / limit).toFixed(3),
    cpuValue: Math.round(median(ours.map((r) => r.cpu))),
    cpuLimit: Math.round(median(bare.map((r) => r.cpu))),
    ...details,
  });
}

/** Runs `work` in a fresh folder under the system's temporary one, removed afterwards. */
export async function withTempDir<T>(prefix: string, work: (dir: string) => T | Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), `pb-bench-${prefix}-`));
  try {
    return await work(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
