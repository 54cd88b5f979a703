/**
 * Chooses the SeriesStore adapter from configuration: SQLite in the data folder by default, InfluxDB when
 * `kind: influx`.
 */
import { isAbsolute, join } from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { ConfigError, resolveSecret, SecretRef } from '@pulsebridge/runtime';
import type { Logger } from 'pino';
import { InfluxSeriesStore } from './influx-series-store.ts';
import { SqliteSeriesStore } from './sqlite-series-store.ts';
import type { SeriesStore } from './series-store.ts';

export type * from './series-store.ts';
export { SeriesStoreError, type SeriesStoreErrorCode } from './errors.ts';
export { MAX_RAW_LIMIT, MAX_ROLLUP_STEPS } from './series-query.ts';
export { SqliteSeriesStore, type SqliteSeriesStoreOptions } from './sqlite-series-store.ts';
export { InfluxSeriesStore, type InfluxSeriesStoreOptions } from './influx-series-store.ts';

export const SeriesConfig = Type.Object(
  {
    kind: Type.Union([Type.Literal('sqlite'), Type.Literal('influx')], { default: 'sqlite', description: 'Where readings are stored' }),
    sqlite: Type.Object(
      {
        path: Type.Optional(Type.String({ minLength: 1, description: 'Database file; relative to the data folder; default <dataDir>/series.db' })),
        synchronous: Type.Union([Type.Literal('NORMAL'), Type.Literal('FULL')], {
          default: 'NORMAL',
          description: 'NORMAL may lose the last commits on power loss (never on a crash of the hub); FULL loses nothing and writes slower',
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
    });
  }
  if (config.kind !== 'sqlite') throw new ConfigError([`series.kind: unknown store "${String(config.kind)}"`]);
  const path = config.sqlite.path ?? 'series.db';
  return new SqliteSeriesStore({ path: isAbsolute(path) ? path : join(deps.dataDir, path), synchronous: config.sqlite.synchronous, log: deps.log });
}
