// Over 500 lines: one adapter of the whole SeriesStore port (series, series limit, unsynced boots) over one HTTP connection; the line format and the unsynced side live in influx-line.ts and influx-unsynced.ts.
/**
 * The production SeriesStore: InfluxDB. Writes go through @influxdata/influxdb-client's v2 write API
 * (InfluxDB 2.x, and 1.8+ where the bucket is `database/retention-policy` and the token `user:password`);
 * reads are InfluxQL over HTTP (`/query`), which both 1.x and 2.x (through its DBRP mapping) answer.
 *
 * One point per reading: measurement `readings`, tags agent, gym, metric, sensor (all low-cardinality:
 * never a session or user id), field `value` (float), time in ms. A point's identity is measurement + tags +
 * time, so a re-sent reading overwrites itself and is never counted twice.
 *
 * Acknowledgement: write() resolves only after InfluxDB answered 2xx for every request of it, which it does
 * only when it took every point (a partial write is a 400; the points it did take are written again,
 * harmlessly, when the rest is retried or split off). Each request is one POST of up to
 * pointsPerRequest lines through the client's transport (its HTTP, auth, timeout and HttpError), not its
 * WriteApi: that one buffers and retries in the background, its flush() does not wait for batches it sent on
 * its own, and it measures each line's UTF-8 length in JavaScript, which cost the hub a quarter of its CPU
 * under load. The agent resends what the hub does not acknowledge, so there is nothing to retry here.
 *
 * Series per agent: InfluxDB keeps the series index, so the adapter asks it. Series known to exist are kept in
 * a bounded cache (least recently used forgotten first); a write that names any other series of an agent
 * first lists that agent's series with SHOW SERIES (at most maxSeriesPerAgent of them, per gym it wrote
 * under), so the count is InfluxDB's, whatever the cache forgot. Writes run one at a time, so two writes
 * cannot both take an agent's last free series.
 */
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { HttpError, InfluxDB, RequestTimedOutError } from '@influxdata/influxdb-client';
import type { Logger } from 'pino';
import { isMetricId } from '@pulsebridge/protocol';
import { SpanKind, TimeoutError, errorMessage, inSpan, tracerFor, withTimeout } from '@pulsebridge/runtime';
import { SeriesStoreError } from './errors.ts';
import { statementOperation, statementText } from '../../telemetry/db-statement.ts';
import { LRUCache } from 'lru-cache';
import {
  DEFAULT_MAX_SERIES_PER_AGENT,
  DEFAULT_SERIES_CACHE_ENTRIES,
  checkFilter,
  checkPage,
  checkRange,
  checkRawQuery,
  checkRollupQuery,
  checkWrites,
  compareSeries,
} from './series-query.ts';
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
import { escapeTag, nanos, quote } from './influx-line.ts';
import { InfluxUnsynced, type TaggedRows } from './influx-unsynced.ts';
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

export interface InfluxSeriesStoreOptions {
  url: string;
  /** API token (2.x) or `user:password` (1.8+); empty for a server without authentication. */
  token?: string;
  org: string;
  /** 2.x: the bucket name. 1.x: `database/retention-policy` (or just `database` for its default policy). */
  bucket: string;
  /** The InfluxQL database, optionally `database/retention-policy`, when it differs from the bucket (2.x DBRP mapping). */
  database?: string;
  /** For each HTTP request, write or query. */
  timeoutMs?: number;
  log: Logger;
  /** Points per write request: InfluxDB's recommended 5 000 keeps bodies small and the server's work steady. */
  pointsPerRequest?: number;
  /** Write requests in flight for one write() call. */
  concurrentRequests?: number;
  /** New series past this many for one agent are refused (see SeriesStore.write). */
  maxSeriesPerAgent?: number;
  /** Series known to exist kept in memory at most. */
  seriesCacheEntries?: number;
}

export const MEASUREMENT = 'readings';

/** InfluxDB keeps times as int64 nanoseconds: from 1677-09-21 to 2262-04-11. */
const MAX_TIME_MS = 9_223_372_036_853;

