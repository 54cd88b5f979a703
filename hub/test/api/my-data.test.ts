import assert from 'node:assert/strict';
import { test } from 'node:test';
import { strFromU8, unzipSync } from 'fflate';
import type { SessionView } from '../../src/api/sessions-schemas.ts';
import { MAX_FIND, type CollectionSpec } from '../../src/documents/document-store.ts';
import { BOOKINGS } from '../../src/domain/classes/collections.ts';
import type { Domain } from '../../src/domain/domain.ts';
import { MY_DATA_FILES, myDataArchive } from '../../src/domain/my-data.ts';
import { BINDINGS } from '../../src/domain/pairing/collections.ts';
import { SESSIONS, SESSION_SAMPLES } from '../../src/domain/sessions/collections.ts';
import { completeSession, saveImportedStreams, sessionStreams, startPersonalSession } from '../../src/domain/sessions/sessions.ts';
import { FRIENDSHIPS, GROUPS, GROUP_MEMBERS } from '../../src/domain/social/collections.ts';
import { importWorkout } from '../../src/files/index.ts';
import { workoutToStreams } from '../../src/files/session-workout.ts';
import { testDomain } from '../domain/test-domain.ts';
import { NOW, readProblem, withApi } from './harness.ts';
import { FixedTokens, principal } from './principals.ts';

const GYM = 'riverside';
/** More than one find returns, so every list is read page by page. */
const BOOKING_COUNT = MAX_FIND + 5;

async function seedUser(domain: Domain, email: string, name: string): Promise<string> {
  const user = await domain.identity.createUser({ email, displayName: name });
  await domain.identity.addMembership({ userId: user.id, gym: GYM, role: 'athlete' });
  await domain.identity.saveProfile(user.id, {
    weightKg: name === 'Ann' ? 61 : 83,
    maxHeartRate: 190,
    birthDate: '1990-04-02',
    sex: 'female',
    resultsVisibility: 'friends',
    boardVisibility: 'name',
  });
  return user.id;
}

async function seedData(domain: Domain, user: string, tag: string, bookings: number): Promise<void> {
  const { documents } = domain;
  for (let i = 0; i < bookings; i++) {
    const start = NOW + i * 86_400_000;
    await documents.collection(BOOKINGS).insert({
      id: `booking-${tag}-${i}`,
      gym: GYM,
      class: `spin-${tag}`,
      occurrence: `spin-${tag}@${start}`,
      start,
      user,
      status: 'booked',
      active: true,
      position: 0,
      bookedBy: user,
      createdAt: NOW,
    });
  }
  await documents
    .collection(BINDINGS)
    .insert({ id: `binding-${tag}`, gym: GYM, sensor: `strap-${tag}`, athlete: user, active: true, from: NOW - 60_000, kind: 'own', createdBy: user });
  await documents.collection(GROUPS).insert({
    id: `group-${tag}`,
    gym: GYM,
    name: `Riders ${tag}`,
    kind: 'club',
    description: '',
    visibility: 'open',
    memberCount: 1,
    ownerCount: 1,
    createdBy: user,
    createdAt: NOW,
    updatedAt: NOW,
  });
  await documents.collection(GROUP_MEMBERS).insert({ id: `member-${tag}`, group: `group-${tag}`, gym: GYM, user, role: 'owner', joinedAt: NOW });
  await domain.series.write([
    {
      gym: GYM,
      agent: 'box',
      series: [{ sensor: `strap-${tag}`, metric: 'heart_rate', ts: [0, 1, 2, 3].map((s) => NOW + s * 1000), values: [120, 121, 122, 123] } as never],
    },
  ]);
  const live = await startPersonalSession(domain, { athlete: user, gym: GYM, name: `Spin ${tag}`, sport: 'cycling' });
  await completeSession(domain, live.id, NOW + 4000);
  const imported = {
    id: `imported-${tag}`,
    athlete: user,
    kind: 'imported' as const,
    name: `Run ${tag}`,
    sport: 'running',
    state: 'completed' as const,
    startedAt: NOW - 86_400_000,
    endedAt: NOW - 86_400_000 + 3000,
    revision: 1,
    stale: false,
    source: { format: 'gpx', fileName: `run-${tag}.gpx` },
    sourceSha256: `sha-${tag}`,
    createdAt: NOW,
  };
  await documents.transaction(async (tx) => {
    await tx.collection(SESSIONS).insert(imported);
    await saveImportedStreams(tx, imported, {
      time: [0, 1, 2],
      heartrate: [140, 141, 142],
      latlng: [
        [46.5, 6.6],
        [46.50005, 6.60005],
        [46.5001, 6.6001],
      ],
    });
  });
}

