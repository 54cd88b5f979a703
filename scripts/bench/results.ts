/**
 * Time to compute a class's results: a 60-minute class of 30 athletes, each with heart rate, power, cadence and
 * speed at 4 Hz (readings shuffled within each second's neighbourhood, as a backlog replay delivers them), is
 * resampled to 1 Hz streams (hub/src/results/streams.ts) and every athlete's results are computed
 * (hub/src/results/metrics.ts). The signals are generated before timing; the figure is the median wall time of
 * `--runs` full computations.
 *
 *   node --import tsx scripts/bench/results.ts [--athletes 30] [--minutes 60] [--hz 4] [--runs 5]
 *
 * Target: ≤ 200 ms for the whole class.
 */
import { parseArgs } from 'node:util';
import { sessionResults, type SessionResults } from '../../hub/src/results/metrics.ts';
import { resampleSession, type Reading, type SessionReadings } from '../../hub/src/results/streams.ts';
import { median, printFigure } from './figures.ts';

const { values: args } = parseArgs({
  options: {
    athletes: { type: 'string', default: '30' },
    minutes: { type: 'string', default: '60' },
    hz: { type: 'string', default: '4' },
    runs: { type: 'string', default: '5' },
  },
});
const ATHLETES = Math.max(1, Number(args.athletes));
const SECONDS = Math.max(1, Number(args.minutes)) * 60;
const HZ = Math.max(1, Number(args.hz));
const RUNS = Math.max(1, Number(args.runs));
const START_MS = Date.UTC(2026, 11, 3, 18, 0, 0);

/** A small seeded generator, so every run measures the same signals. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

function athleteReadings(athlete: number): SessionReadings {
  const next = random(athlete + 1);
  const series = (value: (s: number) => number): Reading[] => {
    const readings: Reading[] = [];
    for (let i = 0; i < SECONDS * HZ; i++) readings.push([START_MS + (i * 1000) / HZ, value(i / HZ)]);
    // A few neighbours swapped: the order of arrival is not the order of time.
    for (let i = 1; i < readings.length; i += 7) [readings[i - 1], readings[i]] = [readings[i]!, readings[i - 1]!];
    return readings;
  };
  const interval = (s: number) => (Math.floor(s / 240) % 2 === 0 ? 1 : 0);
  return {
    heartrate: series((s) => 120 + 40 * interval(s) + next() * 6),
    watts: series((s) => 150 + 150 * interval(s) + next() * 30),
    cadence: series(() => 85 + next() * 10),
    velocity: series((s) => 8 + 3 * interval(s) + next()),
  };
}

const classReadings = Array.from({ length: ATHLETES }, (_, a) => athleteReadings(a));
const facts = { maxHeartRate: 190, ageYears: 35, weightKg: 75, sex: 'female' as const };

const timings: number[] = [];
let results: SessionResults[] = [];
for (let run = 0; run < RUNS; run++) {
  const started = process.hrtime.bigint();
  results = classReadings.map((readings) => sessionResults(resampleSession(readings, { startMs: START_MS, endMs: START_MS + SECONDS * 1000 }), facts));
  timings.push(Number(process.hrtime.bigint() - started) / 1e6);
}

printFigure('results_class_compute', +median(timings).toFixed(1), 'ms', {
  target: 200,
  athletes: ATHLETES,
  seconds: SECONDS,
  hz: HZ,
  readings: ATHLETES * SECONDS * HZ * 4,
  runs: RUNS,
  max: +Math.max(...timings).toFixed(1),
  // A figure from the results, so that the work cannot be optimised away and a broken computation shows.
  effortPoints: +(results[0]?.heartRate?.effortPoints ?? 0).toFixed(1),
});
