/**
 * End-to-end throughput: agent outbox → MQTT → hub ingest → SQLite series store, agent and hub as two real
 * processes on this machine, and the bytes each reading costs on the wire. JSON lines (DESIGN §9).
 *
 *   node --import tsx scripts/bench/e2e.ts [--readings 1000000] [--runs 3] [--synchronous FULL|NORMAL]
 *
 * Each run fills a fresh agent outbox with `--readings` readings of a simulated class (50 athletes, every
 * sensor at 4 Hz), starts a hub and then the agent with no live source, and times the drain from the first
 * stored reading to the last (sampled every 50 ms from the hub's ingest counter). The hub's store commits
 * with synchronous=FULL (its default: an ack means durable) unless `--synchronous NORMAL`. The limit is bare
 * better-sqlite3 inserting the same readings into a bare (series, ts, value) table the fastest way measured:
 * multi-row INSERT statements of 64 rows, 50 000 readings a transaction (the hub's largest grouped write),
 * with the same synchronous setting; `limitNormal` and `ratioNormal` compare with the same bare inserts
 * under synchronous=NORMAL.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { type Reading } from '@pulsebridge/protocol';
import { Clock } from '../../edge-agent/src/clock/clock.ts';
import { Outbox } from '../../edge-agent/src/outbox/outbox.ts';
import { SimulatorSource, simulatorConfig } from '../../edge-agent/src/sources/simulator/index.ts';
import { until } from '@pulsebridge/runtime';
import { AgentRunner, HubRunner, metricValue, tempDir } from '../../test/harness.ts';

const { values: args } = parseArgs({
  options: { readings: { type: 'string', default: '1000000' }, runs: { type: 'string', default: '3' }, synchronous: { type: 'string', default: 'FULL' } },
});
if (args.synchronous !== 'FULL' && args.synchronous !== 'NORMAL') {
  console.error('--synchronous must be FULL or NORMAL');
  process.exit(2);
}
const SYNCHRONOUS: 'FULL' | 'NORMAL' = args.synchronous;
const READINGS = Number(args.readings);
const RUNS = Number(args.runs);
const TARGET = 100_000;
const log = pino({ level: 'silent' });

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

function classReadings(total: number): Reading[] {
  const simulator = new SimulatorSource({ ...simulatorConfig({ athletes: 50, sensorRateHz: 4, seed: 3 }), now: Date.now, log });
  const out: Reading[] = [];
  const start = Date.now() - 24 * 3600_000;
  for (let from = start; out.length < total; from += 60_000) {
    for (const r of simulator.generate(from, from + 60_000)) {
      out.push(r);
      if (out.length === total) break;
    }
  }
  return out;
}

function fillOutbox(path: string, readings: Reading[]): void {
  const clock = new Clock({ log });
  const outbox = new Outbox({ path, clock, log, flushIntervalMs: 60_000 });
  clock.start();
  outbox.start();
  for (const r of readings) outbox.append(r);
  outbox.stop();
  clock.stop();
}

const ROWS_PER_STATEMENT = 64;
/** The hub's own largest grouped write (ingest.maxWriteReadings): the bare tool gets the same batching. */
const READINGS_PER_TRANSACTION = 50_000;

/** Rows of (series id, ts, value) grouped by series within each transaction, as a batched writer would hold them. */
function bareRows(readings: Reading[]): number[][][] {
  const ids = new Map<string, number>();
  const transactions: number[][][] = [];
  for (let i = 0; i < readings.length; i += READINGS_PER_TRANSACTION) {
    const bySeries = new Map<number, number[]>();
    for (const r of readings.slice(i, i + READINGS_PER_TRANSACTION)) {
      const key = `${r.sensor}|${r.metric}`;
      let id = ids.get(key);
      if (id === undefined) ids.set(key, (id = ids.size + 1));
      let rows = bySeries.get(id);
      if (!rows) bySeries.set(id, (rows = []));
      rows.push(id, r.ts, r.value);
    }
    transactions.push([...bySeries.values()]);
  }
  return transactions;
}