test("the my-data archive unzips to every file of the caller's data, and nothing of anyone else's", async () => {
  const verifier = new FixedTokens({});
  await withApi({ verifier }, async (api) => {
    const domain = api.deps.domain;
    const ann = await seedUser(domain, 'ann@example.org', 'Ann');
    const bob = await seedUser(domain, 'bob@example.org', 'Bob');
    verifier.set('ann', principal([{ gym: GYM, role: 'athlete' }], { subject: ann }));
    await seedData(domain, ann, 'ann', BOOKING_COUNT);
    await seedData(domain, bob, 'bob', 2);
    const [low, high] = [ann, bob].sort();
    await domain.documents.collection(FRIENDSHIPS).insert({ id: `${low}:${high}`, low: low!, high: high!, status: 'friends', by: ann, mutual: true, since: NOW });

    const response = await fetch(`${api.url}/api/v1/me/export`, { headers: { Authorization: 'Bearer ann' }, signal: AbortSignal.timeout(30_000) });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'application/zip');
    assert.equal(response.headers.get('content-disposition'), 'attachment; filename="pulsebridge-my-data.zip"');
    const files = unzipSync(new Uint8Array(await response.arrayBuffer()));
    const json = (name: string): unknown => JSON.parse(strFromU8(files[name]!));

    const annSessions = await domain.documents.collection(SESSIONS).find({ athlete: ann }, { orderBy: ['startedAt'] });
    assert.equal(annSessions.length, 2);
    const sessionFiles = annSessions.flatMap((s) => [`sessions/${s.id}.fit`, `sessions/${s.id}.json`]);
    assert.deepEqual(Object.keys(files).sort(), [...MY_DATA_FILES, ...sessionFiles].sort());

    const account = json('account.json') as Record<string, unknown>;
    assert.deepEqual(Object.keys(account).sort(), ['createdAt', 'disabled', 'displayName', 'email', 'id']);
    assert.equal(account['email'], 'ann@example.org');
    assert.equal((json('profile.json') as { weightKg: number }).weightKg, 61);
    assert.deepEqual(
      (json('memberships.json') as { gym: string; role: string }[]).map((m) => [m.gym, m.role]),
      [[GYM, 'athlete']],
    );
    const bookings = json('bookings.json') as { id: string; user: string }[];
    assert.equal(bookings.length, BOOKING_COUNT, 'every booking, past the first page');
    assert.equal(new Set(bookings.map((b) => b.id)).size, BOOKING_COUNT);
    assert.ok(bookings.every((b) => b.user === ann));
    assert.deepEqual(
      (json('bindings.json') as { id: string }[]).map((b) => b.id),
      ['binding-ann'],
    );
    assert.deepEqual(
      (json('friends.json') as { id: string }[]).map((f) => f.id),
      [`${low}:${high}`],
    );
    assert.deepEqual(
      (json('groups.json') as { membership: { id: string }; group: { name: string } }[]).map((g) => [g.membership.id, g.group.name]),
      [['member-ann', 'Riders ann']],
    );
    const views = json('sessions.json') as SessionView[];
    assert.deepEqual(
      views.map((v) => v.id),
      annSessions.map((s) => s.id),
    );
    assert.equal(views.find((v) => v.kind === 'personal')!.results!.averageHeartRateBpm, 121.5);
    for (const session of annSessions) {
      const streams = await sessionStreams(domain, session);
      assert.deepEqual(json(`sessions/${session.id}.json`), streams, `streams of ${session.name}`);
      const { format, workout } = importWorkout(files[`sessions/${session.id}.fit`]!);
      assert.equal(format, 'fit');
      assert.equal(workout.startTime, session.startedAt);
      assert.deepEqual(workoutToStreams(workout).heartrate, streams.heartrate, `the FIT file of ${session.name} holds its heart rate`);
    }

    // Nothing of Bob's, in any file.
    for (const [name, bytes] of Object.entries(files)) {
      const text = strFromU8(bytes, true);
      for (const marker of [bob, 'bob@example.org', 'booking-bob', 'binding-bob', 'group-bob', 'imported-bob', 'Spin bob']) {
        if (name === 'friends.json' && marker === bob) continue; // the friendship names its other side
        assert.ok(!text.includes(marker), `${name} holds ${marker}`);
      }
    }
  });
});

