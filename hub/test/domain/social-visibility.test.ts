import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FRIENDSHIPS, pairOf } from '../../src/domain/social/collections.ts';
import { DEFAULT_RESULTS_VISIBILITY, mayViewResults, resultsSettingFrom, resultsVisibility, type ResultsVisibility, type ViewFacts } from '../../src/domain/social/visibility.ts';
import { testDomain } from './test-domain.ts';

const base: ViewFacts = { viewer: 'v', athlete: 'a', setting: 'friends', sharedGyms: false, friends: false, viewerIsStaffOfAthletesGym: false, blocked: false };

// [setting, facts, may view]
const TABLE: [ResultsVisibility, Partial<ViewFacts>, boolean][] = [
  ['only_me', {}, false],
  ['only_me', { friends: true, sharedGyms: true }, false],
  ['only_me', { viewerIsStaffOfAthletesGym: true }, true],
  ['only_me', { viewer: 'a' }, true],
  ['friends', {}, false],
  ['friends', { sharedGyms: true }, false],
  ['friends', { friends: true }, true],
  ['friends', { viewerIsStaffOfAthletesGym: true }, true],
  ['gym', {}, false],
  ['gym', { sharedGyms: true }, true],
  ['gym', { friends: true }, true],
  ['everyone', {}, true],
  ['everyone', { blocked: true }, false],
  ['friends', { friends: true, blocked: true }, false],
  ['gym', { sharedGyms: true, blocked: true }, false],
  ['only_me', { viewerIsStaffOfAthletesGym: true, blocked: true }, false],
  ['only_me', { viewer: 'a', blocked: true }, true],
];

test('who may view results, by setting and facts: self always, a block always wins, then staff, then the setting', () => {
  for (const [setting, facts, expected] of TABLE) {
    assert.equal(mayViewResults({ ...base, ...facts, setting }), expected, `${setting} ${JSON.stringify(facts)}`);
  }
});

test('the default setting is friends', () => {
  assert.equal(DEFAULT_RESULTS_VISIBILITY, 'friends');
});

test('resultsVisibility gathers friendship, blocks, shared gyms and staff roles from the stores', async (t) => {
  const { domain, cleanup } = await testDomain();
  t.after(cleanup);
  const person = async (name: string, ...roles: [string, 'athlete' | 'coach' | 'gym_admin'][]) => {
    const user = await domain.identity.createUser({ email: `${name}@example.org`, displayName: name });
    for (const [gym, role] of roles) await domain.identity.addMembership({ userId: user.id, gym, role });
    return user.id;
  };
  const athlete = await person('athlete', ['g1', 'athlete']);
  const gymmate = await person('gymmate', ['g1', 'athlete']);
  const friend = await person('friend', ['g2', 'athlete']);
  const coach = await person('coach', ['g1', 'coach']);
  const otherCoach = await person('other-coach', ['g2', 'coach']);
  const stranger = await person('stranger', ['g3', 'athlete']);
  const friendships = domain.documents.collection(FRIENDSHIPS);
  await friendships.insert({ ...pairOf(athlete, friend), status: 'friends', by: athlete, mutual: false, since: 1 });
  const settings = new Map<string, ResultsVisibility>();
  const asked: string[] = [];
  const settingOf = async (user: string) => {
    asked.push(user);
    return settings.get(user) ?? DEFAULT_RESULTS_VISIBILITY;
  };
  const sees = (viewer: string) => resultsVisibility(domain, viewer, athlete, settingOf);

  assert.deepEqual(await Promise.all([athlete, gymmate, friend, coach, otherCoach, stranger].map(sees)), [true, false, true, true, false, false]);
  assert.ok(
    asked.every((user) => user === athlete),
    'the setting asked for is the athlete’s',
  );
  settings.set(athlete, 'gym');
  assert.deepEqual(await Promise.all([gymmate, friend, stranger].map(sees)), [true, true, false]);
  settings.set(athlete, 'everyone');
  assert.equal(await sees(stranger), true);
  settings.set(athlete, 'only_me');
  assert.deepEqual(await Promise.all([friend, coach].map(sees)), [false, true]);

  // A block either way wins over everything, the coach's role too.
  settings.set(athlete, 'everyone');
  await friendships.insert({ ...pairOf(athlete, coach), status: 'blocked', by: coach, mutual: false, since: 2 });
  await friendships.insert({ ...pairOf(athlete, stranger), status: 'blocked', by: athlete, mutual: false, since: 2 });
  assert.deepEqual(await Promise.all([coach, stranger, gymmate].map(sees)), [false, false, true]);
});

test("the setting comes from the athlete's profile in the identity store, friends until they choose", async () => {
  const fresh = await testDomain();
  try {
    const identity = fresh.domain.identity;
    const ann = await identity.createUser({ email: 'ann@example.org', displayName: 'Ann' });
    const settingOf = resultsSettingFrom(identity);
    assert.equal(await settingOf(ann.id), 'friends');
    await identity.saveProfile(ann.id, { resultsVisibility: 'only_me', boardVisibility: 'name' });
    assert.equal(await settingOf(ann.id), 'only_me');
  } finally {
    await fresh.cleanup();
  }
});
