/**
 * One ingest wired to the fakes (fakes.ts), with a metrics registry the tests read: what ingest counts is
 * observed through /metrics, the way an operator sees it.
 */
import Database from 'better-sqlite3';
import type { AckMessage } from '@pulsebridge/protocol';
import { Registry } from 'prom-client';
import { until } from '@pulsebridge/runtime';
import type { PresenceSource } from '../../src/broker/transport.ts';
import { Dedupe } from '../../src/ingest/dedupe.ts';
import { Ingest, type IngestConfig, type IngestOptions } from '../../src/ingest/ingest.ts';
import { MemoryLiveBus, type LiveBus, type LiveReadings } from '../../src/live/live-bus.ts';
import { FakeTransport, captureLogger } from './fakes.ts';
import { MemoryAgentRegistry, MemorySeriesStore } from '../memory-stores.ts';

export const GOOD = 'gym-a-1';
export const BAD = 'gym-b-1';
/** A day after the times of makeBatch (fakes.ts): inside the time window, as a live agent's readings are. */
export const HUB_TIME = 1_700_000_000_000 + 86_400_000;

export interface IngestSetup {
  transport: FakeTransport;
  registry: MemoryAgentRegistry;
  store: MemorySeriesStore;
  live: LiveReadings[];
  dedupe: Dedupe;
  /** The state database dedupe keeps its ranges in. */
  db: Database.Database;
  ingest: Ingest;
  metrics: Registry;
  logLines: () => Record<string, unknown>[];
  /** The value of a metric with these labels; 0 when it has no such sample yet. */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  /** Waits until a metric reaches `value`. */
  metricReaches(name: string, labels: Record<string, string>, value: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export function setupIngest(
  settings: Partial<IngestConfig> &
    Pick<IngestOptions, 'onUnsyncedStored' | 'unsyncedBoots' | 'pairing' | 'onOffline'> & {
      dbPath?: string;
      store?: MemorySeriesStore;
      live?: LiveBus;
      presenceSource?: PresenceSource;
    } = {},
): IngestSetup {
  const { dbPath, store: givenStore, live: givenLive, presenceSource, ...config } = settings;
  const transport = new FakeTransport();
  if (presenceSource) transport.presenceSource = presenceSource;
  const registry = new MemoryAgentRegistry({ [GOOD]: 'gym-a', [BAD]: 'gym-b' });
  const store = givenStore ?? new MemorySeriesStore();
  const liveBus = givenLive ?? new MemoryLiveBus();
  const live: LiveReadings[] = [];
  liveBus.subscribe({}, (r) => live.push(r));
  const db = new Database(dbPath ?? ':memory:');
  const dedupe = new Dedupe({ db });
  const metrics = new Registry();
  const { log, lines } = captureLogger();
  const ingest = new Ingest({ retryDelayMs: 20, ...config, transport, registry, store, live: liveBus, dedupe, log, metrics, now: () => HUB_TIME });
  ingest.start();
  const metric = (name: string, labels: Record<string, string> = {}): Promise<number> => metricValue(metrics, name, labels);
  return {
    transport,
    registry,
    store,
    live,
    dedupe,
    db,
    ingest,
    metrics,
    logLines: lines,
    metric,
    metricReaches: (name, labels, value, timeoutMs = 3_000) =>
      until(`${name}${JSON.stringify(labels)} to reach ${value}`, async () => (await metric(name, labels)) === value, timeoutMs, 2),
    async close() {
      await ingest.stop();
      db.close();
    },
  };
}

export async function metricValue(metrics: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = metrics.getSingleMetric(name);
  if (!metric) throw new Error(`no metric ${name}`);
  const { values } = await metric.get();
  const found = values.find((v) => Object.entries(labels).every(([k, want]) => String((v.labels as Record<string, unknown>)[k]) === want));
  return found?.value ?? 0;
}

export const ackOf = (stream: string, first: number, last: number, result: AckMessage['result']): AckMessage => ({ stream, first, last, result });

/** Polls often: the fakes answer within a few event-loop turns. */
export const waitFor = (what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 3_000): Promise<void> => until(what, condition, timeoutMs, 2);
