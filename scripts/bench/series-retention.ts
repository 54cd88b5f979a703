/**
 * SQLite series retention while ingest writes, as JSON lines (DESIGN §9): how long one retention chunk holds
 * the database (ingest's longest possible wait for it), how long ingest's writes take meanwhile, and how fast
 * a round folds old readings into rollups.
 *
 *   node --import tsx scripts/bench/series-retention.ts [--old 1000000] [--chunk-rows 5000] [--series 100]
 *
 * The store holds `--old` readings older than rawDays over `--series` series (one every second); a retention
 * round with 1m and 1h rollups folds and deletes them while a writer stores 1 000 new readings every 10 ms
 * (100 000 readings/s offered, what ~400 agents at 1 Hz × 250 series send is far below), each write timed.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { SqliteSeriesStore } from '../../hub/src/storage/series/sqlite-series-store.ts';
import type { SeriesWrite } from '../../hub/src/storage/series/series-store.ts';
import { printFigure, withTempDir } from './figures.ts';

const { values: args } = parseArgs({
  options: {
    old: { type: 'string', default: '1000000' },
    'chunk-rows': { type: 'string', default: '5000' },
    series: { type: 'string', default: '100' },
  },
});
const oldReadings = Number(args.old);
const chunkRows = Number(args['chunk-rows']);
const seriesCount = Number(args.series);
if (![oldReadings, chunkRows, seriesCount].every((n) => Number.isInteger(n) && n > 0)) {
  console.error('--old, --chunk-rows and --series must be positive integers');
  process.exit(2);
}

const DAY = 86_400_000;
const T0 = Date.UTC(2025, 0, 1);
const NOW = T0 + 40 * DAY;

function write(from: number, perSeries: number, series: number): SeriesWrite[] {
  return Array.from({ length: series }, (_, s) => ({
    gym: 'g1',
    agent: `a${s % 20}`,
    series: [
      {
        sensor: `s${s}`,
        metric: 'power' as const,
        ts: Array.from({ length: perSeries }, (_, i) => from + i * 1_000),
        values: Array.from({ length: perSeries }, (_, i) => (i * 37) % 400),
      },
    ],
  }));
}

const quantile = (sorted: number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;

await withTempDir('retention', async (dir) => {
  const store = new SqliteSeriesStore({
    path: join(dir, 'series.db'),
    log: pino({ level: 'silent' }),
    now: () => NOW,
    retention: { rawDays: 30, rollups: [{ everyMs: 60_000, keepDays: 365 }, { everyMs: 3_600_000 }], roundIntervalMs: 86_400_000, chunkRows },
  });
  await store.start();
  const perSeries = Math.ceil(oldReadings / seriesCount);
  for (let done = 0; done < perSeries; done += 10_000) await store.write(write(T0 + done * 1_000, Math.min(10_000, perSeries - done), seriesCount));

  // Ingest's side: a write of 1 000 new readings every 10 ms, each timed: 3 s alone (the baseline), then
  // until the round ends.
  let writeMs: number[] = [];
  let writing = true;
  let next = NOW - 600_000;
  const writer = (async () => {
    while (writing) {
      const started = performance.now();
      await store.write(write(next, 10, 100));
      writeMs.push(performance.now() - started);
      next += 10_000;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  })();
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  const baseline = [...writeMs].sort((a, b) => a - b);
  writeMs = [];
  const round = await store.runRetention();
  writing = false;
  await writer;
  await store.stop();
  if (!round) throw new Error('retention did not run');
  writeMs.sort((a, b) => a - b);
  const details = { oldReadings: round.foldedReadings, chunkRows, series: seriesCount, chunks: round.chunks, rollups: '1m,1h' };
  printFigure('retention longest chunk', Number(round.longestChunkMs.toFixed(1)), 'ms', details);
  printFigure('retention fold rate', Math.round(round.foldedReadings / (round.durationMs / 1000)), 'readings/s', { ...details, durationMs: Math.round(round.durationMs) });
  printFigure('ingest write during retention p99', Number(quantile(writeMs, 0.99).toFixed(1)), 'ms', { writes: writeMs.length, readingsPerWrite: 1_000 });
  printFigure('ingest write without retention p99', Number(quantile(baseline, 0.99).toFixed(1)), 'ms', {
    writes: baseline.length,
    median: Number(quantile(baseline, 0.5).toFixed(2)),
  });
  printFigure('ingest write during retention max', Number((writeMs.at(-1) ?? 0).toFixed(1)), 'ms', { writes: writeMs.length, median: Number(quantile(writeMs, 0.5).toFixed(2)) });
});
