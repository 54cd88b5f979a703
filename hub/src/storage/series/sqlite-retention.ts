/**
 * Retention of the SQLite series store: raw readings older than `rawDays` are folded into rollups (min, max,
 * sum, count per series and interval) and deleted, and rollups older than their own `keepDays` are deleted.
 *
 * Folding and deleting happen in the same transaction, so every reading is at any time either raw or counted
 * in each rollup interval, never both and never neither: a rollup read adds the two up and stays exact. A
 * reading that arrives late for a time already folded (ingest accepts readings up to maxReadingAgeMs old) is
 * folded by the next round into the same buckets, whose aggregates merge (min of mins, sums added).
 *
 * better-sqlite3 runs in the hub's own thread, so a long transaction would stall ingest for all its length.
 * The work is cut into chunks of at most `chunkRows` rows, one transaction each, with the event loop let go
 * between chunks so ingest's writes run in between; each round reports its longest chunk.
 */
import type { Database as SqliteDatabase, Statement } from 'better-sqlite3';
import type { Logger } from 'pino';
import { errorMessage } from '@pulsebridge/runtime';
import type { RollupPoint, SeriesSelector } from './series-store.ts';

export const DAY_MS = 86_400_000;

export interface RollupInterval {
  /** Bucket length: buckets start at multiples of it since the epoch. */
  everyMs: number;
  /** Buckets older than this many days are deleted; undefined: kept for good. */
  keepDays?: number;
}

export interface SeriesRetention {
  /** Raw readings older than this many days are folded into the rollups and deleted. */
  rawDays: number;
  rollups: RollupInterval[];
  /** Time between the end of one round and the start of the next. */
  roundIntervalMs: number;
  /** Rows folded or deleted per transaction at most. */
  chunkRows: number;
}

/** What one retention round did, for the log and for tests. */
export interface RetentionRound {
  /** Raw readings folded into rollups and deleted. */
  foldedReadings: number;
  /** Rollup buckets deleted because their interval's keepDays passed. */
  expiredBuckets: number;
  chunks: number;
  /** The longest single transaction: how long ingest could have waited for the database. */
  longestChunkMs: number;
  durationMs: number;
}

/** Rollups table: created by the store's migration (schema version 3). */
export const ROLLUPS_TABLE_SQL = `
  CREATE TABLE IF NOT EXISTS rollups (
    series_id INTEGER NOT NULL,
    every_ms INTEGER NOT NULL,
    ts INTEGER NOT NULL,
    min_value REAL NOT NULL,
    max_value REAL NOT NULL,
    sum_value REAL NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (series_id, every_ms, ts)
  ) WITHOUT ROWID;`;

type Row5 = [number, number, number, number, number];

interface Statements {
  nextSeries: Statement<[number], { id: number }>;
  rawBound: Statement<[number, number, number], { ts: number }>;
  fold: Statement<{ id: number; every: number; last: number }>;
  deleteRaw: Statement<[number, number]>;
  bucketBound: Statement<[number, number, number, number], { ts: number }>;
  deleteBuckets: Statement<[number, number, number]>;
}

export class SqliteRollups {
  private readonly db: SqliteDatabase;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly retention: SeriesRetention | undefined;
  /** Every interval a read may use, finest first. */
  private readonly intervals: RollupInterval[];
  private readonly statements: Statements;
  private readonly readStatements = new Map<number, Statement<number[], Row5>>();
  private timer: NodeJS.Timeout | undefined;
  private round: Promise<RetentionRound | undefined> | undefined;
  private stopping = false;

