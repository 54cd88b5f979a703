import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Value } from '@sinclair/typebox/value';
import { TrustedIssuers, trustedIssuersConfigProblems } from '../../src/auth/config.ts';

const entry = (extra: Record<string, unknown> = {}) => ({ name: 'corp', issuer: 'https://idp.corp.example', audience: 'https://api.example', ...extra });
const load = (list: unknown[]): TrustedIssuers => Value.Default(TrustedIssuers, structuredClone(list)) as TrustedIssuers;

test('a minimal trusted issuer gets the documented defaults', () => {
  const [issuer] = load([entry()]);
  assert.ok(Value.Check(TrustedIssuers, [issuer]));
  assert.deepEqual(issuer?.algorithms, ['RS256', 'ES256', 'PS256', 'EdDSA']);
  assert.equal(issuer?.clockToleranceSeconds, 30);
  assert.deepEqual(issuer?.claims, { email: 'email', name: 'name', roles: { separator: ':', allowPlatformAdmin: false } });
  assert.equal(issuer?.jwksUri, undefined);
});

test('the schema refuses none, HMAC algorithms, unknown roles and an empty audience list', () => {
  for (const bad of [
    entry({ algorithms: ['none'] }),
    entry({ algorithms: ['HS256'] }),
    entry({ algorithms: [] }),
    entry({ audience: [] }),
    entry({ claims: { roles: { default: { gym: 'gym-a', role: 'owner' } } } }),
    entry({ issuer: 'idp.corp.example' }),
  ]) {
    assert.equal(Value.Check(TrustedIssuers, load([bad])), false, JSON.stringify(bad));
  }
});

test('cross-entry rules: unique names and issuers, not the hub itself, TLS off loopback, no platform_admin by default', () => {
  const list = load([
    entry(),
    entry({ issuer: 'http://idp.corp.example', jwksUri: 'http://keys.corp.example/jwks', claims: { roles: { default: { gym: 'gym-a', role: 'platform_admin' } } } }),
    entry({ name: 'local', issuer: 'http://127.0.0.1:9000', jwksUri: 'http://localhost:9000/jwks' }),
    entry({ name: 'self', issuer: 'https://hub.example.com/oidc' }),
  ]);
  assert.deepEqual(trustedIssuersConfigProblems(list, '/identity/trustedIssuers', 'https://hub.example.com/oidc'), [
    '/identity/trustedIssuers/1/name: "corp" is used by another trusted issuer',
    '/identity/trustedIssuers/1/issuer: must be an https URL (http only for localhost)',
    '/identity/trustedIssuers/1/jwksUri: must be an https URL (http only for localhost)',
    '/identity/trustedIssuers/1/claims/roles/default/role: a just-in-time account cannot be made platform_admin',
    "/identity/trustedIssuers/3/issuer: that is the hub's own issuer, which is always trusted",
  ]);
});
