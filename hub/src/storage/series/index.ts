/**
 * Chooses the SeriesStore adapter from configuration: SQLite in the data folder by default, InfluxDB when
 * `kind: influx`.
 */
import { isAbsolute, join } from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { resolveSecret, SecretRef } from '@pulsebridge/runtime';
import type { Logger } from 'pino';
import { InfluxSeriesStore } from './influx-series-store.ts';
import { DEFAULT_MAX_SERIES_PER_AGENT, DEFAULT_SERIES_CACHE_ENTRIES } from './series-query.ts';
import { DAY_MS, type SeriesRetention } from './sqlite-retention.ts';
import { SqliteSeriesStore } from './sqlite-series-store.ts';
import type { SeriesStore } from './series-store.ts';

export type * from './series-store.ts';
export type * from './unsynced.ts';
export { SeriesStoreError, type SeriesStoreErrorCode } from './errors.ts';
export { DEFAULT_MAX_SERIES_PER_AGENT, DEFAULT_SERIES_CACHE_ENTRIES, MAX_RAW_LIMIT, MAX_ROLLUP_STEPS, MAX_SERIES_PAGE } from './series-query.ts';
export { SqliteSeriesStore, type SqliteSeriesStoreOptions } from './sqlite-series-store.ts';
export type { RetentionRound, RollupInterval, SeriesRetention } from './sqlite-retention.ts';

const DURATION = /^([1-9][0-9]{0,6})(s|m|h|d)$/;
const UNIT_MS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: DAY_MS };

/** '30s', '1m', '1h', '1d' in milliseconds; the schema's pattern has already checked the form. */
export function durationMs(text: string): number {
  const match = DURATION.exec(text);
  if (!match) throw new Error(`"${text}" is not a duration like 1m`);
  return Number(match[1]) * UNIT_MS[match[2]!]!;
}

export const SeriesRetentionConfig = Type.Object(
  {
    rawDays: Type.Number({
      exclusiveMinimum: 0,
      description:
        'Raw readings older than this many days are folded into the rollups and deleted. At least a day more than ingest.maxReadingAgeMs, so a late reading and the session it belongs to are still raw when results are computed again',
    }),
    rollups: Type.Array(
      Type.Object(
        {
          every: Type.String({ pattern: DURATION.source, description: 'Bucket length: 30s, 1m, 1h, 1d...; buckets start at multiples of it since the epoch' }),
          keepDays: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'Buckets older than this many days are deleted; more than rawDays. Absent: kept for good' })),
        },
        { additionalProperties: false },
      ),
      { default: [], maxItems: 6, description: 'Aggregates (min, max, mean, count) kept after raw readings are deleted; none: old readings are simply deleted' },
    ),
    roundIntervalMs: Type.Integer({ minimum: 1_000, maximum: DAY_MS, default: 600_000, description: 'Time between retention rounds' }),
    chunkRows: Type.Integer({
      minimum: 10,
      maximum: 1_000_000,
      default: 5_000,
      description: 'Rows folded or deleted per transaction at most: how long ingest may wait for the database during a round',
    }),
  },
  { additionalProperties: false, description: 'Retention of the SQLite store; absent: every reading is kept for good' },
);
export type SeriesRetentionConfig = Static<typeof SeriesRetentionConfig>;
export { InfluxSeriesStore, type InfluxSeriesStoreOptions } from './influx-series-store.ts';

export const SeriesConfig = Type.Object(
  {
    kind: Type.Union([Type.Literal('sqlite'), Type.Literal('influx')], { default: 'sqlite', description: 'Where readings are stored' }),
    maxSeriesPerAgent: Type.Integer({
      minimum: 1,
      maximum: 1_000_000,
      default: DEFAULT_MAX_SERIES_PER_AGENT,
      description: 'Series (sensor × metric) one agent may create; readings of a new series past it are refused and counted, the rest of the batch is stored',
    }),
    seriesCacheEntries: Type.Integer({
      minimum: 1,
      maximum: 10_000_000,
      default: DEFAULT_SERIES_CACHE_ENTRIES,
      description: 'Series the hub remembers in memory at most (least recently written forgotten first); a forgotten series costs one lookup on its next write',
    }),
    sqlite: Type.Object(
      {
        path: Type.Optional(Type.String({ minLength: 1, description: 'Database file; relative to the data folder; default <dataDir>/series.db' })),
        synchronous: Type.Union([Type.Literal('NORMAL'), Type.Literal('FULL')], {
          default: 'FULL',
          description:
            'FULL: every acknowledged reading survives a power loss. NORMAL writes about 10 % faster but may lose the last acknowledged commits on power loss (never on a crash of the hub); agents deleted them on the ack, so they are lost',
        }),
        retention: Type.Optional(SeriesRetentionConfig),
      },
      { default: {}, additionalProperties: false },
    ),
    influx: Type.Object(
      {
        url: Type.String({ default: 'http://127.0.0.1:8086', description: 'Base URL of InfluxDB' }),
        token: Type.Optional(SecretRef),
        org: Type.String({ default: 'pulsebridge', description: 'Organisation (2.x); ignored by 1.x' }),
        bucket: Type.String({ minLength: 1, default: 'pulsebridge', description: 'Bucket (2.x), or database/retention-policy (1.8+)' }),
        database: Type.Optional(Type.String({ minLength: 1, description: 'InfluxQL database[/retention-policy] for reads, when it is not the bucket (2.x DBRP mapping)' })),
        timeoutMs: Type.Integer({ minimum: 100, maximum: 600_000, default: 10_000, description: 'For each HTTP request to InfluxDB' }),
      },
      { default: {}, additionalProperties: false },
    ),
  },
  { default: {}, additionalProperties: false },
);
export type SeriesConfig = Static<typeof SeriesConfig>;

