/**
 * Agent administration over the API: a gym admin creates an agent and gets a one-time code, the box redeems it
 * at /enroll, and disabling, rotating and removing revoke the credentials and disconnect the agent. Codes and
 * secrets never reach the log.
 */
import { Value } from '@sinclair/typebox/value';
import { SignInThrottle } from '../../src/auth/rate-limits.ts';
import { RateLimitsConfig } from '../../src/auth/rate-limits-config.ts';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { AgentSecurityEvent } from '../../src/api/agent-admin-routes.ts';
import type { BrokerAccounts } from '../../src/broker/broker-accounts.ts';
import { Enrolled, EnrollmentIssued } from '../../src/api/agent-admin-schemas.ts';
import type { ApiDeps } from '../../src/api/app.ts';
import { NOW, readProblem, withApi, type RunningApi } from './harness.ts';
import { FixedTokens, principal } from './principals.ts';

const INFO = { mqttUrl: 'mqtts://hub.test:8883', topicRoot: 'pb', caPem: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n', caFingerprint: 'ab'.repeat(32) };

interface Fixture {
  events: AgentSecurityEvent[];
  disconnected: string[];
  overrides: Partial<ApiDeps>;
}

function fixture(): Fixture {
  const events: AgentSecurityEvent[] = [];
  const disconnected: string[] = [];
  const tokens = new FixedTokens({
    admin: principal([{ gym: 'gym-a', role: 'gym_admin' }], { subject: 'alice' }),
    coach: principal([{ gym: 'gym-a', role: 'coach' }], { subject: 'carl' }),
    readonly: principal([{ gym: 'gym-a', role: 'gym_admin' }], { subject: 'rita', scopes: ['agents:read'] }),
    'admin-b': principal([{ gym: 'gym-b', role: 'gym_admin' }], { subject: 'bob' }),
  });
  return {
    events,
    disconnected,
    overrides: {
      verifier: tokens,
      enrollmentInfo: () => INFO,
      onSecurityEvent: (event) => events.push(event),
      disconnectAgent: async (id) => void disconnected.push(id),
    },
  };
}

async function call(api: RunningApi, method: string, path: string, token: string | undefined, body?: unknown): Promise<Response> {
  const headers: Record<string, string> = {};
  if (token !== undefined) headers['Authorization'] = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  return fetch(`${api.url}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(5_000) });
}

async function create(api: RunningApi, id = 'box-1', gym = 'gym-a'): Promise<EnrollmentIssued> {
  const response = await call(api, 'POST', '/api/v1/agents', 'admin', { id, gym });
  assert.equal(response.status, 201, await response.clone().text());
  return (await response.json()) as EnrollmentIssued;
}

async function enroll(api: RunningApi, code: string): Promise<Response> {
  return call(api, 'POST', '/api/v1/enroll', undefined, { code });
}

function logText(api: RunningApi): string {
  return api.logs.map((line) => JSON.stringify(line)).join('\n');
}

test('a gym admin creates an agent and gets a one-time code valid 15 minutes; the change is logged and reported with who made it', async () => {
  const f = fixture();
  await withApi(f.overrides, async (api) => {
    api.registry.now = () => NOW;
    const response = await call(api, 'POST', '/api/v1/agents', 'admin', { id: 'box-1', gym: 'gym-a' });
    assert.equal(response.status, 201);
    assert.equal(response.headers.get('location'), '/api/v1/agents/box-1');
    assert.equal(response.headers.get('cache-control'), 'no-store');
    const body: unknown = await response.json();
    assert.ok(TypeCompiler.Compile(EnrollmentIssued).Check(body), JSON.stringify(body));
    const issued = body as EnrollmentIssued;
    assert.match(issued.code, /^[A-HJ-NP-Z2-9]{5}-[A-HJ-NP-Z2-9]{5}$/);
    assert.equal(issued.expiresAt, new Date(NOW + 15 * 60_000).toISOString());
    assert.equal((await api.registry.get('box-1'))?.gym, 'gym-a');
    assert.deepEqual(f.events, [{ type: 'agent.created', gym: 'gym-a', actor: 'alice', detail: { agent: 'box-1', codeExpiresAt: NOW + 15 * 60_000 } }]);
    assert.ok(api.logs.some((l) => l.msg === 'agent created for enrollment' && l['actor'] === 'alice'));
    assert.ok(!logText(api).includes(issued.code), 'the code is not logged');
    const document = (await (await api.get('/api/v1/openapi.json')).json()) as { paths: Record<string, Record<string, { responses: Record<string, unknown> }>> };
    assert.ok(document.paths['/api/v1/agents']?.['post']?.responses['201'], 'documented as 201');
  });
});

test('creating refuses a taken id (409), a malformed id (400), another gym (403), a coach and a token without agents:write (403)', async () => {
  const f = fixture();
  await withApi(f.overrides, async (api) => {
    await create(api, 'box-1');
    const taken = await call(api, 'POST', '/api/v1/agents', 'admin', { id: 'box-1', gym: 'gym-a' });
    assert.equal(taken.status, 409);
    assert.equal((await readProblem(taken)).param, 'id');
    const takenElsewhere = await call(api, 'POST', '/api/v1/agents', 'admin-b', { id: 'box-1', gym: 'gym-b' });
    assert.equal(takenElsewhere.status, 409, 'agent ids are unique across gyms: they are MQTT usernames');
    const malformed = await call(api, 'POST', '/api/v1/agents', 'admin', { id: '../x', gym: 'gym-a' });
    assert.equal(malformed.status, 400);
    assert.equal((await readProblem(malformed)).param, 'id');
    const unknownField = await call(api, 'POST', '/api/v1/agents', 'admin', { id: 'box-2', gym: 'gym-a', secret: 'x' });
    assert.equal(unknownField.status, 400);
    const noGym = await call(api, 'POST', '/api/v1/agents', 'admin', { id: 'box-2' });
    assert.equal(noGym.status, 400);
    assert.equal((await readProblem(noGym)).param, 'gym');
    const otherGym = await call(api, 'POST', '/api/v1/agents', 'admin', { id: 'box-2', gym: 'gym-b' });
    assert.equal(otherGym.status, 403);
    assert.equal((await call(api, 'POST', '/api/v1/agents', 'coach', { id: 'box-2', gym: 'gym-a' })).status, 403);
    assert.equal((await call(api, 'POST', '/api/v1/agents', 'readonly', { id: 'box-2', gym: 'gym-a' })).status, 403);
    assert.equal((await call(api, 'POST', '/api/v1/agents', undefined, { id: 'box-2', gym: 'gym-a' })).status, 401);
    assert.equal(await api.registry.get('box-2'), undefined);
  });
});

test('/enroll needs no token and exchanges a code once for the secret and how to reach the hub', async () => {
  const f = fixture();
  await withApi(f.overrides, async (api) => {
    const { code } = await create(api);
    const response = await enroll(api, code.toLowerCase());
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('cache-control'), 'no-store');
    const body: unknown = await response.json();
    assert.ok(TypeCompiler.Compile(Enrolled).Check(body));
    const enrolled = body as Enrolled;
    assert.deepEqual({ ...enrolled, secret: undefined }, { agentId: 'box-1', gym: 'gym-a', ...INFO, secret: undefined });
    assert.ok(await api.registry.authenticate('box-1', enrolled.secret));
    assert.deepEqual(f.events.at(-1), { type: 'agent.enrolled', gym: 'gym-a', actor: 'agent:box-1', detail: { agent: 'box-1', remote: '127.0.0.1' } });
    const text = logText(api);
    assert.ok(!text.includes(code) && !text.includes(enrolled.secret), 'neither code nor secret is logged');
  });
});

test('a reused, expired, unknown or malformed code gets one and the same refusal, logged without the code', async () => {
  const f = fixture();
  await withApi(f.overrides, async (api) => {
    api.registry.now = () => NOW;
    const used = await create(api, 'box-1');
    assert.equal((await enroll(api, used.code)).status, 200);
    const expired = await create(api, 'box-2');
    api.registry.now = () => NOW - 15 * 60_000; // box-3's code was issued 15 minutes before the API's now
    const stale = await create(api, 'box-3');
    const details = new Set<string>();
    for (const code of [used.code, stale.code, 'ABCDE-FGHJK', 'not a code', '0000000000']) {
      const response = await enroll(api, code);
      assert.equal(response.status, 400, code);
      const problem = await readProblem(response);
      assert.equal(problem.param, 'code');
      details.add(problem.detail);
    }
    assert.equal(details.size, 1, [...details].join(' | '));
    assert.equal((await api.registry.get('box-3'))?.enrolled, false);
    assert.equal(f.events.filter((e) => e.type === 'agent.enrollment_failed').length, 5);
    const text = logText(api);
    for (const code of [used.code, stale.code, expired.code]) assert.ok(!text.includes(code));
    assert.equal(api.logs.filter((l) => l.msg === 'enrollment refused: unknown, expired or used code').length, 5);
    // Bad bodies are plain validation errors.
    assert.equal((await call(api, 'POST', '/api/v1/enroll', undefined, {})).status, 400);
    assert.equal((await call(api, 'POST', '/api/v1/enroll', undefined, { code: 'x'.repeat(65) })).status, 400);
    assert.ok((await enroll(api, expired.code)).ok, 'the unexpired code still works');
  });
});

test('/enroll answers 503 when the hub was not given what agents need, and spends no code', async () => {
  const f = fixture();
  await withApi({ ...f.overrides, enrollmentInfo: undefined }, async (api) => {
    const { code } = await create(api);
    const response = await enroll(api, code);
    assert.equal(response.status, 503);
    assert.equal((await readProblem(response)).title, 'Service unavailable');
    assert.equal((await api.registry.get('box-1'))?.enrolled, false);
  });
});

test('disable disconnects and refuses the agent, enable accepts it again; both logged with the actor', async () => {
  const f = fixture();
  await withApi(f.overrides, async (api) => {
    const { code } = await create(api);
    const { secret } = (await (await enroll(api, code)).json()) as Enrolled;
    const disabled = await call(api, 'POST', '/api/v1/agents/box-1/disable', 'admin');
    assert.equal(disabled.status, 200);
    assert.deepEqual(await disabled.json(), { id: 'box-1', gym: 'gym-a', disabled: true });
    assert.deepEqual(f.disconnected, ['box-1']);
    assert.equal(await api.registry.authenticate('box-1', secret), undefined);
    const enabled = await call(api, 'POST', '/api/v1/agents/box-1/enable', 'admin');
    assert.deepEqual(await enabled.json(), { id: 'box-1', gym: 'gym-a', disabled: false });
    assert.ok(await api.registry.authenticate('box-1', secret));
    assert.deepEqual(
      f.events.slice(-2).map((e) => [e.type, e.actor, e.gym]),
      [
        ['agent.disabled', 'alice', 'gym-a'],
        ['agent.enabled', 'alice', 'gym-a'],
      ],
    );
    assert.ok(!logText(api).includes(secret));
  });
});

test('rotate revokes the secret at once, disconnects the agent and returns a code that enrolls it again', async () => {
  const f = fixture();
  await withApi(f.overrides, async (api) => {
    const first = await create(api);
    const { secret } = (await (await enroll(api, first.code)).json()) as Enrolled;
    const rotated = await call(api, 'POST', '/api/v1/agents/box-1/rotate', 'admin');
    assert.equal(rotated.status, 200);
    const issued = (await rotated.json()) as EnrollmentIssued;
    assert.notEqual(issued.code, first.code);
    assert.deepEqual(f.disconnected, ['box-1']);
    assert.equal(await api.registry.authenticate('box-1', secret), undefined);
    const again = (await (await enroll(api, issued.code)).json()) as Enrolled;
    assert.ok(await api.registry.authenticate('box-1', again.secret));
    assert.equal(f.events.find((e) => e.type === 'agent.rotated')?.actor, 'alice');
  });
});

test('a new code revokes the earlier unused one but keeps the current secret', async () => {
  const f = fixture();
  await withApi(f.overrides, async (api) => {
    const first = await create(api);
    const response = await call(api, 'POST', '/api/v1/agents/box-1/enrollment', 'admin');
    assert.equal(response.status, 200);
    const second = (await response.json()) as EnrollmentIssued;
    assert.equal((await enroll(api, first.code)).status, 400);
    assert.equal((await enroll(api, second.code)).status, 200);
    assert.deepEqual(f.disconnected, []);
  });
});

test('remove deletes the agent and disconnects it; unknown and malformed agents are 404 and 400', async () => {
  const f = fixture();
  await withApi(f.overrides, async (api) => {
    await create(api);
    const removed = await call(api, 'DELETE', '/api/v1/agents/box-1', 'admin');
    assert.deepEqual(await removed.json(), { id: 'box-1', removed: true });
    assert.deepEqual(f.disconnected, ['box-1']);
    assert.equal(await api.registry.get('box-1'), undefined);
    assert.equal(f.events.at(-1)?.type, 'agent.removed');
    for (const [method, path] of [
      ['DELETE', '/api/v1/agents/box-1'],
      ['POST', '/api/v1/agents/nobody/disable'],
      ['POST', '/api/v1/agents/nobody/enable'],
      ['POST', '/api/v1/agents/nobody/rotate'],
      ['POST', '/api/v1/agents/nobody/enrollment'],
    ] as const) {
      assert.equal((await call(api, method, path, 'admin')).status, 404, `${method} ${path}`);
    }
    assert.equal((await call(api, 'POST', '/api/v1/agents/bad%20id/disable', 'admin')).status, 400);
  });
});

test('a failing disconnect or event sink does not undo or fail a revocation', async () => {
  const f = fixture();
  const overrides: Partial<ApiDeps> = {
    ...f.overrides,
    disconnectAgent: async () => {
      throw new Error('broker down');
    },
    onSecurityEvent: () => {
      throw new Error('audit down');
    },
  };
  await withApi(overrides, async (api) => {
    await api.registry.create('box-1', 'gym-a');
    const response = await call(api, 'POST', '/api/v1/agents/box-1/disable', 'admin');
    assert.equal(response.status, 200);
    assert.equal((await api.registry.get('box-1'))?.disabled, true);
    assert.ok(api.logs.some((l) => l.msg === 'could not disconnect the agent; its credentials are revoked'));
  });
});

test("an external broker's accounts follow: the enrolled secret, disable, enable, and removal on rotate and delete", async () => {
  const f = fixture();
  const calls: string[] = [];
  const secrets: string[] = [];
  const accounts: BrokerAccounts = {
    setSecret: async (agent, secret) => {
      calls.push(`setSecret ${agent}`);
      secrets.push(secret);
    },
    disable: async (agent) => void calls.push(`disable ${agent}`),
    enable: async (agent) => void calls.push(`enable ${agent}`),
    remove: async (agent) => void calls.push(`remove ${agent}`),
  };
  await withApi({ ...f.overrides, brokerAccounts: accounts }, async (api) => {
    const { code } = await create(api);
    const { secret } = (await (await enroll(api, code)).json()) as Enrolled;
    assert.deepEqual(secrets, [secret], 'the broker gets the very secret the agent got');
    await call(api, 'POST', '/api/v1/agents/box-1/disable', 'admin');
    await call(api, 'POST', '/api/v1/agents/box-1/enable', 'admin');
    await call(api, 'POST', '/api/v1/agents/box-1/rotate', 'admin');
    await call(api, 'DELETE', '/api/v1/agents/box-1', 'admin');
    assert.deepEqual(calls, ['setSecret box-1', 'disable box-1', 'enable box-1', 'remove box-1', 'remove box-1']);
    assert.deepEqual(f.disconnected, ['box-1', 'box-1', 'box-1']);
  });
});

test('when the broker refuses the enrolled credentials, /enroll answers 503 and hands out no secret', async () => {
  const f = fixture();
  const failing: BrokerAccounts = {
    setSecret: async () => {
      throw new Error('broker down');
    },
    disable: async () => {},
    enable: async () => {},
    remove: async () => {},
  };
  await withApi({ ...f.overrides, brokerAccounts: failing }, async (api) => {
    const { code } = await create(api);
    const response = await enroll(api, code);
    assert.equal(response.status, 503);
    assert.match((await readProblem(response)).detail, /ask for a new enrollment code/);
    assert.equal(f.events.at(-1)?.type, 'agent.enrollment_failed');
  });
});

test('wrong enrollment codes from one address are answered 429 with Retry-After past the limit, before the code is checked', async () => {
  const limits = Value.Default(RateLimitsConfig, { address: { maxFailures: 3 } }) as RateLimitsConfig;
  const throttle = await SignInThrottle.open({ limits });
  const f = fixture();
  try {
    await withApi({ ...f.overrides, throttle }, async (api) => {
      const { code } = await create(api);
      // maxFailures wrong codes are allowed; the next one goes over the limit.
      for (let i = 0; i < 4; i++) assert.equal((await enroll(api, 'AAAAA-BBBBB')).status, 400);
      const refused = await enroll(api, code);
      assert.equal(refused.status, 429, 'even the right code waits: the address is over its limit');
      assert.ok(Number(refused.headers.get('retry-after')) >= 1);
      assert.equal((await readProblem(refused)).type, '/api/v1/docs#problem-too_many_requests');
      assert.equal((await api.registry.get('box-1'))?.enrolled, false, 'the code was not spent');
    });
  } finally {
    await throttle.close();
  }
});
