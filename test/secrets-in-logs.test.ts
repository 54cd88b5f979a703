/**
 * Secrets never appear in logs: a full run with real processes at log level debug (the hub serving MQTTS with its
 * development CA, `pulsebridge-hub admin create`, a mobile sign-in with password and TOTP, refresh, revocation,
 * client credentials, an agent created through the API, enrolled, running, rotated and enrolled again, and a few
 * wrong attempts), then every secret and token the run used is looked for in every log it wrote.
 *
 * The API is plain HTTP here: HubRunner's URLs and its readiness poll are http://, and Node 20's fetch cannot be
 * given a CA without the undici package or NODE_EXTRA_CA_CERTS at process start. MQTT goes over TLS.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as OTPAuth from 'otpauth';
import { until } from '@pulsebridge/runtime';
import { SqliteIdentityStore } from '../hub/src/identity/sqlite-identity-store.ts';
import { IDENTITY_DATABASE_FILE } from '../hub/src/identity/index.ts';
import { TOTP_SETTINGS, beginTotpEnrolment, confirmTotpEnrolment } from '../hub/src/identity/second-factor.ts';
import { Browser, MOBILE, MOBILE_REDIRECT, signInForCode, token } from '../hub/test/oidc/harness.ts';
import { TEST_SERVICE_ID } from '../hub/test/service-token.ts';
import { HubRunner, Proc, cleanupStack, freePort, showLogsOnFailure, tempDir } from './harness.ts';
import { SecretLedger, logFilesUnder } from './secret-ledger.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const run = promisify(execFile);
// signInForCode signs in as this address.
const EMAIL = 'ada@example.com';
const AGENT = 'box-secrets';
const GYM = 'gym-secrets';

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

async function cli(entry: string, args: string[]): Promise<CliResult> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', entry, ...args], { cwd: ROOT, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** Keeps a CLI's output as a log file of the run, so the scan reads it like any other log. */
function keepOutput(dir: string, name: string, result: CliResult): CliResult {
  writeFileSync(join(dir, `${name}.log`), `${result.stdout}\n${result.stderr}`);
  return result;
}

