/**
 * `npm run bench`: every benchmark, one after the other (they would skew each other on two cores), each
 * printing its JSON lines (DESIGN §9). Standard output carries those lines and nothing else, so it can be
 * piped into a file or a tool: every other line of a step (the build's progress, a stray log line) goes to
 * standard error.
 *
 *   node --import tsx scripts/bench/all.ts [--only FILE ...]
 *
 * `--only ble-decoders.ts` runs that benchmark alone. Arguments are not passed on: run a script directly to
 * change its sizes.
 */
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runWhenInvoked } from '@pulsebridge/runtime';

const root = fileURLToPath(new URL('../..', import.meta.url));
const here = fileURLToPath(new URL('.', import.meta.url));
/** Files here that are not benchmarks: this runner and the helpers the benchmarks share. */
const NOT_BENCHMARKS = new Set(['all.ts', 'figures.ts', 'board-fixture.ts']);
/**
 * Every benchmark file in this folder, exactly once, so a new one cannot be forgotten: these first, in this
 * order (the one the figures have been printed in so far), then any other, by name.
 */
const FIRST = [
  'ble-decoders.ts',
  'ble-source.ts',
  'ant-decoders.ts',
  'serial-decoders.ts',
  'replug.ts',
  'simulator-live.ts',
  'outbox.ts',
  'series-store.ts',
  'series-retention.ts',
  'ingest.ts',
  'e2e.ts',
  'live-batching.ts',
  'agent-footprint.ts',
];
/** Measures the built bundle, so the build runs first when it is selected. */
const NEEDS_BUILD = 'agent-footprint.ts';

export interface BenchOutput {
  /** One figure: a JSON line, without its newline. */
  figure: (line: string) => void;
  /** Everything else, as it comes. */
  other: (text: string) => void;
}

const processOutput: BenchOutput = {
  figure: (line) => process.stdout.write(`${line}\n`),
  other: (text) => process.stderr.write(text),
};

/** A figure line is a JSON object; anything else a step prints is not a figure. */
export function isFigureLine(line: string): boolean {
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null && !Array.isArray(value);
  } catch {
    return false;
  }
}

/** Runs `node --import tsx <args>` from the repository root; its figure lines go to `figure`, the rest to `other`. */
export function runStep(args: readonly string[], output: BenchOutput = processOutput): Promise<number | string> {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stderr.on('data', (chunk: Buffer) => output.other(chunk.toString()));
  const lines = createInterface({ input: child.stdout, crlfDelay: Infinity });
  lines.on('line', (line) => (isFigureLine(line) ? output.figure(line) : output.other(`${line}\n`)));
  const linesDone = new Promise<void>((resolve) => lines.once('close', resolve));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => {
      void linesDone.then(() => resolve(signal ?? code ?? 1));
    });
  });
}

export function benchmarkFiles(): string[] {
  const found = readdirSync(here).filter((f) => f.endsWith('.ts') && !NOT_BENCHMARKS.has(f));
  return [...FIRST.filter((f) => found.includes(f)), ...found.filter((f) => !FIRST.includes(f)).sort()];
}

export async function main(argv: readonly string[], output: BenchOutput = processOutput): Promise<number> {
  const { values } = parseArgs({ args: [...argv], options: { only: { type: 'string', multiple: true } }, strict: true });
  const all = benchmarkFiles();
  const unknown = (values.only ?? []).filter((f) => !all.includes(f));
  if (unknown.length > 0) {
    output.other(`bench: no benchmark ${unknown.join(', ')}; there are ${all.join(', ')}\n`);
    return 2;
  }
  const selected = values.only ? all.filter((f) => values.only!.includes(f)) : all;
  const steps: string[][] = [...(selected.includes(NEEDS_BUILD) ? [['scripts/build.ts']] : []), ...selected.map((f) => [`scripts/bench/${f}`])];
  let failed = 0;
  for (const args of steps) {
    const status = await runStep(args, output);
    if (status !== 0) {
      failed++;
      output.other(`${args[0]} failed with ${status}\n`);
    }
  }
  return failed ? 1 : 0;
}

runWhenInvoked(import.meta.url, 'bench', main);
