/**
 * `npm run bench`: every benchmark, one after the other (they would skew each other on two cores), each
 * printing its JSON lines (DESIGN §9). Pass-through arguments are not supported: run a script directly to
 * change its sizes.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const steps: string[][] = [
  ['scripts/build.ts'],
  ['scripts/bench/ble-decoders.ts'],
  ['scripts/bench/ble-source.ts'],
  ['scripts/bench/ant-decoders.ts'],
  ['scripts/bench/serial-decoders.ts'],
  ['scripts/bench/replug.ts'],
  ['scripts/bench/simulator-live.ts'],
  ['scripts/bench/outbox.ts'],
  ['scripts/bench/series-store.ts'],
  ['scripts/bench/ingest.ts'],
  ['scripts/bench/e2e.ts'],
  ['scripts/bench/live-batching.ts'],
  ['scripts/bench/agent-footprint.ts'],
];

let failed = 0;
for (const args of steps) {
  const result = spawnSync(process.execPath, ['--import', 'tsx', ...args], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  if (result.status !== 0) {
    failed++;
    console.error(`${args[0]} failed with ${result.signal ?? result.status}`);
  }
}
process.exit(failed ? 1 : 0);
