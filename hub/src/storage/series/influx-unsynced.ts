/**
 * The InfluxDB side of readings held apart (unsynced.ts): measurement `unsynced`, tags agent, boot, gym,
 * metric, sensor, field `value`, time as stamped. A boot is one agent's few series, dropped whole once it is
 * corrected or discarded. A correction writes the readings into `readings` first and deletes the boot only
 * once InfluxDB confirmed that write: a crash in between leaves the boot in place, and repeating the same
 * correction overwrites the same points (a point's identity is its tags and time) before deleting.
 */
import { isMetricId, type MetricId } from '@pulsebridge/protocol';
import { escapeTag, nanos, quote } from './influx-line.ts';
import type { SeriesWrite, WriteResult } from './series-store.ts';
import {
  MAX_STORABLE_TIME_MS,
  correctedTime,
  sortUnsyncedPoints,
  type UnsyncedBoot,
  type UnsyncedCorrection,
  type UnsyncedMove,
  type UnsyncedPoint,
  type UnsyncedSelector,
  type UnsyncedWrite,
} from './unsynced.ts';

export const UNSYNCED_MEASUREMENT = 'unsynced';

/** Readings read per query while a boot is moved: bounds the memory one correction takes. */
const MOVE_CHUNK = 10_000;

/** One result series of a grouped query: its tags (GROUP BY) and its rows. */
export interface TaggedRows {
  tags: Record<string, string>;
  rows: unknown[][];
}

/** What the helper needs of InfluxSeriesStore's connection. */
export interface InfluxAccess {
  queryTagged(statement: string, what: string): Promise<TaggedRows[]>;
  /** Line protocol, confirmed point by point, as SeriesStore.write does. */
  writeLines(lines: string[]): Promise<void>;
  /** The regular series: exactly SeriesStore.write, so a new series past the agent's limit is refused. */
  writeSeries(batches: readonly SeriesWrite[]): Promise<WriteResult>;
  /** Deletes every point of the measurement whose tags equal these (whatever the server's version). */
  deleteSeries(measurement: string, tags: Readonly<Record<string, string>>): Promise<void>;
}

const ALL_TIME = `time >= 0 AND time <= ${nanos(MAX_STORABLE_TIME_MS)}`;

function bootWhere(agent: string, boot: string): string {
  return `"agent" = ${quote(agent)} AND "boot" = ${quote(boot)} AND ${ALL_TIME}`;
}

export class InfluxUnsynced {
  private readonly influx: InfluxAccess;

  constructor(influx: InfluxAccess) {
    this.influx = influx;
  }

  async write(batches: readonly UnsyncedWrite[]): Promise<void> {
    const lines: string[] = [];
    for (const { gym, agent, boot, series } of batches) {
      const head = `${UNSYNCED_MEASUREMENT},agent=${escapeTag(agent)},boot=${escapeTag(boot)},gym=${escapeTag(gym)},metric=`;
      for (const { sensor, metric, ts, values } of series) {
        const prefix = `${head}${metric},sensor=${escapeTag(sensor)} value=`;
        for (let i = 0; i < ts.length; i++) lines.push(`${prefix}${values[i]!} ${ts[i]!}`);
      }
    }
    if (lines.length > 0) await this.influx.writeLines(lines);
  }

  async list(filter: { agent?: string }): Promise<UnsyncedBoot[]> {
    const where = `${filter.agent === undefined ? '' : `"agent" = ${quote(filter.agent)} AND `}${ALL_TIME}`;
    const from = `FROM "${UNSYNCED_MEASUREMENT}" WHERE ${where}`;
    const [counts, firsts, lasts] = await Promise.all([
      this.influx.queryTagged(`SELECT count("value") ${from} GROUP BY "agent", "boot", "gym", "sensor"`, 'a count of unsynced readings'),
      this.influx.queryTagged(`SELECT first("value") ${from} GROUP BY "agent", "boot"`, 'the first unsynced stamps'),
      this.influx.queryTagged(`SELECT last("value") ${from} GROUP BY "agent", "boot"`, 'the last unsynced stamps'),
    ]);
    const key = (tags: Record<string, string>): string => `${tags['agent']}\u0000${tags['boot']}`;
    const stampOf = (results: TaggedRows[]): Map<string, number> => new Map(results.map((r) => [key(r.tags), r.rows[0]?.[0] as number]));
    const first = stampOf(firsts);
    const last = stampOf(lasts);
    const boots = new Map<string, UnsyncedBoot>();
    for (const { tags, rows } of counts) {
      const n = rows[0]?.[1];
      if (typeof n !== 'number' || n === 0) continue;
      const k = key(tags);
      let boot = boots.get(k);
      if (!boot) {
        boot = {
          gym: tags['gym'] ?? '',
          agent: tags['agent'] ?? '',
          boot: tags['boot'] ?? '',
          readings: 0,
          firstStamp: first.get(k) ?? 0,
          lastStamp: last.get(k) ?? 0,
          sensors: [],
        };
        boots.set(k, boot);
      }
      boot.readings += n;
      const sensor = tags['sensor'] ?? '';
      if (!boot.sensors.includes(sensor)) boot.sensors.push(sensor);
    }
    const list = [...boots.values()];
    for (const boot of list) boot.sensors.sort();
    return list.sort((a, b) => (a.agent < b.agent ? -1 : a.agent > b.agent ? 1 : a.boot < b.boot ? -1 : a.boot > b.boot ? 1 : 0));
  }

