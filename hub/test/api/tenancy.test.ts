/**
 * Tenancy: two gyms with their own agents, readings and readings held apart. Every route of the operations table
 * is tried by every role of gym B against gym A's data; none may read or change it. MATRIX is typed by the
 * table's operation names and checked against it at run time, so a new route cannot be added without a case.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { until } from '@pulsebridge/runtime';
import { OPERATIONS, type Operation, type OperationName } from '../../src/api/operations.ts';
import type { Role } from '../../src/identity/identity-store.ts';
import { SqliteIdentityStore } from '../../src/identity/sqlite-identity-store.ts';
import { NOW, withApi, type RunningApi } from './harness.ts';
import { FixedTokens, PLATFORM_ADMIN, principal } from './principals.ts';
import { GYM_A, GYM_B, type Accounts, type Case, type FeatureTenancy, type TenancyContext } from './tenancy/tenancy-case.ts';
import { gymsTenancy } from './tenancy/gyms.ts';
import { webhooksTenancy } from './tenancy/webhooks.ts';
import { boardTenancy } from './tenancy/board.ts';
import { profileTenancy } from './tenancy/profile.ts';
import { equipmentTenancy } from './tenancy/equipment.ts';
import { socialTenancy } from './tenancy/social.ts';
import { trainingsTenancy } from './tenancy/trainings.ts';
import { classesTenancy } from './tenancy/classes.ts';
import { pairingTenancy } from './tenancy/pairing.ts';
import { photosTenancy } from './tenancy/photos.ts';
import { runsTenancy } from './tenancy/runs.ts';
import { sessionFilesTenancy } from './tenancy/session-files.ts';
import { sessionsTenancy } from './tenancy/sessions.ts';
import { accountTenancy } from './tenancy/account.ts';

const FEATURES: readonly FeatureTenancy<string>[] = [
  gymsTenancy,
  profileTenancy,
  equipmentTenancy,
  socialTenancy,
  trainingsTenancy,
  classesTenancy,
  pairingTenancy,
  photosTenancy,
  webhooksTenancy,
  runsTenancy,
  sessionFilesTenancy,
  sessionsTenancy,
  boardTenancy,
  accountTenancy,
];
/**
 * What only gym A's data contains: none may appear in an answer to gym B. Not A's sensor id: a readings page
 * echoes the sensor asked for, so the value A's sensor read stands for its data.
 */
const A_VALUE = 177.25;
const A_MARKERS = ['box-a', 'boot-of-a', String(A_VALUE)];
const B_ROLES: readonly Role[] = ['athlete', 'coach', 'gym_admin'];

