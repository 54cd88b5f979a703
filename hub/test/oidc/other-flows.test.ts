import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import { rotateSigningKey } from '../../src/oidc/keys.ts';
import { BOARD, Browser, MOBILE, MOBILE_REDIRECT, PASSWORD, SERVICE, SERVICE_SECRET, signInForCode, startHarness, token, type Harness } from './harness.ts';

let harness: Harness;
before(async () => {
  harness = await startHarness();
});
after(() => harness.close());

const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

async function jwks(): Promise<JSONWebKeySet> {
  return (await (await fetch(`${harness.base}/oidc/jwks`)).json()) as JSONWebKeySet;
}

test('device flow: the screen polls (authorization_pending), a person enters the code and signs in, the screen gets tokens', async () => {
  const started = await fetch(`${harness.base}/oidc/device/auth`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ client_id: BOARD, scope: 'openid profile readings:read' }).toString(),
  });
  assert.equal(started.status, 200);
  const device = (await started.json()) as { device_code: string; user_code: string; verification_uri: string; verification_uri_complete: string; interval: number };
  assert.equal(device.verification_uri, `${harness.base}/oidc/device`);

  const pending = await token(harness.base, { grant_type: DEVICE_GRANT, client_id: BOARD, device_code: device.device_code });
  assert.equal(pending.status, 400);
  assert.equal(pending.body.error, 'authorization_pending');

  const browser = new Browser(harness.base);
  const entry = await browser.request(device.verification_uri);
  assert.equal(entry.status, 200);
  const entryPage = await entry.text();
  assert.match(entryPage, /<label for="field-user_code">Code<\/label>/);
  assert.doesNotMatch(entryPage, /googleapis|<script/);
  const action = /<form method="post" action="([^"]+)"/.exec(entryPage)?.[1];
  const xsrf = /name="xsrf" value="([^"]+)"/.exec(entryPage)?.[1];
  assert.ok(action && xsrf);
  const wrong = await browser.request(action, { form: { xsrf, user_code: 'BCDF-GHJK' } });
  const wrongPage = await wrong.text();
  assert.match(wrongPage, /That code is not right/);
  const retryXsrf = /name="xsrf" value="([^"]+)"/.exec(wrongPage)?.[1];
  assert.ok(retryXsrf);

  const entered = await browser.request(action, { form: { xsrf: retryXsrf, user_code: device.user_code } });
  const confirmPage = await entered.text();
  assert.match(confirmPage, /Pulsebridge gym board/);
  const confirmAction = /id="op.deviceConfirmForm" method="post" action="([^"]+)"/.exec(confirmPage)?.[1];
  const confirmXsrf = /name="xsrf" value="([^"]+)"/.exec(confirmPage)?.[1];
  assert.ok(confirmAction && confirmXsrf);
  let step = await browser.follow(confirmAction, 'never', { form: { xsrf: confirmXsrf, user_code: device.user_code, confirm: 'yes' } });
  assert.ok(step instanceof Response);
  const signIn = await step.text();
  const login = /action="(\/interaction\/[^"]+\/login)"/.exec(signIn)?.[1];
  assert.ok(login, signIn);
  step = await browser.follow(login, 'never', { form: { email: 'ada@example.com', password: PASSWORD } });
  assert.ok(step instanceof Response);
  // Ada, an athlete without TOTP, is offered two-step sign-in and skips it.
  const skip = /action="(\/interaction\/[^"]+\/enrol\/skip)"/.exec(await step.text())?.[1];
  assert.ok(skip);
  step = await browser.follow(skip, 'never', { form: {} });
  assert.ok(step instanceof Response);
  assert.match(await step.text(), /The screen is signed in/);

  const tokens = await token(harness.base, { grant_type: DEVICE_GRANT, client_id: BOARD, device_code: device.device_code });
  assert.equal(tokens.status, 200, JSON.stringify(tokens.body));
  assert.ok(tokens.body.refresh_token);
  const { payload } = await jwtVerify(String(tokens.body.access_token), createLocalJWKSet(await jwks()), { audience: `${harness.base}/api`, typ: 'at+jwt' });
  assert.equal(payload.sub, harness.user.id);
  assert.equal(payload.scope, 'readings:read');
});

