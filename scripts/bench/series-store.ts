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
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import type { SeriesReadings } from '@pulsebridge/protocol';
import { SqliteSeriesStore } from '../../hub/src/storage/series/sqlite-series-store.ts';
import type { SeriesWrite } from '../../hub/src/storage/series/series-store.ts';

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

const median = (xs: number[]): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

function withTempDir<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'pb-bench-series-'));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const log = pino({ level: 'warn' });

interface Rate {
  wall: number;
  cpu: number;
}

function timed(fn: () => void): Rate {
  const cpu0 = process.cpuUsage();
  const wall0 = process.hrtime.bigint();
  fn();
  const wallSeconds = Number(process.hrtime.bigint() - wall0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  return { wall: totalReadings / wallSeconds, cpu: totalReadings / ((cpu.user + cpu.system) / 1e6) };
}

async function timedAsync(fn: () => Promise<void>): Promise<Rate> {
  const cpu0 = process.cpuUsage();
  const wall0 = process.hrtime.bigint();
  await fn();
  const wallSeconds = Number(process.hrtime.bigint() - wall0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  return { wall: totalReadings / wallSeconds, cpu: totalReadings / ((cpu.user + cpu.system) / 1e6) };
}

async function storeWriteRate(calls: SeriesWrite[][], synchronous: 'NORMAL' | 'FULL'): Promise<Rate> {
  const dir = mkdtempSync(join(tmpdir(), 'pb-bench-series-'));
  const store = new SqliteSeriesStore({ path: join(dir, 'series.db'), log, synchronous });
  try {
    await store.start();
    return await timedAsync(async () => {
      for (const call of calls) await store.write(call);
    });
  } finally {
    await store.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The bare tool: same table shape and pragmas, series ids known up front, nothing checked. */
function bareWriteRate(calls: SeriesWrite[][], rowsPerStatement: number): Rate {
  return withTempDir((dir) => {
    const db = new Database(join(dir, 'bare.db'));
    try {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.pragma('cache_size = -65536');
      db.exec('CREATE TABLE readings (series_id INTEGER NOT NULL, ts INTEGER NOT NULL, value REAL NOT NULL, PRIMARY KEY (series_id, ts)) WITHOUT ROWID');
      const statements = Array.from({ length: rowsPerStatement + 1 }, (_, rows) =>
        rows === 0 ? undefined : db.prepare<[number[]]>(`INSERT INTO readings VALUES ${Array.from({ length: rows }, () => '(?, ?, ?)').join(', ')} ON CONFLICT (series_id, ts) DO NOTHING`),
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
      return timed(() => {
        for (const call of calls) insertCall(call);
      });
    } finally {
      db.close();
    }
  });
}

async function readRates(calls: SeriesWrite[][]): Promise<{ raw: number; rollupMs: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'pb-bench-series-'));
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
    rmSync(dir, { recursive: true, force: true });
  }
}

const emit = (line: Record<string, unknown>): void => console.log(JSON.stringify(line));
const round = (n: number): number => Math.round(n);

const calls = makeCalls();
const store: Rate[] = [];
const storeFull: Rate[] = [];
const bareMulti: Rate[] = [];
const bareSingle: Rate[] = [];
for (let r = 0; r < runs; r++) {
  bareMulti.push(bareWriteRate(calls, 64));
  store.push(await storeWriteRate(calls, 'NORMAL'));
  bareSingle.push(bareWriteRate(calls, 1));
  storeFull.push(await storeWriteRate(calls, 'FULL'));
}
const context = { readings: totalReadings, perCall, series: SERIES, runs };
const limit = { wall: median(bareMulti.map((x) => x.wall)), cpu: median(bareMulti.map((x) => x.cpu)) };
const emitRate = (name: string, rates: Rate[]): void => {
  const wall = median(rates.map((x) => x.wall));
  const cpu = median(rates.map((x) => x.cpu));
  emit({ name, value: round(wall), unit: 'readings/s', limit: round(limit.wall), ratio: +(wall / limit.wall).toFixed(3), cpuValue: round(cpu), cpuLimit: round(limit.cpu), ...context });
};
emitRate('series_store.sqlite.write', store);
emitRate('series_store.sqlite.write_sync_full', storeFull);
emitRate('series_store.sqlite.bare_insert_one_row_per_statement', bareSingle);
const reads: { raw: number; rollupMs: number }[] = [];
for (let r = 0; r < runs; r++) reads.push(await readRates(calls));
emit({ name: 'series_store.sqlite.read_raw', value: round(median(reads.map((x) => x.raw))), unit: 'points/s', ...context });
emit({ name: 'series_store.sqlite.rollup_20_series_1min_steps', value: +median(reads.map((x) => x.rollupMs)).toFixed(2), unit: 'ms', ...context });
