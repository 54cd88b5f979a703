// Over 500 lines: one adapter of the whole SeriesStore port (series, series limit, unsynced boots, retention hooks); retention and rollups live in sqlite-retention.ts, unsynced readings in sqlite-unsynced.ts.
/**
 * The embedded SeriesStore: one SQLite file (better-sqlite3, WAL) that needs no server.
 *
 * Readings live in a WITHOUT ROWID table keyed by (series_id, ts): the key is the reading's identity, so a
 * re-sent reading is ignored by the primary key, and a range read of one series is one b-tree walk in time
 * order. Series (agent, sensor, metric) are numbered in a small table; the ids of the series written lately
 * are kept in a bounded cache (least recently used forgotten first), so writing a reading costs one row of
 * three numbers, and an agent that invents series costs a lookup, never memory that stays.
 *
 * An agent creates at most maxSeriesPerAgent series: the count comes from the series table (its unique
 * index starts with the agent), once per agent and write, so it is right whatever the cache forgot.
 *
 * A series belongs to the gym its first reading was written under. Agents do not change gyms in practice;
 * if one does, its existing series keep their gym (InfluxDB, where the gym is a tag, starts new series).
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { Database as SqliteDatabase, Statement } from 'better-sqlite3';
import type { Logger } from 'pino';
import { errorMessage } from '@pulsebridge/runtime';
import type { MetricId } from '@pulsebridge/protocol';
import { SeriesStoreError } from './errors.ts';
import { LRUCache } from 'lru-cache';
import { DEFAULT_MAX_SERIES_PER_AGENT, DEFAULT_SERIES_CACHE_ENTRIES, checkFilter, checkPage, checkRange, checkRawQuery, checkRollupQuery, checkWrites } from './series-query.ts';
import type {
  RawPoint,
  RefusedSeries,
  RollupPoint,
  SeriesFilter,
  SeriesInfo,
  SeriesPage,
  SeriesRange,
  SeriesSelector,
  SeriesStore,
  SeriesWrite,
  WriteResult,
} from './series-store.ts';
import { ROLLUPS_TABLE_SQL, SqliteRollups, mergeRollups, type RetentionRound, type SeriesRetention } from './sqlite-retention.ts';
import { SqliteUnsynced } from './sqlite-unsynced.ts';
import {
  checkBoot,
  checkCorrection,
  checkUnsyncedFilter,
  checkUnsyncedSelector,
  checkUnsyncedWrites,
  type UnsyncedBoot,
  type UnsyncedCorrection,
  type UnsyncedMove,
  type UnsyncedPoint,
  type UnsyncedSelector,
  type UnsyncedWrite,
} from './unsynced.ts';

export interface SqliteSeriesStoreOptions {
  /** The database file, e.g. `<dataDir>/series.db`; its folder is created if missing. */
  path: string;
  log: Logger;
  /**
   * FULL (default): a write resolves only once its commit is on disk, so an ack means durable even across a
   * power loss. NORMAL can lose the last commits on power loss (never on a crash of the hub).
   */
  synchronous?: 'NORMAL' | 'FULL';
  /** New series past this many for one agent are refused (see SeriesStore.write). */
  maxSeriesPerAgent?: number;
  /** Series ids kept in memory at most. */
  seriesCacheEntries?: number;
  /** Raw readings older than rawDays folded into rollups and deleted (sqlite-retention.ts); none: kept for good. */
  retention?: SeriesRetention;
  /** The clock retention measures ages by. */
  now?: () => number;
}

/** 2: an index in listing order, so a page of the series list is an index walk. 3: the rollups table. */
const SCHEMA_VERSION = 3;

/**
 * Rows per INSERT statement. Measured on the 2-core reference box (500 000 readings over 40 series, rows per
 * CPU second): 1 row 0.58 M, 16 rows 0.82 M, 32 rows 0.98 M, 64 rows 0.99 M, 128 rows 1.04 M, 256 rows 0.78 M.
 * 64 sits on the plateau with a statement cache of at most 64 entries.
 */
const ROWS_PER_INSERT = 64;

