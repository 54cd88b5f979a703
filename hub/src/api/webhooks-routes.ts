/** Handlers of webhooks-operations.ts. */
import { randomUUID } from 'node:crypto';
import type { Static } from '@sinclair/typebox';
import type { Domain } from '../domain/domain.ts';
import type { DocumentOf } from '../documents/document-store.ts';
import { WEBHOOK_DELIVERIES, WEBHOOK_SUBSCRIPTIONS } from '../domain/webhooks/collections.ts';
import { generateSecret } from '../webhooks/signature.ts';
import { UrlGuard, WebhookUrlError } from '../webhooks/url-guard.ts';
import { API_PREFIX } from './operation.ts';
import { listPage } from './pages.ts';
import { ApiError, invalidParameter } from './problem.ts';
import type { RouteModule } from './route-module.ts';
import { isoTime, resourceGym } from './self.ts';
import { WEBHOOKS_OPERATIONS, type WebhookDelivery, type WebhookSubscription } from './webhooks-operations.ts';

type SubscriptionDoc = DocumentOf<typeof WEBHOOK_SUBSCRIPTIONS.schema>;
type DeliveryDoc = DocumentOf<typeof WEBHOOK_DELIVERIES.schema>;

const toSubscription = (doc: SubscriptionDoc): Static<typeof WebhookSubscription> => ({
  id: doc.id,
  gym: doc.gym,
  url: doc.url,
  events: doc.events,
  active: doc.active,
  createdAt: isoTime(doc.createdAt),
  updatedAt: isoTime(doc.updatedAt),
});

const toDelivery = (doc: DeliveryDoc): Static<typeof WebhookDelivery> => ({
  id: doc.id,
  subscription: doc.subscription,
  event: doc.event,
  payload: doc.payload,
  status: doc.status,
  attempts: doc.attempts,
  ...(doc.status === 'pending' ? { nextAttemptAt: isoTime(doc.nextAttemptAt) } : {}),
  ...(doc.lastStatus === undefined ? {} : { lastStatus: doc.lastStatus }),
  ...(doc.lastError === undefined ? {} : { lastError: doc.lastError }),
  createdAt: isoTime(doc.createdAt),
  updatedAt: isoTime(doc.updatedAt),
});

export function webhooksRoutes(domain: Domain): RouteModule<typeof WEBHOOKS_OPERATIONS> {
  const { documents, now } = domain;
  const subscriptions = documents.collection(WEBHOOK_SUBSCRIPTIONS);
  const deliveries = documents.collection(WEBHOOK_DELIVERIES);
  // Only the URL's form is checked here; its addresses are checked before every delivery (DNS may change).
  const guard = new UrlGuard(domain.webhookUrls ?? { allowHttp: false, allowedCidrs: [] });

  async function subscriptionOf(id: string, gym: string): Promise<SubscriptionDoc> {
    const doc = await subscriptions.get(id);
    if (doc === undefined || doc.gym !== gym) throw new ApiError('not_found', `no webhook subscription with id ${id}`);
    return doc;
  }

  return {
    handlers: {
      createWebhook: async (ctx, { body }) => {
        try {
          guard.parse(body.url);
        } catch (err) {
          if (err instanceof WebhookUrlError) throw invalidParameter('url', err.message);
          throw err;
        }
        const at = now();
        const doc: SubscriptionDoc = {
          id: randomUUID(),
          gym: body.gym!,
          url: body.url,
          events: [...body.events],
          secret: generateSecret(),
          active: true,
          createdAt: at,
          updatedAt: at,
        };
        await subscriptions.insert(doc);
        ctx.status = 201;
        ctx.body = { ...toSubscription(doc), secret: doc.secret };
      },
      listWebhooks: async (ctx, { query }) => {
        await listPage(ctx, {
          collection: subscriptions,
          where: query.gym === undefined ? {} : { gym: query.gym },
          orderBy: ['createdAt'],
          query,
          path: `${API_PREFIX}/webhooks`,
          params: { gym: query.gym },
          toItem: toSubscription,
        });
      },
      getWebhook: async (ctx, { params }) => {
        ctx.body = toSubscription(await subscriptionOf(params.id, resourceGym(ctx)));
      },
      deleteWebhook: async (ctx, { params }) => {
        const gym = resourceGym(ctx);
        const doc = await subscriptionOf(params.id, gym);
        await documents.transaction(async (session) => {
          await session.collection(WEBHOOK_DELIVERIES).delete({ gym, subscription: doc.id });
          await session.collection(WEBHOOK_SUBSCRIPTIONS).delete({ id: doc.id });
        });
        ctx.body = toSubscription(doc);
      },
      listWebhookDeliveries: async (ctx, { params, query }) => {
        const gym = resourceGym(ctx);
        await subscriptionOf(params.id, gym);
        await listPage(ctx, {
          collection: deliveries,
          where: { gym, subscription: params.id },
          orderBy: ['createdAt'],
          descending: true,
          query,
          path: `${API_PREFIX}/webhooks/${params.id}/deliveries`,
          params: {},
          toItem: toDelivery,
        });
      },
      replayWebhookDelivery: async (ctx, { params }) => {
        const gym = resourceGym(ctx);
        await subscriptionOf(params.id, gym);
        const original = await deliveries.get(params.delivery);
        if (original === undefined || original.gym !== gym || original.subscription !== params.id) {
          throw new ApiError('not_found', `no delivery ${params.delivery} of webhook subscription ${params.id}`);
        }
        const at = now();
        const doc: DeliveryDoc = {
          id: randomUUID(),
          gym,
          subscription: params.id,
          event: original.event,
          payload: original.payload,
          status: 'pending',
          attempts: 0,
          nextAttemptAt: at,
          createdAt: at,
          updatedAt: at,
        };
        await deliveries.insert(doc);
        ctx.status = 201;
        ctx.body = toDelivery(doc);
      },
    },
  };
}
