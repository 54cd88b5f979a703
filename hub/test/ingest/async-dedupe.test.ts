/**
 * The readings queue with a DedupeStore that answers with promises, as the shared PostgreSQL one does: resends
 * are still acknowledged as duplicates, a failed check writes the batch again rather than holding it, and a
 * resend that arrives while the first send's ranges are being recorded is not written twice.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { Registry } from 'prom-client';
import { Dedupe } from '../../src/ingest/dedupe.ts';
import type { DedupeRange, DedupeStore } from '../../src/ingest/dedupe-store.ts';
import { Ingest } from '../../src/ingest/ingest.ts';
import { MemoryLiveBus } from '../../src/live/live-bus.ts';
import { MemoryAgentRegistry, MemorySeriesStore } from '../memory-stores.ts';
import { FakeTransport, captureLogger } from './fakes.ts';
import { GOOD, HUB_TIME, ackOf, metricValue, waitFor } from './ingest-harness.ts';

/** The SQLite store behind promises, with a check that can fail and a record that can be held. */
class AsyncDedupe implements DedupeStore {
  readonly inner = new Dedupe({ db: new Database(':memory:') });
  checkError: Error | undefined;
  recordGate: Promise<void> | undefined;
  recording = 0;
  load(): void {
    this.inner.load();
  }
  async isDuplicate(agent: string, stream: string, first: number, last: number): Promise<boolean> {
    if (this.checkError) throw this.checkError;
    return this.inner.isDuplicate(agent, stream, first, last);
  }
  async record(entries: readonly DedupeRange[]): Promise<DedupeRange[]> {
    this.recording++;
    await this.recordGate;
    return this.inner.record(entries);
  }
}

function setup(): { transport: FakeTransport; store: MemorySeriesStore; dedupe: AsyncDedupe; ingest: Ingest; metrics: Registry; lines: () => Record<string, unknown>[] } {
  const transport = new FakeTransport();
  const store = new MemorySeriesStore();
  const dedupe = new AsyncDedupe();
  const { log, lines } = captureLogger();
  const metrics = new Registry();
  const ingest = new Ingest({
    transport,
    registry: new MemoryAgentRegistry({ [GOOD]: 'gym-a' }),
    store,
    live: new MemoryLiveBus(),
    dedupe,
    log,
    metrics,
    now: () => HUB_TIME,
    maxWriteDelayMs: 0,
  });
  ingest.start();
  return { transport, store, dedupe, ingest, metrics, lines };
}

test('with a store that answers by promise, a resend of a stored batch is acknowledged as a duplicate and not written', async () => {
  const s = setup();
  s.transport.deliverReadings({ agent: GOOD, first: 0, count: 10 });
  await waitFor('the stored ack', () => s.transport.acks().length === 1);
  s.transport.deliverReadings({ agent: GOOD, first: 0, count: 10 });
  await waitFor('the duplicate ack', () => s.transport.acks().length === 2);
  assert.deepEqual(s.transport.acks(), [ackOf('s1', 0, 9, 'stored'), ackOf('s1', 0, 9, 'duplicate')]);
  assert.equal(s.store.writeCalls.length, 1);
  await s.ingest.stop();
});

test('a failed duplicate check writes the batch (again) and acknowledges it, and says so in the log', async () => {
  const s = setup();
  s.dedupe.checkError = new Error('database unreachable');
  s.transport.deliverReadings({ agent: GOOD, first: 0, count: 10 });
  await waitFor('the stored ack', () => s.transport.acks().length === 1);
  assert.deepEqual(s.transport.acks(), [ackOf('s1', 0, 9, 'stored')]);
  assert.ok(s.lines().some((l) => l['key'] === 'dedupe:check' || String(l['msg']).includes('could not check the batch')));
  await s.ingest.stop();
});

test('a resend arriving while the first send’s ranges are being recorded is not written again', async () => {
  const s = setup();
  let open!: () => void;
  s.dedupe.recordGate = new Promise((resolve) => (open = resolve));
  s.transport.deliverReadings({ agent: GOOD, first: 0, count: 10 });
  await waitFor('the ranges being recorded', () => s.dedupe.recording === 1);
  s.transport.deliverReadings({ agent: GOOD, first: 0, count: 10 });
  // The resend is looked at, and dropped as in progress, before the record is let go.
  await waitFor('the resend dropped as in progress', async () => (await metricValue(s.metrics, 'pb_hub_ingest_batches_total', { result: 'in_progress' })) === 1);
  open();
  await waitFor('the ack', () => s.transport.acks().length === 1);
  await s.ingest.stop();
  assert.equal(s.store.writeCalls.length, 1, 'written once');
  assert.deepEqual(s.transport.acks(), [ackOf('s1', 0, 9, 'stored')]);
});