type SeriesKey = string;
const seriesKey = (agent: string, sensor: string, metric: string): SeriesKey => `${agent}\u0000${sensor}\u0000${metric}`;

type ListParams = {
  gym: string | null;
  agent: string | null;
  sensor: string | null;
  afterGym: string | null;
  afterAgent: string | null;
  afterSensor: string | null;
  afterMetric: string | null;
  limit: number;
};

interface Statements {
  insertSeries: Statement<[string, string, string, string]>;
  seriesIdOf: Statement<[string, string, string], { id: number }>;
  seriesCountOf: Statement<[string], { n: number }>;
  seriesCount: Statement<[], { n: number }>;
  seriesIdsOf: Statement<{ sensor: string; metric: string; gym: string | null; agent: string | null }, { id: number }>;
  rawOfOne: Statement<[number, number, number, number], [number, number]>;
  listSeries: Statement<ListParams, SeriesInfo>;
  countAll: Statement<[], { n: number }>;
  countFiltered: Statement<{ gym: string | null; agent: string | null; sensor: string | null }, { n: number }>;
  deleteRange: Statement<{ gym: string; sensor: string; from: number; to: number }>;
}

export class SqliteSeriesStore implements SeriesStore {
  private readonly path: string;
  private readonly log: Logger;
  private readonly synchronous: 'NORMAL' | 'FULL';
  private readonly maxSeriesPerAgent: number;
  private db: SqliteDatabase | undefined;
  private statements: Statements | undefined;
  private readonly seriesIds: LRUCache<SeriesKey, number>;
  private readonly rollupStatements = new Map<number, Statement<number[], [number, number, number, number, number]>>();
  /** By row count: a series of n readings costs ceil(n / ROWS_PER_INSERT) statements, the last one shorter. */
  private readonly insertStatements = new Map<number, { statement: Statement<[number[]]>; params: number[] }>();
  private writeAll: ((batches: readonly SeriesWrite[], pending: PendingWrite) => void) | undefined;
  private unsynced: SqliteUnsynced | undefined;
  private rollups: SqliteRollups | undefined;
  private readonly retention: SeriesRetention | undefined;
  private readonly now: () => number;

  constructor(options: SqliteSeriesStoreOptions) {
    this.path = options.path;
    this.log = options.log.child({ ns: 'storage/series/sqlite' });
    this.synchronous = options.synchronous ?? 'FULL';
    this.maxSeriesPerAgent = options.maxSeriesPerAgent ?? DEFAULT_MAX_SERIES_PER_AGENT;
    this.seriesIds = new LRUCache({ max: options.seriesCacheEntries ?? DEFAULT_SERIES_CACHE_ENTRIES });
    this.retention = options.retention;
    this.now = options.now ?? Date.now;
  }

  /** Series ids held in memory now: at most seriesCacheEntries, whatever the agents send. */
  get cachedSeries(): number {
    return this.seriesIds.size;
  }

