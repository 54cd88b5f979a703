import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { AccessTokenVerifier } from '../../src/auth/access-tokens.ts';
import type { TrustedIssuer } from '../../src/auth/config.ts';
import { ALL_GYMS } from '../../src/identity/identity-store.ts';
import { FakeIssuer, makeKey, makeStore, mint, refusedWith, trustedIssuer, type TestKey } from './fixtures.ts';

const API = 'https://api.pulsebridge.example';

describe('federated access tokens', () => {
  const idp = new FakeIssuer();
  let fixture: Awaited<ReturnType<typeof makeStore>>;
  let key: TestKey;
  let entry: TrustedIssuer;
  let verifier: AccessTokenVerifier;

  const claims = (sub: string, extra: Record<string, unknown> = {}) => ({
    iss: idp.url,
    aud: API,
    sub,
    email: `${sub}@corp.example`,
    name: `Person ${sub}`,
    scope: 'readings:read',
    ...extra,
  });
  const makeVerifier = (issuer: TrustedIssuer) =>
    new AccessTokenVerifier({ identityIssuer: 'https://hub.example.com', localJwks: async () => ({ keys: [] }), trustedIssuers: [issuer], store: fixture.store });

  before(async () => {
    await idp.start();
    key = await makeKey('corp-1', 'ES256');
    fixture = await makeStore();
    entry = trustedIssuer({
      name: 'corp',
      issuer: idp.url,
      audience: [API, 'another-api'],
      jwksCooldownSeconds: 0,
      claims: { roles: { claim: 'groups', default: { gym: 'gym-a', role: 'athlete' } } },
    });
  });
  beforeEach(() => {
    idp.keys = [key];
    idp.advertisedIssuer = undefined;
    verifier = makeVerifier(entry);
  });
  after(async () => {
    await idp.stop();
    await fixture.cleanup();
  });

  test('an unknown subject gets one just-in-time account with the default membership, audited once; its next token maps to the same user', async () => {
    const first = await verifier.verify(await mint({ key, claims: claims('alice'), header: {} }));
    assert.equal(first.kind, 'user');
    assert.equal(first.issuer, idp.url);
    assert.deepEqual([...first.scopes], ['readings:read']);
    assert.deepEqual(first.roles, [{ gym: 'gym-a', role: 'athlete' }]);
    const user = await fixture.sqlite.getUser(first.subject);
    assert.equal(user?.email, 'alice@corp.example');
    assert.equal(user?.displayName, 'Person alice');

    const second = await verifier.verify(await mint({ key, claims: claims('alice', { jti: 'two' }) }));
    assert.equal(second.subject, first.subject);
    const fresh = await makeVerifier(entry).verify(await mint({ key, claims: claims('alice') }));
    assert.equal(fresh.subject, first.subject, 'found through the stored link, not just the cache');

    const audit = await fixture.sqlite.listAudit({ userId: first.subject, limit: 10 });
    assert.deepEqual(
      audit.events.map((e) => [e.type, e.gym, e.detail['subject']]),
      [['federated.user_created', 'gym-a', 'alice']],
    );
    assert.equal(idp.discoveryRequests, 2, 'discovery once per verifier');
  });

  test('concurrent first tokens of one subject make one account', async () => {
    const token = await mint({ key, claims: claims('carol') });
    const principals = await Promise.all([verifier.verify(token), verifier.verify(token), verifier.verify(token)]);
    assert.equal(new Set(principals.map((p) => p.subject)).size, 1);
  });

  test('gym roles in the role claim are added; malformed ones and platform_admin are ignored unless the issuer may grant it', async () => {
    const groups = ['gym-b:coach', 'gym-c:nonsense', 'no-separator', ':coach', '*:coach', '*:platform_admin', 'gym-d:platform_admin', 42];
    const principal = await verifier.verify(await mint({ key, claims: claims('dave', { groups }) }));
    assert.deepEqual(principal.roles, [
      { gym: 'gym-a', role: 'athlete' },
      { gym: 'gym-b', role: 'coach' },
    ]);
    const trusting = makeVerifier(trustedIssuer({ ...entry, claims: { roles: { claim: 'groups', allowPlatformAdmin: true } } }));
    const admin = await trusting.verify(await mint({ key, claims: claims('dave', { groups: 'gym-b:coach *:platform_admin' }) }));
    assert.deepEqual(admin.roles, [
      { gym: 'gym-a', role: 'athlete' },
      { gym: 'gym-b', role: 'coach' },
      { gym: ALL_GYMS, role: 'platform_admin' },
    ]);
  });

  test('a key rotated in at the issuer is fetched when a token names its unknown kid', async () => {
    await verifier.verify(await mint({ key, claims: claims('erin') }));
    const fetchesBefore = idp.jwksRequests;
    const rotated = await makeKey('corp-2', 'RS256');
    idp.keys = [rotated];
    const principal = await verifier.verify(await mint({ key: rotated, claims: claims('erin') }));
    assert.equal(idp.jwksRequests, fetchesBefore + 1);
    assert.ok(principal.subject);
  });

  test('with a cooldown, made-up kids do not make the verifier fetch the JWKS again', async () => {
    const cooled = makeVerifier(trustedIssuer({ ...entry, jwksCooldownSeconds: 30 }));
    await cooled.verify(await mint({ key, claims: claims('erin') }));
    const fetchesBefore = idp.jwksRequests;
    const stranger = await makeKey('made-up');
    for (let i = 0; i < 3; i++) await refusedWith(cooled.verify(await mint({ key: stranger, claims: claims('erin') })), 'unknown_kid');
    assert.equal(idp.jwksRequests, fetchesBefore);
  });

  test('the checks apply to federated tokens too: audience, expiry, algorithm allowlist, signature, required typ', async () => {
    await refusedWith(verifier.verify(await mint({ key, claims: claims('frank', { aud: 'https://hub.example.com/api' }) })), 'wrong_audience');
    await refusedWith(verifier.verify(await mint({ key, claims: claims('frank', { exp: Math.floor(Date.now() / 1000) - 120 }) })), 'expired');
    const es384 = await makeKey('corp-384', 'ES384');
    idp.keys = [key, es384];
    await refusedWith(verifier.verify(await mint({ key: es384, claims: claims('frank') })), 'alg_not_allowed');
    const impostor = { ...(await makeKey('corp-1', 'ES256')) };
    await refusedWith(verifier.verify(await mint({ key: impostor, claims: claims('frank') })), 'bad_signature');
    const typed = makeVerifier(trustedIssuer({ ...entry, type: 'at+jwt' }));
    await refusedWith(typed.verify(await mint({ key, claims: claims('frank'), header: { typ: 'JWT' } })), 'wrong_type');
  });

  test('no account is made without an email claim, nor over a local account with the same email', async () => {
    await refusedWith(verifier.verify(await mint({ key, claims: claims('gina', { email: undefined }) })), 'unknown_subject');
    await fixture.sqlite.createUser({ email: 'hank@corp.example', displayName: 'Local Hank' });
    await refusedWith(verifier.verify(await mint({ key, claims: claims('hank') })), 'unknown_subject');
  });

  test('a disabled federated account is refused', async () => {
    const principal = await verifier.verify(await mint({ key, claims: claims('ivy') }));
    await fixture.sqlite.setUserDisabled(principal.subject, true);
    await refusedWith(makeVerifier(entry).verify(await mint({ key, claims: claims('ivy') })), 'subject_disabled');
  });

  test('a discovery document naming another issuer is not used, and the issuer is not asked again at once', async () => {
    idp.advertisedIssuer = 'https://someone-else.example';
    const before = idp.discoveryRequests;
    await refusedWith(verifier.verify(await mint({ key, claims: claims('jack') })), 'issuer_unavailable');
    await refusedWith(verifier.verify(await mint({ key, claims: claims('jack') })), 'issuer_unavailable');
    assert.equal(idp.discoveryRequests, before + 1);
  });

  test('a configured jwksUri is used without discovery', async () => {
    const direct = makeVerifier(trustedIssuer({ ...entry, jwksUri: `${idp.url}/jwks` }));
    const before = idp.discoveryRequests;
    await direct.verify(await mint({ key, claims: claims('kim') }));
    assert.equal(idp.discoveryRequests, before);
  });
});
