/**
 * The sessions API: my sessions (pages, filters, a personal workout started and ended, deletion), who may see a
 * session, and its streams (shape, resolution, keys, ETag, the cache and a new revision after late readings).
 * Readings go into the test domain's SQLite series store and bindings into its documents, as the hub has them.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SeriesReadings } from '@pulsebridge/protocol';
import type { MemoryCache } from '../../src/cache/cache.ts';
import { GYMS } from '../../src/domain/gyms.ts';
import { BINDINGS } from '../../src/domain/pairing/collections.ts';
import { SESSIONS, SESSION_SAMPLES, SESSION_SENSORS, type SessionDoc } from '../../src/domain/sessions/collections.ts';
import { recomputeSession, saveImportedStreams, startPersonalSession } from '../../src/domain/sessions/sessions.ts';
import { DocumentStoreError } from '../../src/documents/document-store.ts';
import { FRIENDSHIPS, pairOf } from '../../src/domain/social/collections.ts';
import { DEFAULT_PROFILE } from '../../src/identity/identity-store.ts';
import { NOW, readProblem, withApi, type RunningApi } from './harness.ts';
import { FixedTokens, principal } from './principals.ts';
import { testDomain } from '../domain/test-domain.ts';
import { sessionCachePrefix, streamsCacheKey } from '../../src/api/sessions-routes.ts';

const GYM = 'gym-s';
const OTHER_GYM = 'gym-t';
const SECOND = 1000;
const MINUTE = 60 * SECOND;

interface World {
  api: RunningApi;
  cache: MemoryCache;
  users: { ann: string; bob: string; cat: string; coach: string; coachOfOther: string };
  clock: { now: number };
  call(token: string, path: string, init?: { method?: string; body?: unknown; headers?: Record<string, string> }): Promise<Response>;
}

/**
 * Ann (athlete of both gyms), Bob (athlete, her friend), Cat (athlete of the other gym, a stranger), a coach of
 * the gym and a coach of the other gym, each with a token named after them.
 */
async function withWorld(use: (world: World) => Promise<void>): Promise<void> {
  const clock = { now: NOW };
  const own = await testDomain({ now: () => clock.now });
  const tokens = new FixedTokens({});
  try {
    await withApi({ domain: own.domain, verifier: tokens, now: () => clock.now }, async (api) => {
      const { identity, documents } = own.domain;
      for (const id of [GYM, OTHER_GYM]) await documents.collection(GYMS).insert({ id, name: id, timeZone: 'UTC', createdAt: 0, updatedAt: 0 });
      const roles = {
        ann: [
          { gym: GYM, role: 'athlete' },
          { gym: OTHER_GYM, role: 'athlete' },
        ],
        bob: [{ gym: GYM, role: 'athlete' }],
        cat: [{ gym: OTHER_GYM, role: 'athlete' }],
        coach: [{ gym: GYM, role: 'coach' }],
        coachOfOther: [{ gym: OTHER_GYM, role: 'coach' }],
      } as const;
      const users = {} as World['users'];
      for (const [name, held] of Object.entries(roles) as [keyof typeof roles, (typeof roles)[keyof typeof roles]][]) {
        const user = await identity.createUser({ email: `${name}@example.org`, displayName: name });
        for (const role of held) await identity.addMembership({ userId: user.id, gym: role.gym, role: role.role });
        tokens.set(name, principal([...held], { subject: user.id }));
        users[name] = user.id;
      }
      await identity.saveProfile(users.ann, { ...DEFAULT_PROFILE, maxHeartRate: 200 });
      await documents.collection(FRIENDSHIPS).insert({ ...pairOf(users.ann, users.bob), status: 'friends', by: users.ann, mutual: false, since: 0 });
      const call: World['call'] = (token, path, init = {}) =>
        fetch(`${api.url}${path}`, {
          method: init.method ?? 'GET',
          headers: { Authorization: `Bearer ${token}`, ...(init.body === undefined ? {} : { 'Content-Type': 'application/json' }), ...init.headers },
          ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
          signal: AbortSignal.timeout(10_000),
        });
      await use({ api, cache: own.domain.cache as MemoryCache, users, clock, call });
    });
  } finally {
    await own.cleanup();
  }
}

function series(sensor: string, metric: 'heart_rate' | 'power' | 'cadence', from: number, to: number, hz: number, value: (second: number) => number): SeriesReadings {
  const ts: number[] = [];
  const values: number[] = [];
  for (let t = from; t < to; t += SECOND / hz) {
    ts.push(Math.round(t));
    values.push(value(Math.floor((t - NOW) / SECOND)));
  }
  return { sensor, metric, ts, values } as SeriesReadings;
}

