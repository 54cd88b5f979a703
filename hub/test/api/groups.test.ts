import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NOW, withApi, type RunningApi } from './harness.ts';
import { FixedTokens, PLATFORM_ADMIN, principal } from './principals.ts';
import { call, json, people } from './social-people.ts';

type Group = { id: string; gym: string; name: string; kind: string; visibility: string; memberCount: number; myRole?: string };
type Member = { userId: string; role: string; displayName: string };

async function setup(api: RunningApi, tokens: FixedTokens) {
  return people(api, tokens, {
    ann: [['g1', 'athlete']],
    bob: [['g1', 'athlete']],
    cat: [['g1', 'athlete']],
    coach: [['g1', 'coach']],
    admin: [['g1', 'gym_admin']],
    dan: [['g2', 'athlete']],
  });
}

const club = { name: 'Morning Riders', kind: 'club' };
const create = async (api: RunningApi, who: string, body: Record<string, unknown> = club) => json<Group>(await call(api, who, 'POST', '/api/v1/groups', body), 201);
const membersOf = async (api: RunningApi, who: string, id: string) =>
  (await json<{ items: Member[] }>(await call(api, who, 'GET', `/api/v1/groups/${id}/members`))).items.map((m) => `${m.displayName}:${m.role}`).sort();

test('an athlete creates a club and owns it; a team needs the gym’s staff', async () => {
  const tokens = new FixedTokens({});
  await withApi({ verifier: tokens }, async (api) => {
    await setup(api, tokens);
    const group = await create(api, 'ann');
    assert.deepEqual([group.gym, group.kind, group.visibility, group.memberCount, group.myRole], ['g1', 'club', 'open', 1, 'owner']);
    assert.equal((await call(api, 'ann', 'POST', '/api/v1/groups', { name: 'Squad', kind: 'team' })).status, 403);
    const team = await create(api, 'coach', { name: 'Squad', kind: 'team', visibility: 'invite', description: 'Race team' });
    assert.equal(team.kind, 'team');
    assert.equal((await call(api, 'bob', 'POST', '/api/v1/groups', club)).status, 409, 'names are unique in a gym');
    assert.equal((await call(api, 'dan', 'POST', '/api/v1/groups', { ...club, gym: 'g1' })).status, 403);
    const got = await json<Group>(await call(api, 'bob', 'GET', `/api/v1/groups/${group.id}`));
    assert.equal(got.myRole, undefined);
    assert.equal((await call(api, 'dan', 'GET', `/api/v1/groups/${group.id}`)).status, 404);
    assert.equal((await call(api, 'ann', 'PATCH', `/api/v1/groups/${group.id}`, { kind: 'team' })).status, 403, 'a club becomes a team by staff');
  });
});

test('groups and their members answer their times as ISO 8601 strings of the stored time', async () => {
  const tokens = new FixedTokens({});
  await withApi({ verifier: tokens }, async (api) => {
    await setup(api, tokens);
    const atNow = new Date(NOW).toISOString();
    const group = (await create(api, 'ann')) as Group & { createdAt: unknown; updatedAt: unknown };
    assert.deepEqual([group.createdAt, group.updatedAt], [atNow, atNow]);
    assert.equal(Date.parse(String(group.createdAt)), NOW);
    const joined = await json<{ joinedAt: unknown }>(await call(api, 'bob', 'POST', `/api/v1/groups/${group.id}/join`));
    assert.equal(joined.joinedAt, atNow);
    const members = await json<{ items: { joinedAt: unknown }[] }>(await call(api, 'ann', 'GET', `/api/v1/groups/${group.id}/members`));
    assert.deepEqual(
      members.items.map((m) => m.joinedAt),
      [atNow, atNow],
    );
    const mine = await json<{ items: { group: { createdAt: unknown; updatedAt: unknown } }[] }>(await call(api, 'bob', 'GET', '/api/v1/me/groups'));
    assert.deepEqual(
      mine.items.map((m) => [m.group.createdAt, m.group.updatedAt]),
      [[atNow, atNow]],
    );
  });
});

test('bad group input is refused with 400', async () => {
  const tokens = new FixedTokens({});
  await withApi({ verifier: tokens }, async (api) => {
    await setup(api, tokens);
    for (const body of [
      {},
      { name: '', kind: 'club' },
      { name: 'x', kind: 'guild' },
      { name: 'x', kind: 'club', visibility: 'secret' },
      { name: 'x', kind: 'club', owner: 'me' },
    ]) {
      assert.equal((await call(api, 'ann', 'POST', '/api/v1/groups', body)).status, 400, JSON.stringify(body));
    }
    const group = await create(api, 'ann');
    assert.equal((await call(api, 'ann', 'PATCH', `/api/v1/groups/${group.id}`, {})).status, 400);
    assert.equal((await call(api, 'ann', 'PUT', `/api/v1/groups/${group.id}/members/x`, { role: 'boss' })).status, 400);
    assert.equal((await call(api, 'ann', 'GET', '/api/v1/groups?kind=guild')).status, 400);
  });
});