  async start(): Promise<void> {
    if (this.db) return;
    let db: SqliteDatabase;
    try {
      if (this.path !== ':memory:') mkdirSync(dirname(this.path), { recursive: true });
      db = new Database(this.path);
    } catch (err) {
      throw new SeriesStoreError('unavailable', `cannot open ${this.path}: ${errorMessage(err)}`, { cause: err });
    }
    try {
      db.pragma('journal_mode = WAL');
      db.pragma(`synchronous = ${this.synchronous}`);
      db.pragma('busy_timeout = 5000');
      // The working set of a busy hub is the recent end of every series' b-tree; 64 MiB keeps it cached.
      db.pragma('cache_size = -65536');
      db.pragma('temp_store = MEMORY');
      this.migrate(db);
      this.statements = this.prepare(db);
      this.unsynced = new SqliteUnsynced(db);
      this.rollups = new SqliteRollups({ db, log: this.log, now: this.now, ...(this.retention ? { retention: this.retention } : {}) });
    } catch (err) {
      db.close();
      if (err instanceof SeriesStoreError) throw err;
      throw new SeriesStoreError('unavailable', `cannot prepare ${this.path}: ${errorMessage(err)}`, { cause: err });
    }
    this.db = db;
    this.seriesIds.clear();
    this.writeAll = db.transaction((batches: readonly SeriesWrite[], pending: PendingWrite) => {
      for (let b = 0; b < batches.length; b++) {
        const batch = batches[b]!;
        for (const series of batch.series) {
          if (series.ts.length === 0) continue;
          const id = this.seriesIdFor(batch.gym, batch.agent, series.sensor, series.metric, pending);
          if (id === undefined) {
            pending.refused.push({ batch: b, agent: batch.agent, sensor: series.sensor, metric: series.metric, readings: series.ts.length });
            continue;
          }
          this.insertReadings(id, series.ts, series.values);
        }
      }
    });
    this.rollups!.start();
    const series = this.statements!.seriesCount.get()?.n ?? 0;
    this.log.info(
      { path: this.path, series, retention: this.retention, synchronous: this.synchronous, maxSeriesPerAgent: this.maxSeriesPerAgent, seriesCacheEntries: this.seriesIds.max },
      'series store open',
    );
  }

  async stop(): Promise<void> {
    const db = this.db;
    if (!db) return;
    await this.rollups?.stop();
    this.rollups = undefined;
    this.db = undefined;
    this.statements = undefined;
    this.writeAll = undefined;
    this.unsynced = undefined;
    this.rollupStatements.clear();
    this.insertStatements.clear();
    db.close();
    this.log.info({ path: this.path }, 'series store closed');
  }

  async write(batches: readonly SeriesWrite[]): Promise<WriteResult> {
    const writeAll = this.writeAll;
    if (!writeAll) throw notStarted();
    checkWrites(batches);
    const pending: PendingWrite = { added: new Map(), seriesOfAgent: new Map(), refused: [] };
    try {
      writeAll(batches, pending);
    } catch (err) {
      throw new SeriesStoreError('write_failed', `write to ${this.path} failed: ${errorMessage(err)}`, { cause: err });
    }
    // Ids of series created in this transaction join the cache only after it commits.
    for (const [key, id] of pending.added) this.seriesIds.set(key, id);
    return { refused: pending.refused };
  }

  async readRaw(selector: SeriesSelector, limit: number): Promise<RawPoint[]> {
    const statements = this.open();
    checkRawQuery(selector, limit);
    return this.reading('a raw read', () => {
      const ids = this.seriesIdsOf(selector);
      const perSeries = ids.map((id) => statements.rawOfOne.all(id, selector.from, selector.to, limit));
      const merged = perSeries.length === 1 ? perSeries[0]! : mergeByTime(perSeries, limit);
      return merged.map(([ts, value]) => ({ ts, value }));
    });
  }

  async readRollup(selector: SeriesSelector, stepMs: number): Promise<RollupPoint[]> {
    this.open();
    checkRollupQuery(selector, stepMs);
    return this.reading('a rollup read', () => {
      const ids = this.seriesIdsOf(selector);
      if (ids.length === 0) return [];
      const rows = this.rollupStatement(ids.length).all(stepMs, ...ids, selector.from, selector.to);
      const raw = rows.map(([ts, min, max, sum, count]) => ({ ts, min, max, mean: sum / count, count }));
      // Readings retention folded are no longer raw: their rollups answer for them (sqlite-retention.ts).
      return mergeRollups(raw, this.rollups!.read(ids, selector, stepMs));
    });
  }

  /** One retention round now, instead of waiting for the timer; undefined when retention is not configured. */
  async runRetention(): Promise<RetentionRound | undefined> {
    if (!this.rollups) throw notStarted();
    return this.rollups.runRound();
  }

  async listSeries(filter: SeriesFilter, page: SeriesPage): Promise<SeriesInfo[]> {
    const statements = this.open();
    checkFilter(filter);
    checkPage(page);
    const { after } = page;
    return this.reading('a series listing', () =>
      statements.listSeries.all({
        ...filterParams(filter),
        afterGym: after?.gym ?? null,
        afterAgent: after?.agent ?? null,
        afterSensor: after?.sensor ?? null,
        afterMetric: after?.metric ?? null,
        limit: page.limit,
      }),
    );
  }