const readingQuery = `sensor=sensor-of-a&metric=heart_rate&from=${NOW - 3_600_000}`;
const MATRIX: Record<OperationName, Case> = {
  ...gymsTenancy.cases,
  ...webhooksTenancy.cases,
  ...profileTenancy.cases,
  ...equipmentTenancy.cases,
  ...socialTenancy.cases,
  ...trainingsTenancy.cases,
  ...classesTenancy.cases,
  ...pairingTenancy.cases,
  ...photosTenancy.cases,
  ...runsTenancy.cases,
  ...sessionFilesTenancy.cases,
  ...sessionsTenancy.cases,
  ...boardTenancy.cases,
  ...accountTenancy.cases,
  healthz: { public: true },
  readyz: { public: true },
  metrics: { public: true },
  openapi: { public: true },
  docs: { public: true },
  assetLinks: { public: true },
  appleAppSiteAssociation: { public: true },
  listAudit: {
    attempts: [
      { path: `/api/v1/audit?gym=${GYM_A}`, targetsA: true },
      { path: '/api/v1/audit?userId=admin-of-a', targetsA: false },
      { path: '/api/v1/audit', targetsA: false },
    ],
  },
  listAgents: {
    attempts: [
      { path: `/api/v1/agents?gym=${GYM_A}`, targetsA: true },
      { path: '/api/v1/agents', targetsA: false },
    ],
  },
  getAgent: { attempts: [{ path: '/api/v1/agents/box-a', targetsA: true }] },
  createAgent: { attempts: [{ method: 'POST', path: '/api/v1/agents', body: { id: 'box-new', gym: GYM_A }, targetsA: true }] },
  issueEnrollment: { attempts: [{ method: 'POST', path: '/api/v1/agents/box-a/enrollment', targetsA: true }] },
  disableAgent: { attempts: [{ method: 'POST', path: '/api/v1/agents/box-a/disable', targetsA: true }] },
  enableAgent: { attempts: [{ method: 'POST', path: '/api/v1/agents/box-a/enable', targetsA: true }] },
  rotateAgent: { attempts: [{ method: 'POST', path: '/api/v1/agents/box-a/rotate', targetsA: true }] },
  removeAgent: { attempts: [{ method: 'DELETE', path: '/api/v1/agents/box-a', targetsA: true }] },
  enroll: { public: true },
  listSeries: {
    attempts: [
      { path: `/api/v1/series?gym=${GYM_A}`, targetsA: true },
      { path: '/api/v1/series?agent=box-a', targetsA: false },
      { path: '/api/v1/series', targetsA: false },
    ],
  },
  readings: {
    attempts: [
      { path: `/api/v1/readings?${readingQuery}&gym=${GYM_A}`, targetsA: true },
      { path: `/api/v1/readings?${readingQuery}&agent=box-a`, targetsA: false },
      { path: `/api/v1/readings?${readingQuery}`, targetsA: false },
    ],
  },
  rollups: {
    attempts: [
      { path: `/api/v1/rollups?${readingQuery}&gym=${GYM_A}`, targetsA: true },
      { path: `/api/v1/rollups?${readingQuery}&agent=box-a`, targetsA: false },
      { path: `/api/v1/rollups?${readingQuery}`, targetsA: false },
    ],
  },
  live: { attempts: [{ path: `/api/v1/live?gym=${GYM_A}`, targetsA: true }] },
  listUnsynced: { attempts: [{ path: '/api/v1/agents/box-a/unsynced', targetsA: true }] },
  readUnsynced: { attempts: [{ path: '/api/v1/agents/box-a/unsynced/boot-of-a/readings', targetsA: true }] },
  correctUnsynced: { attempts: [{ method: 'POST', path: '/api/v1/agents/box-a/unsynced/boot-of-a/correction', body: { offsetMs: 1_000 }, targetsA: true }] },
  discardUnsynced: { attempts: [{ method: 'DELETE', path: '/api/v1/agents/box-a/unsynced/boot-of-a', targetsA: true }] },
  createInvite: { attempts: [{ method: 'POST', path: '/api/v1/invites', body: { email: 'newcomer@example.org', gym: GYM_A, role: 'coach' }, targetsA: true }] },
};

const ROLE_KEYS = { athlete: 'ATHLETE', coach: 'COACH', gym_admin: 'GYM_ADMIN' } as const;

/** One account per role in each gym, made in the identity store so that routes about people find them. */
async function seedAccounts(api: RunningApi): Promise<Accounts> {
  const identity = api.deps.domain.identity;
  const accounts = { [GYM_A]: {}, [GYM_B]: {} } as Accounts;
  for (const gym of [GYM_A, GYM_B] as const) {
    for (const role of B_ROLES) {
      const user = await identity.createUser({ email: `${gym.slice(-1)}-${role.replace('_', '-')}@example.org`, displayName: `${role} of ${gym}` });
      await identity.addMembership({ userId: user.id, gym, role });
      accounts[gym][role as keyof typeof ROLE_KEYS] = user.id;
    }
  }
  return accounts;
}

/** USER_A_ATHLETE, USER_B_GYM_ADMIN, ...: placeholders for the seeded accounts' ids in attempts. */
function withAccounts(text: string, accounts: Accounts): string {
  return text.replace(/USER_([AB])_(ATHLETE|COACH|GYM_ADMIN)/g, (_, gym: string, role: string) => {
    const entry = Object.entries(ROLE_KEYS).find(([, key]) => key === role)!;
    return accounts[gym === 'A' ? GYM_A : GYM_B][entry[0] as keyof typeof ROLE_KEYS];
  });
}