  constructor(options: { db: SqliteDatabase; log: Logger; now: () => number; retention?: SeriesRetention }) {
    this.db = options.db;
    this.log = options.log;
    this.now = options.now;
    this.retention = options.retention;
    const db = this.db;
    this.statements = {
      nextSeries: db.prepare('SELECT id FROM series WHERE id > ? ORDER BY id LIMIT 1'),
      // The ts of the n-th oldest reading before the cutoff: the last one a chunk of n rows takes.
      rawBound: db.prepare('SELECT ts FROM readings WHERE series_id = ? AND ts < ? ORDER BY ts LIMIT 1 OFFSET ?'),
      fold: db.prepare(
        `INSERT INTO rollups (series_id, every_ms, ts, min_value, max_value, sum_value, count)
           SELECT series_id, @every, ts - ts % @every AS bucket, min(value), max(value), sum(value), count(*)
             FROM readings WHERE series_id = @id AND ts <= @last GROUP BY bucket
         ON CONFLICT (series_id, every_ms, ts) DO UPDATE SET
           min_value = min(min_value, excluded.min_value), max_value = max(max_value, excluded.max_value),
           sum_value = sum_value + excluded.sum_value, count = count + excluded.count`,
      ),
      deleteRaw: db.prepare('DELETE FROM readings WHERE series_id = ? AND ts <= ?'),
      bucketBound: db.prepare('SELECT ts FROM rollups WHERE series_id = ? AND every_ms = ? AND ts < ? ORDER BY ts LIMIT 1 OFFSET ?'),
      deleteBuckets: db.prepare('DELETE FROM rollups WHERE series_id = ? AND every_ms = ? AND ts <= ?'),
    };
    // Without retention configured, rollups an earlier configuration made are still read (and kept for good).
    const intervals = this.retention
      ? this.retention.rollups
      : (db.prepare('SELECT DISTINCT every_ms AS everyMs FROM rollups').all() as { everyMs: number }[]).map((row) => ({ everyMs: row.everyMs }));
    this.intervals = [...intervals].sort((a, b) => a.everyMs - b.everyMs);
  }

  /** Starts the rounds: the first soon after start, then one `roundIntervalMs` after the end of each. */
  start(): void {
    if (!this.retention) return;
    this.stopping = false;
    this.schedule(Math.min(60_000, this.retention.roundIntervalMs));
  }

  /** Stops the timer and waits for a round in progress to finish its chunk. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.round;
  }

  private schedule(ms: number): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.runRound().finally(() => {
        if (!this.stopping && this.retention) this.schedule(this.retention.roundIntervalMs);
      });
    }, ms);
    // A pending round must not keep the process alive; stop() ends a running one.
    this.timer.unref();
  }

  /** One round now (the timer's, or a test's); resolves undefined when retention is not configured. */
  runRound(): Promise<RetentionRound | undefined> {
    if (!this.retention) return Promise.resolve(undefined);
    this.round ??= this.roundOnce(this.retention).finally(() => {
      this.round = undefined;
    });
    return this.round;
  }

  private async roundOnce(retention: SeriesRetention): Promise<RetentionRound> {
    const started = performance.now();
    const now = this.now();
    const result: RetentionRound = { foldedReadings: 0, expiredBuckets: 0, chunks: 0, longestChunkMs: 0, durationMs: 0 };
    const chunked = async (work: (budget: number) => { rows: number; done: boolean }): Promise<number> => {
      let total = 0;
      for (;;) {
        if (this.stopping) return total;
        const chunkStarted = performance.now();
        const { rows, done } = this.db.transaction(work)(retention.chunkRows);
        result.longestChunkMs = Math.max(result.longestChunkMs, performance.now() - chunkStarted);
        if (rows > 0) result.chunks++;
        total += rows;
        if (done) return total;
        // Lets ingest's pending writes (I/O callbacks) run before the next chunk takes the database again.
        await new Promise((resolve) => setImmediate(resolve));
      }
    };
    try {
      const rawCutoff = now - retention.rawDays * DAY_MS;
      result.foldedReadings = await chunked(this.walker((id, budget) => this.foldSeries(id, rawCutoff, budget)));
      for (const interval of retention.rollups) {
        if (interval.keepDays === undefined) continue;
        const cutoff = now - interval.keepDays * DAY_MS;
        result.expiredBuckets += await chunked(this.walker((id, budget) => this.expireSeries(id, interval.everyMs, cutoff, budget)));
      }
    } catch (err) {
      this.log.error({ err: errorMessage(err), ...result }, 'series retention round failed; the next round starts over');
    }
    result.durationMs = performance.now() - started;
    if (result.foldedReadings > 0 || result.expiredBuckets > 0) this.log.info(result, 'series retention round');
    return result;
  }

  /**
   * A chunk's work over series in id order: each series takes what is left of the budget; a walk stops at the
   * series that filled it and goes on from there in the next chunk.
   */
  private walker(perSeries: (id: number, budget: number) => { rows: number; more: boolean }): (budget: number) => { rows: number; done: boolean } {
    let current = 0;
    let currentHasMore = false;
    return (budget) => {
      let rows = 0;
      // Series visited count as work too: a chunk over many series without old readings stays short.
      for (let visited = 0; visited < budget; visited++) {
        if (!currentHasMore) {
          const next = this.statements.nextSeries.get(current);
          if (!next) return { rows, done: true };
          current = next.id;
        }
        const step = perSeries(current, budget - rows);
        rows += step.rows;
        currentHasMore = step.more;
        if (rows >= budget) return { rows, done: false };
      }
      return { rows, done: false };
    };
  }