  async count(filter: SeriesFilter): Promise<number> {
    const statements = this.open();
    checkFilter(filter);
    const unfiltered = filter.gym === undefined && filter.agent === undefined && filter.sensor === undefined;
    return this.reading('a count', () => (unfiltered ? statements.countAll.get() : statements.countFiltered.get(filterParams(filter)))?.n ?? 0);
  }

  async deleteRange(range: SeriesRange): Promise<number> {
    const statements = this.open();
    checkRange(range);
    try {
      return this.db!.transaction(() => {
        this.rollups!.deleteRange(range);
        return statements.deleteRange.run({ gym: range.gym, sensor: range.sensor, from: range.from, to: range.to }).changes;
      })();
    } catch (err) {
      throw new SeriesStoreError('write_failed', `a range delete from ${this.path} failed: ${errorMessage(err)}`, { cause: err });
    }
  }

  async writeUnsynced(batches: readonly UnsyncedWrite[]): Promise<void> {
    const unsynced = this.openUnsynced();
    checkUnsyncedWrites(batches);
    try {
      unsynced.write(batches);
    } catch (err) {
      throw new SeriesStoreError('write_failed', `write of unsynced readings to ${this.path} failed: ${errorMessage(err)}`, { cause: err });
    }
  }

  async listUnsynced(filter: { agent?: string }): Promise<UnsyncedBoot[]> {
    const unsynced = this.openUnsynced();
    checkUnsyncedFilter(filter);
    return this.reading('a listing of unsynced boots', () => unsynced.list(filter));
  }

  async readUnsynced(selector: UnsyncedSelector, limit: number): Promise<UnsyncedPoint[]> {
    const unsynced = this.openUnsynced();
    checkUnsyncedSelector(selector, limit);
    return this.reading('an unsynced read', () => unsynced.readPoints(selector, limit));
  }

  async correctUnsynced(correction: UnsyncedCorrection): Promise<UnsyncedMove> {
    const unsynced = this.openUnsynced();
    const writeAll = this.writeAll!;
    checkCorrection(correction);
    const pending: PendingWrite = { added: new Map(), seriesOfAgent: new Map(), refused: [] };
    let result: UnsyncedMove;
    try {
      result = unsynced.move(correction, (batches) => writeAll(batches, pending));
    } catch (err) {
      throw new SeriesStoreError('write_failed', `correction of boot ${correction.boot} in ${this.path} failed: ${errorMessage(err)}`, { cause: err });
    }
    for (const [key, id] of pending.added) this.seriesIds.set(key, id);
    // Readings of new series past the agent's limit are not stored: refused like those the check refuses.
    const overLimit = pending.refused.reduce((sum, r) => sum + r.readings, 0);
    return overLimit === 0 ? result : { moved: result.moved - overLimit, refused: result.refused + overLimit };
  }

  async discardUnsynced(agent: string, boot: string): Promise<number> {
    const unsynced = this.openUnsynced();
    checkBoot(agent, boot);
    try {
      return unsynced.discard(agent, boot);
    } catch (err) {
      throw new SeriesStoreError('write_failed', `discarding boot ${boot} in ${this.path} failed: ${errorMessage(err)}`, { cause: err });
    }
  }

  private openUnsynced(): SqliteUnsynced {
    if (!this.unsynced) throw notStarted();
    return this.unsynced;
  }

  private reading<T>(what: string, read: () => T): T {
    try {
      return read();
    } catch (err) {
      throw new SeriesStoreError('query_failed', `${what} of ${this.path} failed: ${errorMessage(err)}`, { cause: err });
    }
  }

  private open(): Statements {
    if (!this.statements) throw notStarted();
    return this.statements;
  }

