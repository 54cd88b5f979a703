/**
 * Makes webhook deliveries. `enqueue` writes one pending delivery per interested subscription into the document
 * store; a loop picks due pending deliveries from there, so deliveries written before a hub restart are made
 * after it, on the schedule their stored attempt count gives (retry.ts).
 */
import { randomUUID } from 'node:crypto';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Logger } from 'pino';
import { errorMessage, registerScraped, withTimeout } from '@pulsebridge/runtime';
import type { Registry } from 'prom-client';
import type { DocumentOf, DocumentStore } from '../documents/document-store.ts';
import type { DomainEvents } from '../domain/domain.ts';
import { WEBHOOK_DELIVERIES, WEBHOOK_SUBSCRIPTIONS } from '../domain/webhooks/collections.ts';
import { decideAfterAttempt, DEFAULT_RETRY_POLICY, type AttemptResult, type RetryPolicy } from './retry.ts';
import { signDelivery } from './signature.ts';
import { pinnedLookup, UrlGuard, WebhookUrlError, type PinnedTarget, type Resolver, type WebhookUrlConfig } from './url-guard.ts';

type DeliveryDoc = DocumentOf<typeof WEBHOOK_DELIVERIES.schema>;
type SubscriptionDoc = DocumentOf<typeof WEBHOOK_SUBSCRIPTIONS.schema>;

export interface WebhookSenderOptions {
  documents: DocumentStore;
  urls: WebhookUrlConfig;
  log: Logger;
  now?: () => number;
  retry?: RetryPolicy;
  /** How often the loop looks for due deliveries. */
  pollIntervalMs?: number;
  /** Deliveries taken per round: bounds memory and the work one round does. */
  batchSize?: number;
  /** Attempts in flight at once: one slow receiver cannot hold up the rest of the batch beyond this. */
  concurrency?: number;
  /** For the DNS lookup and for the whole HTTP attempt (connect, send, answer). */
  timeoutMs?: number;
  /** Injected in tests. */
  resolver?: Resolver;
}

export const DEFAULT_POLL_INTERVAL_MS = 1000;
export const DEFAULT_BATCH_SIZE = 50;
export const DEFAULT_CONCURRENCY = 8;
export const DEFAULT_TIMEOUT_MS = 10_000;
/**
 * A sender takes a due delivery by moving its next attempt this far ahead, guarded on the time it read: of
 * several hub replicas (or rounds) only one takes it, and a replica that dies mid-attempt leaves it due again
 * when the lease runs out. Longer than an attempt can last (address check and POST, each bounded by the timeout).
 */
const LEASE_FACTOR = 3;
/** A receiver's answer is not read beyond this: only the status and Retry-After matter. */
const MAX_ERROR_CHARS = 500;

export class WebhookSender implements DomainEvents {
  private readonly documents: DocumentStore;
  private readonly guard: UrlGuard;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly retry: RetryPolicy;
  private readonly pollIntervalMs: number;
  private readonly batchSize: number;
  private readonly concurrency: number;
  private readonly timeoutMs: number;
  private timer: NodeJS.Timeout | undefined;
  private round: Promise<void> | undefined;
  private running = false;
  /** Counters for metrics and tests. */
  readonly counts = { delivered: 0, retried: 0, failed: 0, refusedAddress: 0 };

  constructor(options: WebhookSenderOptions) {
    this.documents = options.documents;
    this.guard = new UrlGuard(options.urls, options.resolver);
    this.log = options.log;
    this.now = options.now ?? Date.now;
    this.retry = options.retry ?? DEFAULT_RETRY_POLICY;
    this.pollIntervalMs = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
    this.batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
    this.concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  /** Writes a pending delivery for every active subscription of the gym that wants the event. */
  async enqueue(gym: string, event: string, payload: Record<string, unknown>): Promise<number> {
    const subscriptions = await this.documents.collection(WEBHOOK_SUBSCRIPTIONS).find({ gym, active: true });
    const interested = subscriptions.filter((subscription) => subscription.events.includes(event));
    const at = this.now();
    for (const subscription of interested) {
      const id = randomUUID();
      const body = JSON.stringify({ type: event, timestamp: new Date(at).toISOString(), data: { gym, ...payload } });
      await this.documents.collection(WEBHOOK_DELIVERIES).insert({
        id,
        gym,
        subscription: subscription.id,
        event,
        payload: body,
        status: 'pending',
        attempts: 0,
        nextAttemptAt: at,
        createdAt: at,
        updatedAt: at,
      });
    }
    if (interested.length > 0) this.kick();
    return interested.length;
  }

  /** DomainEvents: an event must never fail the request that caused it; a lost event is logged. */
  async emit(gym: string, event: string, payload: Record<string, unknown>): Promise<void> {
    try {
      await this.enqueue(gym, event, payload);
    } catch (err) {
      this.log.error({ err, gym, event }, 'webhook event not recorded');
    }
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule(0);
  }

  /** Stops taking deliveries and waits for the attempts in flight (each bounded by the timeout). */
  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.round;
  }

