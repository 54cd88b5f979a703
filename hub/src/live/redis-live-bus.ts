/**
 * The live bus across replicas, on Redis pub/sub. A replica delivers its own readings to its own subscribers at
 * once (as MemoryLiveBus does) and publishes them to Redis for the others; messages carry the publishing bus's
 * origin id, so a replica drops its own when Redis echoes them back and delivers nothing twice.
 *
 * One channel per gym (`<keyPrefix>live:<gym>`), not one for all: PUBLISH costs Redis one write per subscribed
 * connection, and every receiving replica parses every message it gets. With one channel every replica would
 * receive and parse every gym's readings, though its viewers (SSE streams, class boards: all filtered by gym)
 * watch a few gyms. Per gym, a replica subscribes to the gyms its viewers watch, while they watch; the price is
 * one SUBSCRIBE per gym on its first viewer. Subscribers without a gym (none in the API today) use a pattern
 * subscription on every gym's channel.
 *
 * Cost per message: ingest publishes per stored batch, and the batches of one storage write (one tick of the
 * event loop) are sent as one PUBLISH per gym, so a busy replica sends one command per gym per write, not per
 * batch or reading. Publishing never waits: while Redis is unreachable, or too many publishes are unanswered,
 * messages for other replicas are dropped and counted (pub/sub is at most once anyway; what a viewer missed is
 * in /readings). Subscriptions come back by themselves after a reconnect.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { errorMessage, registerScraped } from '@pulsebridge/runtime';
import { escapeGlob, type RedisConnection } from '../redis/redis-connection.ts';
import { MemoryLiveBus, type LiveBus, type LiveFilter, type LiveListener, type LiveReadings } from './live-bus.ts';

export interface RedisLiveBusOptions {
  connection: RedisConnection;
  log: Logger;
  /** Publishes Redis has not answered yet beyond which further messages are dropped rather than queued. */
  maxUnansweredPublishes?: number;
}

/** What goes over a channel: the origin bus and the batches of one write for one gym. */
interface Envelope {
  o: string;
  r: LiveReadings[];
}

const DEFAULT_MAX_UNANSWERED_PUBLISHES = 1_000;

function isLiveReadings(value: unknown): value is LiveReadings {
  const r = value as Partial<LiveReadings> | null;
  return typeof r === 'object' && r !== null && typeof r.gym === 'string' && typeof r.agent === 'string' && Array.isArray(r.series);
}

export class RedisLiveBus implements LiveBus {
  /** This bus's id in every message it sends; its own messages coming back are dropped. */
  readonly origin = randomUUID();
  private readonly connection: RedisConnection;
  /** Kept, not asked of the connection each time: a viewer may leave after the hub closed the connection. */
  private readonly subscriber: Redis;
  private readonly log: Logger;
  private readonly maxUnanswered: number;
  private readonly channelPrefix: string;
  /** Subscribers with a gym: fed by their gym's channel. */
  private readonly byGym = new MemoryLiveBus();
  /** Subscribers without a gym: fed by the pattern subscription. Disjoint from byGym, so none gets a message twice. */
  private readonly anyGym = new MemoryLiveBus();
  private readonly gymSubscribers = new Map<string, number>();
  private readonly pendingSubscriptions = new Set<Promise<unknown>>();
  private outbox = new Map<string, LiveReadings[]>();
  private flushScheduled = false;
  private unanswered = 0;
  /** Messages by outcome: sent to Redis, received from other replicas, dropped, failed, unreadable. */
  readonly counts = { published: 0, received: 0, dropped: 0, failed: 0, unreadable: 0 };

  constructor(options: RedisLiveBusOptions) {
    this.connection = options.connection;
    this.log = options.log.child({ component: 'live-bus' });
    this.maxUnanswered = options.maxUnansweredPublishes ?? DEFAULT_MAX_UNANSWERED_PUBLISHES;
    this.channelPrefix = `${options.connection.keyPrefix}live:`;
    const subscriber = options.connection.subscriber;
    this.subscriber = subscriber;
    subscriber.on('message', (channel: string, text: string) => {
      if (channel !== this.anchorChannel) this.receive(text, this.byGym);
    });
    subscriber.on('pmessage', (_pattern: string, _channel: string, text: string) => this.receive(text, this.anyGym));
    // The connection stays in subscriber mode for good. Left to fall to zero subscriptions, ioredis leaves that
    // mode on the UNSUBSCRIBE reply even when a SUBSCRIBE is already on its way (the last viewer of a gym going as
    // the next comes), and then takes that subscription's messages for replies: the gym would go silent.
    this.track(subscriber.subscribe(this.anchorChannel));
  }

