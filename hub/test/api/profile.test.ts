/** The caller's own athlete profile: read, replaced whole, checked field by field, and the max heart rate in use. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ageOn, maxHeartRateOf, tanakaMaxHeartRate } from '../../src/domain/profile/heart-rate.ts';
import { NOW, readProblem, withApi, type RunningApi } from './harness.ts';
import { FixedTokens, principal } from './principals.ts';

async function athlete(api: RunningApi, tokens: FixedTokens, token = 'ada'): Promise<string> {
  const user = await api.deps.domain.identity.createUser({ email: `${token}@example.org`, displayName: 'Ada' });
  await api.deps.domain.identity.addMembership({ userId: user.id, gym: 'gym-1', role: 'athlete' });
  tokens.set(token, principal([{ gym: 'gym-1', role: 'athlete' }], { subject: user.id }));
  return user.id;
}

function call(api: RunningApi, method: string, body: unknown, token = 'ada'): Promise<Response> {
  return fetch(`${api.url}/api/v1/me/profile`, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

test('age and max heart rate: a measured value wins, else 208 - 0.7 x age on the day asked', () => {
  assert.equal(ageOn('1990-06-15', Date.UTC(2026, 5, 14)), 35);
  assert.equal(ageOn('1990-06-15', Date.UTC(2026, 5, 15)), 36);
  assert.equal(ageOn('2000-02-29', Date.UTC(2026, 1, 28)), 25);
  assert.equal(tanakaMaxHeartRate(40), 180);
  assert.deepEqual(maxHeartRateOf({ maxHeartRate: 191, birthDate: '1990-01-01' }, NOW), { bpm: 191, source: 'test' });
  assert.deepEqual(maxHeartRateOf({ birthDate: '1984-05-01' }, NOW), { bpm: 180, source: 'formula', formula: 'tanaka', age: 40 });
  assert.equal(maxHeartRateOf({}, NOW), undefined);
});

test('a new athlete reads the default profile, saves one, and reads it back with the max heart rate from the formula', async () => {
  const tokens = new FixedTokens({});
  await withApi({ verifier: tokens }, async (api) => {
    const id = await athlete(api, tokens);
    const first = (await (await call(api, 'GET', undefined)).json()) as Record<string, unknown>;
    assert.deepEqual(first, {
      userId: id,
      email: 'ada@example.org',
      displayName: 'Ada',
      resultsVisibility: 'friends',
      boardVisibility: 'name',
      leaderboards: false,
      maxHeartRateInUse: null,
      updatedAt: null,
    });
    const saved = await call(api, 'PUT', {
      displayName: 'Ada L.',
      birthDate: '1984-05-01',
      sex: 'female',
      weightKg: 60,
      resultsVisibility: 'gym',
      boardVisibility: 'alias',
      boardAlias: 'Comet',
      leaderboards: true,
    });
    assert.equal(saved.status, 200);
    const body = (await saved.json()) as Record<string, unknown>;
    assert.equal(body['displayName'], 'Ada L.');
    assert.deepEqual(body['maxHeartRateInUse'], { bpm: 180, source: 'formula', formula: 'tanaka', age: 40 });
    assert.equal((await api.deps.domain.identity.getUser(id))?.displayName, 'Ada L.');
    const read = (await (await call(api, 'GET', undefined)).json()) as Record<string, unknown>;
    assert.equal(read['boardAlias'], 'Comet');
    assert.equal(read['weightKg'], 60);
    assert.equal(read['leaderboards'], true);
    // Replaced whole: the alias and the weight go when left out.
    await call(api, 'PUT', { displayName: 'Ada L.', maxHeartRate: 187, resultsVisibility: 'only_me', boardVisibility: 'hidden' });
    const replaced = (await (await call(api, 'GET', undefined)).json()) as Record<string, unknown>;
    assert.equal(replaced['boardAlias'], undefined);
    assert.equal(replaced['weightKg'], undefined);
    assert.equal(replaced['leaderboards'], false, 'the leaderboards opt-in left out is off again');
    assert.deepEqual(replaced['maxHeartRateInUse'], { bpm: 187, source: 'test' });
  });
});

test('bad profiles are refused with 400 naming the field, and nothing is saved', async () => {
  const tokens = new FixedTokens({});
  await withApi({ verifier: tokens }, async (api) => {
    const id = await athlete(api, tokens);
    const base = { displayName: 'Ada', resultsVisibility: 'gym', boardVisibility: 'name' };
    for (const [bad, param] of [
      [{ birthDate: '2020-13-01' }, 'birthDate'],
      [{ birthDate: '3000-01-01' }, 'birthDate'],
      [{ birthDate: '01/02/1990' }, 'birthDate'],
      [{ weightKg: 0 }, 'weightKg'],
      [{ maxHeartRate: 300 }, 'maxHeartRate'],
      [{ resultsVisibility: 'public' }, 'resultsVisibility'],
      [{ boardVisibility: 'alias' }, 'boardAlias'],
      [{ leaderboards: 'yes' }, 'leaderboards'],
      [{ displayName: '' }, 'displayName'],
      [{ nickname: 'x' }, 'nickname'],
      [{ $set: { admin: true } }, '/$set'],
    ] as const) {
      const response = await call(api, 'PUT', { ...base, ...bad });
      assert.equal(response.status, 400, JSON.stringify(bad));
      assert.equal((await readProblem(response)).param, param, JSON.stringify(bad));
    }
    assert.equal(await api.deps.domain.identity.getProfile(id), undefined);
  });
});

test('a service token has no profile: self routes need a person', async () => {
  const tokens = new FixedTokens({ svc: { ...principal([{ gym: 'gym-1', role: 'coach' }]), kind: 'service' } });
  await withApi({ verifier: tokens }, async (api) => {
    const response = await call(api, 'GET', undefined, 'svc');
    assert.equal(response.status, 403);
    await readProblem(response);
  });
});
