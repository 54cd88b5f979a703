/**
 * `npm run bench`: every benchmark, one after the other (they would skew each other on two cores), each
 * printing its JSON lines (DESIGN §9). Pass-through arguments are not supported: run a script directly to
 * change its sizes.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const here = fileURLToPath(new URL('.', import.meta.url));
/** Files here that are not benchmarks: this runner and the helpers the benchmarks share. */
const NOT_BENCHMARKS = new Set(['all.ts', 'figures.ts']);
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
  'ingest.ts',
  'e2e.ts',
  'live-batching.ts',
  'agent-footprint.ts',
];
const found = readdirSync(here).filter((f) => f.endsWith('.ts') && !NOT_BENCHMARKS.has(f));
const benchmarks = [...FIRST.filter((f) => found.includes(f)), ...found.filter((f) => !FIRST.includes(f)).sort()];
// The footprint benchmark measures the built bundle.
const steps: string[][] = [['scripts/build.ts'], ...benchmarks.map((f) => [`scripts/bench/${f}`])];

let failed = 0;
for (const args of steps) {
  const result = spawnSync(process.execPath, ['--import', 'tsx', ...args], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  if (result.status !== 0) {
    failed++;
    console.error(`${args[0]} failed with ${result.signal ?? result.status}`);
  }
}
process.exit(failed ? 1 : 0);
