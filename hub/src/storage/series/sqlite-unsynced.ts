/**
 * The SQLite side of readings held apart (unsynced.ts): one WITHOUT ROWID table keyed by (agent, boot, sensor,
 * metric, ts as stamped), in the same file as the series, so that a correction moves readings from it into
 * the series in one transaction. The table is created when missing, outside the series schema's version: it
 * is independent of it, and an older hub simply never reads it.
 */
import type { Database as SqliteDatabase, Statement } from 'better-sqlite3';
import type { MetricId } from '@pulsebridge/protocol';
import type { SeriesWrite } from './series-store.ts';
import { correctedTime, type UnsyncedBoot, type UnsyncedCorrection, type UnsyncedMove, type UnsyncedPoint, type UnsyncedSelector, type UnsyncedWrite } from './unsynced.ts';

/** Readings moved per series write during a correction: bounds the memory one correction takes. */
const MOVE_CHUNK = 10_000;

interface BootRow {
  agent: string;
  boot: string;
  gym: string;
  readings: number;
  firstStamp: number;
  lastStamp: number;
}

export class SqliteUnsynced {
  private readonly db: SqliteDatabase;
  private readonly insert: Statement<[string, string, string, string, number, string, number]>;
  private readonly boots: Statement<{ agent: string | null }, BootRow>;
  private readonly sensors: Statement<{ agent: string | null }, { agent: string; boot: string; sensor: string }>;
  private readonly read: Statement<
    { agent: string; boot: string; sensor: string | null; metric: string | null; from: number; limit: number },
    { sensor: string; metric: MetricId; ts: number; value: number }
  >;
  private readonly seriesOfBoot: Statement<[string, string], { gym: string; sensor: string; metric: MetricId }>;
  private readonly chunkOfSeries: Statement<[string, string, string, string, number, number], { ts: number; value: number }>;
  private readonly deleteBoot: Statement<[string, string]>;
  private readonly writeAll: (batches: readonly UnsyncedWrite[]) => void;
  private readonly moveAll: (correction: UnsyncedCorrection, intoSeries: (batches: readonly SeriesWrite[]) => void) => UnsyncedMove;

  constructor(db: SqliteDatabase) {
    this.db = db;
    db.exec(`
      CREATE TABLE IF NOT EXISTS unsynced (
        agent TEXT NOT NULL,
        boot TEXT NOT NULL,
        sensor TEXT NOT NULL,
        metric TEXT NOT NULL,
        ts INTEGER NOT NULL,
        gym TEXT NOT NULL,
        value REAL NOT NULL,
        PRIMARY KEY (agent, boot, sensor, metric, ts)
      ) WITHOUT ROWID;
    `);
    const agentWhere = '(@agent IS NULL OR agent = @agent)';
    this.insert = db.prepare('INSERT INTO unsynced (agent, boot, sensor, metric, ts, gym, value) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING');
    this.boots = db.prepare(
      `SELECT agent, boot, max(gym) AS gym, count(*) AS readings, min(ts) AS firstStamp, max(ts) AS lastStamp
         FROM unsynced WHERE ${agentWhere} GROUP BY agent, boot ORDER BY agent, boot`,
    );
    this.sensors = db.prepare(`SELECT DISTINCT agent, boot, sensor FROM unsynced WHERE ${agentWhere} ORDER BY agent, boot, sensor`);
    this.read = db.prepare(
      `SELECT sensor, metric, ts, value FROM unsynced
        WHERE agent = @agent AND boot = @boot AND (@sensor IS NULL OR sensor = @sensor) AND (@metric IS NULL OR metric = @metric) AND ts >= @from
        ORDER BY ts, sensor, metric LIMIT @limit`,
    );
    this.seriesOfBoot = db.prepare('SELECT max(gym) AS gym, sensor, metric FROM unsynced WHERE agent = ? AND boot = ? GROUP BY sensor, metric ORDER BY sensor, metric');
    this.chunkOfSeries = db.prepare('SELECT ts, value FROM unsynced WHERE agent = ? AND boot = ? AND sensor = ? AND metric = ? AND ts > ? ORDER BY ts LIMIT ?');
    this.deleteBoot = db.prepare('DELETE FROM unsynced WHERE agent = ? AND boot = ?');

    this.writeAll = db.transaction((batches: readonly UnsyncedWrite[]) => {
      for (const { gym, agent, boot, series } of batches) {
        for (const { sensor, metric, ts, values } of series) {
          for (let i = 0; i < ts.length; i++) this.insert.run(agent, boot, sensor, metric, ts[i]!, gym, values[i]!);
        }
      }
    });
    this.moveAll = db.transaction((correction: UnsyncedCorrection, intoSeries: (batches: readonly SeriesWrite[]) => void): UnsyncedMove => {
      const { agent, boot } = correction;
      let moved = 0;
      let refused = 0;
      for (const { gym, sensor, metric } of this.seriesOfBoot.all(agent, boot)) {
        let after = -1;
        for (;;) {
          const rows = this.chunkOfSeries.all(agent, boot, sensor, metric, after, MOVE_CHUNK);
          if (rows.length === 0) break;
          after = rows.at(-1)!.ts;
          const ts: number[] = [];
          const values: number[] = [];
          for (const row of rows) {
            const corrected = correctedTime(row.ts, correction);
            if (corrected === undefined) {
              refused++;
              continue;
            }
            ts.push(corrected);
            values.push(row.value);
          }
          // Joins the enclosing transaction (better-sqlite3 nests it as a savepoint): all of the boot or nothing.
          if (ts.length > 0) intoSeries([{ gym, agent, series: [{ sensor, metric, ts, values }] }]);
          moved += ts.length;
        }
      }
      this.deleteBoot.run(agent, boot);
      return { moved, refused };
    });
  }

  write(batches: readonly UnsyncedWrite[]): void {
    this.writeAll(batches);
  }

  list(filter: { agent?: string }): UnsyncedBoot[] {
    const params = { agent: filter.agent ?? null };
    const sensorsOf = new Map<string, string[]>();
    for (const { agent, boot, sensor } of this.sensors.iterate(params)) {
      const key = `${agent}\u0000${boot}`;
      let list = sensorsOf.get(key);
      if (!list) sensorsOf.set(key, (list = []));
      list.push(sensor);
    }
    return this.boots.all(params).map((row) => ({ ...row, sensors: sensorsOf.get(`${row.agent}\u0000${row.boot}`) ?? [] }));
  }

  readPoints(selector: UnsyncedSelector, limit: number): UnsyncedPoint[] {
    const { agent, boot, from } = selector;
    return this.read.all({ agent, boot, sensor: selector.sensor ?? null, metric: selector.metric ?? null, from, limit });
  }

  /** `intoSeries` writes to the regular series inside the caller's store; it must not commit on its own. */
  move(correction: UnsyncedCorrection, intoSeries: (batches: readonly SeriesWrite[]) => void): UnsyncedMove {
    return this.moveAll(correction, intoSeries);
  }

  discard(agent: string, boot: string): number {
    return this.deleteBoot.run(agent, boot).changes;
  }
}
