/**
 * The simulator on real timers: 100 sensors at 4 Hz (50 athletes, a strap and a machine each) should give
 * about 400 samples a second, and exactly the readings generate() gives for the same window. JSON lines
 * (DESIGN §9):
 *   {"name": "simulator_live_samples_per_second", "value": ..., "unit": "samples/s", "expected": 400, ...}
 *
 *   node --import tsx scripts/bench/simulator-live.ts [--seconds 5] [--runs 3]
 *
 * A sample is one sensor's reading time (heartbeats and battery levels left out); the window runs from the
 * simulator's first look at the clock to its last. Exits 1 when the live output differs from generate().
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import type { Reading } from '@pulsebridge/protocol';
import { SimulatorSource, simulatorConfig } from '../../edge-agent/src/sources/simulator/index.ts';
import { median, printFigure } from './figures.ts';

const { values: args } = parseArgs({ options: { seconds: { type: 'string', default: '5' }, runs: { type: 'string', default: '3' } } });
const SECONDS = Math.max(1, Number(args.seconds));
const RUNS = Math.max(1, Number(args.runs));
const ATHLETES = 50;
const RATE_HZ = 4;

async function oneRun(): Promise<{ samplesPerSecond: number; sensors: number; matchesGenerate: boolean }> {
  let firstNow: number | undefined;
  let lastNow = 0;
  const now = (): number => {
    lastNow = Date.now();
    firstNow ??= lastNow;
    return lastNow;
  };
  const sim = new SimulatorSource({ ...simulatorConfig({ athletes: ATHLETES, sensorRateHz: RATE_HZ }), now, log: pino({ level: 'silent' }) });
  const readings: Reading[] = [];
  let sensors = 0;
  await sim.start({ reading: (r) => void readings.push(r), inventory: (s) => void (sensors = s.length) });
  // The measured window itself: the simulator runs on its own timer meanwhile.
  await sleep(SECONDS * 1000);
  await sim.stop();
  const from = firstNow ?? lastNow;
  const seconds = (lastNow + 1 - from) / 1000;
  const samples = new Set(readings.filter((r) => r.metric !== 'rr_interval' && r.metric !== 'battery').map((r) => `${r.sensor} ${r.ts}`));
  const generated = sim.generate(from, lastNow + 1);
  const matchesGenerate = generated.length === readings.length && generated.every((r, i) => JSON.stringify(r) === JSON.stringify(readings[i]));
  return { samplesPerSecond: samples.size / seconds, sensors, matchesGenerate };
}

const results = [];
for (let run = 0; run < RUNS; run++) results.push(await oneRun());
const sensors = results[0]?.sensors ?? 0;
printFigure('simulator_live_samples_per_second', Math.round(median(results.map((r) => r.samplesPerSecond))), 'samples/s', {
  expected: sensors * RATE_HZ,
  sensors,
  seconds: SECONDS,
  runs: RUNS,
  matchesGenerate: results.every((r) => r.matchesGenerate),
});
if (!results.every((r) => r.matchesGenerate)) {
  console.error('the live output differs from generate() over the same window');
  process.exitCode = 1;
}