const seriesKey = (agent: string, sensor: string, metric: string): string => `${agent}\u0000${sensor}\u0000${metric}`;
const sensorMetric = (sensor: string, metric: string): string => `${sensor}\u0000${metric}`;

interface QueryResult {
  statement_id?: number;
  series?: { name?: string; tags?: Record<string, string>; columns: string[]; values?: unknown[][] }[];
  error?: string;
}

export class InfluxSeriesStore implements SeriesStore {
  private readonly options: Required<Omit<InfluxSeriesStoreOptions, 'database' | 'log' | 'seriesCacheEntries'>>;
  /** Series (agent, sensor, metric) known to exist in InfluxDB. */
  private readonly knownSeries: LRUCache<string, true>;
  /** The write in progress: the next one waits for it, so series counts are never read mid-write. */
  private writing: Promise<unknown> = Promise.resolve();
  private readonly log: Logger;
  private readonly queryUrl: string;
  private readonly pingUrl: string;
  /** The v2 write API, as the client's WriteApi calls it. */
  private readonly writePath: string;
  private readonly queryDb: string;
  private readonly queryRp: string | undefined;
  private influx: InfluxDB | undefined;
  private httpAgent: HttpAgent | undefined;
  private readonly inFlight = new Set<Promise<unknown>>();
  /** From the X-Influxdb-Version header: 1.x and 2.x delete points through different APIs. */
  private serverVersion = '';
  private readonly unsynced = new InfluxUnsynced({
    queryTagged: (statement, what) => this.queryTagged(statement, what),
    writeLines: (lines) => this.writeLines(this.started(), lines),
    writeSeries: (batches) => this.write(batches),
    deleteSeries: (measurement, tags) => this.deleteSeries(measurement, tags),
  });

  constructor(options: InfluxSeriesStoreOptions) {
    this.options = {
      url: options.url.replace(/\/+$/, ''),
      token: options.token ?? '',
      org: options.org,
      bucket: options.bucket,
      timeoutMs: options.timeoutMs ?? 10_000,
      pointsPerRequest: options.pointsPerRequest ?? 5_000,
      concurrentRequests: options.concurrentRequests ?? 2,
      maxSeriesPerAgent: options.maxSeriesPerAgent ?? DEFAULT_MAX_SERIES_PER_AGENT,
    };
    this.knownSeries = new LRUCache({ max: options.seriesCacheEntries ?? DEFAULT_SERIES_CACHE_ENTRIES });
    this.log = options.log.child({ ns: 'storage/series/influx' });
    this.queryUrl = `${this.options.url}/query`;
    this.pingUrl = `${this.options.url}/ping`;
    this.writePath = `/api/v2/write?org=${encodeURIComponent(this.options.org)}&bucket=${encodeURIComponent(this.options.bucket)}&precision=ms`;
    const [db, rp] = (options.database ?? options.bucket).split('/', 2) as [string, string | undefined];
    this.queryDb = db;
    this.queryRp = rp || undefined;
  }

