/** The `db.system.name` of a series store, for the spans of its writes. */
import { InfluxSeriesStore } from '../storage/series/influx-series-store.ts';
import type { SeriesStore } from '../storage/series/series-store.ts';
import { SqliteSeriesStore } from '../storage/series/sqlite-series-store.ts';

export function seriesSystemOf(store: SeriesStore): string {
  if (store instanceof SqliteSeriesStore) return 'sqlite';
  if (store instanceof InfluxSeriesStore) return 'influxdb';
  // A test double or a store added later: still a span, named for what it is.
  return store.constructor.name;
}