test('the my-data archive needs me:read', async () => {
  const verifier = new FixedTokens({});
  await withApi({ verifier }, async (api) => {
    verifier.set('narrow', principal([{ gym: GYM, role: 'athlete' }], { subject: 'someone', scopes: ['gym:read'] }));
    const response = await fetch(`${api.url}/api/v1/me/export`, { headers: { Authorization: 'Bearer narrow' } });
    assert.equal(response.status, 403);
    await readProblem(response);
  });
});

test('the archive is written as it is built: every session file leaves before the next session is read', async () => {
  const t = await testDomain({ now: () => NOW });
  try {
    const { domain } = t;
    const user = (await domain.identity.createUser({ email: 'cy@example.org', displayName: 'Cy' })).id;
    const sessions = 12;
    for (let i = 0; i < sessions; i++) {
      const imported = {
        id: `imported-${i}`,
        athlete: user,
        kind: 'imported' as const,
        name: `Run ${i}`,
        sport: 'running',
        state: 'completed' as const,
        startedAt: NOW + i * 3_600_000,
        endedAt: NOW + i * 3_600_000 + 3_600_000,
        revision: 1,
        stale: false,
        source: { format: 'fit' },
        sourceSha256: `sha-${i}`,
        createdAt: NOW,
      };
      const time = Array.from({ length: 3600 }, (_, s) => s);
      await domain.documents.transaction(async (tx) => {
        await tx.collection(SESSIONS).insert(imported);
        await saveImportedStreams(tx, imported, { time, heartrate: time.map((s) => 100 + (s % 50)) });
      });
    }
    // Count what the archive has read when each chunk leaves: chunks must come out between sessions, not all at the end.
    const streamsOf = domain.documents.collection(SESSION_SAMPLES);
    const find = streamsOf.find.bind(streamsOf);
    let sessionsRead = 0;
    streamsOf.find = (...args) => {
      sessionsRead++;
      return find(...args);
    };
    const originalCollection = domain.documents.collection.bind(domain.documents);
    domain.documents.collection = ((spec: CollectionSpec) => (spec === SESSION_SAMPLES ? streamsOf : originalCollection(spec))) as typeof domain.documents.collection;
    const readWhenSent: number[] = [];
    const chunks: Uint8Array[] = [];
    for await (const chunk of myDataArchive(domain, user)) {
      readWhenSent.push(sessionsRead);
      chunks.push(chunk);
    }
    assert.equal(sessionsRead, sessions);
    for (let i = 1; i < sessions; i++) assert.ok(readWhenSent.includes(i), `a chunk left after ${i} of ${sessions} sessions were read: ${readWhenSent.join(',')}`);
    const files = unzipSync(new Uint8Array(Buffer.concat(chunks)));
    assert.equal(Object.keys(files).filter((name) => name.startsWith('sessions/')).length, 2 * sessions);
  } finally {
    await t.cleanup();
  }
});
