/**
 * The DedupeStore on PostgreSQL, shared by hub replicas (dedupe-store.ts: what it keeps and what it forgets).
 *
 * With MQTT shared subscriptions an agent's batches reach any replica, and a resend often reaches another
 * replica than the first send, so no replica can answer from its own memory: isDuplicate() asks the shared
 * table. The questions asked within one turn of the event loop (one socket read often carries many batches)
 * go as one query. A resend that arrives while the first send is still being written elsewhere is not seen as
 * a duplicate and is written again: stores are idempotent on (agent, sensor, metric, ts), so that costs a
 * rewrite, never a reading stored twice.
 *
 * record() runs in one transaction that first upserts the rows of the streams it touches, in a fixed order:
 * their row locks serialise replicas recording the same stream, so ranges are merged on the current rows.
 * Recency of streams (for the cap per agent) comes from a sequence, so it is comparable across replicas.
 */
import type pg from 'pg';
import { DedupeError, addRange, dedupeLimits, isSequenceRange, planRecord, streamKey, type DedupeLimits, type DedupeRange, type DedupeStore, type Range } from './dedupe-store.ts';
import { checkStateSchema, inTransaction, openStatePool, type PostgresStateOptions, type StateMigration } from '../registry/postgres-state.ts';

export interface PostgresDedupeOptions extends PostgresStateOptions, DedupeLimits {
  now?: () => number;
}

export const DEDUPE_MIGRATIONS: readonly StateMigration[] = [
  {
    version: 1,
    name: 'ingest dedupe ranges',
    sql: `
      CREATE SEQUENCE ingest_dedupe_clock;
      CREATE TABLE ingest_dedupe_streams (
        agent TEXT NOT NULL,
        stream TEXT NOT NULL,
        used BIGINT NOT NULL,
        PRIMARY KEY (agent, stream)
      );
      CREATE TABLE ingest_dedupe_ranges (
        agent TEXT NOT NULL,
        stream TEXT NOT NULL,
        first BIGINT NOT NULL,
        last BIGINT NOT NULL,
        PRIMARY KEY (agent, stream, first),
        FOREIGN KEY (agent, stream) REFERENCES ingest_dedupe_streams (agent, stream) ON DELETE CASCADE
      );
    `,
  },
];

interface Check {
  agent: string;
  stream: string;
  first: number;
  last: number;
  resolve: (duplicate: boolean) => void;
  reject: (err: unknown) => void;
}

const isExact = (n: number): boolean => Number.isSafeInteger(n) && n >= 0;

export class PostgresDedupe implements DedupeStore {
  private pool: pg.Pool | undefined;
  private loaded = false;
  private readonly limits: ReturnType<typeof dedupeLimits>;
  private pending: Check[] = [];
  private flushScheduled = false;

  constructor(private readonly options: PostgresDedupeOptions) {
    checkStateSchema(options.schema);
    this.limits = dedupeLimits(options);
  }

  /** Opens the pool and applies the migrations; before Ingest starts (it calls load()). */
  async start(): Promise<void> {
    this.pool ??= await openStatePool(this.options, 'ingest dedupe', DEDUPE_MIGRATIONS, this.options.now ?? Date.now);
  }

  async stop(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    this.loaded = false;
    await pool?.end();
  }

  /** Nothing to read ahead: the ranges are asked for when needed. Refuses to go on unstarted. */
  load(): void {
    if (!this.pool) throw new DedupeError('not_loaded', 'PostgresDedupe.start() must run before ingest starts');
    this.loaded = true;
  }

  isDuplicate(agent: string, stream: string, first: number, last: number): boolean | Promise<boolean> {
    if (!this.loaded || !isExact(first) || !isExact(last) || last < first) return false;
    return new Promise((resolve, reject) => {
      this.pending.push({ agent, stream, first, last, resolve, reject });
      if (this.flushScheduled) return;
      this.flushScheduled = true;
      setImmediate(() => void this.checkPending());
    });
  }

  /** Answers every check gathered since the last round in one query. */
  private async checkPending(): Promise<void> {
    const checks = this.pending;
    this.pending = [];
    this.flushScheduled = false;
    try {
      const { rows } = await this.requirePool().query<{ i: string }>(
        // Ranges are disjoint and merged: the one that could cover [first, last] is the last starting at or before first.
        `SELECT q.i FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[]) WITH ORDINALITY AS q (agent, stream, first, last, i)
          WHERE (SELECT r.last FROM ingest_dedupe_ranges r WHERE r.agent = q.agent AND r.stream = q.stream AND r.first <= q.first
                  ORDER BY r.first DESC LIMIT 1) >= q.last`,
        [checks.map((c) => c.agent), checks.map((c) => c.stream), checks.map((c) => c.first), checks.map((c) => c.last)],
      );
      const duplicates = new Set(rows.map((r) => Number(r.i) - 1));
      checks.forEach((c, i) => c.resolve(duplicates.has(i)));
    } catch (err) {
      for (const c of checks) c.reject(err);
    }
  }

