/**
 * Ingest throughput on one core: batches through decode, agent lookup, dedupe (SQLite state db on disk),
 * grouping and ack, into a store that only counts, so the figure is ingest's own cost. The limit is the bare
 * decodeBatch() on the same payloads in the same run.
 *
 *   node --import tsx scripts/bench/ingest.ts
 *
 * Prints one JSON line per figure (DESIGN §9); medians of RUNS runs.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { countReadings, decodeBatch } from '@pulsebridge/protocol';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { Dedupe } from '../../hub/src/ingest/dedupe.ts';
import { Ingest } from '../../hub/src/ingest/ingest.ts';
import { MemoryLiveBus } from '../../hub/src/live/live-bus.ts';
import type { SeriesStore, SeriesWrite, WriteResult } from '../../hub/src/storage/series/series-store.ts';
import { FakeTransport, makeBatch } from '../../hub/test/ingest/fakes.ts';
import { MemoryAgentRegistry } from '../../hub/test/memory-stores.ts';
import { median, printFigure } from './figures.ts';

const RUNS = 5;
const AGENTS = 20;
const BATCHES = 20_000;
const WAVE = 2_000;
/** The hub's clock: two days after makeBatch's first time, so every reading (a second apart per agent) is inside the time window. */
const HUB_NOW = 1_700_000_000_000 + 2 * 86_400_000;

/** Counts what ingest publishes without parsing it: the bench measures ingest, not the test transport. */
class CountingTransport extends FakeTransport {
  sent = 0;
  override async publish(): Promise<void> {
    this.sent++;
  }
}

class CountingStore implements SeriesStore {
  readings = 0;
  writes = 0;
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  async write(batches: readonly SeriesWrite[]): Promise<WriteResult> {
    this.writes++;
    for (const b of batches) for (const s of b.series) this.readings += s.ts.length;
    return { refused: [] };
  }
  async readRaw(): Promise<never[]> {
    return [];
  }
  async readRollup(): Promise<never[]> {
    return [];
  }
  async listSeries(): Promise<never[]> {
    return [];
  }
  async count(): Promise<number> {
    return this.readings;
  }
  async deleteRange(): Promise<number> {
    return 0;
  }
  async writeUnsynced(batches: readonly SeriesWrite[]): Promise<void> {
    await this.write(batches);
  }
  async listUnsynced(): Promise<never[]> {
    return [];
  }
  async readUnsynced(): Promise<never[]> {
    return [];
  }
  async correctUnsynced(): Promise<{ moved: number; refused: number }> {
    return { moved: 0, refused: 0 };
  }
  async discardUnsynced(): Promise<number> {
    return 0;
  }
}

const agentId = (i: number): string => `gym-${i % 4}-box-${i}`;

function payloads(readingsPerBatch: number): { agent: string; payload: Buffer }[] {
  const out: { agent: string; payload: Buffer }[] = [];
  const next = new Array<number>(AGENTS).fill(0);
  for (let i = 0; i < BATCHES; i++) {
    const a = i % AGENTS;
    out.push({ agent: agentId(a), payload: makeBatch({ agent: agentId(a), first: next[a]!, count: readingsPerBatch }) });
    next[a]! += readingsPerBatch;
  }
  return out;
}

/** Every batch of a run carries the same number of readings. */
const readingsPerBatchOf = (batches: { payload: Buffer }[]): number => (batches.length === 0 ? 0 : countReadings(decodeBatch(batches[0]!.payload).series));

async function runPipeline(batches: { agent: string; payload: Buffer }[], dir: string, run: string): Promise<{ seconds: number; writes: number }> {
  const db = new Database(join(dir, `state-${run}.db`));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  const transport = new CountingTransport();
  const store = new CountingStore();
  const registry = new MemoryAgentRegistry(Object.fromEntries(Array.from({ length: AGENTS }, (_, i) => [agentId(i), `gym-${i % 4}`])));
  registry.touch = () => {};
  const ingest = new Ingest({ transport, registry, store, live: new MemoryLiveBus(), dedupe: new Dedupe({ db }), log: pino({ level: 'silent' }), now: () => HUB_NOW });
  ingest.start();
  const started = performance.now();
  for (let i = 0; i < batches.length; i += WAVE) {
    for (const b of batches.slice(i, i + WAVE)) transport.deliver(b.agent, 'readings', b.payload);
    const want = Math.min(i + WAVE, batches.length);
    while (transport.sent < want) await new Promise((resolve) => setImmediate(resolve));
  }
  const seconds = (performance.now() - started) / 1000;
  const expected = batches.length * readingsPerBatchOf(batches);
  if (store.readings !== expected) throw new Error(`stored ${store.readings} of ${expected} readings`);
  await ingest.stop();
  db.close();
  return { seconds, writes: store.writes };
}

function runDecode(batches: { agent: string; payload: Buffer }[]): number {
  const started = performance.now();
  for (const b of batches) decodeBatch(b.payload);
  return (performance.now() - started) / 1000;
}

const dir = mkdtempSync(join(tmpdir(), 'pb-ingest-bench-'));
try {
  for (const perBatch of [10, 100]) {
    const batches = payloads(perBatch);
    const bytes = batches.reduce((n, b) => n + b.payload.byteLength, 0);
    await runPipeline(batches.slice(0, 2_000), dir, `warmup-${perBatch}`); // warm up the JIT
    const pipeline: number[] = [];
    const decode: number[] = [];
    const writes: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      const r = await runPipeline(batches, dir, `${perBatch}-${run}`);
      pipeline.push(r.seconds);
      writes.push(r.writes);
      decode.push(runDecode(batches));
    }
    const batchesPerSecond = batches.length / median(pipeline);
    const decodeBatchesPerSecond = batches.length / median(decode);
    const context = { batches: batches.length, agents: AGENTS, runs: RUNS };
    const limited = (value: number, limit: number): Record<string, number> => ({ limit: Math.round(limit), ratio: +(value / limit).toFixed(3) });
    printFigure(`ingest_batches_per_s_${perBatch}r`, Math.round(batchesPerSecond), 'batches/s', { ...limited(batchesPerSecond, decodeBatchesPerSecond), ...context });
    printFigure(`ingest_readings_per_s_${perBatch}r`, Math.round(batchesPerSecond * perBatch), 'readings/s', {
      ...limited(batchesPerSecond * perBatch, decodeBatchesPerSecond * perBatch),
      ...context,
    });
    printFigure(`ingest_store_writes_${perBatch}r`, median(writes), `writes per ${batches.length} batches`, context);
    printFigure(`ingest_wire_bytes_per_reading_${perBatch}r`, Math.round((bytes / (batches.length * perBatch)) * 1000), 'millibytes/reading', context);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
