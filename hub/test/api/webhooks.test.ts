/** Webhook routes: subscriptions (admins only, URL form checked, secret shown once), the delivery log and replays. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WEBHOOK_DELIVERIES } from '../../src/domain/webhooks/collections.ts';
import { withApi, type RunningApi } from './harness.ts';
import { FixedTokens, principal } from './principals.ts';

const GYM = 'gym-hooks';
const OTHER_GYM = 'gym-other';

const tokens = () =>
  new FixedTokens({
    admin: principal([{ gym: GYM, role: 'gym_admin' }], { subject: 'admin-1' }),
    reader: principal([{ gym: GYM, role: 'gym_admin' }], { subject: 'admin-r', scopes: ['gym:read'] }),
    coach: principal([{ gym: GYM, role: 'coach' }], { subject: 'coach-1' }),
    athlete: principal([{ gym: GYM, role: 'athlete' }], { subject: 'athlete-1' }),
    other: principal([{ gym: OTHER_GYM, role: 'gym_admin' }], { subject: 'admin-2' }),
  });

type Json = Record<string, unknown>;

async function call(api: RunningApi, who: string, method: string, path: string, body?: unknown): Promise<Response> {
  const init: RequestInit = { method, headers: { Authorization: `Bearer ${who}` }, signal: AbortSignal.timeout(5_000) };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    (init.headers as Record<string, string>)['Content-Type'] = 'application/json';
  }
  return fetch(`${api.url}${path}`, init);
}

async function ok(response: Response, status = 200): Promise<Json> {
  const text = await response.text();
  assert.equal(response.status, status, text);
  return (text === '' ? {} : JSON.parse(text)) as Json;
}

const HOOK = { url: 'https://receiver.example.org/hooks', events: ['booking.created', 'booking.cancelled'] };

test('an admin subscribes; the secret is in the answer to the creation and in no later answer', async () => {
  await withApi({ verifier: tokens() }, async (api) => {
    const created = await ok(await call(api, 'admin', 'POST', '/api/v1/webhooks', HOOK), 201);
    assert.equal(created['gym'], GYM);
    assert.match(String(created['secret']), /^whsec_/);
    assert.equal(created['active'], true);
    const id = String(created['id']);
    const got = await ok(await call(api, 'admin', 'GET', `/api/v1/webhooks/${id}`));
    assert.equal(got['secret'], undefined);
    assert.deepEqual(got['events'], HOOK.events);
    const list = await ok(await call(api, 'admin', 'GET', `/api/v1/webhooks?gym=${GYM}`));
    assert.deepEqual(
      (list['items'] as Json[]).map((item) => item['id']),
      [id],
    );
    assert.ok(!JSON.stringify(list).includes(String(created['secret'])));
    const deleted = await ok(await call(api, 'admin', 'DELETE', `/api/v1/webhooks/${id}`));
    assert.equal(deleted['id'], id);
    assert.equal((await call(api, 'admin', 'GET', `/api/v1/webhooks/${id}`)).status, 404);
  });
});

test('a URL that is not https, not absolute, or carries credentials is refused with 400 on the url field', async () => {
  await withApi({ verifier: tokens() }, async (api) => {
    for (const url of ['http://receiver.example.org/hooks', 'receiver.example.org/hooks', 'https://user:pw@receiver.example.org/', 'ftp://receiver.example.org/']) {
      const response = await call(api, 'admin', 'POST', '/api/v1/webhooks', { ...HOOK, url });
      const problem = (await response.json()) as Json;
      assert.equal(response.status, 400, url);
      assert.equal(problem['param'] ?? (problem['invalidParams'] as Json[] | undefined)?.[0]?.['name'], 'url', JSON.stringify(problem));
    }
    assert.equal((await call(api, 'admin', 'POST', '/api/v1/webhooks', { ...HOOK, events: ['booking.exploded'] })).status, 400);
    assert.equal((await call(api, 'admin', 'POST', '/api/v1/webhooks', { ...HOOK, events: [] })).status, 400);
  });
});

test('only the gym’s admins subscribe and read; gym:read alone reads but does not change; another gym’s admin sees 404', async () => {
  await withApi({ verifier: tokens() }, async (api) => {
    for (const who of ['coach', 'athlete']) {
      assert.equal((await call(api, who, 'POST', '/api/v1/webhooks', { ...HOOK, gym: GYM })).status, 403, who);
      assert.equal((await call(api, who, 'GET', `/api/v1/webhooks?gym=${GYM}`)).status, 403, who);
    }
    assert.equal((await call(api, 'reader', 'POST', '/api/v1/webhooks', HOOK)).status, 403);
    const id = String((await ok(await call(api, 'admin', 'POST', '/api/v1/webhooks', HOOK), 201))['id']);
    await ok(await call(api, 'reader', 'GET', `/api/v1/webhooks/${id}`));
    assert.equal((await call(api, 'reader', 'DELETE', `/api/v1/webhooks/${id}`)).status, 403);
    assert.equal((await call(api, 'other', 'GET', `/api/v1/webhooks/${id}`)).status, 404);
    assert.equal((await call(api, 'other', 'DELETE', `/api/v1/webhooks/${id}`)).status, 404);
    assert.equal((await call(api, 'coach', 'GET', `/api/v1/webhooks/${id}/deliveries`)).status, 403);
  });
});

test('the delivery log pages newest first, and a replay is a new pending delivery with the same payload', async () => {
  await withApi({ verifier: tokens() }, async (api) => {
    const id = String((await ok(await call(api, 'admin', 'POST', '/api/v1/webhooks', HOOK), 201))['id']);
    const deliveries = api.deps.domain.documents.collection(WEBHOOK_DELIVERIES);
    for (let i = 0; i < 5; i++) {
      const at = Date.UTC(2026, 0, 1, 0, i);
      await deliveries.insert({
        id: `d-${i}`,
        gym: GYM,
        subscription: id,
        event: 'booking.created',
        payload: JSON.stringify({ n: i }),
        status: i === 0 ? 'gave_up' : 'delivered',
        attempts: i === 0 ? 7 : 1,
        nextAttemptAt: at,
        lastStatus: i === 0 ? 503 : 200,
        createdAt: at,
        updatedAt: at,
      });
    }
    const seen: string[] = [];
    let next: string | undefined = `/api/v1/webhooks/${id}/deliveries?limit=2`;
    while (next !== undefined) {
      const page = await ok(await call(api, 'admin', 'GET', next));
      seen.push(...(page['items'] as Json[]).map((item) => String(item['id'])));
      next = page['next'] as string | undefined;
    }
    assert.deepEqual(seen, ['d-4', 'd-3', 'd-2', 'd-1', 'd-0']);

    const replay = await ok(await call(api, 'admin', 'POST', `/api/v1/webhooks/${id}/deliveries/d-0/replay`), 201);
    assert.notEqual(replay['id'], 'd-0');
    assert.equal(replay['status'], 'pending');
    assert.equal(replay['attempts'], 0);
    assert.equal(replay['payload'], JSON.stringify({ n: 0 }));
    assert.equal((await deliveries.get(String(replay['id'])))?.status, 'pending');

    assert.equal((await call(api, 'admin', 'POST', `/api/v1/webhooks/${id}/deliveries/nope/replay`)).status, 404);
    const bad = await call(api, 'admin', 'GET', `/api/v1/webhooks/${id}/deliveries?cursor=not-a-cursor`);
    assert.equal(bad.status, 400);
  });
});