  private foldSeries(id: number, cutoff: number, budget: number): { rows: number; more: boolean } {
    const { rawBound, fold, deleteRaw } = this.statements;
    const bound = rawBound.get(id, cutoff, budget - 1);
    const last = bound ? bound.ts : cutoff - 1;
    for (const { everyMs } of this.retention!.rollups) fold.run({ id, every: everyMs, last });
    const rows = deleteRaw.run(id, last).changes;
    return { rows, more: bound !== undefined };
  }

  private expireSeries(id: number, everyMs: number, cutoff: number, budget: number): { rows: number; more: boolean } {
    const { bucketBound, deleteBuckets } = this.statements;
    const bound = bucketBound.get(id, everyMs, cutoff, budget - 1);
    const rows = deleteBuckets.run(id, everyMs, bound ? bound.ts : cutoff - 1).changes;
    return { rows, more: bound !== undefined };
  }

  /**
   * The rollup interval a read of steps of `stepMs` from `from` uses: the coarsest that still fits in a step
   * (fewest rows) among those whose buckets still reach back to `from`; else the one kept longest.
   */
  private intervalFor(from: number, stepMs: number): RollupInterval | undefined {
    if (this.intervals.length === 0) return undefined;
    const now = this.now();
    const reaches = (i: RollupInterval): boolean => i.keepDays === undefined || now - i.keepDays * DAY_MS <= from;
    const fitting = this.intervals.filter((i) => i.everyMs <= stepMs && stepMs % i.everyMs === 0 && reaches(i));
    if (fitting.length > 0) return fitting.at(-1);
    const reaching = this.intervals.filter(reaches);
    if (reaching.length > 0) return reaching[0];
    return [...this.intervals].sort((a, b) => (b.keepDays ?? Infinity) - (a.keepDays ?? Infinity))[0];
  }

  /** Steps from the rollups of the chosen interval (buckets count in the step their start falls in). */
  read(ids: readonly number[], selector: SeriesSelector, stepMs: number): RollupPoint[] {
    const interval = this.intervalFor(selector.from, stepMs);
    if (!interval || ids.length === 0) return [];
    let statement = this.readStatements.get(ids.length);
    if (!statement) {
      const placeholders = ids.map(() => '?').join(', ');
      statement = this.db
        .prepare<number[], Row5>(
          `SELECT ts - ts % ? AS step, min(min_value), max(max_value), sum(sum_value), sum(count)
             FROM rollups WHERE series_id IN (${placeholders}) AND every_ms = ? AND ts >= ? AND ts < ?
            GROUP BY step ORDER BY step`,
        )
        .raw();
      this.readStatements.set(ids.length, statement);
    }
    return statement.all(stepMs, ...ids, interval.everyMs, selector.from, selector.to).map(([ts, min, max, sum, count]) => ({ ts, min, max, mean: sum / count, count }));
  }

  /** Deletes the buckets that hold any of the range (an erasure removes whole buckets, never less). */
  deleteRange(range: { gym: string; sensor: string; from: number; to: number }): void {
    this.db
      .prepare('DELETE FROM rollups WHERE series_id IN (SELECT id FROM series WHERE gym = ? AND sensor = ?) AND ts > ? - every_ms AND ts < ?')
      .run(range.gym, range.sensor, range.from, range.to);
  }
}

/** Merges rollup steps of raw readings and of stored rollups (both in step order) into one list. */
export function mergeRollups(raw: readonly RollupPoint[], rolled: readonly RollupPoint[]): RollupPoint[] {
  if (rolled.length === 0) return [...raw];
  if (raw.length === 0) return [...rolled];
  const out: RollupPoint[] = [];
  let i = 0;
  let j = 0;
  while (i < raw.length || j < rolled.length) {
    const a = raw[i];
    const b = rolled[j];
    if (b === undefined || (a !== undefined && a.ts < b.ts)) {
      out.push(a!);
      i++;
    } else if (a === undefined || b.ts < a.ts) {
      out.push(b);
      j++;
    } else {
      const count = a.count + b.count;
      out.push({ ts: a.ts, min: Math.min(a.min, b.min), max: Math.max(a.max, b.max), mean: (a.mean * a.count + b.mean * b.count) / count, count });
      i++;
      j++;
    }
  }
  return out;
}
