/**
 * SeriesStore (SQLite) write and read rates against the bare tool underneath, as JSON lines (DESIGN §9).
 *
 *   node --import tsx scripts/bench/series-store.ts [--readings 500000] [--per-call 5000] [--runs 5]
 *
 * The store writes the readings the way ingest does: write() calls of `--per-call` readings spread over
 * 40 series of 20 agents, one transaction each. The limit is the same rows inserted by bare better-sqlite3
 * into an equivalent table, same pragmas, one transaction per call: multi-row INSERT statements (the
 * fastest bare form measured: 64 rows, the last statement of a series shorter), and for reference one row per
 * statement. Each figure is the median of
 * `--runs` runs, each on a fresh file. `value` is from wall time; `cpuValue` (and `cpuLimit`) from the process's
 * CPU time, steadier when other work shares the machine.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import type { SeriesReadings } from '@pulsebridge/protocol';
import { SqliteSeriesStore } from '../../hub/src/storage/series/sqlite-series-store.ts';
import type { SeriesWrite } from '../../hub/src/storage/series/series-store.ts';
import { median, printFigure, printRate, timedRate, timedRateAsync, withTempDir, type Rate } from './figures.ts';

const { values: args } = parseArgs({
  options: {
    readings: { type: 'string', default: '500000' },
    'per-call': { type: 'string', default: '5000' },
    runs: { type: 'string', default: '5' },
  },
});
const totalReadings = Number(args.readings);
const perCall = Number(args['per-call']);
const runs = Number(args.runs);
if (![totalReadings, perCall, runs].every((n) => Number.isInteger(n) && n > 0)) {
  console.error('--readings, --per-call and --runs must be positive integers');
  process.exit(2);
}

const AGENTS = 20;
const SENSORS_PER_AGENT = 2;
const SERIES = AGENTS * SENSORS_PER_AGENT;
const T0 = Date.UTC(2025, 0, 1);

/** Ingest-shaped calls: each call carries the next `perCall / SERIES` readings of every series at 4 Hz. */
function makeCalls(): SeriesWrite[][] {
  const calls: SeriesWrite[][] = [];
  const perSeries = Math.max(1, Math.floor(perCall / SERIES));
  let written = 0;
  for (let step = 0; written < totalReadings; step++) {
    const call: SeriesWrite[] = [];
    for (let a = 0; a < AGENTS && written < totalReadings; a++) {
      const series: SeriesReadings[] = [];
      for (let s = 0; s < SENSORS_PER_AGENT && written < totalReadings; s++) {
        const n = Math.min(perSeries, totalReadings - written);
        const ts = new Array<number>(n);
        const values = new Array<number>(n);
        for (let i = 0; i < n; i++) {
          ts[i] = T0 + (step * perSeries + i) * 250;
          values[i] = 100 + ((a * 7 + s * 13 + i) % 200);
        }
        series.push({ sensor: `ant:pwr:${s}`, metric: 'power', ts, values });
        written += n;
      }
      call.push({ gym: 'bench-gym', agent: `agent-${a}`, series });
    }
    calls.push(call);
  }
  return calls;
}

const log = pino({ level: 'warn' });

function storeWriteRate(calls: SeriesWrite[][], synchronous: 'NORMAL' | 'FULL'): Promise<Rate> {
  return withTempDir('series', async (dir) => {
    const store = new SqliteSeriesStore({ path: join(dir, 'series.db'), log, synchronous });
    try {
      await store.start();
      return await timedRateAsync(totalReadings, async () => {
        for (const call of calls) await store.write(call);
      });
    } finally {
      await store.stop();
    }
  });
}