/**
 * What the schema cannot say about the store settings; the influx section is checked only when it is used.
 * `ingest.maxReadingAgeMs`, when given, bounds the raw retention from below (see SeriesRetentionConfig.rawDays).
 */
export function seriesConfigProblems(config: SeriesConfig, path: string, ingest?: { maxReadingAgeMs: number }): string[] {
  const problems: string[] = [];
  if (config.kind === 'sqlite' && config.sqlite.retention) problems.push(...retentionProblems(config.sqlite.retention, `${path}/sqlite/retention`, ingest));
  if (config.kind !== 'influx') return problems;
  const influx = config.influx;
  let url: URL | undefined;
  try {
    url = new URL(influx.url);
  } catch {
    problems.push(`${path}/influx/url: "${influx.url}" is not a URL`);
  }
  if (url && url.protocol !== 'http:' && url.protocol !== 'https:') problems.push(`${path}/influx/url: must be http:// or https://, not ${url.protocol}//`);
  // 1.x names a retention policy as database/policy; anything deeper is neither a 2.x bucket nor a 1.x one.
  if (influx.bucket.split('/').length > 2) problems.push(`${path}/influx/bucket: at most one "/" (database/retention-policy)`);
  if (influx.database !== undefined && influx.database.split('/').some((part) => part === '')) {
    problems.push(`${path}/influx/database: "${influx.database}" has an empty database or retention policy name`);
  }
  return problems;
}

function retentionProblems(retention: SeriesRetentionConfig, path: string, ingest: { maxReadingAgeMs: number } | undefined): string[] {
  const problems: string[] = [];
  const rawMs = retention.rawDays * DAY_MS;
  if (ingest && rawMs < ingest.maxReadingAgeMs + DAY_MS) {
    const atLeast = Math.ceil((ingest.maxReadingAgeMs + DAY_MS) / DAY_MS);
    problems.push(
      `${path}/rawDays: ${retention.rawDays} days would delete readings ingest still accepts (ingest.maxReadingAgeMs ${ingest.maxReadingAgeMs} ms) before a late reading's session is computed again; at least ${atLeast}`,
    );
  }
  const seen = new Map<number, number>();
  retention.rollups.forEach((rollup, i) => {
    const at = `${path}/rollups/${i}`;
    const every = durationMs(rollup.every);
    const earlier = seen.get(every);
    if (earlier !== undefined) problems.push(`${at}/every: ${rollup.every} is already rollups/${earlier}`);
    seen.set(every, i);
    if (every > DAY_MS) problems.push(`${at}/every: at most 1d, got ${rollup.every}`);
    else if (DAY_MS % every !== 0) problems.push(`${at}/every: ${rollup.every} does not divide a day, so its buckets would not line up with days`);
    if (rollup.keepDays !== undefined && rollup.keepDays <= retention.rawDays) {
      problems.push(`${at}/keepDays: ${rollup.keepDays} is not more than rawDays (${retention.rawDays}): the rollup would be deleted with the readings it replaces`);
    }
  });
  return problems;
}

/** The store's retention from its configuration. */
export function seriesRetention(config: SeriesRetentionConfig): SeriesRetention {
  return {
    rawDays: config.rawDays,
    rollups: config.rollups.map((r) => ({ everyMs: durationMs(r.every), ...(r.keepDays === undefined ? {} : { keepDays: r.keepDays }) })),
    roundIntervalMs: config.roundIntervalMs,
    chunkRows: config.chunkRows,
  };
}

export interface SeriesStoreDeps {
  log: Logger;
  /** The hub's data folder: where the SQLite file lives unless configured elsewhere. */
  dataDir: string;
  env?: NodeJS.ProcessEnv;
}

export function createSeriesStore(config: SeriesConfig, deps: SeriesStoreDeps): SeriesStore {
  if (config.kind === 'influx') {
    const { url, token, org, bucket, database, timeoutMs } = config.influx;
    return new InfluxSeriesStore({
      url,
      token: token === undefined ? '' : resolveSecret(token, deps.env),
      org,
      bucket,
      ...(database === undefined ? {} : { database }),
      timeoutMs,
      log: deps.log,
      maxSeriesPerAgent: config.maxSeriesPerAgent,
      seriesCacheEntries: config.seriesCacheEntries,
    });
  }
  const path = config.sqlite.path ?? 'series.db';
  return new SqliteSeriesStore({
    path: isAbsolute(path) ? path : join(deps.dataDir, path),
    synchronous: config.sqlite.synchronous,
    ...(config.sqlite.retention ? { retention: seriesRetention(config.sqlite.retention) } : {}),
    log: deps.log,
    maxSeriesPerAgent: config.maxSeriesPerAgent,
    seriesCacheEntries: config.seriesCacheEntries,
  });
}