  /**
   * InfluxDB orders points of equal time across series by its own rule; the readings at the last time of a
   * page are read again in full so that the order (and so the API's cursor) is the same as SQLite's.
   */
  async read(selector: UnsyncedSelector, limit: number): Promise<UnsyncedPoint[]> {
    const tags = [`"agent" = ${quote(selector.agent)}`, `"boot" = ${quote(selector.boot)}`];
    if (selector.sensor !== undefined) tags.push(`"sensor" = ${quote(selector.sensor)}`);
    if (selector.metric !== undefined) tags.push(`"metric" = ${quote(selector.metric)}`);
    const select = `SELECT "value", "sensor"::tag, "metric"::tag FROM "${UNSYNCED_MEASUREMENT}" WHERE ${tags.join(' AND ')}`;
    const from = Math.max(0, selector.from);
    if (from > MAX_STORABLE_TIME_MS) return [];
    const page = toPoints(
      await this.influx.queryTagged(`${select} AND time >= ${nanos(from)} AND time <= ${nanos(MAX_STORABLE_TIME_MS)} ORDER BY time ASC LIMIT ${limit}`, 'an unsynced read'),
    );
    if (page.length < limit) return sortUnsyncedPoints(page);
    const lastTs = page.at(-1)!.ts;
    const atLast = toPoints(await this.influx.queryTagged(`${select} AND time = ${nanos(lastTs)}`, 'an unsynced read'));
    return sortUnsyncedPoints([...page.filter((p) => p.ts < lastTs), ...atLast]).slice(0, limit);
  }

  async move(correction: UnsyncedCorrection): Promise<UnsyncedMove> {
    const { agent, boot } = correction;
    const seriesOfBoot = await this.influx.queryTagged(
      `SELECT count("value") FROM "${UNSYNCED_MEASUREMENT}" WHERE ${bootWhere(agent, boot)} GROUP BY "gym", "sensor", "metric"`,
      'the series of an unsynced boot',
    );
    let moved = 0;
    let refused = 0;
    for (const { tags } of seriesOfBoot) {
      const { gym = '', sensor = '', metric = '' } = tags;
      if (!isMetricId(metric)) continue;
      const series = `"gym" = ${quote(gym)} AND "sensor" = ${quote(sensor)} AND "metric" = ${quote(metric)}`;
      let after = -1;
      for (;;) {
        const rows = (
          await this.influx.queryTagged(
            `SELECT "value" FROM "${UNSYNCED_MEASUREMENT}" WHERE ${bootWhere(agent, boot)} AND ${series}${after < 0 ? '' : ` AND time > ${nanos(after)}`} ORDER BY time ASC LIMIT ${MOVE_CHUNK}`,
            'an unsynced boot being corrected',
          )
        ).flatMap((r) => r.rows);
        if (rows.length === 0) break;
        after = rows.at(-1)![0] as number;
        const ts: number[] = [];
        const values: number[] = [];
        for (const [stamp, value] of rows as [number, number][]) {
          const corrected = correctedTime(stamp, correction);
          if (corrected === undefined) refused++;
          else {
            ts.push(corrected);
            values.push(value);
          }
        }
        if (ts.length > 0) {
          const written = await this.influx.writeSeries([{ gym, agent, series: [{ sensor, metric, ts, values }] }]);
          const overLimit = written.refused.reduce((sum, r) => sum + r.readings, 0);
          moved += ts.length - overLimit;
          refused += overLimit;
        }
        if (rows.length < MOVE_CHUNK) break;
      }
    }
    await this.influx.deleteSeries(UNSYNCED_MEASUREMENT, { agent, boot });
    return { moved, refused };
  }

  async discard(agent: string, boot: string): Promise<number> {
    const counted = await this.influx.queryTagged(`SELECT count("value") FROM "${UNSYNCED_MEASUREMENT}" WHERE ${bootWhere(agent, boot)}`, 'a count of an unsynced boot');
    const n = counted[0]?.rows[0]?.[1];
    if (typeof n !== 'number' || n === 0) return 0;
    await this.influx.deleteSeries(UNSYNCED_MEASUREMENT, { agent, boot });
    return n;
  }
}

function toPoints(results: TaggedRows[]): UnsyncedPoint[] {
  const points: UnsyncedPoint[] = [];
  for (const { rows } of results) {
    for (const [ts, value, sensor, metric] of rows) {
      if (typeof sensor === 'string' && typeof metric === 'string' && isMetricId(metric)) {
        points.push({ sensor, metric: metric as MetricId, ts: ts as number, value: value as number });
      }
    }
  }
  return points;
}
