import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Value } from '@sinclair/typebox/value';
import { IdentitySection, identityConfigProblems, identitySecretRefs, serviceRoles } from '../../src/oidc/config.ts';

const parse = (input: unknown): IdentitySection => Value.Parse(IdentitySection, input);

test('the defaults make the demo work: a first-party mobile client and a board, no service, and no problems', () => {
  const section = parse({});
  assert.equal(section.issuer, 'http://localhost:8080');
  assert.deepEqual(
    section.clients.map((client) => [client.clientId, client.kind, client.firstParty]),
    [
      ['pulsebridge-mobile', 'public', true],
      ['pulsebridge-board', 'device', true],
    ],
  );
  assert.equal(section.ttl.accessTokenSeconds, 600);
  assert.equal(section.ttl.refreshTokenSeconds, 30 * 24 * 3600);
  assert.equal(section.ttl.deviceCodeSeconds, 600);
  assert.equal(section.ttl.sessionSeconds, 14 * 24 * 3600);
  assert.deepEqual(identityConfigProblems(section, '/identity'), []);
});

test('rules no schema expresses are reported with their paths', () => {
  const section = parse({
    issuer: 'https://hub.example.com/?x=1',
    clients: [
      { clientId: 'app', name: 'App', kind: 'public' },
      { clientId: 'svc', name: 'Service', kind: 'service', scopes: ['openid', 'nonsense'] },
      { clientId: 'app', name: 'Again', kind: 'public', redirectUris: ['myapp:/cb', 'http://example.com/cb'], clientSecret: 's' },
      {
        clientId: 'web',
        name: 'Web',
        kind: 'confidential',
        clientSecret: { env: 'WEB_SECRET' },
        redirectUris: ['https://web.example.com/cb'],
        roles: [{ gym: '*', role: 'coach' }],
      },
    ],
  });
  assert.deepEqual(identityConfigProblems(section, '/identity'), [
    '/identity/issuer: must not have a query or a fragment',
    '/identity/clients/0/redirectUris: a public client needs at least one redirect URI',
    '/identity/clients/1/clientSecret: a service client needs a secret',
    '/identity/clients/1/scopes/1: nonsense is neither an API scope nor an OpenID scope',
    '/identity/clients/1/scopes: a service client has no user, so no OpenID scopes (openid, profile, email, offline_access)',
    '/identity/clients/2/clientId: app is configured twice',
    '/identity/clients/2/clientSecret: a public client cannot keep a secret; remove it',
    '/identity/clients/2/redirectUris/0: myapp:/cb a private-use scheme must be a reverse domain name with a dot (e.g. app.pulsebridge:/oauth/callback)',
    '/identity/clients/2/redirectUris/1: http://example.com/cb http is allowed for loopback addresses only',
    '/identity/clients/3/roles: only service clients act with roles of their own; people get theirs from memberships',
    "/identity/clients/3/roles/0: gym '*' goes with role platform_admin, and only with it",
  ]);
  assert.deepEqual(identitySecretRefs(section, '/identity'), [
    { path: '/identity/clients/2/clientSecret', ref: 's' },
    { path: '/identity/clients/3/clientSecret', ref: { env: 'WEB_SECRET' } },
  ]);
});

test('an issuer that is not an absolute URL is refused', () => {
  assert.deepEqual(identityConfigProblems(parse({ issuer: 'hub.example.com' }), '/identity'), ['/identity/issuer: hub.example.com is not an absolute URL']);
});

test('serviceRoles gives a service client its configured roles and nobody else any', () => {
  const roles = serviceRoles(parse({ clients: [{ clientId: 'svc', name: 'S', kind: 'service', clientSecret: 'x', roles: [{ gym: 'gym-a', role: 'coach' }] }] }));
  assert.deepEqual(roles('svc'), [{ gym: 'gym-a', role: 'coach' }]);
  assert.deepEqual(roles('other'), []);
});

test('staff and platform admins must enrol TOTP by default; the sign-up return link must be a safe redirect; an unknown role is refused', () => {
  const section = parse({});
  assert.deepEqual(section.secondFactor.requiredForRoles, ['gym_admin', 'coach', 'platform_admin']);
  assert.equal(section.mail.kind, 'file');
  assert.equal(section.ttl.inviteSeconds, 7 * 24 * 3600);
  assert.deepEqual(identityConfigProblems(parse({ signUpReturnUrl: 'https://app.example.org/open' }), '/identity'), []);
  assert.deepEqual(identityConfigProblems(parse({ signUpReturnUrl: 'javascript:alert(1)' }), '/identity'), [
    '/identity/signUpReturnUrl: javascript:alert(1) must not use the javascript scheme',
  ]);
  assert.throws(() => parse({ secondFactor: { requiredForRoles: ['owner'] } }));
});