/** The bare tool: same table shape and pragmas, series ids known up front, nothing checked. */
function bareWriteRate(calls: SeriesWrite[][], rowsPerStatement: number): Promise<Rate> {
  return withTempDir('series', (dir) => {
    const db = new Database(join(dir, 'bare.db'));
    try {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.pragma('cache_size = -65536');
      db.exec('CREATE TABLE readings (series_id INTEGER NOT NULL, ts INTEGER NOT NULL, value REAL NOT NULL, PRIMARY KEY (series_id, ts)) WITHOUT ROWID');
      const statements = Array.from({ length: rowsPerStatement + 1 }, (_, rows) =>
        rows === 0
          ? undefined
          : db.prepare<[number[]]>(`INSERT INTO readings VALUES ${Array.from({ length: rows }, () => '(?, ?, ?)').join(', ')} ON CONFLICT (series_id, ts) DO NOTHING`),
      );
      const paramsOf = Array.from({ length: rowsPerStatement + 1 }, (_, rows) => new Array<number>(rows * 3));
      const insertCall = db.transaction((call: SeriesWrite[]) => {
        for (let a = 0; a < call.length; a++) {
          const seriesList = call[a]!.series;
          for (let s = 0; s < seriesList.length; s++) {
            const { ts, values } = seriesList[s]!;
            const id = a * SENSORS_PER_AGENT + s + 1;
            for (let i = 0; i < ts.length; i += rowsPerStatement) {
              const rows = Math.min(rowsPerStatement, ts.length - i);
              const params = paramsOf[rows]!;
              for (let r = 0, p = 0; r < rows; r++) {
                params[p++] = id;
                params[p++] = ts[i + r]!;
                params[p++] = values[i + r]!;
              }
              statements[rows]!.run(params);
            }
          }
        }
      });
      return timedRate(totalReadings, () => {
        for (const call of calls) insertCall(call);
      });
    } finally {
      db.close();
    }
  });
}

function readRates(calls: SeriesWrite[][]): Promise<{ raw: number; rollupMs: number }> {
  return withTempDir('series', async (dir) => {
    const store = new SqliteSeriesStore({ path: join(dir, 'series.db'), log });
    try {
      await store.start();
      for (const call of calls) await store.write(call);
      const selector = { sensor: 'ant:pwr:0', metric: 'power' as const, agent: 'agent-0', from: T0, to: T0 + 10 * 365 * 86_400_000 };
      let started = process.hrtime.bigint();
      const points = await store.readRaw(selector, 100_000);
      const raw = points.length / (Number(process.hrtime.bigint() - started) / 1e9);
      started = process.hrtime.bigint();
      await store.readRollup({ sensor: 'ant:pwr:0', metric: 'power', from: T0, to: T0 + 86_400_000 }, 60_000);
      const rollupMs = Number(process.hrtime.bigint() - started) / 1e6;
      return { raw, rollupMs };
    } finally {
      await store.stop();
    }
  });
}

const calls = makeCalls();
const store: Rate[] = [];
const storeFull: Rate[] = [];
const bareMulti: Rate[] = [];
const bareSingle: Rate[] = [];
for (let r = 0; r < runs; r++) {
  bareMulti.push(await bareWriteRate(calls, 64));
  store.push(await storeWriteRate(calls, 'NORMAL'));
  bareSingle.push(await bareWriteRate(calls, 1));
  storeFull.push(await storeWriteRate(calls, 'FULL'));
}
const context = { readings: totalReadings, perCall, series: SERIES, runs };
// Every write figure is measured against the bare tool with 64 rows per statement.
for (const [name, rates] of [
  ['series_store.sqlite.write', store],
  ['series_store.sqlite.write_sync_full', storeFull],
  ['series_store.sqlite.bare_insert_one_row_per_statement', bareSingle],
] as const) {
  printRate(name, 'readings/s', rates, bareMulti, context);
}
const reads: { raw: number; rollupMs: number }[] = [];
for (let r = 0; r < runs; r++) reads.push(await readRates(calls));
printFigure('series_store.sqlite.read_raw', Math.round(median(reads.map((x) => x.raw))), 'points/s', context);
printFigure('series_store.sqlite.rollup_20_series_1min_steps', +median(reads.map((x) => x.rollupMs)).toFixed(2), 'ms', context);
