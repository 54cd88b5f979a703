import { registerScraped, type ScrapedMetric } from '@pulsebridge/runtime';
import type { Registry } from 'prom-client';
import type { OutboxStats } from './types.ts';

/** Registers the pb_agent_outbox_* metrics, read at scrape time from stats(); returns their names. */
export function registerOutboxMetrics(registry: Registry, stats: () => OutboxStats): string[] {
  const metrics: ScrapedMetric[] = [
    { name: 'pb_agent_outbox_readings', help: 'Readings committed and not yet acknowledged', kind: 'gauge', read: () => stats().readings },
    { name: 'pb_agent_outbox_chunks', help: 'Chunks committed and not yet acknowledged', kind: 'gauge', read: () => stats().chunks },
    { name: 'pb_agent_outbox_bytes', help: 'Payload bytes of the chunks held', kind: 'gauge', read: () => stats().bytes },
    { name: 'pb_agent_outbox_buffered', help: 'Readings in memory waiting for the next flush', kind: 'gauge', read: () => stats().buffered },
    {
      name: 'pb_agent_outbox_storage_ok',
      help: '1 while the outbox file takes writes; 0 while it cannot be opened or written and readings wait in memory',
      kind: 'gauge',
      read: () => (stats().storage === 'ok' ? 1 : 0),
    },
    { name: 'pb_agent_outbox_oldest_age_seconds', help: 'Age of the oldest reading held', kind: 'gauge', read: () => stats().oldestAgeMs / 1000 },
    { name: 'pb_agent_outbox_appended_total', help: 'Readings accepted by the outbox', kind: 'counter', read: () => stats().appended },
    {
      name: 'pb_agent_outbox_accepted_lifetime_total',
      help: 'Readings accepted by the outbox over the life of its database, across restarts',
      kind: 'counter',
      read: () => stats().acceptedTotal,
    },
    { name: 'pb_agent_outbox_acknowledged_total', help: 'Readings deleted after the hub confirmed storing them', kind: 'counter', read: () => stats().acknowledged },
    { name: 'pb_agent_outbox_dropped_total', help: 'Readings dropped, by reason', kind: 'counter', label: 'reason', read: () => ({ ...stats().dropped }) },
    { name: 'pb_agent_outbox_corrupt_recoveries_total', help: 'Damaged outbox databases moved aside and replaced', kind: 'counter', read: () => stats().corruptRecoveries },
    {
      name: 'pb_agent_outbox_uncounted_losses_total',
      help: 'Damaged outbox databases moved aside whose lost readings could not all be counted',
      kind: 'counter',
      read: () => stats().uncountedLosses,
    },
    {
      name: 'pb_agent_outbox_damaged_chunks_total',
      help: 'Chunks dropped unsent because they failed their checksum or could not be decoded',
      kind: 'counter',
      read: () => stats().damagedChunks,
    },
  ];
  registerScraped(registry, metrics);
  return metrics.map((m) => m.name);
}
