/**
 * The one AgentRegistry contract: each adapter runs it from its own *.test.ts against its real database
 * (sqlite-agent-registry.test.ts, postgres-agent-registry.test.ts). What differs by design (presence kept per
 * process or shared, migrations of older files) is tested in those files.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { AgentRegistry } from '../../src/registry/agent-registry.ts';
import { RegistryError, isGymId } from '../../src/registry/agent-credentials.ts';

/** What the contract needs beyond the port: the lifecycle both adapters have. */
export type ContractRegistry = AgentRegistry & { start(): Promise<void>; stop(): Promise<void>; flushLastSeen(): void | Promise<void> };

export interface RegistryOptions {
  now?: () => number;
  authCacheMs?: number;
  enrollmentTtlMs?: number;
  /** Cheap scrypt unless told; `default` for the timing test. */
  scrypt?: 'cheap' | 'default';
}

export interface RegistryFixture {
  /** Started, on fresh empty storage. */
  registry: ContractRegistry;
  /** Stops the registry and starts a new one on the same storage, as a restarted hub does. */
  reopen(options?: RegistryOptions): Promise<ContractRegistry>;
  /** The stored secret hash of an agent (null while it waits for enrollment; undefined when unknown). */
  storedSecretHash(id: string): Promise<string | null | undefined>;
  /** Every stored enrollment code row, as the storage has it. */
  storedCodes(): Promise<unknown[]>;
  /** The last-seen time the storage holds (what another process would read). */
  storedLastSeen(id: string): Promise<number | null>;
  cleanup(): Promise<void>;
}

export type RegistryFactory = (options: RegistryOptions) => Promise<RegistryFixture>;

const T0 = Date.UTC(2026, 0, 1);

