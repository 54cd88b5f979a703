/** Gyms: settings saved by their admins, read by their members; members' roles given and taken by admins. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readProblem, withApi, type RunningApi } from './harness.ts';
import { FixedTokens, PLATFORM_ADMIN, principal } from './principals.ts';

function call(api: RunningApi, token: string, method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${api.url}${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

async function member(api: RunningApi, tokens: FixedTokens, name: string, gym: string, role: 'athlete' | 'coach' | 'gym_admin'): Promise<string> {
  const user = await api.deps.domain.identity.createUser({ email: `${name}@example.org`, displayName: name });
  await api.deps.domain.identity.addMembership({ userId: user.id, gym, role });
  tokens.set(name, principal([{ gym, role }], { subject: user.id }));
  return user.id;
}

test('a platform admin creates a gym, its admin renames it, its athletes read it, and a bad time zone is refused', async () => {
  const tokens = new FixedTokens({ root: PLATFORM_ADMIN });
  await withApi({ verifier: tokens }, async (api) => {
    await member(api, tokens, 'alice', 'gym-1', 'gym_admin');
    await member(api, tokens, 'ann', 'gym-1', 'athlete');
    const unsaved = (await (await call(api, 'ann', 'GET', '/api/v1/gyms/gym-1')).json()) as Record<string, unknown>;
    assert.deepEqual(unsaved, { id: 'gym-1', name: 'gym-1', timeZone: 'UTC', configured: false });
    assert.equal((await call(api, 'root', 'PUT', '/api/v1/gyms/gym-1', { name: 'Riverside', timeZone: 'Europe/Berlin' })).status, 200);
    assert.equal((await call(api, 'alice', 'PUT', '/api/v1/gyms/gym-1', { name: 'Riverside Strength', timeZone: 'Europe/Berlin' })).status, 200);
    const bad = await call(api, 'alice', 'PUT', '/api/v1/gyms/gym-1', { name: 'Riverside', timeZone: 'Mars/Olympus' });
    assert.equal(bad.status, 400);
    assert.equal((await readProblem(bad)).param, 'timeZone');
    assert.equal((await call(api, 'ann', 'PUT', '/api/v1/gyms/gym-1', { name: 'Mine now', timeZone: 'UTC' })).status, 403);
    const read = (await (await call(api, 'ann', 'GET', '/api/v1/gyms/gym-1')).json()) as Record<string, unknown>;
    assert.deepEqual(read, { id: 'gym-1', name: 'Riverside Strength', timeZone: 'Europe/Berlin', configured: true });
    const mine = (await (await call(api, 'ann', 'GET', '/api/v1/gyms')).json()) as { items: Record<string, unknown>[] };
    assert.deepEqual(mine.items, [{ id: 'gym-1', name: 'Riverside Strength', timeZone: 'Europe/Berlin', configured: true, roles: ['athlete'] }]);
    const events = await api.deps.domain.identity.listAudit({ gym: 'gym-1', limit: 10 });
    assert.deepEqual(
      events.events.map((e) => e.type),
      ['gym.changed', 'gym.created'],
    );
  });
});

test("members are listed by name a page at a time; an admin gives and takes roles, but not the gym's last admin role", async () => {
  const tokens = new FixedTokens({});
  await withApi({ verifier: tokens }, async (api) => {
    const alice = await member(api, tokens, 'alice', 'gym-1', 'gym_admin');
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push(await member(api, tokens, `athlete${i}`, 'gym-1', 'athlete'));
    await member(api, tokens, 'other', 'gym-2', 'athlete');
    const seen: string[] = [];
    let next: string | undefined = '/api/v1/gyms/gym-1/members?limit=3';
    while (next !== undefined) {
      const page = (await (await call(api, 'alice', 'GET', next)).json()) as { items: { userId: string }[]; next?: string };
      seen.push(...page.items.map((m) => m.userId));
      next = page.next;
    }
    assert.deepEqual([...seen].sort(), [alice, ...ids].sort());
    assert.equal((await call(api, 'athlete0', 'GET', '/api/v1/gyms/gym-1/members')).status, 403);
    const granted = await call(api, 'alice', 'PUT', `/api/v1/gyms/gym-1/members/${ids[0]}/roles/coach`);
    assert.deepEqual(((await granted.json()) as { roles: string[] }).roles, ['athlete', 'coach']);
    assert.equal((await call(api, 'alice', 'PUT', `/api/v1/gyms/gym-1/members/nobody/roles/coach`)).status, 404);
    assert.equal((await call(api, 'alice', 'PUT', `/api/v1/gyms/gym-1/members/${ids[0]}/roles/platform_admin`)).status, 400);
    const last = await call(api, 'alice', 'DELETE', `/api/v1/gyms/gym-1/members/${alice}/roles/gym_admin`);
    assert.equal(last.status, 409);
    await readProblem(last);
    await call(api, 'alice', 'PUT', `/api/v1/gyms/gym-1/members/${ids[0]}/roles/gym_admin`);
    const revoked = await call(api, 'alice', 'DELETE', `/api/v1/gyms/gym-1/members/${alice}/roles/gym_admin`);
    assert.deepEqual(((await revoked.json()) as { roles: string[] }).roles, []);
    const cursor = await call(api, 'alice', 'GET', '/api/v1/gyms/gym-1/members?cursor=bm9wZQ');
    assert.equal(cursor.status, 400);
    assert.equal((await readProblem(cursor)).param, 'cursor');
  });
});