  async record(entries: readonly DedupeRange[]): Promise<DedupeRange[]> {
    if (!this.loaded) throw new DedupeError('not_loaded', 'load() must run before ranges are recorded');
    const pool = this.requirePool();
    const invalid = entries.filter((e) => !isSequenceRange(e));
    const valid = invalid.length > 0 ? entries.filter(isSequenceRange) : entries;
    if (valid.length === 0) return invalid;
    const touched = [...new Map(valid.map((e) => [streamKey(e.agent, e.stream), { agent: e.agent, stream: e.stream }])).values()];

    return inTransaction(pool, async (client) => {
      // Recency in the order the streams are named, row locks in a fixed order (no deadlock between replicas).
      const { rows: clock } = await client.query<{ used: string }>("SELECT nextval('ingest_dedupe_clock') AS used FROM generate_series(1, $1)", [touched.length]);
      const used = new Map(touched.map((t, i) => [streamKey(t.agent, t.stream), Number(clock[i]!.used)]));
      const locked = [...touched].sort((a, b) => (a.agent === b.agent ? compare(a.stream, b.stream) : compare(a.agent, b.agent)));
      await client.query(
        `INSERT INTO ingest_dedupe_streams (agent, stream, used)
           SELECT agent, stream, used FROM unnest($1::text[], $2::text[], $3::bigint[]) WITH ORDINALITY AS u (agent, stream, used, i) ORDER BY i
           ON CONFLICT (agent, stream) DO UPDATE SET used = excluded.used`,
        [locked.map((t) => t.agent), locked.map((t) => t.stream), locked.map((t) => used.get(streamKey(t.agent, t.stream)))],
      );
      const { rows } = await client.query<{ agent: string; stream: string; first: string; last: string }>(
        `SELECT r.agent, r.stream, r.first, r.last FROM ingest_dedupe_ranges r JOIN unnest($1::text[], $2::text[]) AS t (agent, stream)
           ON r.agent = t.agent AND r.stream = t.stream ORDER BY r.agent, r.stream, r.first`,
        [touched.map((t) => t.agent), touched.map((t) => t.stream)],
      );
      const current = new Map<string, Range[]>();
      for (const r of rows) {
        const key = streamKey(r.agent, r.stream);
        current.set(key, addRange(current.get(key) ?? [], Number(r.first), Number(r.last)));
      }
      const plan = planRecord(valid, (agent, stream) => current.get(streamKey(agent, stream)) ?? [], this.limits);

      const gone: [string, string, number][] = [];
      const upserts: [string, string, number, number][] = [];
      for (const c of plan.changes) {
        const afterByFirst = new Map(c.after.map((r) => [r[0], r[1]]));
        const beforeByFirst = new Map(c.before.map((r) => [r[0], r[1]]));
        for (const [first] of beforeByFirst) if (!afterByFirst.has(first)) gone.push([c.agent, c.stream, first]);
        for (const [first, last] of afterByFirst) if (beforeByFirst.get(first) !== last) upserts.push([c.agent, c.stream, first, last]);
      }
      if (gone.length > 0) {
        await client.query(
          `DELETE FROM ingest_dedupe_ranges r USING unnest($1::text[], $2::text[], $3::bigint[]) AS g (agent, stream, first)
             WHERE r.agent = g.agent AND r.stream = g.stream AND r.first = g.first`,
          [gone.map((g) => g[0]), gone.map((g) => g[1]), gone.map((g) => g[2])],
        );
      }
      if (upserts.length > 0) {
        await client.query(
          `INSERT INTO ingest_dedupe_ranges (agent, stream, first, last) SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[])
             ON CONFLICT (agent, stream, first) DO UPDATE SET last = excluded.last`,
          [upserts.map((u) => u[0]), upserts.map((u) => u[1]), upserts.map((u) => u[2]), upserts.map((u) => u[3])],
        );
      }
      if (plan.dropped.length > 0) {
        await client.query('DELETE FROM ingest_dedupe_streams s USING unnest($1::text[], $2::text[]) AS d (agent, stream) WHERE s.agent = d.agent AND s.stream = d.stream', [
          plan.dropped.map((d) => d.agent),
          plan.dropped.map((d) => d.stream),
        ]);
      }
      // The touched streams hold the newest clock values, so ranking by recency keeps them, then the most recent others.
      await client.query(
        `DELETE FROM ingest_dedupe_streams s USING (
           SELECT agent, stream, row_number() OVER (PARTITION BY agent ORDER BY used DESC) AS n FROM ingest_dedupe_streams WHERE agent = ANY($1::text[])
         ) ranked WHERE s.agent = ranked.agent AND s.stream = ranked.stream AND ranked.n > $2`,
        [[...plan.roomByAgent.keys()], this.limits.maxStreamsPerAgent],
      );
      return invalid;
    });
  }

  private requirePool(): pg.Pool {
    if (!this.pool) throw new DedupeError('not_loaded', 'the dedupe store is not started');
    return this.pool;
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