  private migrate(db: SqliteDatabase): void {
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION) {
      throw new SeriesStoreError('unavailable', `${this.path} has schema version ${version}; this hub knows up to ${SCHEMA_VERSION}`);
    }
    if (version === SCHEMA_VERSION) return;
    db.exec(`
      BEGIN;
      CREATE TABLE IF NOT EXISTS series (
        id INTEGER PRIMARY KEY,
        gym TEXT NOT NULL,
        agent TEXT NOT NULL,
        sensor TEXT NOT NULL,
        metric TEXT NOT NULL,
        UNIQUE (agent, sensor, metric)
      );
      CREATE INDEX IF NOT EXISTS series_by_sensor ON series (sensor, metric);
      CREATE INDEX IF NOT EXISTS series_listing ON series (gym, agent, sensor, metric);
      CREATE TABLE IF NOT EXISTS readings (
        series_id INTEGER NOT NULL,
        ts INTEGER NOT NULL,
        value REAL NOT NULL,
        PRIMARY KEY (series_id, ts)
      ) WITHOUT ROWID;
      ${ROLLUPS_TABLE_SQL}
      PRAGMA user_version = ${SCHEMA_VERSION};
      COMMIT;
    `);
  }

  private prepare(db: SqliteDatabase): Statements {
    const filterWhere = '(@gym IS NULL OR gym = @gym) AND (@agent IS NULL OR agent = @agent) AND (@sensor IS NULL OR sensor = @sensor)';
    return {
      insertSeries: db.prepare('INSERT INTO series (gym, agent, sensor, metric) VALUES (?, ?, ?, ?) ON CONFLICT (agent, sensor, metric) DO NOTHING'),
      seriesIdOf: db.prepare('SELECT id FROM series WHERE agent = ? AND sensor = ? AND metric = ?'),
      seriesCountOf: db.prepare('SELECT count(*) AS n FROM series WHERE agent = ?'),
      seriesCount: db.prepare('SELECT count(*) AS n FROM series'),
      seriesIdsOf: db.prepare(
        'SELECT id FROM series WHERE sensor = @sensor AND metric = @metric AND (@gym IS NULL OR gym = @gym) AND (@agent IS NULL OR agent = @agent) ORDER BY id',
      ),
      rawOfOne: db
        .prepare<[number, number, number, number], [number, number]>('SELECT ts, value FROM readings WHERE series_id = ? AND ts >= ? AND ts < ? ORDER BY ts LIMIT ?')
        .raw(),
      listSeries: db.prepare(
        `SELECT gym, agent, sensor, metric FROM series
          WHERE ${filterWhere} AND (@afterGym IS NULL OR (gym, agent, sensor, metric) > (@afterGym, @afterAgent, @afterSensor, @afterMetric))
          ORDER BY gym, agent, sensor, metric LIMIT @limit`,
      ),
      countAll: db.prepare('SELECT count(*) AS n FROM readings'),
      countFiltered: db.prepare(`SELECT count(*) AS n FROM readings WHERE series_id IN (SELECT id FROM series WHERE ${filterWhere})`),
      deleteRange: db.prepare('DELETE FROM readings WHERE series_id IN (SELECT id FROM series WHERE gym = @gym AND sensor = @sensor) AND ts >= @from AND ts < @to'),
    };
  }

  private rollupStatement(seriesCount: number): Statement<number[], [number, number, number, number, number]> {
    let statement = this.rollupStatements.get(seriesCount);
    if (!statement) {
      const ids = Array.from({ length: seriesCount }, () => '?').join(', ');
      // `ts - ts % step` is the epoch-aligned start of the step for ts >= 0: the same steps InfluxQL's
      // GROUP BY time() makes without an offset.
      statement = this.db!.prepare<number[], [number, number, number, number, number]>(
        `SELECT ts - ts % ? AS step, min(value), max(value), sum(value), count(*)
           FROM readings WHERE series_id IN (${ids}) AND ts >= ? AND ts < ?
          GROUP BY step ORDER BY step`,
      ).raw();
      this.rollupStatements.set(seriesCount, statement);
    }
    return statement;
  }

  private seriesIdsOf(selector: SeriesSelector): number[] {
    const { sensor, metric } = selector;
    return this.statements!.seriesIdsOf.all({ sensor, metric, gym: selector.gym ?? null, agent: selector.agent ?? null }).map((row) => row.id);
  }

  /** The series' id, creating the series if its agent may have one more; undefined when it may not. */
  private seriesIdFor(gym: string, agent: string, sensor: string, metric: MetricId, pending: PendingWrite): number | undefined {
    const key = seriesKey(agent, sensor, metric);
    const known = this.seriesIds.get(key) ?? pending.added.get(key);
    if (known !== undefined) return known;
    const statements = this.statements!;
    const existing = statements.seriesIdOf.get(agent, sensor, metric);
    if (existing) {
      // Not created by this transaction (that would be in pending.added), so committed: safe to cache now.
      this.seriesIds.set(key, existing.id);
      return existing.id;
    }
    let count = pending.seriesOfAgent.get(agent);
    if (count === undefined) count = statements.seriesCountOf.get(agent)?.n ?? 0;
    pending.seriesOfAgent.set(agent, count);
    if (count >= this.maxSeriesPerAgent) return undefined;
    statements.insertSeries.run(gym, agent, sensor, metric);
    const row = statements.seriesIdOf.get(agent, sensor, metric);
    if (!row) throw new Error(`series ${agent}/${sensor}/${metric} vanished right after its insert`);
    pending.added.set(key, row.id);
    pending.seriesOfAgent.set(agent, count + 1);
    return row.id;
  }

  private insertReadings(id: number, ts: readonly number[], values: readonly number[]): void {
    const n = ts.length;
    for (let i = 0; i < n; i += ROWS_PER_INSERT) {
      const rows = Math.min(ROWS_PER_INSERT, n - i);
      const { statement, params } = this.insertStatement(rows);
      for (let r = 0, p = 0; r < rows; r++) {
        params[p++] = id;
        params[p++] = ts[i + r]!;
        params[p++] = values[i + r]!;
      }
      statement.run(params);
    }
  }

  private insertStatement(rows: number): { statement: Statement<[number[]]>; params: number[] } {
    let entry = this.insertStatements.get(rows);
    if (!entry) {
      const placeholders = Array.from({ length: rows }, () => '(?, ?, ?)').join(', ');
      // One array argument binds every placeholder in order, without spreading 192 arguments per call.
      const statement = this.db!.prepare<[number[]]>(`INSERT INTO readings (series_id, ts, value) VALUES ${placeholders} ON CONFLICT (series_id, ts) DO NOTHING`);
      entry = { statement, params: new Array<number>(rows * 3) };
      this.insertStatements.set(rows, entry);
    }
    return entry;
  }
}

