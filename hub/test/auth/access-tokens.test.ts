import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SignJWT, exportSPKI } from 'jose';
import { AccessTokenVerifier, hubApiAudience, hubTokenIssuer } from '../../src/auth/access-tokens.ts';
import { ALL_GYMS } from '../../src/identity/identity-store.ts';
import { base64url, makeKey, makeStore, mint, refusedWith, type TestKey } from './fixtures.ts';

const BASE = 'https://hub.example.com';
const ISS = hubTokenIssuer(BASE);
const AUD = hubApiAudience(BASE);

describe("the hub's own access tokens", () => {
  let fixture: Awaited<ReturnType<typeof makeStore>>;
  let key: TestKey;
  let jwksLoads = 0;
  let published: TestKey[] = [];
  let now = Date.now();
  let verifier: AccessTokenVerifier;
  let userId: string;

  const claims = (extra: Record<string, unknown> = {}) => ({ iss: ISS, aud: AUD, sub: userId, client_id: 'mobile', scope: 'agents:read readings:read', jti: 'at-1', ...extra });

  before(async () => {
    fixture = await makeStore();
    key = await makeKey('k1');
    published = [key];
    verifier = new AccessTokenVerifier({
      identityIssuer: BASE,
      localJwks: async () => {
        jwksLoads++;
        return { keys: published.map((k) => k.publicJwk) };
      },
      trustedIssuers: [],
      store: fixture.store,
      serviceRoles: (clientId) => (clientId === 'reports' ? [{ gym: 'gym-a', role: 'coach' }] : []),
      now: () => now,
    });
    const user = await fixture.sqlite.createUser({ email: 'ann@example.com', displayName: 'Ann' });
    userId = user.id;
    await fixture.sqlite.addMembership({ userId, gym: 'gym-a', role: 'coach' });
    await fixture.sqlite.addMembership({ userId, gym: 'gym-b', role: 'athlete' });
  });
  after(() => fixture.cleanup());

  test('a valid token gives a user principal with the store memberships, the scopes, the client and the token id', async () => {
    const principal = await verifier.verify(await mint({ key, claims: claims() }));
    assert.deepEqual(
      { ...principal, scopes: [...principal.scopes] },
      {
        kind: 'user',
        subject: userId,
        issuer: ISS,
        clientId: 'mobile',
        scopes: ['agents:read', 'readings:read'],
        roles: [
          { gym: 'gym-a', role: 'coach' },
          { gym: 'gym-b', role: 'athlete' },
        ],
        tokenId: 'at-1',
      },
    );
  });

  test('a client-credentials token (sub is the client id) gives a service principal with the roles configured for that client', async () => {
    const principal = await verifier.verify(await mint({ key, claims: claims({ sub: 'reports', client_id: 'reports', scope: 'readings:read' }) }));
    assert.equal(principal.kind, 'service');
    assert.equal(principal.subject, 'reports');
    assert.deepEqual(principal.roles, [{ gym: 'gym-a', role: 'coach' }]);
    assert.deepEqual([...principal.scopes], ['readings:read']);
  });

  test('a token expired less than the clock tolerance ago is still accepted', async () => {
    const exp = Math.floor(now / 1000) - 10;
    const principal = await verifier.verify(await mint({ key, claims: claims({ exp }) }));
    assert.equal(principal.subject, userId);
  });

  describe('attacks and mistakes are refused, each with its reason', () => {
    test('alg none', async () => {
      const unsigned = `${base64url({ alg: 'none', kid: key.kid, typ: 'at+jwt' })}.${base64url({ ...claims(), exp: Math.floor(now / 1000) + 300 })}.`;
      await refusedWith(verifier.verify(unsigned), 'alg_not_allowed');
    });

    test('HS256 signed with the public key as the HMAC secret', async () => {
      const publicPem = await exportSPKI(key.publicKey);
      for (const secret of [new TextEncoder().encode(publicPem), new TextEncoder().encode(JSON.stringify(key.publicJwk))]) {
        const forged = await new SignJWT(claims()).setProtectedHeader({ alg: 'HS256', kid: key.kid, typ: 'at+jwt' }).setExpirationTime('5m').sign(secret);
        await refusedWith(verifier.verify(forged), 'alg_not_allowed');
      }
    });

    test('an expired token', async () => {
      await refusedWith(verifier.verify(await mint({ key, claims: claims({ exp: Math.floor(now / 1000) - 120 }) })), 'expired');
    });

    test('a not-before in the future', async () => {
      await refusedWith(verifier.verify(await mint({ key, claims: claims({ nbf: Math.floor(now / 1000) + 120 }) })), 'not_yet_valid');
    });

    test('a hub-signed token with another issuer', async () => {
      await refusedWith(verifier.verify(await mint({ key, claims: claims({ iss: 'https://evil.example.com/oidc' }) })), 'wrong_issuer');
      await refusedWith(verifier.verify(await mint({ key, claims: claims({ iss: undefined }) })), 'wrong_issuer');
    });

    test('the wrong audience', async () => {
      await refusedWith(verifier.verify(await mint({ key, claims: claims({ aud: 'https://other.example.com/api' }) })), 'wrong_audience');
      await refusedWith(verifier.verify(await mint({ key, claims: claims({ aud: undefined }) })), 'wrong_audience');
    });

    test('an unknown kid, and made-up kids reload the key set at most once per throttle interval', async () => {
      const stranger = await makeKey('not-ours');
      const loadsBefore = jwksLoads;
      for (let i = 0; i < 5; i++) await refusedWith(verifier.verify(await mint({ key: stranger, claims: claims() })), 'unknown_kid');
      assert.ok(jwksLoads - loadsBefore <= 1, `the key set was loaded ${jwksLoads - loadsBefore} times`);
    });

    test('a token with no kid', async () => {
      await refusedWith(verifier.verify(await mint({ key: { ...key, kid: undefined as unknown as string }, claims: claims() })), 'unknown_kid');
    });

    test('a tampered payload', async () => {
      const [header, , signature] = (await mint({ key, claims: claims() })).split('.');
      const tampered = `${header}.${base64url({ ...claims({ sub: 'someone-else' }), exp: Math.floor(now / 1000) + 300 })}.${signature}`;
      await refusedWith(verifier.verify(tampered), 'bad_signature');
    });

    test('a token whose kid names a hub key of another type (an ES256 token naming the RSA key)', async () => {
      const impostor = await makeKey(key.kid, 'ES256');
      await refusedWith(verifier.verify(await mint({ key: impostor, claims: claims() })), 'unknown_kid');
    });

    test('a signature with characters outside base64url (malformed), and an empty signature', async () => {
      const [header, payload, signature] = (await mint({ key, claims: claims() })).split('.');
      await refusedWith(verifier.verify(`${header}.${payload}.${signature!.slice(0, -4)}+/==`), 'malformed');
      await refusedWith(verifier.verify(`${header}.${payload}.`), 'bad_signature');
    });

    test('a critical header extension the hub does not understand is refused as jose refuses it', async () => {
      const token = await new SignJWT({ ...claims(), exp: Math.floor(now / 1000) + 300 })
        .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'at+jwt', crit: ['x-unknown'], 'x-unknown': 1 })
        .sign(key.privateKey, { crit: { 'x-unknown': true } });
      await refusedWith(verifier.verify(token), 'alg_not_allowed');
    });

    test('a nbf, iat or exp that is not a number', async () => {
      for (const claim of ['nbf', 'iat', 'exp']) {
        await refusedWith(verifier.verify(await mint({ key, claims: claims({ [claim]: 'soon' }) })), 'malformed');
      }
    });

    test('a token from an issuer that is not configured', async () => {
      const stranger = await makeKey('theirs');
      await refusedWith(verifier.verify(await mint({ key: stranger, claims: claims({ iss: 'https://idp.elsewhere.com' }) })), 'untrusted_issuer');
    });

    test('a hub token without typ at+jwt, or with another typ (an ID token)', async () => {
      await refusedWith(verifier.verify(await mint({ key, claims: claims(), header: {} })), 'wrong_type');
      await refusedWith(verifier.verify(await mint({ key, claims: claims(), header: { typ: 'JWT' } })), 'wrong_type');
    });

    test('garbage, a JWE-shaped string, an oversized token, and a token without sub or exp', async () => {
      await refusedWith(verifier.verify('not a token'), 'malformed');
      await refusedWith(verifier.verify('a.b.c.d.e'), 'malformed');
      await refusedWith(verifier.verify('x'.repeat(20_000)), 'malformed');
      await refusedWith(verifier.verify(await mint({ key, claims: claims({ sub: undefined }) })), 'malformed');
      await refusedWith(verifier.verify(await mint({ key, claims: claims({ exp: undefined }) })), 'malformed');
    });

    test('a user that does not exist, and a disabled user', async () => {
      await refusedWith(verifier.verify(await mint({ key, claims: claims({ sub: '00000000-0000-4000-8000-000000000000' }) })), 'unknown_subject');
      const bob = await fixture.sqlite.createUser({ email: 'bob@example.com', displayName: 'Bob' });
      await fixture.sqlite.setUserDisabled(bob.id, true);
      await refusedWith(verifier.verify(await mint({ key, claims: claims({ sub: bob.id }) })), 'subject_disabled');
    });
  });

  test('a token signed by a newly added key is accepted once the throttle interval has passed', async () => {
    now += 10_000;
    const next = await makeKey('k2', 'ES256');
    published = [key, next];
    const principal = await verifier.verify(await mint({ key: next, claims: claims() }));
    assert.equal(principal.subject, userId);
  });

  test('the token of an erased account is refused at once once the verifier forgets the user, cache or not', async () => {
    const gone = await fixture.sqlite.createUser({ email: 'gone@example.com', displayName: 'Gone' });
    const token = await mint({ key, claims: claims({ sub: gone.id, jti: 'at-gone' }) });
    assert.equal((await verifier.verify(token)).subject, gone.id);
    await fixture.sqlite.deleteUser(gone.id);
    assert.equal((await verifier.verify(token)).subject, gone.id, 'within the account cache TTL the verifier has not asked the store again');
    verifier.forgetUser(gone.id);
    await refusedWith(verifier.verify(token), 'unknown_subject');
  });

  test('a removed membership is still seen within the cache TTL and gone after it', async () => {
    const token = await mint({ key, claims: claims() });
    now += 60_000;
    assert.equal((await verifier.verify(token)).roles.length, 2);
    await fixture.sqlite.removeMembership({ userId, gym: 'gym-b', role: 'athlete' });
    now += 9_000;
    assert.equal((await verifier.verify(token)).roles.length, 2, 'cached for the TTL');
    now += 1_001;
    assert.deepEqual((await verifier.verify(token)).roles, [{ gym: 'gym-a', role: 'coach' }]);
  });

  test('a token verified before is still refused once it has expired beyond the tolerance', async () => {
    // Within the 60 s a verified token is remembered, so the second and third calls skip the signature.
    const token = await mint({ key, claims: claims({ exp: Math.floor(now / 1000) + 10 }) });
    assert.equal((await verifier.verify(token)).subject, userId);
    now += 10_000 + 29_000;
    assert.equal((await verifier.verify(token)).subject, userId, 'within the tolerance');
    now += 2_000;
    await refusedWith(verifier.verify(token), 'expired');
  });

  test("the verifier's clock, not the system clock, decides exp and nbf of a token seen for the first time", async () => {
    const saved = now;
    try {
      const systemNow = Math.floor(Date.now() / 1000);
      now = Date.now() + 120_000;
      await refusedWith(verifier.verify(await mint({ key, claims: claims({ jti: 'clock-1', exp: systemNow + 60 }) })), 'expired');
      const principal = await verifier.verify(await mint({ key, claims: claims({ jti: 'clock-2', nbf: systemNow + 100, exp: systemNow + 600 }) }));
      assert.equal(principal.subject, userId);
    } finally {
      now = saved;
    }
  });

  test('a platform admin membership comes through as ALL_GYMS', async () => {
    const root = await fixture.sqlite.createUser({ email: 'root@example.com', displayName: 'Root' });
    await fixture.sqlite.addMembership({ userId: root.id, gym: ALL_GYMS, role: 'platform_admin' });
    const principal = await verifier.verify(await mint({ key, claims: claims({ sub: root.id }) }));
    assert.deepEqual(principal.roles, [{ gym: ALL_GYMS, role: 'platform_admin' }]);
  });
});
