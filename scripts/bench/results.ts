/**
 * Time to compute a class's results: a 60-minute class of 30 athletes, each with heart rate, power, cadence and
 * speed at 4 Hz (readings shuffled within each second's neighbourhood, as a backlog replay delivers them), is
 * resampled to 1 Hz streams (hub/src/results/streams.ts) and every athlete's results are computed
 * (hub/src/results/metrics.ts). The signals are generated before timing; the figure is the median wall time of
 * `--runs` full computations.
 *
 * A second figure is the whole end of that class as the hub runs it: the readings written to a SQLite series
 * store, each athlete's strap bound by a binding, then `endClassRun` reads every athlete's readings back by
 * attribution, computes and stores the results (median of `--runs` classes).
 *
 *   node --import tsx scripts/bench/results.ts [--athletes 30] [--minutes 60] [--hz 4] [--runs 5]
 *
 * Target: ≤ 200 ms for the whole class.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import type { MetricId, SeriesReadings } from '@pulsebridge/protocol';
import { BOOKINGS, CLASSES } from '../../hub/src/domain/classes/collections.ts';
import { findOccurrence, type ClassDoc } from '../../hub/src/domain/classes/occurrences.ts';
import { GYMS } from '../../hub/src/domain/gyms.ts';
import { BINDINGS } from '../../hub/src/domain/pairing/collections.ts';
import { CLASS_RUNS as SESSIONS_RUNS, SESSIONS } from '../../hub/src/domain/sessions/collections.ts';
import { endClassRun, startClassRun } from '../../hub/src/domain/sessions/sessions.ts';
import { SqliteSeriesStore } from '../../hub/src/storage/series/sqlite-series-store.ts';
import { testDomain } from '../../hub/test/domain/test-domain.ts';
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

// ---- the class ending in the hub: attribution from the series store, results stored ----

const METRIC_OF: Record<keyof SessionReadings, MetricId | undefined> = {
  heartrate: 'heart_rate',
  watts: 'power',
  cadence: 'cadence',
  velocity: 'speed',
  distance: undefined,
  altitude: undefined,
  latlng: undefined,
};

async function classEnd(): Promise<{ ms: number; readings: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'pb-bench-results-'));
  const log = pino({ level: 'warn' });
  const series = new SqliteSeriesStore({ path: join(dir, 'series.db'), log, synchronous: 'NORMAL' });
  await series.start();
  const clock = { now: START_MS };
  const t = await testDomain({ series, now: () => clock.now, log });
  try {
    const { documents } = t.domain;
    const gym = 'bench-gym';
    await documents.collection(GYMS).insert({ id: gym, name: 'Bench', timeZone: 'UTC', createdAt: 0, updatedAt: 0 });
    const start = new Date(START_MS).toISOString().slice(0, 16);
    const cls: ClassDoc = {
      id: 'bench-class',
      gym,
      name: 'Bench class',
      description: '',
      room: '',
      instructors: [],
      capacity: ATHLETES,
      start,
      durationMinutes: SECONDS / 60,
      bookingOpensDays: 7,
      cancellationWindowMinutes: 0,
      waitlistLimit: 0,
      createdAt: 0,
      updatedAt: 0,
    };
    await documents.collection(CLASSES).insert(cls);
    let written = 0;
    for (const [a, readings] of classReadings.entries()) {
      const athlete = `athlete-${a}`;
      const sensor = `strap-${a}`;
      await documents.collection(BOOKINGS).insert({
        id: `booking-${a}`,
        gym,
        class: cls.id,
        occurrence: `${cls.id}@${START_MS}`,
        start: START_MS,
        user: athlete,
        status: 'booked',
        active: true,
        position: 0,
        bookedBy: athlete,
        createdAt: 0,
      });
      await documents.collection(BINDINGS).insert({ id: `binding-${a}`, gym, sensor, athlete, active: true, from: START_MS - 60_000, kind: 'own', createdBy: athlete });
      const batch: SeriesReadings[] = [];
      for (const [name, values] of Object.entries(readings) as [keyof SessionReadings, Reading[]][]) {
        const metric = METRIC_OF[name];
        if (metric === undefined) continue;
        const sorted = [...values].sort((x, y) => x[0] - y[0]);
        batch.push({ sensor, metric, ts: sorted.map((r) => r[0]), values: sorted.map((r) => r[1]) } as SeriesReadings);
        written += sorted.length;
      }
      await series.write([{ gym, agent: 'bench-agent', series: batch }]);
    }
    const occurrence = (await findOccurrence(documents, cls, 'UTC', START_MS))!;
    const timingsEnd: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      await documents.collection(SESSIONS).delete({});
      await documents.collection(SESSIONS_RUNS).delete({});
      clock.now = START_MS;
      const { run: classRun } = await startClassRun(t.domain, { cls, occurrence, by: 'bench' });
      clock.now = START_MS + SECONDS * 1000;
      const started = process.hrtime.bigint();
      await endClassRun(t.domain, { run: classRun, cls, by: 'bench' });
      timingsEnd.push(Number(process.hrtime.bigint() - started) / 1e6);
    }
    const completed = await documents.collection(SESSIONS).count({ state: 'completed' });
    if (completed !== ATHLETES) throw new Error(`expected ${ATHLETES} completed sessions, got ${completed}`);
    return { ms: median(timingsEnd), readings: written };
  } finally {
    await t.cleanup();
    await series.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const ended = await classEnd();
printFigure('results_class_end', +ended.ms.toFixed(1), 'ms', {
  athletes: ATHLETES,
  seconds: SECONDS,
  hz: HZ,
  readings: ended.readings,
  runs: RUNS,
  store: 'sqlite',
});