test('client credentials: a service with its secret gets an API token carrying its configured gym roles; a wrong secret is refused', async () => {
  const issued = await token(harness.base, { grant_type: 'client_credentials', scope: 'readings:read' }, { id: SERVICE, secret: SERVICE_SECRET });
  assert.equal(issued.status, 200, JSON.stringify(issued.body));
  const { payload } = await jwtVerify(String(issued.body.access_token), createLocalJWKSet(await jwks()), {
    issuer: `${harness.base}/oidc`,
    audience: `${harness.base}/api`,
    typ: 'at+jwt',
  });
  assert.equal(payload.sub, SERVICE);
  assert.equal(payload.scope, 'readings:read');
  assert.deepEqual(payload.pb_roles, [{ gym: 'gym-a', role: 'coach' }]);
  const tooMuch = await token(harness.base, { grant_type: 'client_credentials', scope: 'agents:write' }, { id: SERVICE, secret: SERVICE_SECRET });
  assert.equal(tooMuch.status, 400);
  const wrong = await token(harness.base, { grant_type: 'client_credentials', scope: 'readings:read' }, { id: SERVICE, secret: 'not-the-secret' });
  assert.equal(wrong.status, 401);
  assert.equal(wrong.body.error, 'invalid_client');
});

test('a restart between sign-in and refresh: a new provider on the same store file refreshes the session', async () => {
  const { code, verifier } = await signInForCode(harness, new Browser(harness.base), { noConsent: true });
  const tokens = await token(harness.base, { grant_type: 'authorization_code', client_id: MOBILE, code, code_verifier: verifier, redirect_uri: MOBILE_REDIRECT });
  assert.equal(tokens.status, 200);
  const before = harness.identity.signingKid;
  await harness.restart();
  assert.equal(harness.identity.signingKid, before, 'the signing key comes from the store');
  const refreshed = await token(harness.base, { grant_type: 'refresh_token', client_id: MOBILE, refresh_token: String(tokens.body.refresh_token) });
  assert.equal(refreshed.status, 200, JSON.stringify(refreshed.body));
  await jwtVerify(String(tokens.body.access_token), createLocalJWKSet(await jwks()), { audience: `${harness.base}/api` });
});

test('signing key rotation: after a restart new tokens carry the new kid, and a token signed before still verifies against the JWKS', async () => {
  const old = await token(harness.base, { grant_type: 'client_credentials', scope: 'readings:read' }, { id: SERVICE, secret: SERVICE_SECRET });
  const oldKid = decodeProtectedHeader(String(old.body.access_token)).kid;
  assert.equal(oldKid, harness.identity.signingKid);
  const rotated = await rotateSigningKey(harness.store);
  assert.ok(
    (await jwks()).keys.some((key) => key.kid === rotated.kid),
    'the JWKS is read from the store: replicas not restarted yet publish the new key already',
  );
  await harness.restart();
  assert.equal(harness.identity.signingKid, rotated.kid);
  const fresh = await token(harness.base, { grant_type: 'client_credentials', scope: 'readings:read' }, { id: SERVICE, secret: SERVICE_SECRET });
  assert.equal(decodeProtectedHeader(String(fresh.body.access_token)).kid, rotated.kid);
  const keySet = await jwks();
  assert.deepEqual(keySet.keys.map((key) => key.kid).sort(), [oldKid, rotated.kid].sort());
  assert.ok(
    keySet.keys.every((key) => key.d === undefined && key.p === undefined),
    'the JWKS holds public keys only',
  );
  await jwtVerify(String(old.body.access_token), createLocalJWKSet(keySet), { audience: `${harness.base}/api` });
  await jwtVerify(String(fresh.body.access_token), createLocalJWKSet(keySet), { audience: `${harness.base}/api` });
});

test('a retired key leaves the JWKS once every token it signed has expired', async () => {
  const before = (await jwks()).keys.length;
  assert.ok(before >= 2);
  const later = Date.now() + 2 * 3600_000;
  await harness.restart({ now: () => later });
  const keySet = await jwks();
  assert.deepEqual(
    keySet.keys.map((key) => key.kid),
    [harness.identity.signingKid],
  );
});
