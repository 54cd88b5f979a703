/**
 * Webhooks through a whole hub, against a receiver on loopback: deliveries are signed, a failed one is retried
 * by the next run of the hub on the same data directory, and the delivery log shows its attempts; with the
 * default configuration the hub delivers nothing to loopback (SSRF).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import mqtt from 'mqtt';
import { until } from '@pulsebridge/runtime';
import { completeSession, startPersonalSession } from '../../src/domain/sessions/sessions.ts';
import { Hub, openStateDatabase } from '../../src/hub.ts';
import { SqliteAgentRegistry } from '../../src/registry/sqlite-agent-registry.ts';
import type { IdentityClient } from '../../src/oidc/config.ts';
import { DEFAULT_RETRY_POLICY } from '../../src/webhooks/retry.ts';
import { verifyDelivery } from '../../src/webhooks/signature.ts';
import { testHubConfig } from '../test-hub.ts';

const GYM = 'gym-hooks';
const log = pino({ level: 'silent' });
type Json = Record<string, unknown>;

/** The gym's other app: a service client holding gym_admin in the gym, as the gym's admin would register it. */
const GYM_ADMIN: IdentityClient = {
  clientId: 'gym-hooks-admin',
  name: 'Gym hooks admin',
  kind: 'service',
  redirectUris: [],
  postLogoutRedirectUris: [],
  firstParty: true,
  clientSecret: 'gym-hooks-admin-secret-0123456789',
  scopes: [],
  roles: [{ gym: GYM, role: 'gym_admin' }],
};

/** Seconds between attempts instead of minutes, without jitter: the restart still falls between two attempts. */
const FAST = { retry: { ...DEFAULT_RETRY_POLICY, delaysMs: [0, 1_000, 1_000, 1_000, 1_000, 1_000, 1_000], jitter: 0 }, pollIntervalMs: 100 };

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  answered: number;
}

/** A receiver on 127.0.0.1 that answers `status` (changed by the test) and keeps every request. */
class Receiver {
  readonly received: Received[] = [];
  status = 500;
  private readonly server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      this.received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), answered: this.status });
      res.writeHead(this.status).end();
    });
  });

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
  }

  url(path: string): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}${path}`;
  }

  of(event: string): Received[] {
    return this.received.filter((r) => (JSON.parse(r.body) as Json)['type'] === event);
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

async function clientToken(hub: Hub): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${hub.addresses.http!.port}/oidc/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${GYM_ADMIN.clientId}:${GYM_ADMIN.clientSecret!}`).toString('base64')}`,
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'gym:read gym:write me:read me:write' }).toString(),
    signal: AbortSignal.timeout(10_000),
  });
  const body = (await response.json()) as { access_token?: string };
  assert.ok(response.ok && body.access_token, JSON.stringify(body));
  return body.access_token;
}

async function call(hub: Hub, token: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: Json }> {
  const response = await fetch(`http://127.0.0.1:${hub.addresses.http!.port}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  return { status: response.status, body: (text === '' ? {} : JSON.parse(text)) as Json };
}