async function bind(world: World, athlete: string, sensor: string, from: number): Promise<void> {
  await world.api.deps.domain.documents.collection(BINDINGS).insert({ id: `${athlete}-${sensor}`, gym: GYM, sensor, athlete, active: true, from, kind: 'own', createdBy: athlete });
}

/** Heart rate: 100 bpm in minute 0, 5 more each minute. Power: 100 W plus 20 per second modulo 10. */
const bpmAt = (second: number) => 100 + 5 * Math.floor(second / 60);
const wattsAt = (second: number) => 100 + 20 * (second % 10);

/**
 * Ann's 10-minute personal ride through the API: heart rate at 4 Hz for the first 9 minutes only (the tenth
 * arrives late in the test that needs it), power at 4 Hz throughout. Returns the completed session.
 */
async function annRides(world: World): Promise<SessionDoc & { results: Record<string, unknown> }> {
  const { users, call, clock } = world;
  await bind(world, users.ann, 'strap-ann', NOW - 3_600_000);
  await bind(world, users.ann, 'bike-7', NOW - MINUTE);
  const started = await call('ann', '/api/v1/me/sessions', { method: 'POST', body: { gym: GYM, name: 'Ride', sport: 'cycling' } });
  assert.equal(started.status, 201);
  const live = (await started.json()) as SessionDoc;
  assert.equal(live.state, 'live');
  await world.api.deps.domain.series.write([
    {
      gym: GYM,
      agent: 'box',
      series: [series('strap-ann', 'heart_rate', NOW, NOW + 9 * MINUTE, 4, bpmAt), series('bike-7', 'power', NOW, NOW + 10 * MINUTE, 4, wattsAt)],
    },
  ]);
  clock.now = NOW + 10 * MINUTE;
  const ended = await call('ann', `/api/v1/me/sessions/${live.id}/end`, { method: 'POST' });
  assert.equal(ended.status, 200);
  return (await ended.json()) as SessionDoc & { results: Record<string, unknown> };
}

