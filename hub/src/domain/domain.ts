/**
 * What every feature of the gym domain (gyms, profiles, equipment, groups and friends, trainings, classes and
 * bookings, sensor pairing) works with: its stores and the channel to the gym's agents. The composition root
 * (hub.ts) builds one; the API's feature routes take it.
 */
import type { Logger } from 'pino';
import type { Cache } from '../cache/cache.ts';
import type { DocumentStore } from '../documents/document-store.ts';
import type { IdentityStore } from '../identity/identity-store.ts';
import type { ImageLimits } from '../images/config.ts';
import type { ImageStore } from '../images/image-store.ts';
import type { PairingChannel } from '../pairing/pairing-channel.ts';
import type { AgentRegistry } from '../registry/agent-registry.ts';
import type { LiveBus } from '../live/live-bus.ts';
import type { SeriesStore } from '../storage/series/series-store.ts';
import type { WebhookUrlConfig } from '../webhooks/url-guard.ts';

export interface Domain {
  documents: DocumentStore;
  /** Users, memberships and personal data (profiles): the SQL store. */
  identity: IdentityStore;
  images: ImageStore;
  /** Limits of photo uploads (`images.maxUploadBytes`, `images.maxPixels`); default DEFAULT_IMAGE_LIMITS. */
  imageLimits?: ImageLimits;
  pairing: PairingChannel;
  agents: AgentRegistry;
  /** The readings: sessions' results and streams are computed from them. */
  series: SeriesStore;
  /** Readings as they are stored, for live class boards. */
  live: LiveBus;
  /** Hot reads (results, streams), keyed by what they were computed from. */
  cache: Cache;
  now: () => number;
  log: Logger;
  /** What subscriber URLs may be (config `webhooks`); default: https to public hosts only. */
  webhookUrls?: WebhookUrlConfig;
  /** Where features announce what happened in a gym (the webhook sender); absent, nothing is announced. */
  events?: DomainEvents;
}

/** Announces an event of a gym to whoever listens (webhook subscribers); never throws into the caller. */
export interface DomainEvents {
  emit(gym: string, event: string, payload: Record<string, unknown>): Promise<void>;
}
