/** The document collections of webhooks: gyms' subscriptions and the delivery log the sender works from. */
import { Type } from '@sinclair/typebox';
import type { CollectionSpec } from '../../documents/document-store.ts';

/** The events a gym's other apps may subscribe to. */
export const WEBHOOK_EVENTS = ['session.completed', 'booking.created', 'booking.cancelled', 'equipment.status_changed', 'agent.offline'] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

export const DELIVERY_STATUSES = ['pending', 'delivered', 'failed', 'gave_up'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

export const WEBHOOK_SUBSCRIPTIONS = {
  name: 'webhook_subscriptions',
  schema: Type.Object(
    {
      id: Type.String(),
      gym: Type.String(),
      url: Type.String(),
      events: Type.Array(Type.String()),
      /** The `whsec_` signing secret; shown to the admin once, when the subscription is created. */
      secret: Type.String(),
      /** False once the receiver answered 410 (or was disabled): no more deliveries are made. */
      active: Type.Boolean(),
      createdAt: Type.Number(),
      updatedAt: Type.Number(),
    },
    { additionalProperties: false },
  ),
  indexes: [{ name: 'by_gym', fields: ['gym', 'createdAt'] }],
} as const satisfies CollectionSpec;

export const WEBHOOK_DELIVERIES = {
  name: 'webhook_deliveries',
  schema: Type.Object(
    {
      /** Also the `webhook-id` header: the receiver's idempotency key (a replay is a new delivery, a new id). */
      id: Type.String(),
      gym: Type.String(),
      subscription: Type.String(),
      event: Type.String(),
      /** The JSON body as sent, so every attempt signs the same bytes. */
      payload: Type.String(),
      status: Type.Union(DELIVERY_STATUSES.map((status) => Type.Literal(status))),
      attempts: Type.Integer(),
      /** When a pending delivery is due (ms since the epoch); stored so the schedule survives a hub restart. */
      nextAttemptAt: Type.Number(),
      lastStatus: Type.Optional(Type.Integer()),
      lastError: Type.Optional(Type.String()),
      createdAt: Type.Number(),
      updatedAt: Type.Number(),
    },
    { additionalProperties: false },
  ),
  indexes: [
    { name: 'by_subscription', fields: ['gym', 'subscription', 'createdAt'] },
    { name: 'due', fields: ['status', 'nextAttemptAt'] },
  ],
} as const satisfies CollectionSpec;

export const WEBHOOKS_COLLECTIONS: readonly CollectionSpec[] = [WEBHOOK_SUBSCRIPTIONS, WEBHOOK_DELIVERIES];