async function seed(api: RunningApi): Promise<void> {
  for (const [gym, agent] of [
    [GYM_A, 'box-a'],
    [GYM_B, 'box-b'],
  ] as const) {
    await api.deps.identity!.appendAudit({ type: 'agent.enrolled', actorUserId: `admin-of-${gym.slice(-1)}`, gym, detail: { agent } });
  }
  for (const [gym, agent, sensor, boot, value] of [
    [GYM_A, 'box-a', 'sensor-of-a', 'boot-of-a', A_VALUE],
    [GYM_B, 'box-b', 'sensor-of-b', 'boot-of-b', 120],
  ] as const) {
    await api.registry.create(agent, gym);
    // Both gyms' agents hear sensor-of-a: a strap seen from both gyms must still not mix their readings.
    for (const heard of new Set([sensor, 'sensor-of-a'])) {
      const values = heard === sensor ? [value, value] : [121, 121];
      await api.store.write([{ gym, agent, series: [{ sensor: heard, metric: 'heart_rate', ts: [NOW - 60_000, NOW - 59_000], values }] }]);
    }
    await api.store.writeUnsynced([{ gym, agent, boot, series: [{ sensor, metric: 'heart_rate', ts: [5_000], values: [value] }] }]);
  }
}

async function stateOfA(api: RunningApi, context: TenancyContext): Promise<string> {
  const features: unknown[] = [];
  for (const feature of FEATURES) features.push(await feature.stateOfA?.(context));
  const boots = await api.store.listUnsynced({ agent: 'box-a' });
  const agents = (await api.registry.list()).filter((a) => a.gym === GYM_A);
  const codes = [...api.registry.codes.values()].filter((c) => c.agent === 'box-a');
  // Invites made and other security events of gym A.
  const events = (await api.deps.identity!.listAudit({ gym: GYM_A, limit: 100 })).events.map((event) => event.type);
  return JSON.stringify({ boots, agents, codes, secret: api.registry.secrets.get('box-a'), events, features });
}

test('the tenancy matrix has a case for every operation of the table', () => {
  assert.deepEqual(Object.keys(MATRIX).sort(), Object.keys(OPERATIONS).sort());
  for (const [name, entry] of Object.entries(MATRIX)) {
    const access: Operation['access'] = OPERATIONS[name as OperationName].access;
    assert.equal('public' in entry, access.public === true, `${name}: public in the matrix exactly when public in the table`);
    const operation: Operation = OPERATIONS[name as OperationName];
    // The gate can only settle a gym the operation has a place for.
    if (!access.public && access.gym === 'query') assert.ok(operation.query?.properties['gym'], `${name}: a gym query parameter`);
    if (!access.public && access.gym === 'body') assert.ok(operation.body?.properties['gym'], `${name}: a gym body field`);
    if (!access.public && access.gym === 'agent') assert.ok(operation.params?.properties['id'] && operation.path.includes('/agents/:id'), `${name}: an agent path`);
    if (!access.public && access.gym === 'path') assert.ok(operation.params?.properties['gym'] && operation.path.includes('/:gym'), `${name}: a gym path`);
    if (!access.public && typeof access.gym === 'object') assert.ok(operation.params?.properties['id'] && operation.path.includes('/:id'), `${name}: an id path`);
  }
});

