import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { Browser, MOBILE, MOBILE_REDIRECT, signInForCode, startHarness, token, type Harness } from './harness.ts';

let harness: Harness;
before(async () => {
  harness = await startHarness();
});
after(() => harness.close());

async function codeTokens(browser = new Browser(harness.base)) {
  const { code, verifier } = await signInForCode(harness, browser);
  const response = await token(harness.base, { grant_type: 'authorization_code', client_id: MOBILE, code, code_verifier: verifier, redirect_uri: MOBILE_REDIRECT });
  assert.equal(response.status, 200, JSON.stringify(response.body));
  return response.body as { access_token: string; refresh_token: string; id_token: string; scope: string };
}

test('authorization code + PKCE: sign-in form, code at the custom scheme, tokens, a refresh rotates the refresh token', async () => {
  const tokens = await codeTokens();
  assert.ok(tokens.refresh_token);
  assert.ok(tokens.id_token);
  const refreshed = await token(harness.base, { grant_type: 'refresh_token', client_id: MOBILE, refresh_token: tokens.refresh_token });
  assert.equal(refreshed.status, 200, JSON.stringify(refreshed.body));
  assert.notEqual(refreshed.body.refresh_token, tokens.refresh_token);
  assert.ok(refreshed.body.access_token);
});

test('the access token is an RFC 9068 JWT for the API, verifiable against the JWKS', async () => {
  const tokens = await codeTokens();
  assert.equal(decodeProtectedHeader(tokens.access_token).typ, 'at+jwt');
  const jwks = createRemoteJWKSet(new URL(`${harness.base}/oidc/jwks`));
  const { payload } = await jwtVerify(tokens.access_token, jwks, { issuer: `${harness.base}/oidc`, audience: `${harness.base}/api`, typ: 'at+jwt' });
  assert.equal(payload.sub, harness.user.id);
  assert.equal(payload.client_id, MOBILE);
  assert.deepEqual(String(payload.scope).split(' ').sort(), ['agents:read', 'readings:read']);
  assert.ok(typeof payload.exp === 'number' && payload.exp - (payload.iat ?? 0) === 600);
  assert.deepEqual(payload.pb_roles, [{ gym: 'gym-a', role: 'athlete' }]);
});
