import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NOW, withApi, readProblem, type RunningApi } from './harness.ts';
import { FixedTokens } from './principals.ts';
import { call, json, people } from './social-people.ts';

type Person = { userId: string; displayName: string; since: string };
type Page = { items: Person[]; next?: string };

async function setup(api: RunningApi, tokens: FixedTokens) {
  return people(api, tokens, {
    ann: [['g1', 'athlete']],
    bob: [['g1', 'athlete']],
    cat: [
      ['g1', 'coach'],
      ['g2', 'athlete'],
    ],
    dan: [['g2', 'athlete']],
  });
}

const list = async (api: RunningApi, who: string, which: string) => (await json<Page>(await call(api, who, 'GET', `/api/v1/me/friends${which}`))).items.map((p) => p.userId);

test('a request sent and accepted makes both friends, listed on both sides', async () => {
  const tokens = new FixedTokens({});
  await withApi({ verifier: tokens }, async (api) => {
    const ids = await setup(api, tokens);
    const sent = await json<{ status: string; displayName: string }>(await call(api, 'ann', 'POST', '/api/v1/me/friends/requests', { user: ids.bob }), 201);
    assert.equal(sent.status, 'pending');
    assert.equal(sent.displayName, 'bob name');
    assert.deepEqual(await list(api, 'ann', '/requests/outgoing'), [ids.bob]);
    assert.deepEqual(await list(api, 'bob', '/requests/incoming'), [ids.ann]);
    assert.deepEqual(await list(api, 'ann', '/requests/incoming'), []);
    assert.equal((await call(api, 'ann', 'POST', '/api/v1/me/friends/requests', { user: ids.bob })).status, 409, 'asking twice');
    assert.equal((await call(api, 'ann', 'POST', `/api/v1/me/friends/requests/${ids.bob}/accept`)).status, 404, 'one cannot accept one’s own request');
    const accepted = await json<Person>(await call(api, 'bob', 'POST', `/api/v1/me/friends/requests/${ids.ann}/accept`));
    assert.equal(accepted.userId, ids.ann);
    assert.deepEqual(await list(api, 'ann', ''), [ids.bob]);
    assert.deepEqual(await list(api, 'bob', ''), [ids.ann]);
    assert.deepEqual(await list(api, 'bob', '/requests/incoming'), []);
    assert.equal((await call(api, 'bob', 'POST', '/api/v1/me/friends/requests', { user: ids.ann })).status, 409, 'friends already');
    assert.equal((await call(api, 'bob', 'DELETE', `/api/v1/me/friends/${ids.ann}`)).status, 204);
    assert.deepEqual(await list(api, 'ann', ''), []);
    assert.equal((await call(api, 'bob', 'DELETE', `/api/v1/me/friends/${ids.ann}`)).status, 404);
  });
});

test('requests, friendships and blocks answer since when as an ISO 8601 string of the stored time', async () => {
  const tokens = new FixedTokens({});
  await withApi({ verifier: tokens }, async (api) => {
    const ids = await setup(api, tokens);
    const atNow = new Date(NOW).toISOString();
    const sent = await json<Person>(await call(api, 'ann', 'POST', '/api/v1/me/friends/requests', { user: ids.bob }), 201);
    assert.equal(sent.since, atNow);
    assert.equal(Date.parse(sent.since), NOW);
    const incoming = await json<Page>(await call(api, 'bob', 'GET', '/api/v1/me/friends/requests/incoming'));
    assert.deepEqual(
      incoming.items.map((p) => p.since),
      [atNow],
    );
    assert.equal((await json<Person>(await call(api, 'bob', 'POST', `/api/v1/me/friends/requests/${ids.ann}/accept`))).since, atNow);
    assert.deepEqual(
      (await json<Page>(await call(api, 'ann', 'GET', '/api/v1/me/friends'))).items.map((p) => p.since),
      [atNow],
    );
    assert.equal((await json<Person>(await call(api, 'ann', 'PUT', `/api/v1/me/friends/blocked/${ids.cat}`))).since, atNow);
  });
});