describe('sessions API: my sessions', () => {
  it('a personal workout starts, refuses a second one, and ends with results the test computes on its own', async () => {
    await withWorld(async (world) => {
      const { call, users } = world;
      const session = await annRides(world);
      assert.equal(session.state, 'completed');
      assert.equal(session.revision, 1);
      assert.equal(session.athlete, users.ann);
      assert.equal(session.sport, 'cycling');
      assert.equal(session.endedAt, new Date(NOW + 10 * MINUTE).toISOString());
      const results = session.results as {
        durationS: number;
        averageHeartRateBpm: number;
        maxHeartRateBpm: number;
        heartRate: { secondsInZone: number[]; effortPoints: number; maxHeartRateUsed: number };
        power: { averageW: number; maxW: number };
      };
      // 600 s; heart rate over the 540 s it was read: the mean of 100..140 by 5 a minute, max 140.
      assert.equal(results.durationS, 600);
      assert.equal(results.averageHeartRateBpm, 120);
      assert.equal(results.maxHeartRateBpm, 140);
      // Max 200 (profile): 100..115 bpm in zone 1 (50-60 %), 120..135 in zone 2, 140 (70 %) in zone 3.
      assert.equal(results.heartRate.maxHeartRateUsed, 200);
      assert.deepEqual(results.heartRate.secondsInZone, [240, 240, 60, 0, 0]);
      assert.equal(results.heartRate.effortPoints, 4 + 8 + 3);
      // Power: 100..280 W by 20, each for a tenth of the seconds.
      assert.equal(results.power.averageW, 190);
      assert.equal(results.power.maxW, 280);

      // Stored with the session: reading it again gives the same results.
      const read = await call('ann', `/api/v1/me/sessions/${session.id}`);
      assert.deepEqual(((await read.json()) as SessionDoc).results, session.results);

      const again = await call('ann', `/api/v1/me/sessions/${session.id}/end`, { method: 'POST' });
      assert.equal(again.status, 409);
      assert.match((await readProblem(again)).detail, /ended already/);
      const byBob = await call('bob', `/api/v1/me/sessions/${session.id}/end`, { method: 'POST' });
      assert.equal(byBob.status, 404, "another athlete's session is not theirs to end");
    });
  });

  it('one live personal session at a time, in a gym the athlete is a member of; a class session ends with its run', async () => {
    await withWorld(async ({ call, users, api }) => {
      const first = await call('ann', '/api/v1/me/sessions', { method: 'POST', body: { gym: GYM } });
      assert.equal(first.status, 201);
      const live = (await first.json()) as SessionDoc;
      assert.equal(live.name, 'Personal workout');
      assert.equal(live.sport, 'training');
      const second = await call('ann', '/api/v1/me/sessions', { method: 'POST', body: { gym: OTHER_GYM } });
      assert.equal(second.status, 409);
      assert.match((await readProblem(second)).detail, new RegExp(live.id));

      const notMine = await call('cat', '/api/v1/me/sessions', { method: 'POST', body: { gym: GYM } });
      assert.equal(notMine.status, 403);
      await readProblem(notMine);
      const badSport = await call('bob', '/api/v1/me/sessions', { method: 'POST', body: { gym: GYM, sport: 'chess' } });
      assert.equal(badSport.status, 400);
      assert.equal((await readProblem(badSport)).param, 'sport');

      await api.deps.domain.documents.collection(SESSIONS).insert({
        id: 'class-session',
        athlete: users.bob,
        kind: 'class',
        gym: GYM,
        run: 'spin@1',
        class: 'spin',
        name: 'Spin',
        sport: 'training',
        state: 'live',
        startedAt: NOW,
        revision: 0,
        stale: false,
        createdAt: NOW,
      });
      const classEnd = await call('bob', '/api/v1/me/sessions/class-session/end', { method: 'POST' });
      assert.equal(classEnd.status, 409);
      assert.match((await readProblem(classEnd)).detail, /class run/);
    });
  });

  it('of many starts at once, one makes a live personal session and the others answer 409', async () => {
    await withWorld(async ({ call, users, api }) => {
      const statuses = await Promise.all(Array.from({ length: 6 }, () => call('ann', '/api/v1/me/sessions', { method: 'POST', body: { gym: GYM } }).then((r) => r.status)));
      assert.deepEqual(statuses.sort(), [201, 409, 409, 409, 409, 409]);
      assert.equal(await api.deps.domain.documents.collection(SESSIONS).count({ athlete: users.ann, kind: 'personal', state: 'live' }), 1);
      // Past the route's check (another replica's start): the store refuses a second live personal session itself.
      await assert.rejects(startPersonalSession(api.deps.domain, { athlete: users.ann, gym: GYM, name: 'Again', sport: 'training' }), (error: unknown) => {
        assert.ok(error instanceof DocumentStoreError);
        assert.equal(error.code, 'conflict');
        return true;
      });
    });
  });

  it('my sessions come newest first in cursor pages, filtered by kind and by start', async () => {
    await withWorld(async ({ call, users, api }) => {
      const sessions = api.deps.domain.documents.collection(SESSIONS);
      const kinds = ['class', 'personal', 'imported', 'personal', 'class'] as const;
      for (const [i, kind] of kinds.entries()) {
        await sessions.insert({
          id: `s${i}`,
          athlete: users.ann,
          kind,
          ...(kind === 'imported' ? {} : { gym: GYM }),
          ...(kind === 'class' ? { run: `spin@${i}`, class: 'spin' } : {}),
          name: `Session ${i}`,
          sport: 'training',
          state: 'completed',
          startedAt: NOW + i * 3_600_000,
          endedAt: NOW + i * 3_600_000 + MINUTE,
          revision: 1,
          stale: false,
          createdAt: NOW,
        });
      }
      await sessions.insert({
        id: 'of-bob',
        athlete: users.bob,
        kind: 'personal',
        gym: GYM,
        name: 'Bob',
        sport: 'training',
        state: 'completed',
        startedAt: NOW,
        revision: 1,
        stale: false,
        createdAt: NOW,
      });

      const seen: string[] = [];
      let path: string | undefined = '/api/v1/me/sessions?limit=2';
      let pages = 0;
      while (path !== undefined) {
        const response = await call('ann', path);
        assert.equal(response.status, 200);
        const page = (await response.json()) as { items: SessionDoc[]; next?: string };
        seen.push(...page.items.map((s) => s.id));
        path = page.next;
        pages++;
      }
      assert.deepEqual(seen, ['s4', 's3', 's2', 's1', 's0']);
      assert.equal(pages, 3);

      const ids = async (query: string) => ((await (await call('ann', `/api/v1/me/sessions?${query}`)).json()) as { items: SessionDoc[] }).items.map((s) => s.id);
      assert.deepEqual(await ids('kind=personal'), ['s3', 's1']);
      const at = (hours: number) => new Date(NOW + hours * 3_600_000).toISOString();
      assert.deepEqual(await ids(`from=${at(1)}&to=${at(3)}`), ['s2', 's1']);
      assert.deepEqual(await ids(`kind=class&from=${at(1)}`), ['s4']);

      const badFrom = await call('ann', '/api/v1/me/sessions?from=yesterday');
      assert.equal(badFrom.status, 400);
      assert.equal((await readProblem(badFrom)).param, 'from');
      const backwards = await call('ann', `/api/v1/me/sessions?from=${at(3)}&to=${at(1)}`);
      assert.equal(backwards.status, 400);
      assert.equal((await readProblem(backwards)).param, 'to');
    });
  });

  it('deleting a completed session removes it, its sensors, its samples and its cached streams; a live one is refused', async () => {
    await withWorld(async (world) => {
      const { call, users, api, cache } = world;
      const { documents } = api.deps.domain;
      const session = await annRides(world);
      assert.ok((await documents.collection(SESSION_SENSORS).count({ session: session.id })) > 0);
      for (const resolution of ['high', 'low']) assert.equal((await call('ann', `/api/v1/sessions/${session.id}/streams?resolution=${resolution}`)).status, 200);
      assert.notEqual(await cache.get(streamsCacheKey(session, 'low')), undefined);

      assert.equal((await call('bob', `/api/v1/me/sessions/${session.id}`, { method: 'DELETE' })).status, 404);
      const deleted = await call('ann', `/api/v1/me/sessions/${session.id}`, { method: 'DELETE' });
      assert.equal(deleted.status, 200);
      assert.equal(((await deleted.json()) as SessionDoc).id, session.id);
      assert.equal(await documents.collection(SESSIONS).get(session.id), undefined);
      assert.equal(await documents.collection(SESSION_SENSORS).count({ session: session.id }), 0);
      for (const resolution of ['high', 'low']) assert.equal(await cache.get(streamsCacheKey(session, resolution)), undefined);
      assert.equal((await call('ann', `/api/v1/me/sessions/${session.id}`)).status, 404);
      assert.equal((await call('ann', `/api/v1/sessions/${session.id}/streams`)).status, 404);

      // An imported session's samples go with it.
      const imported: SessionDoc = {
        id: 'imported-1',
        athlete: users.ann,
        kind: 'imported',
        name: 'Run',
        sport: 'running',
        state: 'completed',
        startedAt: NOW,
        endedAt: NOW + 3 * SECOND,
        revision: 1,
        stale: false,
        createdAt: NOW,
      };
      await documents.transaction(async (tx) => {
        await tx.collection(SESSIONS).insert(imported);
        await saveImportedStreams(tx, imported, { time: [0, 1, 2], heartrate: [120.26, 121, 122] });
      });
      const streams = (await (await call('ann', '/api/v1/sessions/imported-1/streams')).json()) as { streams: { heartrate: { data: number[] } } };
      assert.deepEqual(streams.streams.heartrate.data, [120.3, 121, 122], 'heart rate to a tenth of a beat');
      assert.equal((await call('ann', '/api/v1/me/sessions/imported-1', { method: 'DELETE' })).status, 200);
      assert.equal(await documents.collection(SESSION_SAMPLES).count({ session: 'imported-1' }), 0);
      assert.equal(cache.stats.entries, 0, `nothing cached is left: ${sessionCachePrefix('imported-1')}`);

      const live = (await (await call('ann', '/api/v1/me/sessions', { method: 'POST', body: { gym: GYM } })).json()) as SessionDoc;
      const refused = await call('ann', `/api/v1/me/sessions/${live.id}`, { method: 'DELETE' });
      assert.equal(refused.status, 409);
      await readProblem(refused);
      assert.notEqual(await documents.collection(SESSIONS).get(live.id), undefined);
    });
  });
});