test('no password, client secret, token, code or agent secret of a full run appears in any of its logs', { timeout: 240_000 }, async (t) => {
  const { dir, cleanup } = tempDir('secrets-in-logs');
  const onCleanup = cleanupStack(t);
  onCleanup(cleanup);
  const secrets = new SecretLedger();

  const mqttPort = await freePort();
  const serviceSecret = `svc-${OTPAuth.Secret.fromHex(randomHex(24)).base32}`;
  secrets.add('service client secret', serviceSecret);
  const hub = new HubRunner({
    dir: join(dir, 'hub'),
    serviceSecret,
    config: {
      mqtt: { host: '127.0.0.1', port: mqttPort, tls: { dev: true } },
      log: { level: 'debug', pretty: false },
    },
  });
  hub.mqttPort = mqttPort;
  await hub.start();
  onCleanup(() => hub.stop());
  const box = join(dir, 'box');
  let agent: Proc | undefined;

  await showLogsOnFailure([hub], async () => {
    // The first platform admin, with the password from a file.
    const password = `pw-${randomHex(16)} with spaces`;
    secrets.add('admin password', password);
    const passwordFile = join(dir, 'admin-password');
    writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
    const created = keepOutput(
      dir,
      'admin-create',
      await cli('hub/src/main.ts', ['admin', 'create', '--email', EMAIL, '--password-file', passwordFile, '--config', hub.configFile]),
    );
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /can sign in now/);

    // No enrolment pages on the hub yet: the factor is enrolled through the identity module on the hub's own database.
    const store = new SqliteIdentityStore({ path: join(hub.dir, 'data', IDENTITY_DATABASE_FILE) });
    await store.start();
    let totp: OTPAuth.TOTP;
    let recoveryCodes: string[];
    try {
      const user = await store.findUserByEmail(EMAIL);
      assert.ok(user);
      const enrolment = await beginTotpEnrolment(store, user, 'Pulsebridge');
      secrets.add('TOTP secret', enrolment.secret);
      secrets.add('TOTP otpauth URI', enrolment.otpauthUri);
      totp = new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(enrolment.secret), ...TOTP_SETTINGS });
      const first = totp.generate({ timestamp: Date.now() });
      secrets.add('TOTP enrolment code', first);
      const recovery = await confirmTotpEnrolment(store, user.id, first, Date.now());
      assert.ok(recovery, 'the enrolment code is accepted');
      recovery.forEach((code, i) => secrets.add(`recovery code ${i}`, code));
      recoveryCodes = recovery;
    } finally {
      await store.stop();
    }

    // The service client's token, and one refused for a wrong secret.
    const serviceAccess = await hub.token();
    secrets.addJwt('service access token', serviceAccess);
    const wrongSecret = `wrong-${randomHex(12)}`;
    secrets.add('wrong client secret', wrongSecret);
    const refusedService = await token(hub.httpUrl, { grant_type: 'client_credentials' }, { id: TEST_SERVICE_ID, secret: wrongSecret });
    assert.equal(refusedService.status, 401);

    // The mobile app's sign-in: a wrong password, a wrong TOTP code, then the right ones.
    const wrongPassword = `not-${password}`;
    secrets.add('wrong password', wrongPassword);
    await assert.rejects(signInForCode({ base: hub.httpUrl }, new Browser(hub.httpUrl), { password: wrongPassword }), /(unexpected page|refused) \(401\)/);
    const browser = new Browser(hub.httpUrl);
    const wrongTotp = String((Number(totp.generate({ timestamp: Date.now() + 30_000 })) + 1) % 1_000_000).padStart(6, '0');
    secrets.add('wrong TOTP code', wrongTotp);
    await assert.rejects(signInForCode({ base: hub.httpUrl }, browser, { password, secondFactorCode: wrongTotp }), /refused \(401\): That code is not right/);
    // The enrolment used this step's code; the next step's is inside the accepted window and not yet used.
    const signInTotp = totp.generate({ timestamp: Date.now() + 30_000 });
    secrets.add('TOTP sign-in code', signInTotp);
    const signedIn = new Browser(hub.httpUrl);
    const { code, verifier } = await signInForCode({ base: hub.httpUrl }, signedIn, { password, secondFactorCode: signInTotp, noConsent: true });
    secrets.add('authorization code', code);
    secrets.add('PKCE verifier', verifier);
    for (const [name, value] of cookiesOf(signedIn)) secrets.add(`cookie ${name}`, value);
    const tokens = await token(hub.httpUrl, { grant_type: 'authorization_code', client_id: MOBILE, code, code_verifier: verifier, redirect_uri: MOBILE_REDIRECT });
    assert.equal(tokens.status, 200, JSON.stringify(tokens.body));
    secrets.addJwt('access token', String(tokens.body.access_token));
    secrets.addJwt('id token', String(tokens.body.id_token));
    secrets.add('refresh token', String(tokens.body.refresh_token));

    // A second sign-in with a recovery code instead of the phone.
    const withRecovery = await signInForCode({ base: hub.httpUrl }, new Browser(hub.httpUrl), { password, secondFactorCode: recoveryCodes[0]!, noConsent: true });
    secrets.add('second authorization code', withRecovery.code);
    secrets.add('second PKCE verifier', withRecovery.verifier);
    const redeem = { grant_type: 'authorization_code', client_id: MOBILE, code: withRecovery.code, code_verifier: withRecovery.verifier, redirect_uri: MOBILE_REDIRECT };
    const second = await token(hub.httpUrl, redeem);
    assert.equal(second.status, 200, JSON.stringify(second.body));
    secrets.addJwt('second access token', String(second.body.access_token));
    secrets.addJwt('second id token', String(second.body.id_token));
    secrets.add('second refresh token', String(second.body.refresh_token));
    // A code used twice is refused, and oidc-provider revokes what it gave for it.
    assert.equal((await token(hub.httpUrl, redeem)).status, 400, 'a code is used once');

    const me = await fetch(`${hub.httpUrl}/api/v1/agents`, { headers: { authorization: `Bearer ${String(tokens.body.access_token)}` } });
    assert.equal(me.status, 200, await me.clone().text());

    const refreshed = await token(hub.httpUrl, { grant_type: 'refresh_token', client_id: MOBILE, refresh_token: String(tokens.body.refresh_token) });
    assert.equal(refreshed.status, 200, JSON.stringify(refreshed.body));
    secrets.addJwt('refreshed access token', String(refreshed.body.access_token));
    secrets.add('rotated refresh token', String(refreshed.body.refresh_token));
    if (refreshed.body.id_token !== undefined) secrets.addJwt('refreshed id token', String(refreshed.body.id_token));
    const revoked = await fetch(`${hub.httpUrl}/oidc/token/revocation`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: MOBILE, token: String(refreshed.body.refresh_token), token_type_hint: 'refresh_token' }).toString(),
    });
    assert.equal(revoked.status, 200);
    const afterRevocation = await token(hub.httpUrl, { grant_type: 'refresh_token', client_id: MOBILE, refresh_token: String(refreshed.body.refresh_token) });
    assert.equal(afterRevocation.status, 400, 'a revoked refresh token is refused');

    // Wrong bearer tokens: garbage, and the real token with its signature tampered.
    const garbage = `garbage-${randomHex(20)}`;
    const access = String(tokens.body.access_token);
    const tampered = `${access.slice(0, access.lastIndexOf('.') + 1)}${randomHex(43)}`;
    secrets.add('garbage bearer token', garbage);
    secrets.addJwt('tampered access token', tampered);
    for (const bearer of [garbage, tampered]) {
      const refused = await fetch(`${hub.httpUrl}/api/v1/agents`, { headers: { authorization: `Bearer ${bearer}` } });
      assert.equal(refused.status, 401);
    }

    // An agent created through the API, enrolled, running; a wrong code first.
    const createdAgent = await fetch(`${hub.httpUrl}/api/v1/agents`, {
      method: 'POST',
      headers: { authorization: `Bearer ${serviceAccess}`, 'content-type': 'application/json' },
      body: JSON.stringify({ id: AGENT, gym: GYM }),
    });
    assert.equal(createdAgent.status, 201, await createdAgent.clone().text());
    const enrollmentCode = ((await createdAgent.json()) as { code: string }).code;
    secrets.add('enrollment code', enrollmentCode);
    const wrongCode = 'ZZZZZ-ZZZZZ';
    secrets.add('wrong enrollment code', wrongCode);
    const refusedEnroll = keepOutput(
      dir,
      'enroll-wrong',
      await cli('edge-agent/src/main.ts', ['enroll', '--hub', hub.httpUrl, '--code', wrongCode, '--dir', join(dir, 'nowhere')]),
    );
    assert.equal(refusedEnroll.code, 1, refusedEnroll.stderr);
    const enrolled = keepOutput(dir, 'enroll', await cli('edge-agent/src/main.ts', ['enroll', '--hub', hub.httpUrl, '--code', enrollmentCode, '--dir', box]));
    assert.equal(enrolled.code, 0, enrolled.stderr);
    const secretFile = join(box, `${AGENT}.secret`);
    secrets.add('agent secret', readFileSync(secretFile, 'utf8').trim());
    assert.match(readFileSync(join(box, 'agent.yaml'), 'utf8'), /mqtts:\/\//, 'the agent talks MQTT over TLS');

    const healthPort = await freePort();
    const startAgent = (n: number): Proc => {
      const started = new Proc(['edge-agent/src/main.ts', '--config', join(box, 'agent.yaml')], join(dir, `agent-${n}.log`), {
        PB_AGENT_AGENT__DATA_DIR: join(box, 'data'),
        PB_AGENT_SOURCES__SIMULATOR__ENABLED: 'true',
        PB_AGENT_HEALTH__HOST: '127.0.0.1',
        PB_AGENT_HEALTH__PORT: String(healthPort),
        PB_AGENT_LOG__PRETTY: 'false',
        PB_AGENT_LOG__LEVEL: 'debug',
      });
      onCleanup(() => started.stop());
      return started;
    };
    agent = startAgent(1);
    await showLogsOnFailure([agent], async () => {
      await until('readings of the enrolled agent at the hub', async () => (await hub.storedCount(AGENT)) > 0, 60_000, 500);
    });

    // Rotation: the old secret stops working at once, a new code enrolls the box again.
    const rotated = await fetch(`${hub.httpUrl}/api/v1/agents/${AGENT}/rotate`, { method: 'POST', headers: { authorization: `Bearer ${serviceAccess}` } });
    assert.equal(rotated.status, 200, await rotated.clone().text());
    const rotatedCode = ((await rotated.json()) as { code: string }).code;
    secrets.add('rotated enrollment code', rotatedCode);
    await agent.stop();
    const before = await hub.storedCount(AGENT);
    const reEnrolled = keepOutput(dir, 'enroll-rotated', await cli('edge-agent/src/main.ts', ['enroll', '--hub', hub.httpUrl, '--code', rotatedCode, '--dir', box, '--force']));
    assert.equal(reEnrolled.code, 0, reEnrolled.stderr);
    const newSecret = readFileSync(secretFile, 'utf8').trim();
    secrets.add('rotated agent secret', newSecret);
    agent = startAgent(2);
    await showLogsOnFailure([agent], async () => {
      await until('readings of the re-enrolled agent at the hub', async () => (await hub.storedCount(AGENT)) > before, 60_000, 500);
    });

    // The audit log, as an admin reads it through the API, is a log too.
    const audit = await fetch(`${hub.httpUrl}/api/v1/audit?limit=500`, { headers: { authorization: `Bearer ${serviceAccess}` } });
    assert.equal(audit.status, 200, await audit.clone().text());
    writeFileSync(join(dir, 'audit-api.log'), await audit.text());

    await agent.stop();
    await hub.stop();
  });

  // Everything the run logged: the hub's and the agent's logs, the CLIs' output and the audit log. Not scanned: the
  // API's responses and the files the enroll CLI wrote (they carry secrets to their owner by design), and the
  // admin's password file.
  const files = logFilesUnder(dir).filter((file) => !file.startsWith(box));
  const texts = new Map(files.map((file) => [relative(dir, file), readFileSync(file, 'utf8')]));
  assert.deepEqual(
    [...texts.keys()].sort(),
    ['admin-create.log', 'agent-1.log', 'agent-2.log', 'audit-api.log', 'enroll-rotated.log', 'enroll-wrong.log', 'enroll.log', 'hub/hub-1.log'],
    'every log of the run is scanned',
  );

  // Logs that say nothing would pass the scan: each must show the events the run went through.
  const hubLog = texts.get('hub/hub-1.log')!;
  // The request log covers the API and the identity paths (/oidc, /interaction: their paths without the query).
  for (const event of [
    '"path":"/oidc/token"',
    '"path":"/interaction/:id/login"',
    'agent created for enrollment',
    'enrollment code redeemed',
    'agent connected',
    'enrollment refused',
    'access token refused',
    'agent disconnected: its credentials were revoked',
    '"url":"/api/v1/enroll"',
    '"level":20',
  ]) {
    assert.ok(hubLog.includes(event), `the hub's log mentions ${event}`);
  }
  for (const event of [
    'platform_admin.created',
    'sign_in.succeeded',
    'sign_in.failed',
    'totp.enrolled',
    'totp.failed',
    'recovery_code.used',
    'grant.revoked',
    'agent.enrolled',
    'agent.enrollment_failed',
    'agent.rotated',
  ]) {
    assert.ok(texts.get('audit-api.log')!.includes(event), `the audit log has ${event}`);
  }
  assert.match(texts.get('agent-1.log')!, /"level":20/, "the agent's log is at debug");
  assert.match(texts.get('enroll.log')!, /Enrolled agent box-secrets/);
  assert.match(texts.get('enroll-wrong.log')!, /refused the code/);

  assert.ok(secrets.size >= 30, `the run used ${secrets.size} secrets`);
  assert.deepEqual(secrets.foundIn(texts), [], 'no secret appears in any log');
});

function randomHex(length: number): string {
  return Array.from({ length }, () => Math.floor(Math.random() * 16).toString(16)).join('');
}

/** The cookies a Browser holds (its map is private to keep the flows honest; the ledger only reads it). */
function cookiesOf(browser: Browser): Map<string, string> {
  return (browser as unknown as { cookies: Map<string, string> }).cookies;
}