test('asking someone who asked you already makes you friends', async () => {
  const tokens = new FixedTokens({});
  await withApi({ verifier: tokens }, async (api) => {
    const ids = await setup(api, tokens);
    await json(await call(api, 'ann', 'POST', '/api/v1/me/friends/requests', { user: ids.bob }), 201);
    const back = await json<{ status: string }>(await call(api, 'bob', 'POST', '/api/v1/me/friends/requests', { user: ids.ann }), 201);
    assert.equal(back.status, 'friends');
    assert.deepEqual(await list(api, 'ann', ''), [ids.bob]);
  });
});

test('decline and cancel remove the request; each only from its own side', async () => {
  const tokens = new FixedTokens({});
  await withApi({ verifier: tokens }, async (api) => {
    const ids = await setup(api, tokens);
    await json(await call(api, 'ann', 'POST', '/api/v1/me/friends/requests', { user: ids.bob }), 201);
    assert.equal((await call(api, 'ann', 'POST', `/api/v1/me/friends/requests/${ids.bob}/decline`)).status, 404);
    assert.equal((await call(api, 'bob', 'POST', `/api/v1/me/friends/requests/${ids.ann}/decline`)).status, 204);
    assert.deepEqual(await list(api, 'ann', '/requests/outgoing'), []);
    await json(await call(api, 'ann', 'POST', '/api/v1/me/friends/requests', { user: ids.bob }), 201);
    assert.equal((await call(api, 'bob', 'DELETE', `/api/v1/me/friends/requests/${ids.ann}`)).status, 404);
    assert.equal((await call(api, 'ann', 'DELETE', `/api/v1/me/friends/requests/${ids.bob}`)).status, 204);
    assert.deepEqual(await list(api, 'bob', '/requests/incoming'), []);
  });
});

test('someone sharing no gym, an unknown id and oneself are all answered 404, alike', async () => {
  const tokens = new FixedTokens({});
  await withApi({ verifier: tokens }, async (api) => {
    const ids = await setup(api, tokens);
    const noGym = await call(api, 'ann', 'POST', '/api/v1/me/friends/requests', { user: ids.dan });
    const unknown = await call(api, 'ann', 'POST', '/api/v1/me/friends/requests', { user: 'no-such-user' });
    assert.equal(noGym.status, 404);
    assert.equal(unknown.status, 404);
    assert.equal((await readProblem(noGym)).detail, (await readProblem(unknown)).detail);
    assert.equal((await call(api, 'ann', 'POST', '/api/v1/me/friends/requests', { user: ids.ann })).status, 404);
    assert.equal((await call(api, 'ann', 'PUT', `/api/v1/me/friends/blocked/${ids.dan}`)).status, 404);
    // cat shares g1 with ann and g2 with dan: both may ask cat.
    await json(await call(api, 'dan', 'POST', '/api/v1/me/friends/requests', { user: ids.cat }), 201);
    await json(await call(api, 'ann', 'POST', '/api/v1/me/friends/requests', { user: ids.cat }), 201);
    assert.deepEqual((await list(api, 'cat', '/requests/incoming')).sort(), [ids.ann, ids.dan].sort());
  });
});

test('bad input is refused with 400', async () => {
  const tokens = new FixedTokens({});
  await withApi({ verifier: tokens }, async (api) => {
    await setup(api, tokens);
    for (const body of [{}, { user: '' }, { user: 'a/b' }, { user: 'x', extra: 1 }, { $user: 'x' }]) {
      assert.equal((await call(api, 'ann', 'POST', '/api/v1/me/friends/requests', body)).status, 400, JSON.stringify(body));
    }
    assert.equal((await call(api, 'ann', 'GET', '/api/v1/me/friends?limit=0')).status, 400);
    assert.equal((await call(api, 'ann', 'GET', '/api/v1/me/friends?cursor=zzz')).status, 400);
  });
});