test('no role of one gym reads or changes anything of another gym through any route', async (t) => {
  const tokens = new FixedTokens({ admin: PLATFORM_ADMIN });
  const dir = mkdtempSync(join(tmpdir(), 'pb-tenancy-'));
  const identity = new SqliteIdentityStore({ path: join(dir, 'identity.db') });
  await identity.start();
  t.after(async () => {
    await identity.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  await withApi({ verifier: tokens, identity, publicBaseUrl: 'https://hub.test' }, async (api) => {
    await seed(api);
    const accounts = await seedAccounts(api);
    for (const role of B_ROLES) tokens.set(role, principal([{ gym: GYM_B, role }], { subject: accounts[GYM_B][role as keyof typeof ROLE_KEYS] }));
    const context: TenancyContext = { api, domain: api.deps.domain, accounts };
    const markers = [...A_MARKERS];
    for (const feature of FEATURES) markers.push(...((await feature.seed?.(context)) ?? []));
    const before = await stateOfA(api, context);
    let tried = 0;
    for (const [name, entry] of Object.entries(MATRIX) as [OperationName, Case][]) {
      if ('public' in entry) continue;
      for (const attempt of entry.attempts) {
        for (const role of B_ROLES) {
          const path = withAccounts(attempt.path, accounts);
          const label = `${name} ${attempt.method ?? 'GET'} ${path} as ${GYM_B} ${role}`;
          const init: RequestInit = { method: attempt.method ?? 'GET', headers: { Authorization: `Bearer ${role}` }, signal: AbortSignal.timeout(5_000) };
          if (attempt.body !== undefined) {
            init.body = withAccounts(JSON.stringify(attempt.body), accounts);
            (init.headers as Record<string, string>)['Content-Type'] = 'application/json';
          }
          if (attempt.upload !== undefined) {
            init.body = attempt.upload.bytes;
            (init.headers as Record<string, string>)['Content-Type'] = attempt.upload.contentType;
          }
          const response = await fetch(`${api.url}${path}`, init);
          tried++;
          if (attempt.targetsA) assert.ok(response.status === 403 || response.status === 404, `${label}: refused (got ${response.status})`);
          else assert.ok([200, 201, 403, ...(attempt.answers ?? [])].includes(response.status), `${label}: answered within B or refused (got ${response.status})`);
          if (response.headers.get('content-type')?.startsWith('text/event-stream')) {
            await response.body?.cancel();
            continue;
          }
          const text = await response.text();
          // A refusal echoes the request (its path, the id asked for), which is not A's data; an answer must hold none of it.
          if (!response.ok) assert.match(response.headers.get('content-type') ?? '', /^application\/problem\+json/, label);
          else for (const marker of markers) assert.ok(!text.includes(marker), `${label}: the answer holds ${marker}: ${text.slice(0, 300)}`);
        }
      }
    }
    assert.ok(tried > 30);
    assert.equal(await stateOfA(api, context), before, "gym A's data is unchanged");
    // The same requests as a platform admin do reach A's data: the matrix tries real routes, not dead ones.
    const seen = await fetch(`${api.url}/api/v1/agents/box-a/unsynced`, { headers: { Authorization: 'Bearer admin' } });
    assert.equal(seen.status, 200);
    assert.match(await seen.text(), /boot-of-a/);
    const invited = await fetch(`${api.url}/api/v1/invites`, {
      method: 'POST',
      headers: { Authorization: 'Bearer admin', 'Content-Type': 'application/json' },
      body: JSON.stringify({ email: 'newcomer@example.org', gym: GYM_A, role: 'coach' }),
    });
    assert.equal(invited.status, 201);
  });
});

test("a gym B coach's live stream, opened without a gym, carries B's readings and never A's", async () => {
  const tokens = new FixedTokens({ coach: principal([{ gym: GYM_B, role: 'coach' }]) });
  await withApi({ verifier: tokens }, async (api) => {
    const controller = new AbortController();
    const response = await fetch(`${api.url}/api/v1/live`, { headers: { Authorization: 'Bearer coach' }, signal: controller.signal });
    assert.equal(response.status, 200);
    const reader = response.body!.getReader();
    let text = '';
    const decoder = new TextDecoder();
    const pump = (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        text += decoder.decode(value, { stream: true });
      }
    })().catch(() => {});
    const reading = (gym: string, agent: string, sensor: string) => ({ gym, agent, series: [{ sensor, metric: 'heart_rate' as const, ts: [NOW], values: [130] }] });
    await until(
      "B's reading on the stream",
      () => {
        api.live.publish(reading(GYM_A, 'box-a', 'sensor-of-a'));
        api.live.publish(reading(GYM_B, 'box-b', 'sensor-of-b'));
        return text.includes('sensor-of-b');
      },
      5_000,
    );
    controller.abort();
    await pump;
    for (const marker of A_MARKERS) assert.ok(!text.includes(marker), marker);
  });
});
