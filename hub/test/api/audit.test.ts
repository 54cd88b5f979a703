import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Value } from '@sinclair/typebox/value';
import { AuditPageSchema } from '../../src/api/audit-schemas.ts';
import { SqliteIdentityStore } from '../../src/identity/sqlite-identity-store.ts';
import { readProblem, withApi } from './harness.ts';
import { FixedTokens, PLATFORM_ADMIN, principal } from './principals.ts';

const T0 = Date.UTC(2024, 4, 1, 12, 0, 0);
let dir: string;
let identity: SqliteIdentityStore;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pb-audit-api-'));
  identity = new SqliteIdentityStore({ path: join(dir, 'identity.db') });
  await identity.start();
  await identity.appendAudit({ at: T0, type: 'sign_in.failed', detail: { account: 'nobody@example.com' } });
  for (let i = 0; i < 3; i++) await identity.appendAudit({ at: T0 + 1 + i, type: 'sign_in.succeeded', actorUserId: 'alice', gym: 'gym-a', detail: { n: i } });
  await identity.appendAudit({ at: T0 + 4, type: 'agent.enrolled', actorUserId: 'bob', gym: 'gym-a', detail: { agent: 'box-a' } });
  await identity.appendAudit({ at: T0 + 5, type: 'agent.revoked', actorUserId: 'carol', gym: 'gym-b', detail: { agent: 'box-b' } });
});
after(async () => {
  await identity.stop();
  rmSync(dir, { recursive: true, force: true });
});

const tokens = new FixedTokens({
  platform: PLATFORM_ADMIN,
  adminA: principal([{ gym: 'gym-a', role: 'gym_admin' }]),
  coachA: principal([{ gym: 'gym-a', role: 'coach' }]),
  adminNoScope: principal([{ gym: 'gym-a', role: 'gym_admin' }], { scopes: ['agents:read'] }),
});
const as = (token: string) => ({ Authorization: `Bearer ${token}` });

interface Page {
  events: { id: string; at: string; type: string; gym?: string; actorUserId?: string; detail: Record<string, unknown> }[];
  nextCursor?: string;
  next?: string;
}

test("a gym admin reads only their gym's events, newest first, and the page matches its schema", async () => {
  await withApi({ verifier: tokens, identity }, async (api) => {
    const response = await api.get('/api/v1/audit', as('adminA'));
    assert.equal(response.status, 200);
    const page = (await response.json()) as Page;
    assert.ok(Value.Check(AuditPageSchema, page), JSON.stringify([...Value.Errors(AuditPageSchema, page)].slice(0, 3)));
    assert.deepEqual(
      page.events.map((e) => e.type),
      ['agent.enrolled', 'sign_in.succeeded', 'sign_in.succeeded', 'sign_in.succeeded'],
    );
    assert.ok(page.events.every((e) => e.gym === 'gym-a'));
    assert.equal(page.events[0]!.at, new Date(T0 + 4).toISOString());
    assert.equal(response.headers.get('cache-control'), 'no-store');
    const other = await api.get('/api/v1/audit?gym=gym-b', as('adminA'));
    assert.equal(other.status, 403);
  });
});

test('a platform admin without a gym reads every event, including those of no gym; with one, that gym only', async () => {
  await withApi({ verifier: tokens, identity }, async (api) => {
    const all = (await (await api.get('/api/v1/audit', as('platform'))).json()) as Page;
    assert.equal(all.events.length, 6);
    assert.equal(all.events.at(-1)!.type, 'sign_in.failed');
    assert.equal(all.events.at(-1)!.gym, undefined);
    const gymB = (await (await api.get('/api/v1/audit?gym=gym-b', as('platform'))).json()) as Page;
    assert.deepEqual(
      gymB.events.map((e) => e.type),
      ['agent.revoked'],
    );
  });
});

test('pages follow with next and the Link header, and userId narrows to one actor', async () => {
  await withApi({ verifier: tokens, identity }, async (api) => {
    const seen: string[] = [];
    let path: string | undefined = '/api/v1/audit?userId=alice&limit=2';
    let pages = 0;
    while (path) {
      const response = await api.get(path, as('adminA'));
      assert.equal(response.status, 200);
      const page = (await response.json()) as Page;
      seen.push(...page.events.map((e) => `${e.actorUserId}:${String(e.detail['n'])}`));
      if (page.next) assert.equal(response.headers.get('link'), `<${page.next}>; rel="next"`);
      // The next URL keeps the gym the gate settled, though the caller named none.
      if (page.next) assert.match(page.next, /gym=gym-a/);
      path = page.next;
      pages++;
    }
    assert.deepEqual(seen, ['alice:2', 'alice:1', 'alice:0']);
    assert.equal(pages, 2);
  });
});

test('a coach, a token without audit:read, and a malformed cursor are refused', async () => {
  await withApi({ verifier: tokens, identity }, async (api) => {
    assert.equal((await api.get('/api/v1/audit', as('coachA'))).status, 403);
    const noScope = await api.get('/api/v1/audit', as('adminNoScope'));
    assert.equal(noScope.status, 403);
    assert.match(noScope.headers.get('www-authenticate') ?? '', /scope="audit:read"/);
    const badCursor = await api.get('/api/v1/audit?cursor=not-a-cursor', as('adminA'));
    assert.equal(badCursor.status, 400);
    assert.equal((await readProblem(badCursor)).param, 'cursor');
    const badLimit = await api.get('/api/v1/audit?limit=0', as('adminA'));
    assert.equal(badLimit.status, 400);
  });
});

test('without an identity store the audit route answers 503 unavailable', async () => {
  await withApi({ verifier: tokens }, async (api) => {
    const response = await api.get('/api/v1/audit', as('platform'));
    assert.equal(response.status, 503);
    assert.equal((await readProblem(response)).title, 'Service unavailable');
  });
});