/** An athlete of the gym and a class with an occurrence tomorrow, open for booking. */
async function athleteAndClass(hub: Hub, token: string): Promise<{ athlete: string; bookingPath: string }> {
  const identity = hub.domain!.identity;
  const user = await identity.createUser({ email: `athlete-${Date.now()}@example.org`, displayName: 'Athlete' });
  await identity.addMembership({ userId: user.id, gym: GYM, role: 'athlete' });
  const tomorrow = new Date(Date.now() + 86_400_000);
  const day = tomorrow.toISOString().slice(0, 10);
  const created = await call(hub, token, 'POST', '/api/v1/classes', {
    gym: GYM,
    name: 'Morning spin',
    description: 'Intervals',
    room: 'Studio 1',
    instructors: [],
    capacity: 10,
    start: `${day}T07:00`,
    durationMinutes: 45,
    rrule: 'FREQ=DAILY',
    bookingOpensDays: 14,
    cancellationWindowMinutes: 60,
    waitlistLimit: 5,
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  return { athlete: user.id, bookingPath: `/api/v1/classes/${String(created.body['id'])}/occurrences/${day}T07:00:00Z/bookings` };
}

async function completedPersonalSession(hub: Hub, athlete: string): Promise<string> {
  const domain = hub.domain!;
  const session = await startPersonalSession(domain, { athlete, gym: GYM, name: 'Evening ride', sport: 'cycling' });
  const completed = await completeSession(domain, session.id, Date.now());
  assert.ok(completed);
  return session.id;
}

const dirs: string[] = [];
const receiver = new Receiver();

before(() => receiver.start());
after(async () => {
  await receiver.stop();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function dataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'pb-hub-webhooks-'));
  dirs.push(dir);
  return dir;
}

test('a delivery the receiver failed is made by the restarted hub, signed with the subscription secret, and the log shows its attempts', async () => {
  const dir = dataDir();
  const config = testHubConfig(dir, { PB_HUB_WEBHOOKS__ALLOW_HTTP: 'true', PB_HUB_WEBHOOKS__ALLOWED_CIDRS: '["127.0.0.0/8"]' }, [GYM_ADMIN]);
  receiver.received.length = 0;
  receiver.status = 500;
  let hub = new Hub(config, { log, webhookTiming: FAST });
  try {
    await hub.start();
    let token = await clientToken(hub);
    const subscribed = await call(hub, token, 'POST', '/api/v1/webhooks', { gym: GYM, url: receiver.url('/hooks'), events: ['session.completed', 'booking.created'] });
    assert.equal(subscribed.status, 201, JSON.stringify(subscribed.body));
    const subscription = String(subscribed.body['id']);
    const secret = String(subscribed.body['secret']);

    const { athlete, bookingPath } = await athleteAndClass(hub, token);
    const sessionId = await completedPersonalSession(hub, athlete);
    const booked = await call(hub, token, 'POST', bookingPath, { user: athlete });
    assert.equal(booked.status, 201, JSON.stringify(booked.body));
    await until('both events attempted and refused with 500', () => receiver.of('session.completed').length >= 1 && receiver.of('booking.created').length >= 1, 10_000, 20);

    await hub.stop();
    receiver.status = 200;
    hub = new Hub(config, { log, webhookTiming: FAST });
    await hub.start();
    token = await clientToken(hub);
    await until(
      'both delivered by the restarted hub',
      () =>
        receiver.received.some((r) => r.answered === 200 && r.body.includes('"session.completed"')) &&
        receiver.received.some((r) => r.answered === 200 && r.body.includes('"booking.created"')),
      15_000,
      20,
    );

    for (const event of ['session.completed', 'booking.created']) {
      const attempts = receiver.of(event);
      const id = attempts[0]!.headers['webhook-id'];
      assert.ok(
        attempts.every((r) => r.headers['webhook-id'] === id),
        'every attempt is the same delivery: one webhook-id',
      );
      assert.deepEqual(
        attempts.map((r) => r.answered),
        [...attempts.slice(0, -1).map(() => 500), 200],
      );
      const delivered = attempts.at(-1)!;
      assert.equal(verifyDelivery([secret], delivered.headers, delivered.body, { now: new Date() }).id, id);
      const sent = JSON.parse(delivered.body) as { type: string; data: Json };
      assert.equal(sent.type, event);
      assert.equal(sent.data['gym'], GYM);
      assert.throws(() => verifyDelivery([secret], delivered.headers, delivered.body.replace('}', ' }'), { now: new Date() }), 'a changed body does not verify');
    }
    const completed = JSON.parse(receiver.of('session.completed').at(-1)!.body) as { data: Json };
    assert.equal(completed.data['session'], sessionId);
    assert.equal(completed.data['athlete'], athlete);
    const booking = JSON.parse(receiver.of('booking.created').at(-1)!.body) as { data: Json };
    assert.equal(booking.data['user'], athlete);
    assert.equal(booking.data['booking'], booked.body['id']);

    const deliveryLog = await call(hub, token, 'GET', `/api/v1/webhooks/${subscription}/deliveries`);
    assert.equal(deliveryLog.status, 200);
    const items = deliveryLog.body['items'] as Json[];
    assert.deepEqual(items.map((d) => d['event']).sort(), ['booking.created', 'session.completed']);
    for (const item of items) {
      const made = receiver.of(String(item['event'])).length;
      assert.equal(item['status'], 'delivered');
      assert.equal(item['attempts'], made, 'the log counts every attempt the receiver saw');
      assert.ok(made >= 2, 'one failed before the restart, one delivered after it');
      assert.equal(item['lastStatus'], 200);
      assert.equal(item['lastError'], undefined);
    }
  } finally {
    await hub.stop();
  }
});

test('with the default configuration a loopback receiver gets nothing: refused at subscription (http) and at delivery (its address)', async () => {
  receiver.received.length = 0;
  receiver.status = 200;
  const strict = new Hub(testHubConfig(dataDir(), {}, [GYM_ADMIN]), { log, webhookTiming: FAST });
  try {
    await strict.start();
    const token = await clientToken(strict);
    const refused = await call(strict, token, 'POST', '/api/v1/webhooks', { gym: GYM, url: receiver.url('/hooks'), events: ['booking.created'] });
    assert.equal(refused.status, 400, JSON.stringify(refused.body));
  } finally {
    await strict.stop();
  }

  // http allowed, loopback not: the URL is taken, and every delivery is refused by its address.
  const httpOnly = new Hub(testHubConfig(dataDir(), { PB_HUB_WEBHOOKS__ALLOW_HTTP: 'true' }, [GYM_ADMIN]), { log, webhookTiming: FAST });
  try {
    await httpOnly.start();
    const token = await clientToken(httpOnly);
    const subscribed = await call(httpOnly, token, 'POST', '/api/v1/webhooks', { gym: GYM, url: receiver.url('/hooks'), events: ['session.completed'] });
    assert.equal(subscribed.status, 201, JSON.stringify(subscribed.body));
    const identity = httpOnly.domain!.identity;
    const user = await identity.createUser({ email: 'ssrf@example.org', displayName: 'Athlete' });
    await identity.addMembership({ userId: user.id, gym: GYM, role: 'athlete' });
    await completedPersonalSession(httpOnly, user.id);
    const path = `/api/v1/webhooks/${String(subscribed.body['id'])}/deliveries`;
    let items: Json[] = [];
    await until(
      'the delivery refused',
      async () => {
        items = (await call(httpOnly, token, 'GET', path)).body['items'] as Json[];
        return items.length === 1 && items[0]!['status'] === 'failed';
      },
      10_000,
      20,
    );
    assert.match(String(items[0]!['lastError']), /loopback/);
    assert.equal(items[0]!['attempts'], 1, 'a refused address is not retried');
    assert.deepEqual(receiver.received, [], 'the receiver got nothing');
  } finally {
    await httpOnly.stop();
  }
});

test('an agent that disconnects and stays away for ingest.agentOfflineGraceMs is delivered to its gym as agent.offline', async () => {
  receiver.received.length = 0;
  receiver.status = 200;
  const dir = dataDir();
  const hub = new Hub(
    testHubConfig(dir, { PB_HUB_WEBHOOKS__ALLOW_HTTP: 'true', PB_HUB_WEBHOOKS__ALLOWED_CIDRS: '["127.0.0.0/8"]', PB_HUB_INGEST__AGENT_OFFLINE_GRACE_MS: '1000' }, [GYM_ADMIN]),
    { log, webhookTiming: FAST },
  );
  try {
    await hub.start();
    const token = await clientToken(hub);
    const subscribed = await call(hub, token, 'POST', '/api/v1/webhooks', { gym: GYM, url: receiver.url('/hooks'), events: ['agent.offline'] });
    assert.equal(subscribed.status, 201, JSON.stringify(subscribed.body));
    // Enrolled beside the running hub, as `agent add` does.
    const db = openStateDatabase(dir);
    const { secret } = await new SqliteAgentRegistry({ db, log }).create('box-1', GYM).finally(() => db.close());
    const options = { clientId: 'pb-agent-box-1', username: 'box-1', password: secret, protocolVersion: 4 as const, reconnectPeriod: 0, connectTimeout: 3_000 };
    const agent = await mqtt.connectAsync(`mqtt://127.0.0.1:${hub.addresses.mqtt!.port}`, options, false);
    const disconnectedAt = Date.now();
    await agent.endAsync();
    await until('agent.offline delivered', () => receiver.of('agent.offline').length === 1, 10_000, 20);
    const { data } = JSON.parse(receiver.of('agent.offline')[0]!.body) as { data: Json };
    assert.equal(data['gym'], GYM);
    assert.equal(data['agent'], 'box-1');
    assert.ok(Date.parse(String(data['offlineSince'])) >= disconnectedAt - 1_000);
    assert.ok(Date.parse(String(data['lastSeenAt'])) <= Date.parse(String(data['offlineSince'])));
    assert.equal(
      verifyDelivery([String(subscribed.body['secret'])], receiver.of('agent.offline')[0]!.headers, receiver.of('agent.offline')[0]!.body, { now: new Date() }).id,
      receiver.of('agent.offline')[0]!.headers['webhook-id'],
    );
  } finally {
    await hub.stop();
  }
});
