import { test } from 'node:test';
import { Registry } from 'prom-client';
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { until } from '@pulsebridge/runtime';
import { DOMAIN_COLLECTIONS } from '../../src/domain/collections.ts';
import { WEBHOOK_DELIVERIES, WEBHOOK_SUBSCRIPTIONS } from '../../src/domain/webhooks/collections.ts';
import { SqliteDocumentStore } from '../../src/documents/sqlite-document-store.ts';
import type { RetryPolicy } from '../../src/webhooks/retry.ts';
import { WebhookSender } from '../../src/webhooks/sender.ts';
import { generateSecret, verifyDelivery } from '../../src/webhooks/signature.ts';

const log = pino({ level: 'silent' });
const GYM = 'gym-a';
/** Tiny delays so a retry is due at once; the schedule's shape is retry.test.ts's business. */
const QUICK_RETRY: RetryPolicy = { delaysMs: [0, 5, 5], jitter: 0, maxRetryAfterMs: 10, random: () => 0 };
const LOOPBACK_ALLOWED = { allowHttp: true, allowedCidrs: ['127.0.0.0/8'] };

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  verified: boolean;
}

/** A receiver on 127.0.0.1 answering each request with the next status of `statuses` (then 200). */
async function receiver(secret: string, statuses: number[] = []): Promise<{ url: string; received: Received[]; server: Server }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let verified = true;
      try {
        verifyDelivery([secret], req.headers, body, { now: new Date() });
      } catch {
        verified = false;
      }
      received.push({ headers: req.headers, body, verified });
      res.statusCode = statuses.shift() ?? 200;
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, received, server };
}