test('anyone of the gym joins an open group and leaves it; an invite-only group takes members from its admins', async () => {
  const tokens = new FixedTokens({});
  await withApi({ verifier: tokens }, async (api) => {
    const ids = await setup(api, tokens);
    const open = await create(api, 'ann');
    assert.equal((await json<Member>(await call(api, 'bob', 'POST', `/api/v1/groups/${open.id}/join`))).role, 'member');
    assert.equal((await json<Member>(await call(api, 'bob', 'POST', `/api/v1/groups/${open.id}/join`))).role, 'member', 'joining again changes nothing');
    assert.equal((await json<Group>(await call(api, 'bob', 'GET', `/api/v1/groups/${open.id}`))).memberCount, 2);
    assert.equal((await call(api, 'bob', 'POST', `/api/v1/groups/${open.id}/leave`)).status, 204);
    assert.equal((await call(api, 'bob', 'POST', `/api/v1/groups/${open.id}/leave`)).status, 404);
    assert.equal((await json<Group>(await call(api, 'bob', 'GET', `/api/v1/groups/${open.id}`))).memberCount, 1);

    const closed = await create(api, 'ann', { name: 'Inner circle', kind: 'club', visibility: 'invite' });
    assert.equal((await call(api, 'bob', 'POST', `/api/v1/groups/${closed.id}/join`)).status, 403);
    assert.equal((await call(api, 'cat', 'PUT', `/api/v1/groups/${closed.id}/members/${ids.bob}`, { role: 'member' })).status, 403, 'a non-member adds nobody');
    await json(await call(api, 'ann', 'PUT', `/api/v1/groups/${closed.id}/members/${ids.bob}`, { role: 'admin' }));
    await json(await call(api, 'bob', 'PUT', `/api/v1/groups/${closed.id}/members/${ids.cat}`, { role: 'member' }));
    assert.equal((await call(api, 'bob', 'PUT', `/api/v1/groups/${closed.id}/members/${ids.cat}`, { role: 'owner' })).status, 403, 'an admin makes no owner');
    assert.equal((await call(api, 'bob', 'PUT', `/api/v1/groups/${closed.id}/members/${ids.dan}`, { role: 'member' })).status, 404, 'someone of another gym is unknown');
    assert.deepEqual(await membersOf(api, 'coach', closed.id), ['ann name:owner', 'bob name:admin', 'cat name:member']);
    // The gym's staff manage any group's members.
    assert.equal((await call(api, 'coach', 'DELETE', `/api/v1/groups/${closed.id}/members/${ids.cat}`)).status, 204);
    const mine = await json<{ items: { group: Group; role: string }[] }>(await call(api, 'bob', 'GET', '/api/v1/me/groups'));
    assert.deepEqual(
      mine.items.map((item) => [item.group.name, item.role]),
      [['Inner circle', 'admin']],
    );
  });
});

test('a group always keeps an owner', async () => {
  const tokens = new FixedTokens({});
  await withApi({ verifier: tokens }, async (api) => {
    const ids = await setup(api, tokens);
    const group = await create(api, 'ann');
    assert.equal((await call(api, 'ann', 'POST', `/api/v1/groups/${group.id}/leave`)).status, 409);
    assert.equal((await call(api, 'ann', 'PUT', `/api/v1/groups/${group.id}/members/${ids.ann}`, { role: 'member' })).status, 409);
    assert.equal((await call(api, 'ann', 'DELETE', `/api/v1/groups/${group.id}/members/${ids.ann}`)).status, 409);
    await json(await call(api, 'ann', 'PUT', `/api/v1/groups/${group.id}/members/${ids.bob}`, { role: 'owner' }));
    assert.equal((await call(api, 'ann', 'POST', `/api/v1/groups/${group.id}/leave`)).status, 204);
    assert.deepEqual(await membersOf(api, 'bob', group.id), ['bob name:owner']);
    // Two owners stepping down at once: one of them stays owner.
    await json(await call(api, 'bob', 'PUT', `/api/v1/groups/${group.id}/members/${ids.cat}`, { role: 'owner' }));
    const both = await Promise.all([
      call(api, 'bob', 'PUT', `/api/v1/groups/${group.id}/members/${ids.bob}`, { role: 'member' }),
      call(api, 'cat', 'PUT', `/api/v1/groups/${group.id}/members/${ids.cat}`, { role: 'member' }),
    ]);
    assert.deepEqual(both.map((r) => r.status).sort(), [200, 409]);
    assert.equal((await membersOf(api, 'bob', group.id)).filter((m) => m.endsWith(':owner')).length, 1);
  });
});

