import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BearerChallenge, createAuthenticator, type BearerRequest } from '../../src/auth/api-auth.ts';
import { TokenRefused } from '../../src/auth/access-tokens.ts';
import type { Principal } from '../../src/auth/principal.ts';

const PRINCIPAL: Principal = {
  kind: 'user',
  subject: 'u1',
  issuer: 'https://hub.example.com/oidc',
  clientId: 'app',
  scopes: new Set(['agents:read']),
  roles: [],
  tokenId: undefined,
};

const seen: string[] = [];
const auth = createAuthenticator({
  verify: async (token) => {
    seen.push(token);
    if (token === 'good') return PRINCIPAL;
    if (token === 'old') throw new TokenRefused('expired', 'the token has expired');
    if (token === 'boom') throw new Error('store down');
    throw new TokenRefused('bad_signature', 'the token signature does not verify');
  },
});

function request(headers: Record<string, string>, query: Record<string, unknown> = {}): BearerRequest {
  return { get: (name) => headers[name.toLowerCase()] ?? '', query };
}

async function challenged(promise: Promise<unknown>): Promise<BearerChallenge> {
  const err = await promise.then(
    () => assert.fail('expected a challenge'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof BearerChallenge, String(err));
  return err;
}

test('a bearer token in the Authorization header (any case of "Bearer") gives its principal', async () => {
  assert.equal(await auth.authenticate(request({ authorization: 'Bearer good' })), PRINCIPAL);
  assert.equal(await auth.authenticate(request({ authorization: 'bearer \tgood ' })), PRINCIPAL);
});

test('no credentials: 401 with a bare challenge, no error code (RFC 6750 §3.1)', async () => {
  const err = await challenged(auth.authenticate(request({})));
  assert.deepEqual([err.status, err.reason, err.challenge], [401, 'no_credentials', 'Bearer realm="pulsebridge"']);
});

test('a malformed Authorization header is invalid_request', async () => {
  for (const header of ['Basic dXNlcjpwYXNz', 'Bearer', 'Bearer two tokens']) {
    const err = await challenged(auth.authenticate(request({ authorization: header })));
    assert.deepEqual([err.status, err.reason, err.challenge], [401, 'malformed_header', 'Bearer realm="pulsebridge", error="invalid_request"']);
  }
});

test('a refused token is invalid_token; the challenge tells expired apart but no other reason, which stays on the error for the log', async () => {
  const expired = await challenged(auth.authenticate(request({ authorization: 'Bearer old' })));
  assert.equal(expired.reason, 'expired');
  assert.equal(expired.challenge, 'Bearer realm="pulsebridge", error="invalid_token", error_description="the access token has expired"');
  const forged = await challenged(auth.authenticate(request({ authorization: 'Bearer forged' })));
  assert.equal(forged.reason, 'bad_signature');
  assert.equal(forged.challenge, 'Bearer realm="pulsebridge", error="invalid_token", error_description="the access token is not valid"');
  assert.ok(!forged.message.includes('forged') && !forged.challenge.includes('forged'), 'the token is never echoed');
});

test('errors other than a refusal (a store failure) pass through unchanged', async () => {
  await assert.rejects(auth.authenticate(request({ authorization: 'Bearer boom' })), { message: 'store down' });
});

test('?access_token= is read only where allowed, and never together with the header', async () => {
  const err = await challenged(auth.authenticate(request({}, { access_token: 'good' })));
  assert.equal(err.reason, 'no_credentials');
  assert.equal(await auth.authenticate(request({}, { access_token: 'good' }), true), PRINCIPAL);
  const both = await challenged(auth.authenticate(request({ authorization: 'Bearer good' }, { access_token: 'good' }), true));
  assert.equal(both.reason, 'malformed_header');
  assert.equal(await auth.authenticate(request({ authorization: 'Bearer good' }, { access_token: 'ignored' })), PRINCIPAL);
});

test('a missing scope is 403 insufficient_scope naming the scopes the route needs', () => {
  assert.doesNotThrow(() => auth.requireScopes(PRINCIPAL, ['agents:read']));
  assert.throws(
    () => auth.requireScopes(PRINCIPAL, ['agents:read', 'agents:write']),
    (err: unknown) =>
      err instanceof BearerChallenge &&
      err.status === 403 &&
      err.code === 'forbidden' &&
      err.challenge === 'Bearer realm="pulsebridge", error="insufficient_scope", scope="agents:read agents:write"',
  );
});
