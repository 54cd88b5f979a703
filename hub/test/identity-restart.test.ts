/**
 * Issue test 8: with the identity store on PostgreSQL, a user signs in through one hub, that hub stops, and a
 * new hub (another data folder: nothing shared but the database) refreshes the session and accepts the token
 * issued before. The same holds with the embedded SQLite store across a restart on the same folder.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import pg from 'pg';
import { pino } from 'pino';
import { Hub } from '../src/hub.ts';
import { loadHubConfig, type HubConfig } from '../src/config.ts';
import { createIdentityStore } from '../src/identity/index.ts';
import { hashPassword, PASSWORD_PARAMS } from '../src/identity/passwords.ts';
import { missingService } from '../../test/services.ts';
import { freePort } from './broker/mosquitto-harness.ts';
import { Browser, MOBILE, MOBILE_REDIRECT, PASSWORD, signInForCode, token } from './oidc/harness.ts';

const PG_URL = process.env.PG_URL;
const log = pino({ level: 'silent' });
const dir = mkdtempSync(join(tmpdir(), 'pb-identity-restart-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function config(dataDir: string, port: number, store: Record<string, unknown>): HubConfig {
  return loadHubConfig({
    // Ada may skip TOTP enrolment here: second factors have their own tests; this one is about the session.
    overrides: { identity: { issuer: `http://127.0.0.1:${port}`, store, secondFactor: { requiredForRoles: [] } } },
    env: { PB_HUB_HUB__DATA_DIR: dataDir, PB_HUB_HTTP__HOST: '127.0.0.1', PB_HUB_HTTP__PORT: String(port), PB_HUB_MQTT__HOST: '127.0.0.1', PB_HUB_MQTT__PORT: '0' },
  });
}

/** Ada, a coach of gym-a, made through the store port before the hub starts (as `admin create` would). */
async function seedUser(hubConfig: HubConfig): Promise<void> {
  const store = createIdentityStore(hubConfig.identity.store, { dataDir: hubConfig.hub.dataDir, env: {} });
  await store.start();
  try {
    const user = await store.createUser({ email: 'ada@example.com', displayName: 'Ada Coach' });
    await store.setPassword(user.id, { hash: await hashPassword(PASSWORD), paramsVersion: PASSWORD_PARAMS.version });
    await store.addMembership({ userId: user.id, gym: 'gym-a', role: 'coach' });
  } finally {
    await store.stop();
  }
}

/**
 * A GET on a new connection. fetch() would reuse a keep-alive socket to the stopped hub (same port) and fail with
 * "other side closed" on the first request; an app would retry, this test should not have to.
 */
function fresh(url: string, headers: Record<string, string>): Promise<{ status: number }> {
  return new Promise((resolve, reject) => {
    const request = httpGet(url, { headers, agent: false }, (response) => {
      response.resume();
      resolve({ status: response.statusCode ?? 0 });
    });
    request.on('error', reject);
  });
}

async function signInThenRestart(first: HubConfig, second: HubConfig): Promise<void> {
  await seedUser(first);
  const base = first.identity.issuer;
  let hub = new Hub(first, { log });
  await hub.start();
  let tokens: Record<string, unknown>;
  try {
    const { code, verifier } = await signInForCode({ base }, new Browser(base), { scope: 'openid offline_access agents:read' });
    const issued = await token(base, { grant_type: 'authorization_code', client_id: MOBILE, code, code_verifier: verifier, redirect_uri: MOBILE_REDIRECT });
    assert.equal(issued.status, 200, JSON.stringify(issued.body));
    tokens = issued.body;
  } finally {
    await hub.stop();
  }
  hub = new Hub(second, { log });
  await hub.start();
  try {
    const before = await fresh(`${base}/api/v1/agents`, { authorization: `Bearer ${String(tokens.access_token)}` });
    assert.equal(before.status, 200, 'the token issued before the restart is still accepted');
    const refreshed = await token(base, { grant_type: 'refresh_token', client_id: MOBILE, refresh_token: String(tokens.refresh_token) });
    assert.equal(refreshed.status, 200, JSON.stringify(refreshed.body));
    assert.notEqual(refreshed.body.refresh_token, tokens.refresh_token, 'the refresh token rotated');
    const after = await fresh(`${base}/api/v1/agents`, { authorization: `Bearer ${String(refreshed.body.access_token)}` });
    assert.equal(after.status, 200);
    const reused = await token(base, { grant_type: 'refresh_token', client_id: MOBILE, refresh_token: String(tokens.refresh_token) });
    assert.equal(reused.status, 400, 'the rotated refresh token is spent');
  } finally {
    await hub.stop();
  }
}

test(
  'PostgreSQL identity store: a session made on one hub is refreshed on another hub after the first stopped',
  { skip: missingService(PG_URL ? false : 'PG_URL not set (run through scripts/test-services.sh)') },
  async () => {
    const schema = `restart_${randomBytes(4).toString('hex')}`;
    const store = { kind: 'postgres', postgres: { url: PG_URL, schema } };
    const port = await freePort();
    try {
      await signInThenRestart(config(join(dir, 'pg-first'), port, store), config(join(dir, 'pg-second'), port, store));
    } finally {
      const admin = new pg.Pool({ connectionString: PG_URL, max: 1 });
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await admin.end();
    }
  },
);

test('SQLite identity store: a session survives a restart of the hub on the same data folder', async () => {
  const port = await freePort();
  const hubConfig = config(join(dir, 'sqlite'), port, { kind: 'sqlite' });
  await signInThenRestart(hubConfig, hubConfig);
});