test('patch and delete: the group’s owners and admins or a gym admin; members and coaches of the gym not', async () => {
  const tokens = new FixedTokens({});
  await withApi({ verifier: tokens }, async (api) => {
    const ids = await setup(api, tokens);
    const group = await create(api, 'ann');
    await json(await call(api, 'bob', 'POST', `/api/v1/groups/${group.id}/join`));
    assert.equal((await call(api, 'bob', 'PATCH', `/api/v1/groups/${group.id}`, { name: 'Mine' })).status, 403);
    assert.equal((await call(api, 'coach', 'DELETE', `/api/v1/groups/${group.id}`)).status, 403);
    const patched = await json<Group>(await call(api, 'admin', 'PATCH', `/api/v1/groups/${group.id}`, { description: 'Saturdays', visibility: 'invite' }));
    assert.equal(patched.visibility, 'invite');
    await json(await call(api, 'ann', 'PUT', `/api/v1/groups/${group.id}/members/${ids.bob}`, { role: 'admin' }));
    assert.equal((await json<Group>(await call(api, 'bob', 'PATCH', `/api/v1/groups/${group.id}`, { name: 'Evening Riders' }))).name, 'Evening Riders');
    assert.equal((await call(api, 'bob', 'DELETE', `/api/v1/groups/${group.id}`)).status, 204);
    assert.equal((await call(api, 'ann', 'GET', `/api/v1/groups/${group.id}`)).status, 404);
    assert.deepEqual((await json<{ items: unknown[] }>(await call(api, 'ann', 'GET', '/api/v1/me/groups'))).items, []);
  });
});

test('the list of a gym’s groups pages by name and filters by kind; other gyms are refused', async () => {
  const tokens = new FixedTokens({});
  await withApi({ verifier: tokens }, async (api) => {
    await setup(api, tokens);
    for (const name of ['C', 'A', 'B']) await create(api, 'ann', { name, kind: 'club' });
    await create(api, 'coach', { name: 'T', kind: 'team' });
    const first = await json<{ items: Group[]; next: string }>(await call(api, 'bob', 'GET', '/api/v1/groups?kind=club&limit=2'));
    assert.deepEqual(
      first.items.map((g) => g.name),
      ['A', 'B'],
    );
    const second = await json<{ items: Group[]; next?: string }>(await call(api, 'bob', 'GET', first.next));
    assert.deepEqual(
      second.items.map((g) => g.name),
      ['C'],
    );
    assert.equal(second.next, undefined);
    assert.equal((await call(api, 'dan', 'GET', '/api/v1/groups?gym=g1')).status, 403);
    assert.deepEqual((await json<{ items: unknown[] }>(await call(api, 'dan', 'GET', '/api/v1/groups'))).items, []);
  });
});

test('members who blocked the caller are left out of a group’s member list', async () => {
  const tokens = new FixedTokens({});
  await withApi({ verifier: tokens }, async (api) => {
    const ids = await setup(api, tokens);
    const group = await create(api, 'ann');
    await json(await call(api, 'bob', 'POST', `/api/v1/groups/${group.id}/join`));
    await json(await call(api, 'bob', 'PUT', `/api/v1/me/friends/blocked/${ids.cat}`));
    assert.deepEqual(await membersOf(api, 'cat', group.id), ['ann name:owner']);
    assert.deepEqual(await membersOf(api, 'ann', group.id), ['ann name:owner', 'bob name:member']);
  });
});

test('group changes need me:write; a platform admin without a role in the gym owns no group', async () => {
  const tokens = new FixedTokens({});
  await withApi({ verifier: tokens }, async (api) => {
    const ids = await setup(api, tokens);
    tokens.set('readonly', principal([{ gym: 'g1', role: 'athlete' }], { subject: ids.ann, scopes: ['gym:read', 'me:read'] }));
    assert.equal((await call(api, 'readonly', 'POST', '/api/v1/groups', club)).status, 403);
    assert.equal((await call(api, 'readonly', 'GET', '/api/v1/groups')).status, 200);
    tokens.set('platform', PLATFORM_ADMIN);
    assert.equal((await call(api, 'platform', 'POST', '/api/v1/groups', { ...club, gym: 'g1' })).status, 403);
  });
});
