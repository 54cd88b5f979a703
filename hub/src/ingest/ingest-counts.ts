/**
 * What ingest counts, kept once as plain numbers; Prometheus reads them at scrape time (registerScraped), so
 * tests, logs and /metrics see the same values.
 */
import type { MessageKind, ProtocolErrorCode } from '@pulsebridge/protocol';
import { Histogram, type Registry } from 'prom-client';
import { LabelledCounts, registerScraped } from '@pulsebridge/runtime';
import { READING_TIME_PROBLEMS, type ReadingTimeProblem } from './time-window.ts';

/** What became of a readings batch. */
export type BatchResult =
  | 'stored'
  | 'duplicate'
  | 'rejected'
  | 'dropped_backpressure'
  /** Sent again while the first copy still waits for the store; that copy's ack answers both. */
  | 'in_progress'
  /** The registry could not be asked; no ack, the agent resends. */
  | 'deferred';
const BATCH_RESULTS: readonly BatchResult[] = ['stored', 'duplicate', 'rejected', 'dropped_backpressure', 'in_progress', 'deferred'];

/** Problems with the batch itself: resending cannot fix them, so the agent is told to drop it. */
export const PERMANENT_REASONS: ReadonlySet<RejectReason> = new Set<RejectReason>([
  'malformed',
  'unsupported_version',
  'invalid',
  'count_mismatch',
  'unknown_metric',
  'out_of_range',
  'too_large',
  'agent_mismatch',
  'store_refused',
]);

/**
 * Why a batch was refused: a protocol code, or
 * - unknown_agent: authenticated but not in the registry (not enrolled yet, or just removed). Not acked, so an
 *   agent being enrolled loses nothing;
 * - decode_failure: the decoder failed in an unexpected way, which points at the hub; not acked either;
 * - store_refused: valid on the wire, but the store cannot keep it (SeriesStoreError invalid_write, e.g. a
 *   control character in a sensor id). Acked as rejected: resending the same batch cannot succeed.
 */
export type RejectReason = ProtocolErrorCode | 'store_refused' | 'unknown_agent' | 'decode_failure';
const REJECT_REASONS: readonly RejectReason[] = [...PERMANENT_REASONS, 'unknown_agent', 'decode_failure'];

/**
 * Why single readings of an otherwise stored batch were left out (the batch is still acked as stored):
 * - too_old, too_far_ahead: stamped outside the window around the hub's clock (time-window.ts);
 * - series_limit: a new series of an agent that already has the store's maxSeriesPerAgent series;
 * - unsynced_boot_limit: readings of an unconfirmed clock from one boot more than ingest.maxUnsyncedBootsPerAgent.
 */
export type ReadingRefusal = ReadingTimeProblem | 'series_limit' | 'unsynced_boot_limit';
const READING_REFUSALS: readonly ReadingRefusal[] = [...READING_TIME_PROBLEMS, 'series_limit', 'unsynced_boot_limit'];

const zeros = <K extends string>(keys: readonly K[]): Record<K, number> => Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>;

export class IngestCounts {
  readingsStored = 0;
  storeFailures = 0;
  readonly batches = zeros(BATCH_RESULTS);
  readonly rejected = zeros(REJECT_REASONS);
  readonly readingsRefused = zeros(READING_REFUSALS);
  /** Non-readings messages, by kind, then by `ok` or the reason they were refused. */
  readonly messages = new LabelledCounts(['kind', 'result']);
  /** The one histogram: a duration distribution is not a value any component keeps. */
  writeSeconds: Histogram | undefined;

  batch(result: BatchResult): void {
    this.batches[result]++;
  }

  message(kind: MessageKind, result: string): void {
    this.messages.inc({ kind, result });
  }

  /** Registers the ingest metrics; `queuedReadings` reads the write queue's current size. */
  register(registry: Registry, queuedReadings: () => number): void {
    registerScraped(registry, [
      { name: 'pb_hub_ingest_batches_total', help: 'Readings batches received, by what became of them', kind: 'counter', label: 'result', read: () => this.batches },
      { name: 'pb_hub_ingest_readings_total', help: 'Readings durably stored', kind: 'counter', read: () => this.readingsStored },
      { name: 'pb_hub_ingest_rejected_total', help: 'Readings batches refused, by reason', kind: 'counter', label: 'reason', read: () => this.rejected },
      {
        name: 'pb_hub_ingest_readings_refused_total',
        help: 'Readings left out of batches that were otherwise stored and acknowledged, by reason: too_old or too_far_ahead of the hub clock, series_limit, unsynced_boot_limit',
        kind: 'counter',
        label: 'reason',
        read: () => this.readingsRefused,
      },
      { name: 'pb_hub_ingest_queue_readings', help: 'Readings waiting for the store, the write in flight included', kind: 'gauge', read: queuedReadings },
      {
        name: 'pb_hub_ingest_store_failures_total',
        help: 'Store writes that failed (their batches are retried, not acknowledged)',
        kind: 'counter',
        read: () => this.storeFailures,
      },
      {
        name: 'pb_hub_ingest_messages_total',
        help: 'Status, inventory and event messages, by kind and result (ok or the reason they were refused)',
        kind: 'counter',
        label: ['kind', 'result'],
        read: () => this.messages.samples(),
      },
    ]);
    this.writeSeconds = new Histogram({
      name: 'pb_hub_ingest_write_seconds',
      help: 'Duration of one grouped store write',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    });
  }
}