/** The bare tool: the same readings as multi-row inserts, 50 000 to a transaction, into a table keyed like the store's. */
function bareInsertRate(path: string, transactions: number[][][], readings: number, synchronous: 'NORMAL' | 'FULL'): number {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${synchronous}`);
  db.exec('CREATE TABLE readings (series INTEGER NOT NULL, ts INTEGER NOT NULL, value REAL NOT NULL, PRIMARY KEY (series, ts)) WITHOUT ROWID');
  const statements = new Map<number, ReturnType<typeof db.prepare<[number[]]>>>();
  const statement = (rows: number) => {
    let s = statements.get(rows);
    if (!s) {
      s = db.prepare<[number[]]>(`INSERT INTO readings VALUES ${Array.from({ length: rows }, () => '(?, ?, ?)').join(', ')} ON CONFLICT DO NOTHING`);
      statements.set(rows, s);
    }
    return s;
  };
  const insertMany = db.transaction((seriesRows: number[][]) => {
    for (const rows of seriesRows) {
      for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT * 3) {
        const chunk = rows.slice(i, i + ROWS_PER_STATEMENT * 3);
        statement(chunk.length / 3).run(chunk);
      }
    }
  });
  const started = performance.now();
  for (const t of transactions) insertMany(t);
  const seconds = (performance.now() - started) / 1000;
  db.close();
  return readings / seconds;
}

interface RunResult {
  rate: number;
  bytesPerReading: number;
}

async function oneRun(readings: Reading[]): Promise<RunResult & { limit: number; limitNormal: number }> {
  const work = tempDir('bench-e2e');
  const hub = new HubRunner({ dir: join(work.dir, 'hub'), config: { log: { level: 'warn', pretty: false }, series: { sqlite: { synchronous: SYNCHRONOUS } } } });
  const agentDir = join(work.dir, 'agent');
  mkdirSync(agentDir, { recursive: true });
  fillOutbox(join(agentDir, 'bench-box-data', 'outbox.db'), readings);
  const rows = bareRows(readings);
  const limit = bareInsertRate(join(work.dir, 'bare-same.db'), rows, readings.length, SYNCHRONOUS);
  const limitNormal = bareInsertRate(join(work.dir, 'bare-normal.db'), rows, readings.length, 'NORMAL');
  const secret = await hub.addAgent('bench-box', 'bench-gym');
  await hub.start();
  const agent = new AgentRunner({
    dir: agentDir,
    id: 'bench-box',
    secret,
    mqttUrl: hub.mqttUrl,
    simulator: {},
    config: { log: { level: 'warn', pretty: false } },
  });
  try {
    await agent.start({ simulator: { enabled: false } });
    const ingested = async () => metricValue(await hub.metrics(), 'pb_hub_ingest_readings_total');
    let first = 0;
    let firstAt = 0;
    await until(
      'the first stored readings',
      async () => {
        first = await ingested();
        firstAt = performance.now();
        return first > 0;
      },
      60_000,
      20,
    );
    await until('every reading to be stored', async () => (await ingested()) >= readings.length, 600_000, 50);
    const seconds = (performance.now() - firstAt) / 1000;
    const agentMetrics = await (await fetch(`http://127.0.0.1:${agent.healthPort}/metrics`)).text();
    const bytes = metricValue(agentMetrics, 'pb_agent_uplink_sent_bytes_total');
    const sent = metricValue(agentMetrics, 'pb_agent_uplink_readings_total', { outcome: 'sent' });
    const stored = await hub.storedCount('bench-box');
    if (stored !== readings.length) throw new Error(`stored ${stored} of ${readings.length} readings`);
    return { rate: (readings.length - first) / seconds, bytesPerReading: bytes / sent, limit, limitNormal };
  } finally {
    await agent.stop().catch(() => 0);
    await hub.stop();
    work.cleanup();
  }
}

const readings = classReadings(READINGS);
const results: (RunResult & { limit: number; limitNormal: number })[] = [];
for (let i = 0; i < RUNS; i++) results.push(await oneRun(readings));
const rate = median(results.map((r) => r.rate));
const limit = median(results.map((r) => r.limit));
const limitNormal = median(results.map((r) => r.limitNormal));
console.log(
  JSON.stringify({
    name: 'e2e_readings_per_second',
    value: Math.round(rate),
    unit: 'readings/s',
    synchronous: SYNCHRONOUS,
    limit: Math.round(limit),
    ratio: +(rate / limit).toFixed(3),
    limitNormal: Math.round(limitNormal),
    ratioNormal: +(rate / limitNormal).toFixed(3),
    targetRatio: 0.5,
    target: TARGET,
    runs: RUNS,
    readings: READINGS,
  }),
);
console.log(JSON.stringify({ name: 'wire_bytes_per_reading_backlog', value: +median(results.map((r) => r.bytesPerReading)).toFixed(2), unit: 'bytes/reading', target: 12 }));