  async start(): Promise<void> {
    if (this.influx) return;
    const { url, token, timeoutMs } = this.options;
    // Keep-alive: a busy hub writes several requests a second; a new TCP (and TLS) handshake each time would cost more than the write.
    this.httpAgent = url.startsWith('https:') ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true });
    const influx = new InfluxDB({ url, token: token || undefined, timeout: timeoutMs, transportOptions: { agent: this.httpAgent } });
    try {
      await this.request(this.pingUrl, { method: 'GET' }, 'a ping');
      // Fails now, not on the first write, when the database does not exist or the token may not read it.
      const policies = await this.query('SHOW RETENTION POLICIES', 'the database check');
      if (this.queryRp !== undefined && !policies.some((row) => row[0] === this.queryRp)) {
        throw new Error(`retention policy ${this.queryRp} not found`);
      }
    } catch (err) {
      this.httpAgent.destroy();
      this.httpAgent = undefined;
      throw new SeriesStoreError('unavailable', `InfluxDB at ${url} (database ${this.queryDb}) is not usable: ${errorMessage(err)}`, { cause: err });
    }
    this.influx = influx;
    // The database may have changed while stopped: only InfluxDB's own answer counts as known.
    this.knownSeries.clear();
    this.log.info({ url, org: this.options.org, bucket: this.options.bucket, database: this.queryDb, retentionPolicy: this.queryRp }, 'series store connected');
  }

  async stop(): Promise<void> {
    if (!this.influx) return;
    this.influx = undefined;
    await Promise.allSettled([...this.inFlight, this.writing]);
    this.httpAgent?.destroy();
    this.httpAgent = undefined;
    this.log.info('series store disconnected');
  }

  /** Series known to exist held in memory now: at most seriesCacheEntries, whatever the agents send. */
  get cachedSeries(): number {
    return this.knownSeries.size;
  }

  async write(batches: readonly SeriesWrite[]): Promise<WriteResult> {
    this.started();
    checkWrites(batches);
    const previous = this.writing;
    const result = previous.then(
      () => this.writeInTurn(batches),
      () => this.writeInTurn(batches),
    );
    this.writing = result.catch(() => undefined);
    return result;
  }

  private async writeInTurn(batches: readonly SeriesWrite[]): Promise<WriteResult> {
    const influx = this.started();
    const { admitted, refused, created } = await this.admit(batches);
    const lines = toLines(admitted);
    await this.writeLines(influx, lines);
    for (const key of created) this.knownSeries.set(key, true);
    return { refused };
  }

  /**
   * Splits a write into what may be stored and the series refused because their agent has its maximum.
   * Asks InfluxDB only about agents with a series the cache does not know.
   */
  private async admit(batches: readonly SeriesWrite[]): Promise<{ admitted: SeriesWrite[]; refused: RefusedSeries[]; created: string[] }> {
    const unknownAgents = new Set<string>();
    for (const { agent, series } of batches) {
      for (const { sensor, metric, ts } of series) if (ts.length > 0 && this.knownSeries.get(seriesKey(agent, sensor, metric)) === undefined) unknownAgents.add(agent);
    }
    if (unknownAgents.size === 0) return { admitted: [...batches], refused: [], created: [] };
    /** Per agent with an unknown series: every (sensor, metric) it has, as InfluxDB counts them, plus those admitted by this write. */
    const seriesOf = new Map<string, Set<string>>();
    for (const agent of unknownAgents) seriesOf.set(agent, await this.seriesOfAgent(agent));
    const admitted: SeriesWrite[] = [];
    const refused: RefusedSeries[] = [];
    const created: string[] = [];
    for (let b = 0; b < batches.length; b++) {
      const batch = batches[b]!;
      const have = seriesOf.get(batch.agent);
      if (!have) {
        admitted.push(batch);
        continue;
      }
      const kept = batch.series.filter((series) => {
        if (series.ts.length === 0) return false;
        const key = sensorMetric(series.sensor, series.metric);
        if (have.has(key)) {
          this.knownSeries.set(seriesKey(batch.agent, series.sensor, series.metric), true);
          return true;
        }
        if (have.size >= this.options.maxSeriesPerAgent) {
          refused.push({ batch: b, agent: batch.agent, sensor: series.sensor, metric: series.metric, readings: series.ts.length });
          return false;
        }
        have.add(key);
        created.push(seriesKey(batch.agent, series.sensor, series.metric));
        return true;
      });
      admitted.push({ ...batch, series: kept });
    }
    return { admitted, refused, created };
  }

  /** The (sensor, metric) pairs InfluxDB holds for an agent, over every gym it wrote under. */
  private async seriesOfAgent(agent: string): Promise<Set<string>> {
    // A failure here (query_failed, timeout) fails the write before anything is sent; it may succeed later.
    const rows = await this.query(`SHOW SERIES FROM "${MEASUREMENT}" WHERE "agent" = ${quote(agent)}`, 'the series count of an agent');
    const have = new Set<string>();
    for (const [key] of rows) {
      const info = typeof key === 'string' ? parseSeriesKey(key) : undefined;
      if (info && info.agent === agent) have.add(sensorMetric(info.sensor, info.metric));
    }
    return have;
  }

  private async writeLines(influx: InfluxDB, lines: string[]): Promise<void> {
    if (lines.length === 0) return;
    const { pointsPerRequest, concurrentRequests } = this.options;
    let next = 0;
    const sendRemaining = async (): Promise<void> => {
      while (next < lines.length) {
        const chunk = lines.slice(next, next + pointsPerRequest);
        next += chunk.length;
        await this.sendChunk(influx, chunk);
      }
    };
    const senders = Array.from({ length: Math.min(concurrentRequests, Math.ceil(lines.length / pointsPerRequest)) }, sendRemaining);
    const all = Promise.all(senders);
    this.inFlight.add(all);
    try {
      await all;
    } finally {
      this.inFlight.delete(all);
    }
  }

  async readRaw(selector: SeriesSelector, limit: number): Promise<RawPoint[]> {
    this.started();
    checkRawQuery(selector, limit);
    const where = this.selectorWhere(selector);
    if (!where) return [];
    const rows = await this.query(`SELECT "value" FROM "${MEASUREMENT}" WHERE ${where} ORDER BY time ASC LIMIT ${limit}`, 'a raw read');
    return rows.map((row) => ({ ts: row[0] as number, value: row[1] as number }));
  }

  async readRollup(selector: SeriesSelector, stepMs: number): Promise<RollupPoint[]> {
    this.started();
    checkRollupQuery(selector, stepMs);
    const where = this.selectorWhere(selector);
    if (!where) return [];
    // Without an offset, GROUP BY time() starts steps at multiples of the step since the epoch, as SQLite's `ts - ts % step` does.
    const rows = await this.query(
      `SELECT min("value"), max("value"), mean("value"), count("value") FROM "${MEASUREMENT}" WHERE ${where} GROUP BY time(${stepMs}ms) fill(none)`,
      'a rollup read',
    );
    return rows
      .filter((row) => typeof row[4] === 'number' && row[4] > 0)
      .map((row) => ({ ts: row[0] as number, min: row[1] as number, max: row[2] as number, mean: row[3] as number, count: row[4] as number }));
  }

  /**
   * InfluxQL cannot seek SHOW SERIES to a key, so each page reads every matching series key and keeps the
   * page: the hub holds them only while it answers (at most maxSeriesPerAgent per agent and gym).
   */
  async listSeries(filter: SeriesFilter, page: SeriesPage): Promise<SeriesInfo[]> {
    this.started();
    checkFilter(filter);
    checkPage(page);
    const where = filterWhere(filter);
    const rows = await this.query(`SHOW SERIES FROM "${MEASUREMENT}"${where ? ` WHERE ${where}` : ''}`, 'a series listing');
    const { after, limit } = page;
    const out: SeriesInfo[] = [];
    for (const [key] of rows) {
      const info = typeof key === 'string' ? parseSeriesKey(key) : undefined;
      if (!info) {
        this.log.warn({ key }, 'skipping a series that is not one of ours');
        continue;
      }
      if (after !== undefined && compareSeries(info, after) <= 0) continue;
      out.push(info);
      // Keeps the work per page near limit · log(limit) instead of sorting every key.
      if (out.length >= 2 * limit) {
        out.sort(compareSeries);
        out.length = limit;
      }
    }
    out.sort(compareSeries);
    if (out.length > limit) out.length = limit;
    return out;
  }

  async count(filter: SeriesFilter): Promise<number> {
    this.started();
    checkFilter(filter);
    const where = filterWhere(filter);
    const rows = await this.query(`SELECT count("value") FROM "${MEASUREMENT}"${where ? ` WHERE ${where}` : ''}`, 'a count');
    const n = rows[0]?.[1];
    return typeof n === 'number' ? n : 0;
  }

  /**
   * InfluxQL's DELETE answers nothing about what it removed, so the readings are counted first. 1.x: DELETE
   * (InfluxQL, times in nanoseconds); 2.x has no InfluxQL delete: its delete API takes a predicate and an
   * inclusive stop, hence one millisecond before `to`.
   */
  async deleteRange(range: SeriesRange): Promise<number> {
    this.started();
    checkRange(range);
    const from = Math.max(range.from, 0);
    const to = Math.min(range.to, MAX_TIME_MS);
    if (from >= to) return 0;
    const tags = `"sensor" = ${quote(range.sensor)} AND "gym" = ${quote(range.gym)}`;
    const rows = await this.query(`SELECT count("value") FROM "${MEASUREMENT}" WHERE ${tags} AND time >= ${nanos(from)} AND time < ${nanos(to)}`, 'a range count');
    const n = rows[0]?.[1];
    const removed = typeof n === 'number' ? n : 0;
    if (removed === 0) return 0;
    if (/^v?[2-9]\./.test(this.serverVersion)) {
      const predicate = `_measurement="${MEASUREMENT}" AND sensor="${range.sensor}" AND gym="${range.gym}"`;
      const url = `${this.options.url}/api/v2/delete?${new URLSearchParams({ org: this.options.org, bucket: this.options.bucket })}`;
      const body = JSON.stringify({ start: new Date(from).toISOString(), stop: new Date(to - 1).toISOString(), predicate });
      await this.request(url, { method: 'POST', body, contentType: 'application/json' }, 'a range delete');
      return removed;
    }
    await this.query(`DELETE FROM "${MEASUREMENT}" WHERE ${tags} AND time >= ${nanos(from)} AND time < ${nanos(to)}`, 'a range delete');
    return removed;
  }

  async writeUnsynced(batches: readonly UnsyncedWrite[]): Promise<void> {
    this.started();
    checkUnsyncedWrites(batches);
    await this.unsynced.write(batches);
  }

  async listUnsynced(filter: { agent?: string }): Promise<UnsyncedBoot[]> {
    this.started();
    checkUnsyncedFilter(filter);
    return this.unsynced.list(filter);
  }

  async readUnsynced(selector: UnsyncedSelector, limit: number): Promise<UnsyncedPoint[]> {
    this.started();
    checkUnsyncedSelector(selector, limit);
    return this.unsynced.read(selector, limit);
  }

  async correctUnsynced(correction: UnsyncedCorrection): Promise<UnsyncedMove> {
    this.started();
    checkCorrection(correction);
    return this.unsynced.move(correction);
  }

  async discardUnsynced(agent: string, boot: string): Promise<number> {
    this.started();
    checkBoot(agent, boot);
    return this.unsynced.discard(agent, boot);
  }

  /** 1.x: DROP SERIES (InfluxQL). 2.x has no InfluxQL delete: its delete API takes a predicate. */
  private async deleteSeries(measurement: string, tags: Readonly<Record<string, string>>): Promise<void> {
    this.started();
    const pairs = Object.entries(tags);
    if (/^v?[2-9]\./.test(this.serverVersion)) {
      const predicate = [`_measurement="${measurement}"`, ...pairs.map(([key, value]) => `${key}="${value}"`)].join(' AND ');
      const url = `${this.options.url}/api/v2/delete?${new URLSearchParams({ org: this.options.org, bucket: this.options.bucket })}`;
      const body = JSON.stringify({ start: '1970-01-01T00:00:00Z', stop: new Date(MAX_TIME_MS).toISOString(), predicate });
      await this.request(url, { method: 'POST', body, contentType: 'application/json' }, 'a delete');
      return;
    }
    await this.query(`DROP SERIES FROM "${measurement}" WHERE ${pairs.map(([key, value]) => `"${key}" = ${quote(value)}`).join(' AND ')}`, 'a delete');
  }

  private started(): InfluxDB {
    if (!this.influx) throw new SeriesStoreError('not_started', 'the series store is not started');
    return this.influx;
  }

  /** undefined when no reading can match: the range lies outside what InfluxDB can hold. */
  private selectorWhere(selector: SeriesSelector): string | undefined {
    const from = Math.max(selector.from, 0);
    const to = Math.min(selector.to, MAX_TIME_MS);
    if (from >= to) return undefined;
    const tags = [`"sensor" = ${quote(selector.sensor)}`, `"metric" = ${quote(selector.metric)}`];
    if (selector.gym !== undefined) tags.push(`"gym" = ${quote(selector.gym)}`);
    if (selector.agent !== undefined) tags.push(`"agent" = ${quote(selector.agent)}`);
    return `${tags.join(' AND ')} AND time >= ${nanos(from)} AND time < ${nanos(to)}`;
  }

  private async sendChunk(influx: InfluxDB, lines: string[]): Promise<void> {
    try {
      // No gzipThreshold: InfluxDB usually runs next to the hub, and gzip would spend the hub's CPU to save bandwidth nobody pays for.
      await influx.transport.request(this.writePath, lines.join('\n'), { method: 'POST', headers: { 'content-type': 'text/plain; charset=utf-8' } });
    } catch (err) {
      throw this.writeError(err, lines.length);
    }
  }

  private writeError(err: unknown, points: number): SeriesStoreError {
    if (err instanceof RequestTimedOutError) {
      return new SeriesStoreError('timeout', new TimeoutError(`InfluxDB to confirm a write of ${points} points`, this.options.timeoutMs).message, { cause: err });
    }
    if (err instanceof HttpError) {
      const detail = `InfluxDB refused a write of ${points} points: HTTP ${err.statusCode} ${err.body ?? err.message}`.trim();
      // 400 and 422 are about the points themselves (outside the retention period, a field of another type):
      // sending them again cannot succeed. Anything else (auth, a missing bucket, overload) may pass later.
      const final = err.statusCode === 400 || err.statusCode === 422;
      return new SeriesStoreError(final ? 'write_rejected' : 'write_failed', detail, { cause: err });
    }
    return new SeriesStoreError('write_failed', `write of ${points} points to InfluxDB failed: ${errorMessage(err)}`, { cause: err });
  }

  /** Runs one InfluxQL statement and returns the rows of its (single) result series. */
  private async query(statement: string, what: string): Promise<unknown[][]> {
    return (await this.queryTagged(statement, what)).flatMap((series) => series.rows);
  }

  /** Runs one InfluxQL statement and returns each result series (one per GROUP BY group) with its tags. */
  private async queryTagged(statement: string, what: string): Promise<TaggedRows[]> {
    const body = new URLSearchParams({ db: this.queryDb, q: statement, epoch: 'ms', chunked: 'true', chunk_size: '10000' });
    if (this.queryRp) body.set('rp', this.queryRp);
    const text = await this.traced(statement, () => this.request(this.queryUrl, { method: 'POST', body }, what));
    const results: TaggedRows[] = [];
    // Chunked answers are one JSON document per line; chunking also avoids the server's max-row-limit.
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      let doc: { results?: QueryResult[]; error?: string };
      try {
        doc = JSON.parse(line) as typeof doc;
      } catch {
        throw new SeriesStoreError('query_failed', `InfluxDB answered ${what} with something that is not JSON: ${line.slice(0, 200)}`);
      }
      const error = doc.error ?? doc.results?.find((r) => r.error)?.error;
      if (error) throw new SeriesStoreError('query_failed', `InfluxDB refused ${what}: ${error}`);
      for (const result of doc.results ?? []) {
        for (const series of result.series ?? []) results.push({ tags: series.tags ?? {}, rows: series.values ?? [] });
      }
    }
    return results;
  }

  /** A client span for one InfluxQL statement when this process traces; tags in statements are ids, never readings or people. */
  private async traced<T>(statement: string, work: () => Promise<T>): Promise<T> {
    const tracer = tracerFor('pulsebridge-hub/influxdb');
    if (!tracer) return work();
    const operation = statementOperation(statement) ?? 'influxql';
    const span = tracer.startSpan(operation, {
      kind: SpanKind.CLIENT,
      attributes: { 'db.system.name': 'influxdb', 'db.namespace': this.queryDb, 'db.operation.name': operation, 'db.query.text': statementText(statement) },
    });
    return inSpan(span, work);
  }

  private async request(url: string, init: { method: string; body?: URLSearchParams | string; contentType?: string }, what: string): Promise<string> {
    const { token, timeoutMs } = this.options;
    let response: Response;
    let text: string;
    const abort = new AbortController();
    const exchange = async (): Promise<[Response, string]> => {
      const headers: Record<string, string> = token ? { Authorization: `Token ${token}` } : {};
      if (init.contentType) headers['Content-Type'] = init.contentType;
      const answer = await fetch(url, { method: init.method, ...(init.body === undefined ? {} : { body: init.body }), headers, signal: abort.signal });
      return [answer, await answer.text()];
    };
    try {
      [response, text] = await withTimeout(exchange(), timeoutMs, `InfluxDB to answer ${what}`, {
        // The request is cancelled, not left running: a slow InfluxDB must not pile up sockets.
        onTimeout: () => abort.abort(),
        error: (timeout) => new SeriesStoreError('timeout', timeout.message, { cause: timeout }),
      });
    } catch (err) {
      if (err instanceof SeriesStoreError) throw err;
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new SeriesStoreError('query_failed', `cannot reach InfluxDB for ${what}: ${cause?.code ?? cause?.message ?? errorMessage(err)}`, { cause: err });
    }
    this.serverVersion = response.headers.get('X-Influxdb-Version') ?? this.serverVersion;
    if (!response.ok) {
      throw new SeriesStoreError('query_failed', `InfluxDB answered ${what} with HTTP ${response.status}: ${text.slice(0, 500).trim()}`);
    }
    return text;
  }
}