/** What one write() transaction learns as it goes. */
interface PendingWrite {
  /** Series created by this transaction: cached only once it commits. */
  added: Map<SeriesKey, number>;
  /** Series per agent, counted in the table once per write and kept up to date as series are created. */
  seriesOfAgent: Map<string, number>;
  refused: RefusedSeries[];
}

function notStarted(): SeriesStoreError {
  return new SeriesStoreError('not_started', 'the series store is not started');
}

function filterParams(filter: SeriesFilter): { gym: string | null; agent: string | null; sensor: string | null } {
  return { gym: filter.gym ?? null, agent: filter.agent ?? null, sensor: filter.sensor ?? null };
}

/** Merges lists each sorted by time into one sorted by time, keeping the list order among equal times. */
function mergeByTime(lists: readonly (readonly [number, number])[][], limit: number): [number, number][] {
  const out: [number, number][] = [];
  const cursor = new Array<number>(lists.length).fill(0);
  while (out.length < limit) {
    let best = -1;
    let bestTs = Number.POSITIVE_INFINITY;
    for (let l = 0; l < lists.length; l++) {
      const row = lists[l]![cursor[l]!];
      if (row && row[0] < bestTs) {
        best = l;
        bestTs = row[0];
      }
    }
    if (best < 0) break;
    out.push(lists[best]![cursor[best]!] as [number, number]);
    cursor[best]!++;
  }
  return out;
}