describe('sessions API: who sees a session', () => {
  it('the athlete, a friend while results are for friends, staff of the gym it was held in; nobody else, not even staff of her other gym', async () => {
    await withWorld(async (world) => {
      const { call, users, api } = world;
      const session = await annRides(world);
      const status = async (token: string) => {
        const [one, streams] = await Promise.all([call(token, `/api/v1/sessions/${session.id}`), call(token, `/api/v1/sessions/${session.id}/streams?resolution=low`)]);
        assert.equal(streams.status, one.status, `${token}: the streams follow the session's visibility`);
        if (one.status === 404) assert.match((await readProblem(one)).detail, /no session/);
        return one.status;
      };
      assert.equal(await status('ann'), 200);
      assert.equal(await status('bob'), 200, 'a friend, with results visible to friends (the default)');
      assert.equal(await status('cat'), 404, 'a stranger');
      assert.equal(await status('coach'), 200, 'a coach of the gym it was held in');
      assert.equal(await status('coachOfOther'), 404, "a coach of Ann's other gym: not staff of this session");

      await api.deps.domain.identity.saveProfile(users.ann, { ...DEFAULT_PROFILE, maxHeartRate: 200, resultsVisibility: 'only_me' });
      assert.equal(await status('bob'), 404, 'only_me: not even a friend');
      assert.equal(await status('coach'), 200, 'staff still see sessions held in their gym');
      await api.deps.domain.identity.saveProfile(users.ann, { ...DEFAULT_PROFILE, resultsVisibility: 'everyone' });
      assert.equal(await status('cat'), 200, 'everyone: any signed-in user');
      const self = await call('cat', `/api/v1/me/sessions/${session.id}`);
      assert.equal(self.status, 404, '/me/sessions is only ever the caller’s own');
    });
  });
});