function filterWhere(filter: SeriesFilter): string {
  const tags: string[] = [];
  if (filter.gym !== undefined) tags.push(`"gym" = ${quote(filter.gym)}`);
  if (filter.agent !== undefined) tags.push(`"agent" = ${quote(filter.agent)}`);
  if (filter.sensor !== undefined) tags.push(`"sensor" = ${quote(filter.sensor)}`);
  return tags.join(' AND ');
}

/** Line protocol, tags in key order (what InfluxDB sorts them into anyway). */
function toLines(batches: readonly SeriesWrite[]): string[] {
  const lines: string[] = [];
  for (const { gym, agent, series } of batches) {
    const head = `${MEASUREMENT},agent=${escapeTag(agent)},gym=${escapeTag(gym)},metric=`;
    for (const { sensor, metric, ts, values } of series) {
      // A bare number is a float field in line protocol (integers carry an `i`), so `value` keeps one type.
      const prefix = `${head}${metric},sensor=${escapeTag(sensor)} value=`;
      for (let i = 0; i < ts.length; i++) lines.push(`${prefix}${values[i]!} ${ts[i]!}`);
    }
  }
  return lines;
}

/** Parses `readings,agent=a1,gym=g\ 1,metric=power,sensor=x\,y` as SHOW SERIES prints it. */
export function parseSeriesKey(key: string): SeriesInfo | undefined {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < key.length; i++) {
    const c = key[i]!;
    if (c === '\\' && i + 1 < key.length) {
      current += key[++i];
    } else if (c === ',') {
      parts.push(current);
      current = '';
    } else if (c === '=') {
      current += '\u0000';
    } else {
      current += c;
    }
  }
  parts.push(current);
  if (parts[0] !== MEASUREMENT) return undefined;
  const tags = new Map<string, string>();
  for (const part of parts.slice(1)) {
    const at = part.indexOf('\u0000');
    if (at < 0) return undefined;
    tags.set(part.slice(0, at), part.slice(at + 1));
  }
  const [gym, agent, sensor, metric] = [tags.get('gym'), tags.get('agent'), tags.get('sensor'), tags.get('metric')];
  if (gym === undefined || agent === undefined || sensor === undefined || metric === undefined || !isMetricId(metric)) return undefined;
  return { gym, agent, sensor, metric };
}