  /** A channel nobody publishes on. */
  private get anchorChannel(): string {
    return `${this.connection.keyPrefix}live-bus`;
  }

  register(metrics: Registry): void {
    registerScraped(metrics, [
      {
        name: 'pb_hub_live_bus_messages_total',
        help: 'Live bus messages between replicas (one per gym and storage write), by outcome',
        kind: 'counter',
        label: 'outcome',
        read: () => this.counts,
      },
      { name: 'pb_hub_live_bus_subscribed_gyms', help: 'Gyms whose live channel this replica subscribes to', kind: 'gauge', read: () => this.gymSubscribers.size },
    ]);
  }

  publish(readings: LiveReadings): void {
    const channel = this.channelPrefix + readings.gym;
    const waiting = this.outbox.get(channel);
    if (waiting) waiting.push(readings);
    else this.outbox.set(channel, [readings]);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(() => this.flush());
    }
    // Other replicas' share is queued first, so a local subscriber that throws cannot keep it from them.
    let failure: { error: unknown } | undefined;
    for (const local of [this.byGym, this.anyGym]) {
      try {
        local.publish(readings);
      } catch (error) {
        failure ??= { error };
      }
    }
    if (failure) throw failure.error;
  }

  subscribe(filter: LiveFilter, listener: LiveListener): () => void {
    const gym = filter.gym;
    if (gym === undefined) {
      const unsubscribe = this.anyGym.subscribe(filter, listener);
      if (this.anyGym.subscribers === 1) this.track(this.subscriber.psubscribe(`${escapeGlob(this.channelPrefix)}*`));
      let done = false;
      return () => {
        if (done) return;
        done = true;
        unsubscribe();
        if (this.anyGym.subscribers === 0) this.track(this.subscriber.punsubscribe(`${escapeGlob(this.channelPrefix)}*`));
      };
    }
    const unsubscribe = this.byGym.subscribe(filter, listener);
    const count = (this.gymSubscribers.get(gym) ?? 0) + 1;
    this.gymSubscribers.set(gym, count);
    // Commands on one connection run in order, so an unsubscribe and a new subscribe right after cannot swap.
    if (count === 1) this.track(this.subscriber.subscribe(this.channelPrefix + gym));
    let done = false;
    return () => {
      if (done) return;
      done = true;
      unsubscribe();
      const left = (this.gymSubscribers.get(gym) ?? 1) - 1;
      if (left > 0) {
        this.gymSubscribers.set(gym, left);
        return;
      }
      this.gymSubscribers.delete(gym);
      this.track(this.subscriber.unsubscribe(this.channelPrefix + gym));
    };
  }

  async listening(): Promise<void> {
    while (this.pendingSubscriptions.size > 0) await Promise.allSettled([...this.pendingSubscriptions]);
  }

  private track(command: Promise<unknown>): void {
    const pending = command
      .catch((err: unknown) => this.log.warn({ err: errorMessage(err) }, 'live bus (un)subscription failed'))
      .finally(() => this.pendingSubscriptions.delete(pending));
    this.pendingSubscriptions.add(pending);
  }

  private flush(): void {
    this.flushScheduled = false;
    const outbox = this.outbox;
    this.outbox = new Map();
    for (const [channel, readings] of outbox) {
      if (!this.connection.available || this.unanswered >= this.maxUnanswered) {
        this.counts.dropped++;
        continue;
      }
      const envelope: Envelope = { o: this.origin, r: readings };
      this.unanswered++;
      this.connection.commands.publish(channel, JSON.stringify(envelope)).then(
        () => {
          this.unanswered--;
          this.counts.published++;
        },
        (err: unknown) => {
          this.unanswered--;
          this.counts.failed++;
          this.log.debug({ err: errorMessage(err), channel }, 'live bus publish failed');
        },
      );
    }
  }

  private receive(text: string, local: MemoryLiveBus): void {
    let envelope: Partial<Envelope>;
    try {
      envelope = JSON.parse(text) as Partial<Envelope>;
    } catch {
      this.counts.unreadable++;
      return;
    }
    if (envelope.o === this.origin) return;
    if (typeof envelope.o !== 'string' || !Array.isArray(envelope.r) || !envelope.r.every(isLiveReadings)) {
      this.counts.unreadable++;
      return;
    }
    this.counts.received++;
    for (const readings of envelope.r) {
      try {
        local.publish(readings);
      } catch (err) {
        // Every subscriber had the readings (the bus throws after); nothing else is owed to the failed one.
        this.log.warn({ err: errorMessage(err) }, 'a live subscriber failed');
      }
    }
  }
}