interface StreamsBody {
  session: string;
  revision: number;
  resolution: string;
  originalSize: number;
  size: number;
  streams: Record<string, { data: (number | null)[]; seriesType: string; originalSize: number; resolution: string }>;
}

describe('sessions API: streams', () => {
  it('answers time-aligned streams at the resolution asked, filters keys, and refuses bad parameters naming them', async () => {
    await withWorld(async (world) => {
      const { call } = world;
      const session = await annRides(world);
      const get = async (query: string) => {
        const response = await call('ann', `/api/v1/sessions/${session.id}/streams${query}`);
        assert.equal(response.status, 200);
        return (await response.json()) as StreamsBody;
      };
      const high = await get('');
      assert.equal(high.resolution, 'high');
      assert.equal(high.originalSize, 600);
      assert.equal(high.size, 600);
      assert.deepEqual(Object.keys(high.streams).sort(), ['heartrate', 'time', 'watts']);
      assert.deepEqual(high.streams['time']!.data.slice(0, 3), [0, 1, 2]);
      assert.equal(high.streams['heartrate']!.seriesType, 'time');
      for (const second of [0, 59, 60, 539]) assert.equal(high.streams['heartrate']!.data[second], bpmAt(second));
      assert.equal(high.streams['heartrate']!.data[560], null, 'no heart rate in the last minute (yet)');
      for (const second of [0, 7, 599]) assert.equal(high.streams['watts']!.data[second], wattsAt(second));

      const low = await get('?resolution=low');
      assert.equal(low.size, 100);
      assert.equal(low.originalSize, 600);
      assert.equal(low.streams['time']!.data[0], 2.5, 'the mean second of the first 6');
      assert.equal(low.streams['heartrate']!.data[0], 100);
      assert.equal(low.streams['watts']!.data[0], (100 + 120 + 140 + 160 + 180 + 200) / 6);

      // 60 points: 10 s each, heart rate constant within each minute, power averaging to 190.
      const sixty = await get('?resolution=60');
      assert.equal(sixty.size, 60);
      assert.equal(sixty.resolution, '60');
      for (const i of [0, 5, 6, 53]) assert.equal(sixty.streams['heartrate']!.data[i], bpmAt(i * 10));
      assert.ok(sixty.streams['watts']!.data.every((w) => w === 190));

      const onlyHeart = await get('?keys=heartrate&resolution=medium');
      assert.deepEqual(Object.keys(onlyHeart.streams).sort(), ['heartrate', 'time']);
      assert.equal(onlyHeart.size, 600, 'medium is 1000 points at most: the whole session');
      const absent = await get('?keys=latlng,altitude');
      assert.deepEqual(Object.keys(absent.streams), ['time'], 'streams the session has no reading of are absent');

      for (const [query, param] of [
        ['?keys=heartrate,pulse', 'keys'],
        ['?keys=heartrate;watts', 'keys'],
        ['?resolution=ultra', 'resolution'],
        ['?resolution=0', 'resolution'],
        ['?resolution=-5', 'resolution'],
        ['?colour=red', 'colour'],
      ] as const) {
        const response = await call('ann', `/api/v1/sessions/${session.id}/streams${query}`);
        assert.equal(response.status, 400, query);
        assert.equal((await readProblem(response)).param, param, query);
      }
    });
  });

  it('a completed session answers an ETag and 304 to If-None-Match, serves the second read from the cache, and a new revision serves new data', async () => {
    await withWorld(async (world) => {
      const { call, cache, api } = world;
      const session = await annRides(world);
      const path = `/api/v1/sessions/${session.id}/streams?resolution=low`;
      const first = await call('bob', path);
      assert.equal(first.status, 200);
      const etag = first.headers.get('etag');
      assert.ok(etag !== null);
      assert.equal(first.headers.get('cache-control'), 'private, no-cache');
      const firstBody = (await first.json()) as StreamsBody;

      const before = cache.stats;
      const second = await call('bob', path);
      assert.equal(second.status, 200);
      assert.deepEqual(await second.json(), firstBody);
      assert.equal(cache.stats.hits, before.hits + 1, 'the second read is a cache hit');
      assert.equal(cache.stats.misses, before.misses);

      // fetch adds Cache-Control: no-cache to a conditional request unless it has one, and that header defeats If-None-Match.
      const conditional = { 'If-None-Match': etag, 'Cache-Control': 'max-age=0' };
      const revalidated = await call('bob', path, { headers: conditional });
      assert.equal(revalidated.status, 304);
      assert.equal(await revalidated.text(), '');
      const otherKeys = await call('bob', `${path}&keys=heartrate`, { headers: conditional });
      assert.equal(otherKeys.status, 200, 'other keys: another ETag');
      assert.notEqual(otherKeys.headers.get('etag'), etag);

      // The last minute of heart rate arrives late (an agent's backlog): the session's next revision has it.
      await api.deps.domain.series.write([{ gym: GYM, agent: 'box', series: [series('strap-ann', 'heart_rate', NOW + 9 * MINUTE, NOW + 10 * MINUTE, 4, () => 150)] }]);
      assert.equal(await recomputeSession(api.deps.domain, session.id), true);
      const changed = (await (await call('ann', `/api/v1/me/sessions/${session.id}`)).json()) as SessionDoc & {
        results: { averageHeartRateBpm: number; maxHeartRateBpm: number; heartRate: { secondsInZone: number[] } };
      };
      assert.equal(changed.revision, 2);
      assert.ok(changed.changedAt !== undefined);
      assert.equal(changed.results.averageHeartRateBpm, (540 * 120 + 60 * 150) / 600);
      assert.equal(changed.results.maxHeartRateBpm, 150);
      assert.deepEqual(changed.results.heartRate.secondsInZone, [240, 240, 120, 0, 0]);

      const fresh = await call('bob', path, { headers: conditional });
      assert.equal(fresh.status, 200, 'the old ETag no longer matches');
      assert.notEqual(fresh.headers.get('etag'), etag);
      const freshBody = (await fresh.json()) as StreamsBody;
      assert.equal(freshBody.revision, 2);
      assert.equal(freshBody.streams['heartrate']!.data[99], 150, 'the late minute is in the new streams');
      assert.equal(firstBody.streams['heartrate']!.data[99], null);
    });
  });

  it('a live session is computed on every read, never cached and without an ETag', async () => {
    await withWorld(async (world) => {
      const { call, users, cache, api, clock } = world;
      await bind(world, users.ann, 'strap-ann', NOW - MINUTE);
      const live = (await (await call('ann', '/api/v1/me/sessions', { method: 'POST', body: { gym: GYM } })).json()) as SessionDoc;
      await api.deps.domain.series.write([{ gym: GYM, agent: 'box', series: [series('strap-ann', 'heart_rate', NOW, NOW + MINUTE, 4, () => 110)] }]);
      clock.now = NOW + MINUTE;
      const first = await call('ann', `/api/v1/sessions/${live.id}/streams`);
      assert.equal(first.status, 200);
      assert.equal(first.headers.get('etag'), null);
      assert.equal(first.headers.get('cache-control'), 'no-store');
      assert.equal(((await first.json()) as StreamsBody).originalSize, 60);

      await api.deps.domain.series.write([{ gym: GYM, agent: 'box', series: [series('strap-ann', 'heart_rate', NOW + MINUTE, NOW + 2 * MINUTE, 4, () => 120)] }]);
      clock.now = NOW + 2 * MINUTE;
      const later = (await (await call('ann', `/api/v1/sessions/${live.id}/streams`)).json()) as StreamsBody;
      assert.equal(later.originalSize, 120);
      assert.equal(later.streams['heartrate']!.data[119], 120);
      assert.equal(cache.stats.entries, 0);
    });
  });
});