async function withStore<T>(work: (path: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'pb-webhooks-'));
  try {
    return await work(join(dir, 'documents.db'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function openStore(path: string): Promise<SqliteDocumentStore> {
  const documents = new SqliteDocumentStore({ path });
  await documents.start(DOMAIN_COLLECTIONS);
  return documents;
}

async function subscribe(documents: SqliteDocumentStore, url: string, secret: string, events = ['booking.created']): Promise<string> {
  const id = `hook-${Math.random().toString(36).slice(2)}`;
  await documents.collection(WEBHOOK_SUBSCRIPTIONS).insert({ id, gym: GYM, url, events, secret, active: true, createdAt: Date.now(), updatedAt: Date.now() });
  return id;
}

const deliveriesOf = (documents: SqliteDocumentStore, subscription: string) => documents.collection(WEBHOOK_DELIVERIES).find({ subscription });

test('a 500 then a 200 gives one retry, then the delivery is delivered, every attempt signed so the receiver verifies it', async () => {
  await withStore(async (path) => {
    const documents = await openStore(path);
    const secret = generateSecret();
    const { url, received, server } = await receiver(secret, [500]);
    const sender = new WebhookSender({ documents, urls: LOOPBACK_ALLOWED, log, retry: QUICK_RETRY, pollIntervalMs: 5 });
    try {
      const hook = await subscribe(documents, url, secret);
      await subscribe(documents, url, secret, ['booking.cancelled']);
      assert.equal(await sender.enqueue(GYM, 'booking.created', { booking: 'b-1' }), 1);
      sender.start();
      await until('the delivery is delivered', async () => (await deliveriesOf(documents, hook))[0]?.status === 'delivered', 5000);
      const [delivery] = await deliveriesOf(documents, hook);
      assert.equal(delivery!.attempts, 2);
      assert.equal(delivery!.lastStatus, 200);
      assert.equal(received.length, 2);
      assert.ok(received.every((r) => r.verified));
      assert.equal(received[0]!.headers['webhook-id'], delivery!.id);
      assert.equal(received[1]!.headers['webhook-id'], delivery!.id, 'a retry keeps the id: the receiver’s idempotency key');
      assert.deepEqual(JSON.parse(received[0]!.body).data, { gym: GYM, booking: 'b-1' });
      assert.equal(sender.counts.retried, 1);
    } finally {
      await sender.stop();
      server.close();
      await documents.stop();
    }
  });
});

test('two replicas running a round at once send a due delivery once; the counts are metrics', async () => {
  await withStore(async (path) => {
    const documents = await openStore(path);
    const secret = generateSecret();
    const { url, received, server } = await receiver(secret);
    const replicas = [0, 1].map(() => new WebhookSender({ documents, urls: LOOPBACK_ALLOWED, log, retry: QUICK_RETRY }));
    try {
      const hook = await subscribe(documents, url, secret);
      await replicas[0]!.enqueue(GYM, 'booking.created', { booking: 'b-9' });
      await Promise.all(replicas.map((replica) => replica.runOnce()));
      assert.equal((await deliveriesOf(documents, hook))[0]?.status, 'delivered');
      assert.equal(received.length, 1, 'one request, though both replicas read the delivery as due');
      const registry = new Registry();
      for (const replica of replicas) if (replica.counts.delivered === 1) replica.register(registry);
      assert.match(await registry.metrics(), /^pb_hub_webhook_deliveries_delivered_total 1$/m);
    } finally {
      server.close();
      await documents.stop();
    }
  });
});

test('a signature made with another secret does not verify at the receiver', async () => {
  await withStore(async (path) => {
    const documents = await openStore(path);
    const { url, received, server } = await receiver(generateSecret());
    const sender = new WebhookSender({ documents, urls: LOOPBACK_ALLOWED, log, retry: QUICK_RETRY });
    try {
      await subscribe(documents, url, generateSecret());
      await sender.enqueue(GYM, 'booking.created', {});
      await sender.runOnce();
      assert.equal(received.length, 1);
      assert.equal(received[0]!.verified, false);
    } finally {
      server.close();
      await documents.stop();
    }
  });
});

test('a pending delivery written before a restart is delivered by the sender of the restarted hub', async () => {
  await withStore(async (path) => {
    const secret = generateSecret();
    const { url, received, server } = await receiver(secret);
    let documents = await openStore(path);
    // The first hub never starts its loop: it records the event and stops, as if it crashed right after.
    const before = new WebhookSender({ documents, urls: LOOPBACK_ALLOWED, log, retry: QUICK_RETRY });
    const hook = await subscribe(documents, url, secret);
    await before.enqueue(GYM, 'booking.created', { booking: 'b-2' });
    await before.stop();
    await documents.stop();
    assert.equal(received.length, 0);

    documents = await openStore(path);
    const after = new WebhookSender({ documents, urls: LOOPBACK_ALLOWED, log, retry: QUICK_RETRY, pollIntervalMs: 5 });
    try {
      after.start();
      await until('the delivery is delivered after the restart', async () => (await deliveriesOf(documents, hook))[0]?.status === 'delivered', 5000);
      assert.equal(received.length, 1);
      assert.ok(received[0]!.verified);
    } finally {
      await after.stop();
      server.close();
      await documents.stop();
    }
  });
});

test('a subscription URL on loopback is refused without the allowed range: failed, and no request reaches the receiver', async () => {
  await withStore(async (path) => {
    const documents = await openStore(path);
    const secret = generateSecret();
    const { url, received, server } = await receiver(secret);
    const sender = new WebhookSender({ documents, urls: { allowHttp: true, allowedCidrs: [] }, log, retry: QUICK_RETRY, pollIntervalMs: 5 });
    try {
      // A name, not a literal: the guard must check what the name resolves to.
      const hook = await subscribe(documents, url.replace('127.0.0.1', 'localhost'), secret);
      await sender.enqueue(GYM, 'booking.created', {});
      sender.start();
      await until('the delivery is failed', async () => (await deliveriesOf(documents, hook))[0]?.status === 'failed', 5000);
      const [delivery] = await deliveriesOf(documents, hook);
      assert.match(delivery!.lastError ?? '', /loopback/);
      assert.equal(received.length, 0);
      assert.equal(sender.counts.refusedAddress, 1);
    } finally {
      await sender.stop();
      server.close();
      await documents.stop();
    }
  });
});

test('a 410 answer fails the delivery and disables the subscription; later events are not queued for it', async () => {
  await withStore(async (path) => {
    const documents = await openStore(path);
    const secret = generateSecret();
    const { url, server } = await receiver(secret, [410]);
    const sender = new WebhookSender({ documents, urls: LOOPBACK_ALLOWED, log, retry: QUICK_RETRY });
    try {
      const hook = await subscribe(documents, url, secret);
      await sender.enqueue(GYM, 'booking.created', {});
      await sender.runOnce();
      assert.equal((await deliveriesOf(documents, hook))[0]!.status, 'failed');
      assert.equal((await documents.collection(WEBHOOK_SUBSCRIPTIONS).get(hook))!.active, false);
      assert.equal(await sender.enqueue(GYM, 'booking.created', {}), 0);
    } finally {
      server.close();
      await documents.stop();
    }
  });
});

test('a receiver that keeps failing makes the delivery give up when the schedule is used up', async () => {
  await withStore(async (path) => {
    const documents = await openStore(path);
    const secret = generateSecret();
    const { url, received, server } = await receiver(secret, [503, 503, 503, 503]);
    const sender = new WebhookSender({ documents, urls: LOOPBACK_ALLOWED, log, retry: QUICK_RETRY, pollIntervalMs: 5 });
    try {
      const hook = await subscribe(documents, url, secret);
      await sender.enqueue(GYM, 'booking.created', {});
      sender.start();
      await until('the delivery gives up', async () => (await deliveriesOf(documents, hook))[0]?.status === 'gave_up', 5000);
      assert.equal(received.length, 3);
      assert.equal((await deliveriesOf(documents, hook))[0]!.lastStatus, 503);
    } finally {
      await sender.stop();
      server.close();
      await documents.stop();
    }
  });
});
