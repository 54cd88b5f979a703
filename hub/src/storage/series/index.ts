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
import { SqliteSeriesStore } from './sqlite-series-store.ts';
import type { SeriesStore } from './series-store.ts';

export type * from './series-store.ts';
export type * from './unsynced.ts';
export { SeriesStoreError, type SeriesStoreErrorCode } from './errors.ts';
export { DEFAULT_MAX_SERIES_PER_AGENT, DEFAULT_SERIES_CACHE_ENTRIES, MAX_RAW_LIMIT, MAX_ROLLUP_STEPS, MAX_SERIES_PAGE } from './series-query.ts';
export { SqliteSeriesStore, type SqliteSeriesStoreOptions } from './sqlite-series-store.ts';
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

/** What the schema cannot say about the store settings; the influx section is checked only when it is used. */
export function seriesConfigProblems(config: SeriesConfig, path: string): string[] {
  const problems: string[] = [];
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
    log: deps.log,
    maxSeriesPerAgent: config.maxSeriesPerAgent,
    seriesCacheEntries: config.seriesCacheEntries,
  });
}
