// Over 500 lines: the one contract every IdentityStore adapter passes; splitting it would let an adapter run only part of it.
/**
 * The one IdentityStore contract: each adapter runs it from its own *.test.ts against its real database.
 * `make` gives a started store on a fresh, empty database, driven by the clock it is handed.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { IdentityStoreError, type IdentityStore, type IdentityStoreErrorCode, type Role } from '../../src/identity/identity-store.ts';

export interface FreshIdentityStore {
  store: IdentityStore;
  /** Stops the store and starts a new one on the same database (its migrations run again). */
  reopen(): Promise<IdentityStore>;
  cleanup(): Promise<void>;
}

export type IdentityStoreFactory = (clock: () => number) => Promise<FreshIdentityStore>;

const T0 = Date.UTC(2026, 0, 1);

async function refused(promise: Promise<unknown>, code: IdentityStoreErrorCode, param: string): Promise<IdentityStoreError> {
  const err = await promise.then(
    () => assert.fail(`expected an IdentityStoreError ${code} on ${param}`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof IdentityStoreError, `expected an IdentityStoreError, got ${String(err)}`);
  assert.equal(err.code, code, err.message);
  assert.equal(err.param, param, err.message);
  return err;
}

export function identityStoreContract(name: string, make: IdentityStoreFactory, options: { skip?: string | false } = {}): void {
  describe(`IdentityStore contract: ${name}`, { skip: options.skip }, () => {
    let now = T0;
    const clock = (): number => now;

    /** A fresh store; the clock starts at T0 each time. */
    async function withStore(use: (store: IdentityStore, fresh: FreshIdentityStore) => Promise<void>): Promise<void> {
      now = T0;
      const fresh = await make(clock);
      try {
        await use(fresh.store, fresh);
      } finally {
        await fresh.cleanup();
      }
    }

    test('a created user is found by id and by its email in any case; the same email in another case is refused as a conflict', () =>
      withStore(async (store) => {
        const ada = await store.createUser({ email: ' Ada@Example.org ', displayName: 'Ada Lovelace' });
        assert.match(ada.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
        assert.deepEqual(ada, { id: ada.id, email: 'Ada@Example.org', displayName: 'Ada Lovelace', createdAt: T0, disabled: false });
        assert.deepEqual(await store.getUser(ada.id), ada);
        assert.deepEqual(await store.findUserByEmail('ADA@example.ORG'), ada);
        assert.equal(await store.findUserByEmail('bob@example.org'), undefined);
        assert.equal(await store.getUser('00000000-0000-4000-8000-000000000000'), undefined);
        await refused(store.createUser({ email: 'ada@EXAMPLE.org', displayName: 'Impostor' }), 'conflict', 'email');
        const bob = await store.createUser({ email: 'bob@example.org', displayName: 'Bob' });
        assert.notEqual(bob.id, ada.id);
      }));

    test('a user can be disabled and enabled again; disabling an unknown user is not_found', () =>
      withStore(async (store) => {
        const ada = await store.createUser({ email: 'ada@example.org', displayName: 'Ada' });
        await store.setUserDisabled(ada.id, true);
        assert.equal((await store.getUser(ada.id))?.disabled, true);
        await store.setUserDisabled(ada.id, false);
        assert.equal((await store.getUser(ada.id))?.disabled, false);
        await refused(store.setUserDisabled('nobody', true), 'not_found', 'id');
      }));

    test('deleteUser erases the account and everything of it, keeps audit entries with the person replaced, and leaves other users alone', () =>
      withStore(async (store) => {
        const sha = (text: string): string => createHash('sha256').update(text).digest('hex');
        const ada = await store.createUser({ email: 'Ada@Example.org', displayName: 'Ada Lovelace' });
        const bob = await store.createUser({ email: 'bob@example.org', displayName: 'Bob' });
        for (const user of [ada, bob]) {
          await store.setPassword(user.id, { hash: `hash-${user.id}`, paramsVersion: 1 });
          await store.addMembership({ userId: user.id, gym: 'g1', role: 'athlete' });
          await store.saveProfile(user.id, { resultsVisibility: 'gym', boardVisibility: 'name', weightKg: 70 });
          await store.setTotp(user.id, 'JBSWY3DPEHPK3PXP');
          await store.replaceRecoveryCodes(user.id, [sha(`code-${user.id}`)]);
          await store.linkFederatedIdentity({ issuer: 'https://idp.example', subject: `sub-${user.id}`, userId: user.id });
          await store.createOneTimeToken({ kind: 'password_reset', hash: sha(`reset-${user.id}`), expiresAt: T0 + 60_000, userId: user.id });
          await store.oidc('Grant').upsert(`grant-${user.id}`, { accountId: user.id, clientId: 'app' }, 3600);
          await store.oidc('AccessToken').upsert(`at-${user.id}`, { accountId: user.id, grantId: `grant-${user.id}` }, 3600);
          await store.oidc('RefreshToken').upsert(`rt-${user.id}`, { grantId: `grant-${user.id}` }, 3600);
          await store.oidc('Session').upsert(`session-${user.id}`, { accountId: user.id, uid: `uid-${user.id}` }, 3600);
          await store.oidc('Interaction').upsert(`interaction-${user.id}`, { result: { login: { accountId: user.id } } }, 3600);
        }
        await store.createOneTimeToken({ kind: 'invite', hash: sha('invite-to-ada'), expiresAt: T0 + 60_000, gym: 'g1', detail: { email: 'ada@example.org', invitedBy: bob.id } });
        await store.createOneTimeToken({ kind: 'invite', hash: sha('invite-by-ada'), expiresAt: T0 + 60_000, gym: 'g1', detail: { email: 'cy@example.org', invitedBy: ada.id } });
        await store.appendAudit({ type: 'sign_in.succeeded', actorUserId: ada.id, gym: 'g1', detail: { email: 'ADA@example.org', name: 'Ada Lovelace' } });
        await store.appendAudit({ type: 'membership.added', actorUserId: bob.id, gym: 'g1', detail: { userId: ada.id, role: 'athlete' } });
        await store.appendAudit({ type: 'sign_in.succeeded', actorUserId: bob.id, gym: 'g1', detail: { email: 'bob@example.org' } });

        assert.equal(await store.deleteUser(ada.id), true);
        assert.equal(await store.deleteUser(ada.id), false, 'a second erasure finds nothing');
        assert.equal(await store.getUser(ada.id), undefined);
        assert.equal(await store.findUserByEmail('ada@example.org'), undefined);
        assert.equal(await store.getPassword(ada.id), undefined);
        assert.equal(await store.getProfile(ada.id), undefined);
        assert.equal(await store.getTotp(ada.id), undefined);
        assert.equal(await store.countRecoveryCodes(ada.id), 0);
        assert.deepEqual(await store.listMembershipsOfUser(ada.id), []);
        assert.equal(await store.findFederatedUser('https://idp.example', `sub-${ada.id}`), undefined);
        assert.equal(await store.consumeOneTimeToken('password_reset', sha(`reset-${ada.id}`), T0), undefined);
        assert.equal(await store.consumeOneTimeToken('invite', sha('invite-to-ada'), T0), undefined);
        for (const [model, id] of [
          ['Grant', `grant-${ada.id}`],
          ['AccessToken', `at-${ada.id}`],
          ['RefreshToken', `rt-${ada.id}`],
          ['Session', `session-${ada.id}`],
          ['Interaction', `interaction-${ada.id}`],
        ] as const) {
          assert.equal(await store.oidc(model).find(id), undefined, `${model} of the erased account`);
        }
        const sent = await store.consumeOneTimeToken('invite', sha('invite-by-ada'), T0);
        assert.deepEqual(sent?.detail, { email: 'cy@example.org', invitedBy: 'deleted-user' }, 'an invite they sent stays valid for its invitee');

        const audit = (await store.listAudit({ gym: 'g1', limit: 10 })).events.map(({ type, actorUserId, detail }) => ({ type, actorUserId, detail }));
        assert.deepEqual(audit, [
          { type: 'sign_in.succeeded', actorUserId: bob.id, detail: { email: 'bob@example.org' } },
          { type: 'membership.added', actorUserId: bob.id, detail: { userId: 'deleted-user', role: 'athlete' } },
          { type: 'sign_in.succeeded', actorUserId: 'deleted-user', detail: { email: 'deleted-user', name: 'deleted-user' } },
        ]);

        assert.deepEqual(await store.getUser(bob.id), bob);
        assert.equal((await store.getPassword(bob.id))?.hash, `hash-${bob.id}`);
        assert.equal((await store.getProfile(bob.id))?.weightKg, 70);
        assert.equal(await store.countRecoveryCodes(bob.id), 1);
        assert.equal(await store.findFederatedUser('https://idp.example', `sub-${bob.id}`), bob.id);
        assert.equal((await store.listMembershipsOfUser(bob.id)).length, 1);
        for (const id of [`grant-${bob.id}`, `at-${bob.id}`, `rt-${bob.id}`, `session-${bob.id}`, `interaction-${bob.id}`]) {
          const model = id.startsWith('grant')
            ? 'Grant'
            : id.startsWith('at-')
              ? 'AccessToken'
              : id.startsWith('rt-')
                ? 'RefreshToken'
                : id.startsWith('session')
                  ? 'Session'
                  : 'Interaction';
          assert.ok(await store.oidc(model).find(id), `${model} of the other account`);
        }
        await refused(store.deleteUser(''), 'invalid_input', 'id');
      }));

    test('bad user input is refused with invalid_input naming the field', () =>
      withStore(async (store) => {
        await refused(store.createUser({ email: '', displayName: 'X' }), 'invalid_input', 'email');
        await refused(store.createUser({ email: '   ', displayName: 'X' }), 'invalid_input', 'email');
        await refused(store.createUser({ email: 'not-an-address', displayName: 'X' }), 'invalid_input', 'email');
        await refused(store.createUser({ email: 'a b@example.org', displayName: 'X' }), 'invalid_input', 'email');
        await refused(store.createUser({ email: 'x@example.org', displayName: '' }), 'invalid_input', 'displayName');
        await refused(store.createUser({ email: 'x@example.org', displayName: 'a\u0000b' }), 'invalid_input', 'displayName');
        assert.equal(await store.findUserByEmail('x@example.org'), undefined, 'nothing was written');
      }));

    test('the password credential is kept with its parameters version and replaced by the next one', () =>
      withStore(async (store) => {
        const ada = await store.createUser({ email: 'ada@example.org', displayName: 'Ada' });
        assert.equal(await store.getPassword(ada.id), undefined);
        await store.setPassword(ada.id, { hash: '$argon2id$v=19$m=19456,t=2,p=1$old', paramsVersion: 1 });
        now = T0 + 5000;
        await store.setPassword(ada.id, { hash: '$argon2id$v=19$m=47104,t=1,p=1$new', paramsVersion: 2 });
        assert.deepEqual(await store.getPassword(ada.id), { userId: ada.id, hash: '$argon2id$v=19$m=47104,t=1,p=1$new', paramsVersion: 2, updatedAt: T0 + 5000 });
        await refused(store.setPassword('nobody', { hash: 'h', paramsVersion: 1 }), 'not_found', 'userId');
        await refused(store.setPassword(ada.id, { hash: '', paramsVersion: 1 }), 'invalid_input', 'hash');
        await refused(store.setPassword(ada.id, { hash: 'h', paramsVersion: 0 }), 'invalid_input', 'paramsVersion');
      }));

    test('memberships are unique per user, gym and role, and listed by user and by gym', () =>
      withStore(async (store) => {
        const ada = await store.createUser({ email: 'ada@example.org', displayName: 'Ada' });
        const bob = await store.createUser({ email: 'bob@example.org', displayName: 'Bob' });
        await store.addMembership({ userId: ada.id, gym: 'gym-b', role: 'coach' });
        await store.addMembership({ userId: ada.id, gym: 'gym-a', role: 'gym_admin' });
        await store.addMembership({ userId: ada.id, gym: 'gym-a', role: 'coach' });
        await store.addMembership({ userId: bob.id, gym: 'gym-a', role: 'athlete' });
        await refused(store.addMembership({ userId: ada.id, gym: 'gym-a', role: 'coach' }), 'conflict', 'membership');
        await refused(store.addMembership({ userId: 'nobody', gym: 'gym-a', role: 'coach' }), 'not_found', 'userId');

        const ofAda = await store.listMembershipsOfUser(ada.id);
        assert.deepEqual(
          ofAda.map((m) => [m.gym, m.role]),
          [
            ['gym-a', 'coach'],
            ['gym-a', 'gym_admin'],
            ['gym-b', 'coach'],
          ],
        );
        assert.ok(ofAda.every((m) => m.userId === ada.id && m.createdAt === T0));
        const ofGymA = await store.listMembershipsOfGym('gym-a');
        const expected = [
          [ada.id, 'coach'],
          [ada.id, 'gym_admin'],
          [bob.id, 'athlete'],
        ].sort(([a], [b]) => (a! < b! ? -1 : a! > b! ? 1 : 0));
        assert.deepEqual(
          ofGymA.map((m) => [m.userId, m.role]),
          expected,
        );
        assert.deepEqual(await store.listMembershipsOfGym('gym-c'), []);

        assert.equal(await store.removeMembership({ userId: ada.id, gym: 'gym-a', role: 'coach' }), true);
        assert.equal(await store.removeMembership({ userId: ada.id, gym: 'gym-a', role: 'coach' }), false);
        assert.deepEqual(
          (await store.listMembershipsOfUser(ada.id)).map((m) => [m.gym, m.role]),
          [
            ['gym-a', 'gym_admin'],
            ['gym-b', 'coach'],
          ],
        );
      }));

    test('a membership with an unknown role or an empty gym is refused with invalid_input', () =>
      withStore(async (store) => {
        const ada = await store.createUser({ email: 'ada@example.org', displayName: 'Ada' });
        const err = await refused(store.addMembership({ userId: ada.id, gym: 'gym-a', role: 'owner' as Role }), 'invalid_input', 'role');
        assert.match(err.message, /athlete, coach, gym_admin, platform_admin/);
        await refused(store.addMembership({ userId: ada.id, gym: '', role: 'coach' }), 'invalid_input', 'gym');
        assert.deepEqual(await store.listMembershipsOfUser(ada.id), []);
      }));

    test('the audit log lists newest first in pages through the cursor, filtered by gym and by actor', () =>
      withStore(async (store) => {
        const written = [];
        for (let i = 0; i < 7; i++) {
          now = T0 + i * 1000;
          written.push(
            await store.appendAudit({
              type: i % 2 ? 'sign_in.failed' : 'sign_in',
              actorUserId: i < 4 ? 'user-1' : 'user-2',
              ...(i % 3 === 2 ? {} : { gym: i % 3 ? 'gym-b' : 'gym-a' }),
              detail: { attempt: i, nested: { ok: i % 2 === 0 } },
            }),
          );
        }
        const platform = await store.appendAudit({ at: T0 - 1, type: 'bootstrap' });
        assert.deepEqual(platform, { id: platform.id, at: T0 - 1, type: 'bootstrap', actorUserId: undefined, gym: undefined, detail: {} });
        assert.deepEqual(written[3], {
          id: written[3]!.id,
          at: T0 + 3000,
          type: 'sign_in.failed',
          actorUserId: 'user-1',
          gym: 'gym-a',
          detail: { attempt: 3, nested: { ok: false } },
        });

        const all = [...written, platform].reverse();
        const seen = [];
        let cursor: string | undefined;
        let pages = 0;
        do {
          const page = await store.listAudit({ limit: 3, ...(cursor ? { cursor } : {}) });
          seen.push(...page.events);
          cursor = page.nextCursor;
          pages++;
        } while (cursor);
        assert.equal(pages, 3);
        assert.deepEqual(seen, all);

        const gymA = await store.listAudit({ gym: 'gym-a', limit: 10 });
        assert.deepEqual(
          gymA.events.map((e) => e.detail['attempt']),
          [6, 3, 0],
        );
        assert.equal(gymA.nextCursor, undefined);
        const user2 = await store.listAudit({ userId: 'user-2', limit: 2 });
        assert.deepEqual(
          user2.events.map((e) => e.detail['attempt']),
          [6, 5],
        );
        const user2More = await store.listAudit({ userId: 'user-2', limit: 2, cursor: user2.nextCursor! });
        assert.deepEqual(
          user2More.events.map((e) => e.detail['attempt']),
          [4],
        );
        assert.equal(user2More.nextCursor, undefined);
        const both = await store.listAudit({ gym: 'gym-b', userId: 'user-1', limit: 10 });
        assert.deepEqual(
          both.events.map((e) => e.detail['attempt']),
          [1],
        );
      }));

    test('bad audit input and queries are refused with invalid_input', () =>
      withStore(async (store) => {
        await refused(store.appendAudit({ type: '' }), 'invalid_input', 'type');
        await refused(store.appendAudit({ type: 'x', detail: [] as unknown as Record<string, unknown> }), 'invalid_input', 'detail');
        await refused(store.listAudit({ limit: 0 }), 'invalid_input', 'limit');
        await refused(store.listAudit({ limit: 1001 }), 'invalid_input', 'limit');
        await refused(store.listAudit({ limit: 10, cursor: 'abc' }), 'invalid_input', 'cursor');
        await refused(store.listAudit({ limit: 10, cursor: "1' OR 1=1" }), 'invalid_input', 'cursor');
        assert.deepEqual(await store.listAudit({ limit: 10 }), { events: [], nextCursor: undefined });
      }));

    test('oidc models: upsert, find, consume, destroy, per model name', () =>
      withStore(async (store) => {
        const codes = store.oidc('AuthorizationCode');
        const sessions = store.oidc('Session');
        await codes.upsert('code-1', { jti: 'code-1', kind: 'AuthorizationCode', scope: 'openid', claims: { a: [1, 2] } }, 60);
        assert.deepEqual(await codes.find('code-1'), { jti: 'code-1', kind: 'AuthorizationCode', scope: 'openid', claims: { a: [1, 2] } });
        assert.equal(await sessions.find('code-1'), undefined, 'another model name is another namespace');

        now = T0 + 10_500;
        await codes.consume('code-1');
        assert.deepEqual(await codes.find('code-1'), {
          jti: 'code-1',
          kind: 'AuthorizationCode',
          scope: 'openid',
          claims: { a: [1, 2] },
          consumed: Math.floor((T0 + 10_500) / 1000),
        });

        await codes.upsert('code-1', { jti: 'code-1', kind: 'AuthorizationCode', scope: 'openid profile' }, 60);
        assert.deepEqual(await codes.find('code-1'), { jti: 'code-1', kind: 'AuthorizationCode', scope: 'openid profile' }, 'an upsert replaces the payload');

        await codes.destroy('code-1');
        assert.equal(await codes.find('code-1'), undefined);
        await codes.destroy('code-1');
        await codes.consume('never-stored');
        assert.equal(await codes.find('never-stored'), undefined);
      }));

    test('oidc models: sessions are found by uid and device codes by user code', () =>
      withStore(async (store) => {
        const sessions = store.oidc('Session');
        await sessions.upsert('cookie-1', { jti: 'cookie-1', uid: 'uid-1', kind: 'Session', accountId: 'ada' }, 3600);
        assert.deepEqual(await sessions.findByUid('uid-1'), { jti: 'cookie-1', uid: 'uid-1', kind: 'Session', accountId: 'ada' });
        // A session's jti changes while its uid stays: the new id is found by the uid, the old one is gone.
        await sessions.destroy('cookie-1');
        await sessions.upsert('cookie-2', { jti: 'cookie-2', uid: 'uid-1', kind: 'Session', accountId: 'ada' }, 3600);
        assert.equal((await sessions.findByUid('uid-1'))?.['jti'], 'cookie-2');
        assert.equal(await sessions.findByUid('uid-2'), undefined);

        const devices = store.oidc('DeviceCode');
        await devices.upsert('device-1', { jti: 'device-1', kind: 'DeviceCode', userCode: 'WDJB-MJHT', grantId: 'grant-9' }, 600);
        assert.deepEqual(await devices.findByUserCode('WDJB-MJHT'), { jti: 'device-1', kind: 'DeviceCode', userCode: 'WDJB-MJHT', grantId: 'grant-9' });
        assert.equal(await devices.findByUserCode('XXXX-XXXX'), undefined);
      }));

    test('oidc models: revokeByGrantId removes every token of the grant in every model and nothing else', () =>
      withStore(async (store) => {
        const access = store.oidc('AccessToken');
        const refresh = store.oidc('RefreshToken');
        const codes = store.oidc('AuthorizationCode');
        const grants = store.oidc('Grant');
        await grants.upsert('grant-1', { jti: 'grant-1', kind: 'Grant', accountId: 'ada' }, 3600);
        await codes.upsert('code-1', { jti: 'code-1', grantId: 'grant-1' }, 60);
        await access.upsert('at-1', { jti: 'at-1', grantId: 'grant-1' }, 600);
        await refresh.upsert('rt-1', { jti: 'rt-1', grantId: 'grant-1' });
        await access.upsert('at-2', { jti: 'at-2', grantId: 'grant-2' }, 600);

        await refresh.revokeByGrantId('grant-1');
        assert.equal(await codes.find('code-1'), undefined);
        assert.equal(await access.find('at-1'), undefined);
        assert.equal(await refresh.find('rt-1'), undefined);
        assert.deepEqual(await access.find('at-2'), { jti: 'at-2', grantId: 'grant-2' });
        assert.deepEqual(
          await grants.find('grant-1'),
          { jti: 'grant-1', kind: 'Grant', accountId: 'ada' },
          'the grant itself is destroyed by oidc-provider, not by revokeByGrantId',
        );
      }));

    test('oidc models: an expired instance is not found by any lookup, and pruneExpiredOidc removes exactly the expired ones', () =>
      withStore(async (store) => {
        const sessions = store.oidc('Session');
        const devices = store.oidc('DeviceCode');
        const clients = store.oidc('Client');
        await sessions.upsert('s-1', { jti: 's-1', uid: 'u-1' }, 10);
        await devices.upsert('d-1', { jti: 'd-1', userCode: 'AAAA-BBBB' }, 20);
        await clients.upsert('c-1', { client_id: 'c-1' });

        now = T0 + 9_999;
        assert.ok(await sessions.find('s-1'));
        assert.ok(await sessions.findByUid('u-1'));
        now = T0 + 10_000;
        assert.equal(await sessions.find('s-1'), undefined);
        assert.equal(await sessions.findByUid('u-1'), undefined);
        assert.ok(await devices.findByUserCode('AAAA-BBBB'));
        now = T0 + 20_000;
        assert.equal(await devices.findByUserCode('AAAA-BBBB'), undefined);
        assert.equal(await devices.find('d-1'), undefined);

        now = T0 + 86_400_000;
        assert.deepEqual(await clients.find('c-1'), { client_id: 'c-1' }, 'no expiresIn: kept for good');
        assert.equal(await store.pruneExpiredOidc(), 2);
        assert.equal(await store.pruneExpiredOidc(), 0);
        // Upserting again with a fresh expiry brings an expired id back.
        await sessions.upsert('s-1', { jti: 's-1', uid: 'u-1' }, 10);
        assert.ok(await sessions.find('s-1'));
      }));

    test('bad oidc input is refused with invalid_input', () =>
      withStore(async (store) => {
        const access = store.oidc('AccessToken');
        await refused(access.upsert('', { jti: '' }, 10), 'invalid_input', 'id');
        await refused(access.upsert('at', { jti: 'at' }, 0), 'invalid_input', 'expiresIn');
        await refused(access.upsert('at', { jti: 'at' }, Number.NaN), 'invalid_input', 'expiresIn');
        await refused(access.upsert('at', null as unknown as Record<string, unknown>, 10), 'invalid_input', 'payload');
        assert.throws(
          () => store.oidc(''),
          (err: unknown) => err instanceof IdentityStoreError && err.code === 'invalid_input' && err.param === 'model',
        );
      }));

    const SECRET_A = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
    const SECRET_B = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';
    const sha = (n: number): string => n.toString(16).padStart(64, '0');

    test('setTotp stores an unconfirmed factor and replaces any earlier one; confirm and remove report whether there was one', () =>
      withStore(async (store) => {
        const ada = await store.createUser({ email: 'ada@example.org', displayName: 'Ada' });
        assert.equal(await store.getTotp(ada.id), undefined);
        assert.equal(await store.confirmTotp(ada.id), false);
        await store.setTotp(ada.id, SECRET_A);
        assert.deepEqual(await store.getTotp(ada.id), { userId: ada.id, secret: SECRET_A, confirmed: false, createdAt: T0, lastUsedStep: undefined });
        assert.equal(await store.confirmTotp(ada.id), true);
        assert.equal(await store.useTotpStep(ada.id, 100), true);
        assert.deepEqual(await store.getTotp(ada.id), { userId: ada.id, secret: SECRET_A, confirmed: true, createdAt: T0, lastUsedStep: 100 });

        now = T0 + 1000;
        await store.setTotp(ada.id, SECRET_B);
        assert.deepEqual(
          await store.getTotp(ada.id),
          { userId: ada.id, secret: SECRET_B, confirmed: false, createdAt: T0 + 1000, lastUsedStep: undefined },
          'a new factor starts unconfirmed and with no step used',
        );

        await store.replaceRecoveryCodes(ada.id, [sha(1), sha(2)]);
        assert.equal(await store.removeTotp(ada.id), true);
        assert.equal(await store.getTotp(ada.id), undefined);
        assert.equal(await store.countRecoveryCodes(ada.id), 0, 'removing the factor removes the recovery codes');
        assert.equal(await store.removeTotp(ada.id), false);
        assert.equal(await store.useTotpStep(ada.id, 200), false, 'no factor, no step');
        await refused(store.setTotp('nobody', SECRET_A), 'not_found', 'userId');
      }));

    test('useTotpStep accepts only a step newer than the last used one, and of concurrent calls for one step exactly one wins', () =>
      withStore(async (store) => {
        const ada = await store.createUser({ email: 'ada@example.org', displayName: 'Ada' });
        await store.setTotp(ada.id, SECRET_A);
        assert.equal(await store.useTotpStep(ada.id, 1000), true);
        assert.equal(await store.useTotpStep(ada.id, 1000), false, 'the same step again is a replay');
        assert.equal(await store.useTotpStep(ada.id, 999), false, 'an older step is a replay');
        assert.equal(await store.useTotpStep(ada.id, 1001), true);
        assert.equal((await store.getTotp(ada.id))?.lastUsedStep, 1001);

        const racing = await Promise.all(Array.from({ length: 6 }, () => store.useTotpStep(ada.id, 1005)));
        assert.equal(racing.filter(Boolean).length, 1, `one winner, got ${racing.join(', ')}`);
        assert.equal((await store.getTotp(ada.id))?.lastUsedStep, 1005);
      }));

    test('bad TOTP input is refused with invalid_input', () =>
      withStore(async (store) => {
        const ada = await store.createUser({ email: 'ada@example.org', displayName: 'Ada' });
        await refused(store.setTotp(ada.id, 'not base32!'), 'invalid_input', 'secret');
        await refused(store.setTotp(ada.id, 'JBSWY3DP'), 'invalid_input', 'secret');
        await refused(store.setTotp('', SECRET_A), 'invalid_input', 'userId');
        await refused(store.useTotpStep(ada.id, -1), 'invalid_input', 'step');
        await refused(store.useTotpStep(ada.id, 1.5), 'invalid_input', 'step');
        assert.equal(await store.getTotp(ada.id), undefined);
      }));

    test('recovery codes: replaced as a set, each usable once, counted while unused', () =>
      withStore(async (store) => {
        const ada = await store.createUser({ email: 'ada@example.org', displayName: 'Ada' });
        const bob = await store.createUser({ email: 'bob@example.org', displayName: 'Bob' });
        await store.replaceRecoveryCodes(ada.id, [sha(1), sha(2), sha(3)]);
        await store.replaceRecoveryCodes(bob.id, [sha(1)]);
        assert.equal(await store.countRecoveryCodes(ada.id), 3);
        assert.equal(await store.useRecoveryCode(ada.id, sha(2)), true);
        assert.equal(await store.useRecoveryCode(ada.id, sha(2)), false, 'used already');
        assert.equal(await store.useRecoveryCode(ada.id, sha(9)), false, 'not one of hers');
        assert.equal(await store.countRecoveryCodes(ada.id), 2);
        assert.equal(await store.countRecoveryCodes(bob.id), 1, 'the same hash of another user is untouched');

        const racing = await Promise.all(Array.from({ length: 5 }, () => store.useRecoveryCode(ada.id, sha(3))));
        assert.equal(racing.filter(Boolean).length, 1, `one winner, got ${racing.join(', ')}`);

        await store.replaceRecoveryCodes(ada.id, [sha(4), sha(5)]);
        assert.equal(await store.countRecoveryCodes(ada.id), 2);
        assert.equal(await store.useRecoveryCode(ada.id, sha(1)), false, 'the old set is gone');
        assert.equal(await store.useRecoveryCode(ada.id, sha(4)), true);

        await refused(store.replaceRecoveryCodes('nobody', [sha(1)]), 'not_found', 'userId');
        await refused(store.replaceRecoveryCodes('nobody', []), 'not_found', 'userId');
        await refused(store.replaceRecoveryCodes(ada.id, ['ABCD-EFGH']), 'invalid_input', 'hashes');
        await refused(store.replaceRecoveryCodes(ada.id, [sha(7), sha(7)]), 'invalid_input', 'hashes');
        await refused(store.useRecoveryCode(ada.id, 'ABCD-EFGH'), 'invalid_input', 'hash');
        assert.equal(await store.countRecoveryCodes(ada.id), 1, 'refused input changed nothing');
      }));

    test('one-time tokens: consumed once, not after expiry, per kind; concurrent consumers get it at most once', () =>
      withStore(async (store) => {
        const ada = await store.createUser({ email: 'ada@example.org', displayName: 'Ada' });
        const invite = await store.createOneTimeToken({
          kind: 'invite',
          hash: sha(1),
          expiresAt: T0 + 60_000,
          gym: 'gym-a',
          detail: { email: 'new@example.org', role: 'athlete' },
        });
        assert.deepEqual(invite, {
          kind: 'invite',
          hash: sha(1),
          createdAt: T0,
          expiresAt: T0 + 60_000,
          userId: undefined,
          gym: 'gym-a',
          detail: { email: 'new@example.org', role: 'athlete' },
        });
        await store.createOneTimeToken({ kind: 'password_reset', hash: sha(1), expiresAt: T0 + 60_000, userId: ada.id });
        await refused(store.createOneTimeToken({ kind: 'invite', hash: sha(1), expiresAt: T0 + 1 }), 'conflict', 'hash');

        assert.equal(await store.consumeOneTimeToken('agent_enrollment', sha(1), T0), undefined, 'another kind');
        assert.deepEqual(await store.consumeOneTimeToken('invite', sha(1), T0 + 59_999), invite);
        assert.equal(await store.consumeOneTimeToken('invite', sha(1), T0 + 59_999), undefined, 'used already');

        const reset = await store.consumeOneTimeToken('password_reset', sha(1), T0);
        assert.equal(reset?.userId, ada.id);
        assert.deepEqual(reset?.detail, {});

        await store.createOneTimeToken({ kind: 'invite', hash: sha(2), expiresAt: T0 + 60_000 });
        assert.equal(await store.consumeOneTimeToken('invite', sha(2), T0 + 60_000), undefined, 'expired at expiresAt');
        assert.equal(await store.consumeOneTimeToken('invite', sha(9), T0), undefined, 'unknown');

        await store.createOneTimeToken({ kind: 'agent_enrollment', hash: sha(3), expiresAt: T0 + 60_000, detail: { agentId: 'box-1' } });
        const racing = await Promise.all(Array.from({ length: 6 }, () => store.consumeOneTimeToken('agent_enrollment', sha(3), T0)));
        assert.equal(racing.filter((t) => t !== undefined).length, 1);

        await refused(store.createOneTimeToken({ kind: 'invite', hash: sha(4), expiresAt: T0, userId: 'nobody' }), 'not_found', 'userId');
      }));

    test('revokeOneTimeTokens deletes the unused tokens of one kind whose detail field has the value, and nothing else', () =>
      withStore(async (store) => {
        const enroll = (n: number, agentId: string, kind: 'agent_enrollment' | 'invite' = 'agent_enrollment') =>
          store.createOneTimeToken({ kind, hash: sha(n), expiresAt: T0 + 60_000, detail: { agentId, attempt: n } });
        await enroll(1, 'box-1');
        await enroll(2, 'box-1');
        await enroll(3, 'box-1');
        await enroll(4, 'box-2');
        await enroll(5, 'box-1', 'invite');
        await store.consumeOneTimeToken('agent_enrollment', sha(3), T0);

        assert.equal(await store.revokeOneTimeTokens('agent_enrollment', 'agentId', 'box-1'), 2);
        assert.equal(await store.consumeOneTimeToken('agent_enrollment', sha(1), T0), undefined);
        assert.equal(await store.revokeOneTimeTokens('agent_enrollment', 'agentId', 'box-1'), 0);
        assert.equal(await store.revokeOneTimeTokens('agent_enrollment', 'agentId', "box-1' OR '1'='1"), 0);
        assert.ok(await store.consumeOneTimeToken('agent_enrollment', sha(4), T0), 'another agent keeps its code');
        assert.ok(await store.consumeOneTimeToken('invite', sha(5), T0), 'another kind keeps its token');

        await refused(store.revokeOneTimeTokens('agent_enrollment', 'a.b', 'x'), 'invalid_input', 'field');
        await refused(store.revokeOneTimeTokens('agent_enrollment', "agentId') OR 1=1 --", 'x'), 'invalid_input', 'field');
        await refused(store.revokeOneTimeTokens('coupon' as 'invite', 'agentId', 'x'), 'invalid_input', 'kind');
      }));

    test('bad one-time token input is refused with invalid_input', () =>
      withStore(async (store) => {
        await refused(store.createOneTimeToken({ kind: 'coupon' as 'invite', hash: sha(1), expiresAt: T0 }), 'invalid_input', 'kind');
        await refused(store.createOneTimeToken({ kind: 'invite', hash: 'raw-token-value', expiresAt: T0 }), 'invalid_input', 'hash');
        await refused(store.createOneTimeToken({ kind: 'invite', hash: 'AB'.repeat(32), expiresAt: T0 }), 'invalid_input', 'hash');
        await refused(store.createOneTimeToken({ kind: 'invite', hash: sha(1), expiresAt: -5 }), 'invalid_input', 'expiresAt');
        await refused(store.createOneTimeToken({ kind: 'invite', hash: sha(1), expiresAt: T0, detail: [] as unknown as Record<string, unknown> }), 'invalid_input', 'detail');
        await refused(store.createOneTimeToken({ kind: 'invite', hash: sha(1), expiresAt: T0, gym: '' }), 'invalid_input', 'gym');
        await refused(store.consumeOneTimeToken('invite', 'raw', T0), 'invalid_input', 'hash');
        await refused(store.consumeOneTimeToken('invite', sha(1), Number.NaN), 'invalid_input', 'now');
        assert.equal(await store.consumeOneTimeToken('invite', sha(1), T0), undefined, 'nothing was written');
      }));

    test('federated links: one user per issuer and subject, refused as a conflict when linked already', () =>
      withStore(async (store) => {
        const ada = await store.createUser({ email: 'ada@example.org', displayName: 'Ada' });
        const bob = await store.createUser({ email: 'bob@example.org', displayName: 'Bob' });
        await store.linkFederatedIdentity({ issuer: 'https://idp.example.com', subject: 'sub-1', userId: ada.id });
        await store.linkFederatedIdentity({ issuer: 'https://other.example.com', subject: 'sub-1', userId: bob.id });
        await store.linkFederatedIdentity({ issuer: 'https://idp.example.com', subject: 'sub-2', userId: ada.id });
        assert.equal(await store.findFederatedUser('https://idp.example.com', 'sub-1'), ada.id);
        assert.equal(await store.findFederatedUser('https://other.example.com', 'sub-1'), bob.id);
        assert.equal(await store.findFederatedUser('https://idp.example.com', 'SUB-1'), undefined, 'subjects are case-sensitive');
        assert.equal(await store.findFederatedUser('https://idp.example.com', 'sub-3'), undefined);
        await refused(store.linkFederatedIdentity({ issuer: 'https://idp.example.com', subject: 'sub-1', userId: bob.id }), 'conflict', 'subject');
        await refused(store.linkFederatedIdentity({ issuer: 'https://idp.example.com', subject: 'sub-9', userId: 'nobody' }), 'not_found', 'userId');
        await refused(store.linkFederatedIdentity({ issuer: '', subject: 'sub-9', userId: ada.id }), 'invalid_input', 'issuer');
        await refused(store.linkFederatedIdentity({ issuer: 'https://idp.example.com', subject: '', userId: ada.id }), 'invalid_input', 'subject');
        assert.equal(await store.findFederatedUser('https://idp.example.com', 'sub-1'), ada.id);
      }));

    test('signing keys are listed newest first; retiring keeps only the new signing key unretired; retired keys are deleted after their cut-off', () =>
      withStore(async (store) => {
        const jwk = (kid: string): Record<string, unknown> => ({ kty: 'EC', crv: 'P-256', kid, d: `d-${kid}`, x: `x-${kid}`, y: `y-${kid}` });
        const k1 = await store.addSigningKey({ kid: 'k1', alg: 'ES256', privateJwk: jwk('k1') });
        assert.deepEqual(k1, { kid: 'k1', alg: 'ES256', privateJwk: jwk('k1'), createdAt: T0, retiredAt: undefined });
        await refused(store.addSigningKey({ kid: 'k1', alg: 'ES256', privateJwk: jwk('k1') }), 'conflict', 'kid');
        // Same clock reading on purpose: "newest" is the order of addition, not a timestamp tie.
        await store.addSigningKey({ kid: 'k2', alg: 'ES256', privateJwk: jwk('k2') });
        now = T0 + 1000;
        await store.addSigningKey({ kid: 'k3', alg: 'RS256', privateJwk: jwk('k3') });
        assert.deepEqual(
          (await store.listSigningKeys()).map((k) => [k.kid, k.retiredAt]),
          [
            ['k3', undefined],
            ['k2', undefined],
            ['k1', undefined],
          ],
        );

        await store.retireSigningKeysExcept('k2', T0 + 2000);
        await store.retireSigningKeysExcept('k3', T0 + 5000);
        const keys = await store.listSigningKeys();
        assert.deepEqual(
          keys.map((k) => [k.kid, k.retiredAt]),
          [
            ['k3', T0 + 2000],
            ['k2', T0 + 5000],
            ['k1', T0 + 2000],
          ],
          'a key retired already keeps its first retirement time',
        );
        assert.deepEqual(keys[0]!.privateJwk, jwk('k3'));

        assert.equal(await store.deleteSigningKeysRetiredBefore(T0 + 2000), 0, 'retired at the cut-off is kept');
        assert.equal(await store.deleteSigningKeysRetiredBefore(T0 + 2001), 2);
        assert.deepEqual(
          (await store.listSigningKeys()).map((k) => k.kid),
          ['k2'],
        );
      }));

    test('bad signing key input is refused with invalid_input', () =>
      withStore(async (store) => {
        await refused(store.addSigningKey({ kid: '', alg: 'ES256', privateJwk: {} }), 'invalid_input', 'kid');
        await refused(store.addSigningKey({ kid: 'k', alg: '', privateJwk: {} }), 'invalid_input', 'alg');
        await refused(store.addSigningKey({ kid: 'k', alg: 'ES256', privateJwk: 'pem' as unknown as Record<string, unknown> }), 'invalid_input', 'privateJwk');
        await refused(store.retireSigningKeysExcept('k', -1), 'invalid_input', 'at');
        await refused(store.deleteSigningKeysRetiredBefore(Number.NaN), 'invalid_input', 'before');
        assert.deepEqual(await store.listSigningKeys(), []);
      }));

    test('getOrCreateSecret creates a secret once: later and concurrent calls get the first value and do not call create', () =>
      withStore(async (store, fresh) => {
        let created = 0;
        const make = (value: string) => (): string => {
          created++;
          return value;
        };
        const racing = await Promise.all(['a', 'b', 'c', 'd'].map((v) => store.getOrCreateSecret('cookie-keys', make(`value-${v}`))));
        assert.equal(new Set(racing).size, 1, `every caller gets the winner, got ${racing.join(', ')}`);
        assert.match(racing[0]!, /^value-[abcd]$/);
        created = 0;
        assert.equal(await store.getOrCreateSecret('cookie-keys', make('later')), racing[0]);
        assert.equal(created, 0, 'create is not called when the secret exists');
        assert.equal(await store.getOrCreateSecret('other', make('other-value')), 'other-value');
        const reopened = await fresh.reopen();
        assert.equal(await reopened.getOrCreateSecret('cookie-keys', make('after-restart')), racing[0], 'kept across restarts');
        await refused(reopened.getOrCreateSecret('', make('x')), 'invalid_input', 'name');
        await refused(reopened.getOrCreateSecret('empty', make('')), 'invalid_input', 'create');
      }));

    test('a profile is absent until saved, then read back whole; saving again replaces it, fields left out included', () =>
      withStore(async (store) => {
        const ada = await store.createUser({ email: 'ada@example.org', displayName: 'Ada' });
        assert.equal(await store.getProfile(ada.id), undefined);
        const full = {
          birthDate: '1990-02-28',
          sex: 'female' as const,
          weightKg: 61.5,
          heightCm: 170,
          maxHeartRate: 188,
          restingHeartRate: 48,
          ftpWatts: 230,
          resultsVisibility: 'gym' as const,
          boardVisibility: 'alias' as const,
          boardAlias: 'Comet',
          leaderboards: true,
        };
        assert.deepEqual(await store.saveProfile(ada.id, full), { userId: ada.id, ...full, updatedAt: T0 });
        assert.deepEqual(await store.getProfile(ada.id), { userId: ada.id, ...full, updatedAt: T0 });
        now += 1000;
        const lean = { resultsVisibility: 'only_me' as const, boardVisibility: 'hidden' as const, leaderboards: false };
        await store.saveProfile(ada.id, lean);
        assert.deepEqual(await store.getProfile(ada.id), { userId: ada.id, ...lean, updatedAt: T0 + 1000 });
        await store.setDisplayName(ada.id, '  Ada L.  ');
        assert.equal((await store.getUser(ada.id))?.displayName, 'Ada L.');
      }));

    test('leaderboards is an opt-in: a profile saved without it reads as not listed, and only true or false is taken', () =>
      withStore(async (store) => {
        const ada = await store.createUser({ email: 'ada@example.org', displayName: 'Ada' });
        const base = { resultsVisibility: 'friends' as const, boardVisibility: 'name' as const };
        assert.equal((await store.saveProfile(ada.id, base)).leaderboards, false);
        assert.equal((await store.getProfile(ada.id))?.leaderboards, false);
        await store.saveProfile(ada.id, { ...base, leaderboards: true });
        assert.equal((await store.getProfile(ada.id))?.leaderboards, true);
        await refused(store.saveProfile(ada.id, { ...base, leaderboards: 'yes' as never }), 'invalid_input', 'leaderboards');
        assert.equal((await store.getProfile(ada.id))?.leaderboards, true, 'a refused save changes nothing');
      }));

    test('a profile with a field out of range is refused naming the field, and one of an unknown user as not found', () =>
      withStore(async (store) => {
        const ada = await store.createUser({ email: 'ada@example.org', displayName: 'Ada' });
        const base = { resultsVisibility: 'friends' as const, boardVisibility: 'name' as const };
        await refused(store.saveProfile(ada.id, { ...base, birthDate: '2026-02-30' }), 'invalid_input', 'birthDate');
        await refused(store.saveProfile(ada.id, { ...base, birthDate: '2027-01-01' }), 'invalid_input', 'birthDate');
        await refused(store.saveProfile(ada.id, { ...base, weightKg: 1000 }), 'invalid_input', 'weightKg');
        await refused(store.saveProfile(ada.id, { ...base, maxHeartRate: 180.5 }), 'invalid_input', 'maxHeartRate');
        await refused(store.saveProfile(ada.id, { ...base, resultsVisibility: 'public' as never }), 'invalid_input', 'resultsVisibility');
        await refused(store.saveProfile(ada.id, { ...base, boardAlias: 'x'.repeat(33) }), 'invalid_input', 'boardAlias');
        assert.equal(await store.getProfile(ada.id), undefined);
        await refused(store.saveProfile('nobody', base), 'not_found', 'userId');
        await refused(store.setDisplayName('nobody', 'X'), 'not_found', 'id');
        await refused(store.setDisplayName(ada.id, ' '), 'invalid_input', 'displayName');
      }));

    test('migrations run again on a restart are a no-op: the same versions, applied once, and the data kept', () =>
      withStore(async (store, fresh) => {
        const applied = await store.migrations();
        assert.ok(applied.length >= 1);
        assert.deepEqual(
          applied.map((m) => m.version),
          applied.map((_, i) => i + 1),
        );
        assert.ok(applied.every((m) => m.appliedAt === T0 && m.name.length > 0));
        const ada = await store.createUser({ email: 'ada@example.org', displayName: 'Ada' });
        await store.oidc('Session').upsert('s-1', { jti: 's-1', uid: 'u-1' }, 3600);

        now = T0 + 60_000;
        const reopened = await fresh.reopen();
        assert.deepEqual(await reopened.migrations(), applied);
        assert.deepEqual(await reopened.getUser(ada.id), ada);
        assert.deepEqual(await reopened.oidc('Session').findByUid('u-1'), { jti: 's-1', uid: 'u-1' });
        await refused(reopened.createUser({ email: 'ADA@example.org', displayName: 'Ada again' }), 'conflict', 'email');
      }));

    test('calls after stop() are refused with not_started', () =>
      withStore(async (_store, fresh) => {
        const reopened = await fresh.reopen();
        await reopened.stop();
        await assert.rejects(reopened.getUser('x'), (err: unknown) => err instanceof IdentityStoreError && err.code === 'not_started');
        await assert.rejects(reopened.oidc('Session').find('x'), (err: unknown) => err instanceof IdentityStoreError && err.code === 'not_started');
      }));
  });
}