  /** Runs one round now: the due deliveries of one batch. For tests and for `enqueue`. */
  async runOnce(): Promise<number> {
    const due = await this.documents
      .collection(WEBHOOK_DELIVERIES)
      .find({ status: 'pending', nextAttemptAt: { lte: this.now() } }, { orderBy: ['nextAttemptAt'], limit: this.batchSize });
    let next = 0;
    const worker = async () => {
      while (next < due.length) {
        const delivery = due[next++]!;
        try {
          if (!(await this.claim(delivery))) continue;
          await this.attempt(delivery);
        } catch (err) {
          // A store error: the delivery stays pending and is taken again next round.
          this.log.error({ err, delivery: delivery.id }, 'webhook delivery not recorded');
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, due.length) }, worker));
    return due.length;
  }

  /** True when this sender took the delivery; false when another took it since it was read. */
  private async claim(delivery: DeliveryDoc): Promise<boolean> {
    const lease = this.now() + LEASE_FACTOR * this.timeoutMs;
    const taken = await this.documents
      .collection(WEBHOOK_DELIVERIES)
      .update({ id: delivery.id, status: 'pending', nextAttemptAt: delivery.nextAttemptAt }, { set: { nextAttemptAt: lease } });
    return taken === 1;
  }

  /** Exposes the counts, read at scrape time. */
  register(registry: Registry): void {
    registerScraped(registry, [
      { name: 'pb_hub_webhook_deliveries_delivered_total', help: 'Webhook deliveries a receiver accepted', kind: 'counter', read: () => this.counts.delivered },
      { name: 'pb_hub_webhook_deliveries_retried_total', help: 'Webhook attempts that failed and were scheduled again', kind: 'counter', read: () => this.counts.retried },
      {
        name: 'pb_hub_webhook_deliveries_failed_total',
        help: 'Webhook deliveries ended without success (refused, gone or given up)',
        kind: 'counter',
        read: () => this.counts.failed,
      },
      {
        name: 'pb_hub_webhook_addresses_refused_total',
        help: 'Webhook deliveries refused because the subscriber address is loopback, private or link-local',
        kind: 'counter',
        read: () => this.counts.refusedAddress,
      },
    ]);
  }

  private kick(): void {
    if (this.running && this.round === undefined) this.schedule(0);
  }

  private schedule(delayMs: number): void {
    if (!this.running) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.round = this.runOnce()
        .then((taken) => taken)
        .catch((err: unknown) => {
          this.log.error({ err }, 'webhook round failed');
          return 0;
        })
        .then((taken) => {
          this.round = undefined;
          // A full batch means more may be due now.
          this.schedule(taken >= this.batchSize ? 0 : this.pollIntervalMs);
        });
    }, delayMs);
    this.timer.unref();
  }

  private async attempt(delivery: DeliveryDoc): Promise<void> {
    const subscriptions = this.documents.collection(WEBHOOK_SUBSCRIPTIONS);
    const deliveries = this.documents.collection(WEBHOOK_DELIVERIES);
    const subscription = await subscriptions.get(delivery.subscription);
    const attempts = delivery.attempts + 1;
    const at = this.now();
    if (subscription === undefined || !subscription.active) {
      await deliveries.update(
        { id: delivery.id, status: 'pending' },
        { set: { status: 'failed', attempts: delivery.attempts, lastError: 'the subscription is no longer active', updatedAt: at } },
      );
      return;
    }
    let target: PinnedTarget;
    try {
      target = await withTimeout(this.guard.check(subscription.url), this.timeoutMs, `the address of ${subscription.url}`);
    } catch (err) {
      if (err instanceof WebhookUrlError && err.code !== 'unresolvable') {
        // The address is refused, not unreachable: retrying would not change the answer.
        this.counts.refusedAddress++;
        this.counts.failed++;
        this.log.warn({ delivery: delivery.id, subscription: subscription.id, reason: err.message }, 'webhook delivery refused');
        await deliveries.update({ id: delivery.id }, { set: { status: 'failed', attempts, lastError: err.message, updatedAt: at } });
        return;
      }
      await this.record(delivery, subscription, attempts, { kind: 'network_error' }, errorMessage(err));
      return;
    }
    const { result, error } = await this.post(target, subscription, delivery);
    await this.record(delivery, subscription, attempts, result, error);
  }

  private async record(delivery: DeliveryDoc, subscription: SubscriptionDoc, attempts: number, result: AttemptResult, error: string | undefined): Promise<void> {
    const deliveries = this.documents.collection(WEBHOOK_DELIVERIES);
    const now = new Date(this.now());
    const decision = decideAfterAttempt(result, attempts, now, this.retry);
    const base = { attempts, updatedAt: now.getTime(), ...(result.kind === 'response' ? { lastStatus: result.status } : {}), ...(error === undefined ? {} : { lastError: error }) };
    const unset: ('lastError' | 'lastStatus')[] = [...(error === undefined ? ['lastError' as const] : []), ...(result.kind === 'response' ? [] : ['lastStatus' as const])];
    switch (decision.outcome) {
      case 'delivered':
        this.counts.delivered++;
        await deliveries.update({ id: delivery.id }, { set: { ...base, status: 'delivered' }, unset });
        break;
      case 'retry':
        this.counts.retried++;
        await deliveries.update({ id: delivery.id }, { set: { ...base, status: 'pending', nextAttemptAt: decision.at.getTime() }, unset });
        break;
      case 'failed':
        this.counts.failed++;
        await deliveries.update({ id: delivery.id }, { set: { ...base, status: decision.reason === 'exhausted' ? 'gave_up' : 'failed' }, unset });
        break;
      case 'gone':
        this.counts.failed++;
        await this.documents.transaction(async (session) => {
          await session
            .collection(WEBHOOK_DELIVERIES)
            .update({ id: delivery.id }, { set: { ...base, status: 'failed', lastError: 'the receiver answered 410 Gone: subscription disabled' }, unset: [] });
          await session.collection(WEBHOOK_SUBSCRIPTIONS).update({ id: subscription.id }, { set: { active: false, updatedAt: now.getTime() } });
        });
        this.log.info({ subscription: subscription.id }, 'webhook subscription disabled by a 410 answer');
        break;
    }
  }

  /** One POST to the checked address; redirects are answers like any other (not followed). */
  private post(target: PinnedTarget, subscription: SubscriptionDoc, delivery: DeliveryDoc): Promise<{ result: AttemptResult; error: string | undefined }> {
    const body = Buffer.from(delivery.payload);
    const headers = signDelivery([subscription.secret], delivery.id, body, new Date(this.now()));
    const request = target.url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve) => {
      let settled = false;
      const finish = (result: AttemptResult, error: string | undefined) => {
        if (settled) return;
        settled = true;
        resolve({ result, error });
      };
      const req = request(
        target.url,
        {
          method: 'POST',
          lookup: pinnedLookup(target),
          servername: target.hostname,
          headers: { ...headers, 'content-type': 'application/json', 'content-length': String(body.length), 'user-agent': 'Pulsebridge-Webhooks' },
          timeout: this.timeoutMs,
          agent: false,
        },
        (res: IncomingMessage) => {
          const status = res.statusCode ?? 0;
          const retryAfter = res.headers['retry-after'];
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            if (text.length < MAX_ERROR_CHARS) text += chunk;
          });
          res.on('end', () =>
            finish({ kind: 'response', status, retryAfter }, status >= 200 && status <= 299 ? undefined : `HTTP ${status}${text ? `: ${text.slice(0, MAX_ERROR_CHARS)}` : ''}`),
          );
          res.on('error', () => finish({ kind: 'response', status, retryAfter }, `HTTP ${status}`));
        },
      );
      // The socket timeout is for idleness; the overall one keeps a trickling receiver from holding the attempt.
      const overall = setTimeout(() => req.destroy(new Error(`timed out after ${this.timeoutMs} ms`)), this.timeoutMs);
      overall.unref();
      req.on('timeout', () => req.destroy(new Error(`timed out after ${this.timeoutMs} ms`)));
      req.on('error', (err) => finish(/timed out/.test(err.message) ? { kind: 'timeout' } : { kind: 'network_error' }, errorMessage(err)));
      req.on('close', () => clearTimeout(overall));
      req.end(body);
    });
  }
}