export function agentRegistryContract(name: string, make: RegistryFactory, options: { skip?: string | false } = {}): void {
  async function withRegistry(registryOptions: RegistryOptions, use: (r: ContractRegistry, fixture: RegistryFixture) => Promise<void>): Promise<void> {
    const fixture = await make(registryOptions);
    try {
      await use(fixture.registry, fixture);
    } finally {
      await fixture.cleanup();
    }
  }

  describe(`AgentRegistry contract: ${name}`, { skip: options.skip }, () => {
    test('create returns a 32-byte base64url secret that authenticates; the storage holds only a salted scrypt hash', () =>
      withRegistry({}, async (r, fixture) => {
        const { agent, secret } = await r.create('box-1', 'gym-a');
        assert.equal(agent.id, 'box-1');
        assert.equal(agent.gym, 'gym-a');
        assert.equal(agent.online, false);
        assert.match(secret, /^[A-Za-z0-9_-]{43}$/);
        assert.equal(Buffer.from(secret, 'base64url').length, 32);
        const stored = (await fixture.storedSecretHash('box-1'))!;
        assert.ok(!stored.includes(secret));
        assert.match(stored, /^scrypt\$1024\$8\$1\$[A-Za-z0-9_-]+\$[A-Za-z0-9_-]+$/);
        const again = await r.create('box-2', 'gym-a');
        assert.notEqual(again.secret, secret);
        const otherHash = (await fixture.storedSecretHash('box-2'))!;
        assert.notEqual(otherHash.split('$')[4], stored.split('$')[4], 'every hash has its own salt');
        assert.equal((await r.authenticate('box-1', secret))?.id, 'box-1');
        assert.equal((await r.authenticate('box-1', secret))?.gym, 'gym-a', 'cached success returns the record too');
      }));

    test('wrong secrets, unknown agents and absurd inputs do not authenticate', () =>
      withRegistry({ authCacheMs: 60_000 }, async (r) => {
        const a = await r.create('box-1', 'gym-a');
        const b = await r.create('box-2', 'gym-a');
        assert.ok(await r.authenticate('box-1', a.secret), 'warm the cache');
        assert.equal(await r.authenticate('box-1', b.secret), undefined, "another agent's secret");
        assert.equal(await r.authenticate('box-1', a.secret.slice(0, -1)), undefined);
        assert.equal(await r.authenticate('box-1', `${a.secret}x`), undefined);
        assert.equal(await r.authenticate('box-1', ''), undefined);
        assert.equal(await r.authenticate('box-1', 'x'.repeat(10_000)), undefined);
        assert.equal(await r.authenticate('nobody', a.secret), undefined);
        assert.equal(await r.authenticate('../etc', a.secret), undefined);
        assert.equal(await r.authenticate('', a.secret), undefined);
      }));

    test('invalid agent and gym ids are refused with a typed error', () =>
      withRegistry({}, async (r) => {
        for (const id of ['', '-leading-dash', 'has space', 'slash/in', 'plus+', 'hash#', 'x'.repeat(65), 'ünï']) {
          await assert.rejects(r.create(id, 'gym-a'), (err: unknown) => err instanceof RegistryError && err.code === 'invalid_id', id);
        }
        for (const gym of ['', ' ', 'a/b', 'x'.repeat(65), '.hidden']) {
          await assert.rejects(r.create('box-1', gym), (err: unknown) => err instanceof RegistryError && err.code === 'invalid_gym', gym);
        }
        assert.deepEqual(await r.list(), []);
        assert.ok(isGymId('gym.berlin-1_a'));
      }));

    test('creating an existing agent fails with code exists and keeps the first secret valid', () =>
      withRegistry({}, async (r) => {
        const first = await r.create('box-1', 'gym-a');
        await assert.rejects(r.create('box-1', 'gym-b'), { name: 'RegistryError', code: 'exists' });
        assert.equal((await r.authenticate('box-1', first.secret))?.gym, 'gym-a');
      }));

    test('remove deletes the agent and its cached authentication at once', () =>
      withRegistry({ authCacheMs: 60_000 }, async (r) => {
        const { secret } = await r.create('box-1', 'gym-a');
        assert.ok(await r.authenticate('box-1', secret));
        assert.equal(await r.remove('box-1'), true);
        assert.equal(await r.remove('box-1'), false);
        assert.equal(await r.get('box-1'), undefined);
        assert.equal(await r.authenticate('box-1', secret), undefined);
        const recreated = await r.create('box-1', 'gym-a');
        assert.equal(await r.authenticate('box-1', secret), undefined, 'the old secret does not open the new agent');
        assert.ok(await r.authenticate('box-1', recreated.secret));
      }));

    test('list returns every agent ordered by id, with status, inventory and online state', () =>
      withRegistry({}, async (r) => {
        await r.create('b-box', 'gym-a');
        await r.create('a-box', 'gym-b');
        await r.create('B-box', 'gym-b');
        r.touch('a-box', 1_000);
        r.setOnline('a-box', true);
        await r.recordStatus('a-box', { state: 'online', version: '1.2.3' }, 1_000);
        await r.recordInventory('a-box', [{ id: 'ble:1', kind: 'heart_rate', source: 'ble', metrics: ['heart_rate'] }]);
        await r.recordStatus('ghost', { state: 'online' }, 1_000); // unknown agents are ignored, not created
        await r.recordInventory('ghost', []);
        const list = await r.list();
        assert.deepEqual(
          list.map((a) => a.id),
          ['B-box', 'a-box', 'b-box'],
          'by code point, whatever the database collation',
        );
        assert.equal(list[1]!.online, true);
        assert.equal(list[1]!.status?.version, '1.2.3');
        assert.equal(list[1]!.inventory?.[0]?.id, 'ble:1');
        assert.equal(list[1]!.lastSeen, 1_000);
        assert.equal(list[2]!.online, false);
        assert.equal(list[2]!.lastSeen, undefined);
        await r.recordStatus('a-box', { state: 'offline' }, 2_000);
        assert.equal((await r.get('a-box'))?.online, true, 'a status is recorded; whether the agent is online is what setOnline() says');
        assert.equal((await r.get('a-box'))?.status?.state, 'offline');
        r.setOnline('a-box', false);
        assert.equal((await r.get('a-box'))?.online, false);
        assert.equal((await r.get('a-box'))?.lastSeen, 1_000, 'a status is not presence: only touch() records when the agent was seen');
      }));

    test('touch is kept in memory, read back at once, never goes backwards, and reaches the storage when flushed', () =>
      withRegistry({}, async (r, fixture) => {
        await r.create('box-1', 'gym-a');
        r.touch('box-1', 5_000);
        r.touch('box-1', 4_000);
        r.touch('ghost', 1); // unknown: harmless
        assert.equal((await r.get('box-1'))?.lastSeen, 5_000);
        assert.equal(await fixture.storedLastSeen('box-1'), null, 'not written yet');
        await r.flushLastSeen();
        assert.equal(await fixture.storedLastSeen('box-1'), 5_000);
        r.touch('box-1', 3_000);
        await r.flushLastSeen();
        assert.equal(await fixture.storedLastSeen('box-1'), 5_000, 'an older time does not overwrite a newer one');
        assert.equal((await r.get('box-1'))?.lastSeen, 5_000);
      }));

    test('everything persists across a restart, last-seen included via stop()', () =>
      withRegistry({}, async (r, fixture) => {
        const { secret } = await r.create('box-1', 'gym-a');
        await r.recordStatus('box-1', { state: 'online' }, 100);
        await r.recordInventory('box-1', [{ id: 'ant:7', kind: 'bike', source: 'ant', metrics: ['power'] }]);
        r.touch('box-1', 9_000);
        const reopened = await fixture.reopen();
        const agent = await reopened.get('box-1');
        assert.equal(agent?.gym, 'gym-a');
        assert.equal(agent?.lastSeen, 9_000);
        assert.equal(agent?.status?.state, 'online');
        assert.equal(agent?.inventory?.[0]?.id, 'ant:7');
        assert.equal((await reopened.authenticate('box-1', secret))?.id, 'box-1');
        assert.equal(await reopened.authenticate('box-1', 'wrong'), undefined);
      }));

    test('removing an agent forgets that it was online', () =>
      withRegistry({}, async (r) => {
        await r.create('box-1', 'gym-a');
        r.setOnline('box-1', true);
        assert.equal((await r.get('box-1'))?.online, true);
        await r.remove('box-1');
        await r.create('box-1', 'gym-a');
        assert.equal((await r.get('box-1'))?.online, false);
      }));

    test('an unknown agent costs a scrypt run like a wrong secret does', () =>
      // Default cost, so the difference between hashing and not hashing is far above timer noise.
      withRegistry({ authCacheMs: 0, scrypt: 'default' }, async (r) => {
        const { secret } = await r.create('box-1', 'gym-a');
        await r.authenticate('nobody', secret); // builds the decoy hash once
        const time = async (id: string): Promise<number> => {
          const started = performance.now();
          await r.authenticate(id, 'not-the-secret');
          return performance.now() - started;
        };
        // The fastest of several alternating runs: load on the machine only ever adds time, so minimums compare the work.
        let wrong = Infinity;
        let unknown = Infinity;
        for (let i = 0; i < 5; i++) {
          wrong = Math.min(wrong, await time('box-1'));
          unknown = Math.min(unknown, await time('nobody'));
        }
        assert.ok(wrong > 5, `a wrong secret costs a real scrypt run (${wrong.toFixed(1)} ms)`);
        assert.ok(unknown > wrong / 3, `unknown ${unknown.toFixed(1)} ms vs wrong ${wrong.toFixed(1)} ms`);
      }));

    describe('enrollment', () => {
      test('an agent created for enrollment holds no credentials until its code is redeemed; the storage keeps no code in the clear', () =>
        withRegistry({ now: () => T0 }, async (r, fixture) => {
          const { agent, enrollment } = await r.createForEnrollment('box-1', 'gym-a');
          assert.equal(agent.enrolled, false);
          assert.match(enrollment.code, /^[A-HJ-NP-Z2-9]{5}-[A-HJ-NP-Z2-9]{5}$/);
          assert.equal(enrollment.expiresAt, T0 + 15 * 60_000, 'valid 15 minutes by default');
          assert.equal(await fixture.storedSecretHash('box-1'), null);
          const dump = JSON.stringify(await fixture.storedCodes());
          assert.ok(!dump.includes(enrollment.code) && !dump.includes(enrollment.code.replace('-', '')), dump);
          assert.equal((await r.get('box-1'))?.enrolled, false);

          const redeemed = await r.redeemEnrollment(` ${enrollment.code.toLowerCase().replace('-', ' ')} `, T0 + 1_000);
          assert.ok(redeemed, 'case, spaces and grouping do not matter');
          assert.equal(redeemed.agent.id, 'box-1');
          assert.equal(redeemed.agent.gym, 'gym-a');
          assert.equal(redeemed.agent.enrolled, true);
          assert.equal((await r.authenticate('box-1', redeemed.secret))?.id, 'box-1');
          assert.deepEqual(await fixture.storedCodes(), [], 'a redeemed code is gone');
        }));

      test('a code is refused once used, once expired, and when it is malformed or unknown', () =>
        withRegistry({ now: () => T0, enrollmentTtlMs: 60_000 }, async (r) => {
          const first = await r.createForEnrollment('box-1', 'gym-a');
          assert.equal(first.enrollment.expiresAt, T0 + 60_000, 'the configured lifetime');
          const used = await r.redeemEnrollment(first.enrollment.code, T0 + 1);
          assert.ok(used);
          assert.equal(await r.redeemEnrollment(first.enrollment.code, T0 + 2), undefined, 'used');
          assert.equal((await r.authenticate('box-1', used.secret))?.id, 'box-1', 'a refused reuse leaves the issued secret alone');

          const second = await r.createForEnrollment('box-2', 'gym-a', { ttlMs: 5_000 });
          assert.equal(await r.redeemEnrollment(second.enrollment.code, T0 + 5_000), undefined, 'expired at its expiry');
          assert.equal((await r.get('box-2'))?.enrolled, false);

          for (const bad of ['', 'ABCDE', 'ABCDE-FGHJK-LMNPQ', 'ABCDE-FGHI1', 'x'.repeat(10_000), 'ABCDE-FGHJK']) {
            assert.equal(await r.redeemEnrollment(bad, T0), undefined, bad);
          }
        }));

      test('concurrent redemptions of one code issue exactly one secret', () =>
        withRegistry({ now: () => T0 }, async (r) => {
          const { enrollment } = await r.createForEnrollment('box-1', 'gym-a');
          const results = await Promise.all(Array.from({ length: 5 }, () => r.redeemEnrollment(enrollment.code, T0)));
          const winners = results.filter((x) => x !== undefined);
          assert.equal(winners.length, 1);
          assert.ok(await r.authenticate('box-1', winners[0]!.secret));
        }));

      test('a new code revokes the earlier unused ones; with revokeSecret the current secret stops working at once', () =>
        withRegistry({ now: () => T0, authCacheMs: 60_000 }, async (r) => {
          const { secret } = await r.create('box-1', 'gym-a');
          const earlier = await r.issueEnrollment('box-1');
          const later = await r.issueEnrollment('box-1');
          assert.ok(earlier && later);
          assert.equal(await r.redeemEnrollment(earlier.code, T0), undefined, 'the earlier code');
          assert.ok(await r.authenticate('box-1', secret), 'a plain new code leaves the secret valid (and cached)');
          const reset = await r.issueEnrollment('box-1', { revokeSecret: true });
          assert.ok(reset);
          assert.equal(await r.authenticate('box-1', secret), undefined, 'revoked despite the cached success');
          assert.equal(await r.redeemEnrollment(later.code, T0), undefined, 'the code before the reset');
          assert.ok(await r.redeemEnrollment(reset.code, T0));
          assert.equal(await r.issueEnrollment('nobody'), undefined);
        }));

      test('a disabled agent is refused even with a cached success, redeems no code, and is accepted again once enabled', () =>
        withRegistry({ now: () => T0, authCacheMs: 60_000 }, async (r) => {
          const { secret } = await r.create('box-1', 'gym-a');
          assert.ok(await r.authenticate('box-1', secret));
          assert.equal(await r.disable('box-1'), true);
          assert.equal(await r.authenticate('box-1', secret), undefined);
          assert.equal((await r.get('box-1'))?.disabled, true);
          const code = await r.issueEnrollment('box-1');
          assert.equal(await r.redeemEnrollment(code!.code, T0), undefined, 'disabled');
          assert.equal(await r.enable('box-1'), true);
          assert.ok(await r.authenticate('box-1', secret));
          assert.ok(await r.redeemEnrollment(code!.code, T0), 'the code refused while disabled still works once enabled');
          assert.equal(await r.disable('nobody'), false);
          assert.equal(await r.enable('nobody'), false);
        }));

      test('rotateSecret invalidates the old secret at once, cached or not', () =>
        withRegistry({ authCacheMs: 60_000 }, async (r) => {
          const { secret } = await r.create('box-1', 'gym-a');
          assert.ok(await r.authenticate('box-1', secret));
          const rotated = await r.rotateSecret('box-1');
          assert.ok(rotated && rotated !== secret);
          assert.equal(await r.authenticate('box-1', secret), undefined);
          assert.ok(await r.authenticate('box-1', rotated));
          assert.equal(await r.rotateSecret('nobody'), undefined);
        }));

      test('an existing id is refused for enrollment too, and removing an agent drops its codes', () =>
        withRegistry({ now: () => T0 }, async (r, fixture) => {
          const { enrollment } = await r.createForEnrollment('box-1', 'gym-a');
          await assert.rejects(r.createForEnrollment('box-1', 'gym-b'), (err: unknown) => err instanceof RegistryError && err.code === 'exists');
          await assert.rejects(r.createForEnrollment('../x', 'gym-a'), (err: unknown) => err instanceof RegistryError && err.code === 'invalid_id');
          assert.equal((await r.get('box-1'))?.gym, 'gym-a', 'the refused enrollment changed nothing');
          assert.equal(await r.remove('box-1'), true);
          assert.deepEqual(await fixture.storedCodes(), []);
          await r.create('box-1', 'gym-a');
          assert.equal(await r.redeemEnrollment(enrollment.code, T0), undefined, "a removed agent's code does not enroll its successor");
        }));

      test('issuing a code clears the expired codes of every agent', () => {
        let now = T0;
        return withRegistry({ now: () => now, enrollmentTtlMs: 1_000 }, async (r, fixture) => {
          await r.createForEnrollment('box-1', 'gym-a');
          await r.createForEnrollment('box-2', 'gym-a');
          assert.equal((await fixture.storedCodes()).length, 2);
          now = T0 + 1_000;
          await r.createForEnrollment('box-3', 'gym-a');
          assert.equal((await fixture.storedCodes()).length, 1, 'only the live code is left');
        });
      });
    });
  });
}
