/**
 * A gym domain for tests: the real SQLite document store in memory, a real SQLite identity store and an image
 * folder in a temporary directory, and a pairing channel that records what it was told (the MQTT one has its
 * own tests, with real agents).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import type { Domain } from '../../src/domain/domain.ts';
import { DOMAIN_COLLECTIONS } from '../../src/domain/collections.ts';
import { SqliteDocumentStore } from '../../src/documents/sqlite-document-store.ts';
import type { IdentityStore } from '../../src/identity/identity-store.ts';
import { SqliteIdentityStore } from '../../src/identity/sqlite-identity-store.ts';
import { FolderImageStore } from '../../src/images/folder-image-store.ts';
import type { NearbySensor, PairingChannel } from '../../src/pairing/pairing-channel.ts';
import type { AgentRegistry } from '../../src/registry/agent-registry.ts';
import { MemoryAgentRegistry } from '../memory-stores.ts';
import { MemoryCache } from '../../src/cache/cache.ts';
import { MemoryLiveBus, type LiveBus } from '../../src/live/live-bus.ts';
import type { SeriesStore } from '../../src/storage/series/series-store.ts';
import { SqliteSeriesStore } from '../../src/storage/series/sqlite-series-store.ts';
import type { ClassRunDoc } from '../../src/domain/sessions/collections.ts';

export class RecordingPairingChannel implements PairingChannel {
  readonly changedGyms: string[] = [];
  readonly windows: { gym: string; seconds: number; permitJoin: boolean }[] = [];
  /** What `nearby` answers, as a test sets it. */
  heard: NearbySensor[] = [];

  async gymChanged(gym: string): Promise<void> {
    this.changedGyms.push(gym);
  }

  async openWindow(gym: string, options: { seconds: number; permitJoin: boolean }): Promise<void> {
    this.windows.push({ gym, ...options });
  }

  nearby(gym: string, since: number): NearbySensor[] {
    return this.heard.filter((s) => s.seenAt >= since).sort((a, b) => (b.rssi ?? -999) - (a.rssi ?? -999));
  }
}

export interface TestDomain {
  domain: Domain;
  pairing: RecordingPairingChannel;
  cleanup(): Promise<void>;
}

export async function testDomain(
  options: { identity?: IdentityStore; agents?: AgentRegistry; series?: SeriesStore; live?: LiveBus; now?: () => number; log?: Logger } = {},
): Promise<TestDomain> {
  const dir = mkdtempSync(join(tmpdir(), 'pb-domain-'));
  const documents = new SqliteDocumentStore({ path: ':memory:' });
  await documents.start(DOMAIN_COLLECTIONS);
  const ownIdentity = options.identity === undefined ? new SqliteIdentityStore({ path: join(dir, 'identity.db') }) : undefined;
  await ownIdentity?.start();
  const pairing = new RecordingPairingChannel();
  const log = options.log ?? pino({ level: 'silent' });
  const ownSeries = options.series === undefined ? new SqliteSeriesStore({ path: ':memory:', log }) : undefined;
  await ownSeries?.start();
  const domain: Domain = {
    documents,
    identity: options.identity ?? ownIdentity!,
    images: new FolderImageStore({ dir: join(dir, 'images') }),
    pairing,
    agents: options.agents ?? new MemoryAgentRegistry(),
    series: options.series ?? ownSeries!,
    live: options.live ?? new MemoryLiveBus(),
    cache: new MemoryCache(),
    now: options.now ?? Date.now,
    log,
  };
  return {
    domain,
    pairing,
    async cleanup() {
      await documents.stop();
      await ownIdentity?.stop();
      await ownSeries?.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A machine with built-in sensors as the equipment routes store one, for tests of other features that need one. */
export function machineDocument(id: string, gym: string, sensors: string[] = []) {
  return {
    id,
    gym,
    sensors,
    name: id,
    type: 'bike-type',
    serial: `serial-${id}`,
    status: 'in_service' as const,
    attributes: {},
    builtIn: sensors.map((sensor) => ({ sensor, role: 'power' })),
    logged: 0,
    createdAt: 0,
    updatedAt: 0,
  };
}

/** A class run as startClassRun stores one, running since `start` (an hour long unless `minutes` says otherwise). */
export function runDocument(o: { id: string; gym: string; start: number; minutes?: number; startedBy?: string }): ClassRunDoc {
  return {
    id: o.id,
    gym: o.gym,
    class: o.id.split('@')[0]!,
    occurrenceStart: o.start,
    scheduledStart: o.start,
    scheduledEnd: o.start + (o.minutes ?? 60) * 60_000,
    state: 'running',
    startedAt: o.start,
    startedBy: o.startedBy ?? 'schedule',
  };
}