test('a block ends the friendship, stops new requests and hides the blocker; unblocking lifts only one’s own block', async () => {
  const tokens = new FixedTokens({});
  await withApi({ verifier: tokens }, async (api) => {
    const ids = await setup(api, tokens);
    await json(await call(api, 'ann', 'POST', '/api/v1/me/friends/requests', { user: ids.bob }), 201);
    await json(await call(api, 'bob', 'POST', `/api/v1/me/friends/requests/${ids.ann}/accept`));
    await json(await call(api, 'ann', 'PUT', `/api/v1/me/friends/blocked/${ids.bob}`));
    assert.deepEqual(await list(api, 'ann', ''), []);
    assert.deepEqual(await list(api, 'bob', ''), []);
    assert.deepEqual(await list(api, 'ann', '/blocked'), [ids.bob]);
    assert.deepEqual(await list(api, 'bob', '/blocked'), []);
    assert.equal((await call(api, 'bob', 'POST', '/api/v1/me/friends/requests', { user: ids.ann })).status, 404, 'the blocked one cannot ask again');
    assert.equal((await call(api, 'ann', 'POST', '/api/v1/me/friends/requests', { user: ids.bob })).status, 409, 'the blocker unblocks first');
    // Blocked both ways: each unblock lifts only its own.
    await json(await call(api, 'bob', 'PUT', `/api/v1/me/friends/blocked/${ids.ann}`));
    assert.deepEqual(await list(api, 'bob', '/blocked'), [ids.ann]);
    assert.equal((await call(api, 'ann', 'DELETE', `/api/v1/me/friends/blocked/${ids.bob}`)).status, 204);
    assert.deepEqual(await list(api, 'ann', '/blocked'), []);
    assert.equal((await call(api, 'ann', 'POST', '/api/v1/me/friends/requests', { user: ids.bob })).status, 404, 'bob’s block stands');
    assert.equal((await call(api, 'ann', 'DELETE', `/api/v1/me/friends/blocked/${ids.bob}`)).status, 404);
    assert.equal((await call(api, 'bob', 'DELETE', `/api/v1/me/friends/blocked/${ids.ann}`)).status, 204);
    await json(await call(api, 'ann', 'POST', '/api/v1/me/friends/requests', { user: ids.bob }), 201);
  });
});

test('friend lists page by user id', async () => {
  const tokens = new FixedTokens({});
  await withApi({ verifier: tokens }, async (api) => {
    const names = ['p1', 'p2', 'p3', 'p4', 'p5'] as const;
    const ids = await people(api, tokens, {
      hub: [['g1', 'athlete']],
      p1: [['g1', 'athlete']],
      p2: [['g1', 'athlete']],
      p3: [['g1', 'athlete']],
      p4: [['g1', 'athlete']],
      p5: [['g1', 'athlete']],
    });
    for (const name of names) await json(await call(api, name, 'POST', '/api/v1/me/friends/requests', { user: ids.hub }), 201);
    const seen: string[] = [];
    let path: string | undefined = '/api/v1/me/friends/requests/incoming?limit=2';
    while (path !== undefined) {
      const page: Page = await json<Page>(await call(api, 'hub', 'GET', path));
      assert.ok(page.items.length <= 2);
      seen.push(...page.items.map((p) => p.userId));
      path = page.next;
    }
    assert.deepEqual(seen, names.map((name) => ids[name]).sort());
  });
});

test('friends routes need a person’s own token with me scopes', async () => {
  const tokens = new FixedTokens({});
  await withApi({ verifier: tokens }, async (api) => {
    const ids = await setup(api, tokens);
    const { principal } = await import('./principals.ts');
    tokens.set('readonly', principal([{ gym: 'g1', role: 'athlete' }], { subject: ids.ann, scopes: ['me:read'] }));
    tokens.set('service', { ...principal([{ gym: 'g1', role: 'athlete' }]), kind: 'service' });
    assert.equal((await call(api, 'readonly', 'POST', '/api/v1/me/friends/requests', { user: ids.bob })).status, 403);
    assert.equal((await call(api, 'readonly', 'GET', '/api/v1/me/friends')).status, 200);
    assert.equal((await call(api, 'service', 'GET', '/api/v1/me/friends')).status, 403);
  });
});
