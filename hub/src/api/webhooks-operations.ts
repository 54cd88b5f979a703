/** The operations table of webhooks: a gym admin's subscriptions of other apps to the gym's events, and their delivery log. */
import { Type } from '@sinclair/typebox';
import { DELIVERY_STATUSES, WEBHOOK_EVENTS } from '../domain/webhooks/collections.ts';
import { ADMINS } from './access.ts';
import { API_PREFIX, JSON_TYPE, type Operation } from './operation.ts';
import { pageSchema, PageQueryFields } from './pages.ts';
import { GymParam } from './schemas.ts';

const DOCUMENT_ID = { minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' } as const;
const SubscriptionPath = Type.Object({ id: Type.String({ ...DOCUMENT_ID, description: 'the id of the subscription' }) }, { additionalProperties: false });
const DeliveryPath = Type.Object(
  {
    id: Type.String({ ...DOCUMENT_ID, description: 'the id of the subscription' }),
    delivery: Type.String({ ...DOCUMENT_ID, description: 'the id of a delivery of that subscription' }),
  },
  { additionalProperties: false },
);

export const WebhookEventName = Type.Union(
  WEBHOOK_EVENTS.map((event) => Type.Literal(event)),
  { description: WEBHOOK_EVENTS.join(', ') },
);

export const WebhookSubscription = Type.Object({
  id: Type.String(),
  gym: Type.String(),
  url: Type.String({ description: 'Where deliveries are POSTed' }),
  events: Type.Array(Type.String(), { description: 'The events delivered' }),
  active: Type.Boolean({ description: 'False once the receiver answered 410 Gone: nothing more is delivered' }),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
});

export const WebhookSubscriptionCreated = Type.Object({
  ...WebhookSubscription.properties,
  secret: Type.String({
    description: 'The whsec_ secret that signs every delivery (Standard Webhooks); shown only in this answer, keep it in the receiving app',
  }),
});

export const WebhookSubscriptionBody = Type.Object(
  {
    gym: Type.Optional(GymParam),
    url: Type.String({ minLength: 1, maxLength: 2048, description: 'An https URL of a public host (the hub refuses loopback, link-local and private addresses)' }),
    events: Type.Array(WebhookEventName, { minItems: 1, maxItems: WEBHOOK_EVENTS.length, uniqueItems: true, description: 'The events to deliver' }),
  },
  { additionalProperties: false },
);

export const WebhookDelivery = Type.Object({
  id: Type.String({ description: 'Also the webhook-id header the receiver saw' }),
  subscription: Type.String(),
  event: Type.String(),
  payload: Type.String({ description: 'The JSON body as sent' }),
  status: Type.Union(
    DELIVERY_STATUSES.map((status) => Type.Literal(status)),
    { description: 'pending (will be attempted at nextAttemptAt), delivered, failed (refused for good) or gave_up (retries used up)' },
  ),
  attempts: Type.Integer({ description: 'Attempts made so far' }),
  nextAttemptAt: Type.Optional(Type.String({ format: 'date-time', description: 'When a pending delivery is attempted next' })),
  lastStatus: Type.Optional(Type.Integer({ description: 'HTTP status of the last answer' })),
  lastError: Type.Optional(Type.String({ description: 'Why the last attempt failed, when it did' })),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
});

const SubscriptionsQuery = Type.Object({ ...PageQueryFields, gym: Type.Optional(GymParam) }, { additionalProperties: false });
const DeliveriesQuery = Type.Object(PageQueryFields, { additionalProperties: false });

export const WEBHOOKS_OPERATIONS = {
  createWebhook: {
    operationId: 'createWebhookSubscription',
    method: 'post',
    path: `${API_PREFIX}/webhooks`,
    tag: 'webhooks',
    summary: 'Subscribes another app of the gym to events: each one is POSTed to its URL, signed',
    description:
      'Deliveries follow Standard Webhooks: headers webhook-id, webhook-timestamp and webhook-signature (HMAC-SHA256 keyed with the returned secret). ' +
      'Failed deliveries are retried with backoff for about seven hours; a 410 answer ends the subscription.',
    access: { roles: ADMINS, scope: 'gym:write', gym: 'body' },
    body: WebhookSubscriptionBody,
    response: { description: 'The subscription with its secret, shown this once (201)', contentType: JSON_TYPE, schema: WebhookSubscriptionCreated, status: 201 },
    problems: ['invalid_parameter', 'unavailable'],
  },
  listWebhooks: {
    operationId: 'listWebhookSubscriptions',
    path: `${API_PREFIX}/webhooks`,
    tag: 'webhooks',
    summary: "The gym's webhook subscriptions, oldest first, without their secrets",
    access: { roles: ADMINS, scope: 'gym:read', gym: 'query' },
    query: SubscriptionsQuery,
    response: { description: 'A page of subscriptions', contentType: JSON_TYPE, schema: pageSchema(WebhookSubscription, 'Subscriptions by creation time') },
    problems: ['invalid_parameter', 'unavailable'],
  },
  getWebhook: {
    operationId: 'getWebhookSubscription',
    path: `${API_PREFIX}/webhooks/:id`,
    tag: 'webhooks',
    summary: 'One webhook subscription, without its secret',
    access: { roles: ADMINS, scope: 'gym:read', gym: { resource: 'webhook' } },
    params: SubscriptionPath,
    response: { description: 'The subscription', contentType: JSON_TYPE, schema: WebhookSubscription },
    problems: ['invalid_parameter', 'not_found', 'unavailable'],
  },
  deleteWebhook: {
    operationId: 'deleteWebhookSubscription',
    method: 'delete',
    path: `${API_PREFIX}/webhooks/:id`,
    tag: 'webhooks',
    summary: 'Ends a subscription and removes its delivery log; pending deliveries are not made',
    access: { roles: ADMINS, scope: 'gym:write', gym: { resource: 'webhook' } },
    params: SubscriptionPath,
    response: { description: 'The removed subscription', contentType: JSON_TYPE, schema: WebhookSubscription },
    problems: ['invalid_parameter', 'not_found', 'unavailable'],
  },
  listWebhookDeliveries: {
    operationId: 'listWebhookDeliveries',
    path: `${API_PREFIX}/webhooks/:id/deliveries`,
    tag: 'webhooks',
    summary: "A subscription's delivery log, newest first",
    access: { roles: ADMINS, scope: 'gym:read', gym: { resource: 'webhook' } },
    params: SubscriptionPath,
    query: DeliveriesQuery,
    response: { description: 'A page of deliveries', contentType: JSON_TYPE, schema: pageSchema(WebhookDelivery, 'Deliveries, newest first') },
    problems: ['invalid_parameter', 'not_found', 'unavailable'],
  },
  replayWebhookDelivery: {
    operationId: 'replayWebhookDelivery',
    method: 'post',
    path: `${API_PREFIX}/webhooks/:id/deliveries/:delivery/replay`,
    tag: 'webhooks',
    summary: 'Sends a logged delivery again, as a new delivery (a new webhook-id) with the same payload',
    access: { roles: ADMINS, scope: 'gym:write', gym: { resource: 'webhook' } },
    params: DeliveryPath,
    response: { description: 'The new pending delivery (201)', contentType: JSON_TYPE, schema: WebhookDelivery, status: 201 },
    problems: ['invalid_parameter', 'not_found', 'unavailable'],
  },
} as const satisfies Record<string, Operation>;
