/** Tenancy cases of webhooks-operations.ts. */
import type { WEBHOOKS_OPERATIONS } from '../../../src/api/webhooks-operations.ts';
import { WEBHOOK_DELIVERIES, WEBHOOK_SUBSCRIPTIONS } from '../../../src/domain/webhooks/collections.ts';
import { generateSecret } from '../../../src/webhooks/signature.ts';
import { GYM_A, GYM_B, type FeatureTenancy } from './tenancy-case.ts';

const HOOK_A = 'hook-of-a';
const DELIVERY_A = 'delivery-of-a';
const HOOK_B = 'hook-of-b';
const DELIVERY_B = 'delivery-of-b';

export const webhooksTenancy: FeatureTenancy<keyof typeof WEBHOOKS_OPERATIONS> = {
  cases: {
    createWebhook: {
      attempts: [{ method: 'POST', path: '/api/v1/webhooks', body: { gym: GYM_A, url: 'https://evil.example.org/hook', events: ['booking.created'] }, targetsA: true }],
    },
    listWebhooks: {
      attempts: [
        { path: `/api/v1/webhooks?gym=${GYM_A}`, targetsA: true },
        { path: '/api/v1/webhooks', targetsA: false },
      ],
    },
    getWebhook: { attempts: [{ path: `/api/v1/webhooks/${HOOK_A}`, targetsA: true }] },
    deleteWebhook: { attempts: [{ method: 'DELETE', path: `/api/v1/webhooks/${HOOK_A}`, targetsA: true }] },
    listWebhookDeliveries: { attempts: [{ path: `/api/v1/webhooks/${HOOK_A}/deliveries`, targetsA: true }] },
    replayWebhookDelivery: {
      attempts: [
        { method: 'POST', path: `/api/v1/webhooks/${HOOK_A}/deliveries/${DELIVERY_A}/replay`, targetsA: true },
        // B's own subscription with A's delivery: the delivery must not be found through it.
        { method: 'POST', path: `/api/v1/webhooks/${HOOK_B}/deliveries/${DELIVERY_A}/replay`, targetsA: true },
      ],
    },
  },
  async seed({ domain }) {
    const at = Date.UTC(2026, 0, 1);
    for (const [gym, hook, delivery, host] of [
      [GYM_A, HOOK_A, DELIVERY_A, 'receiver-of-a.example.org'],
      [GYM_B, HOOK_B, DELIVERY_B, 'receiver-of-b.example.org'],
    ] as const) {
      await domain.documents
        .collection(WEBHOOK_SUBSCRIPTIONS)
        .insert({ id: hook, gym, url: `https://${host}/hook`, events: ['booking.created'], secret: generateSecret(), active: true, createdAt: at, updatedAt: at });
      await domain.documents.collection(WEBHOOK_DELIVERIES).insert({
        id: delivery,
        gym,
        subscription: hook,
        event: 'booking.created',
        payload: JSON.stringify({ marker: `payload-of-${gym}` }),
        status: 'delivered',
        attempts: 1,
        nextAttemptAt: at,
        lastStatus: 200,
        createdAt: at,
        updatedAt: at,
      });
    }
    return [HOOK_A, DELIVERY_A, 'receiver-of-a.example.org', `payload-of-${GYM_A}`];
  },
  async stateOfA({ domain }) {
    return {
      subscriptions: await domain.documents.collection(WEBHOOK_SUBSCRIPTIONS).find({ gym: GYM_A }),
      deliveries: await domain.documents.collection(WEBHOOK_DELIVERIES).find({ gym: GYM_A }),
    };
  },
};
