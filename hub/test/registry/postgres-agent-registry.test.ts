/**
 * PostgresAgentRegistry against a real PostgreSQL (PG_URL, started by scripts/test-services.sh): the
 * AgentRegistry contract, and what several hub replicas sharing one database rely on. Each fixture gets a
 * schema of its own, dropped afterwards.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { pino } from 'pino';
import { until } from '@pulsebridge/runtime';
import { DEFAULT_SCRYPT_COST } from '../../src/registry/agent-credentials.ts';
import { PostgresAgentRegistry, type PostgresAgentRegistryOptions } from '../../src/registry/postgres-agent-registry.ts';
import { PostgresStateError } from '../../src/registry/postgres-state.ts';
import { agentRegistryContract, type RegistryOptions } from './agent-registry-contract.ts';
import { testPostgres } from '../postgres-test.ts';

const postgres = testPostgres('pb_state_test');
const PG_URL = postgres.url;
const NO_PG = postgres.skip;
const log = pino({ level: 'silent' });
const cheap = { N: 1024, r: 8, p: 1 };
const T0 = Date.UTC(2026, 0, 1);

function registry(schema: string, options: Partial<PostgresAgentRegistryOptions> = {}): PostgresAgentRegistry {
  return new PostgresAgentRegistry({ url: PG_URL!, schema, log, scryptCost: cheap, flushIntervalMs: 0, poolSize: 3, ...options });
}

function fromContract(options: RegistryOptions): Partial<PostgresAgentRegistryOptions> {
  return {
    ...(options.now ? { now: options.now } : {}),
    ...(options.authCacheMs === undefined ? {} : { authCacheMs: options.authCacheMs }),
    ...(options.enrollmentTtlMs === undefined ? {} : { enrollmentTtlMs: options.enrollmentTtlMs }),
    scryptCost: options.scrypt === 'default' ? DEFAULT_SCRYPT_COST : cheap,
  };
}

/** Replicas on one fresh schema; all stopped and the schema dropped afterwards. */
async function withReplicas(
  count: number,
  options: Partial<PostgresAgentRegistryOptions>,
  use: (replicas: PostgresAgentRegistry[], schema: string) => Promise<void>,
): Promise<void> {
  const schema = postgres.freshSchema();
  const replicas = Array.from({ length: count }, () => registry(schema, options));
  try {
    await Promise.all(replicas.map((r) => r.start()));
    await use(replicas, schema);
  } finally {
    await Promise.all(replicas.map((r) => r.stop()));
    await postgres.dropSchema(schema);
  }
}

agentRegistryContract(
  'postgres',
  async (options) => {
    const schema = postgres.freshSchema();
    let current = registry(schema, fromContract(options));
    await current.start();
    const one = async <T>(sql: string, params: unknown[]): Promise<T | undefined> => (await postgres.admin().query(sql, params)).rows[0] as T | undefined;
    return {
      registry: current,
      async reopen(again = options) {
        await current.stop();
        current = registry(schema, fromContract(again));
        await current.start();
        return current;
      },
      storedSecretHash: async (id) => (await one<{ secret_hash: string | null }>(`SELECT secret_hash FROM ${schema}.agents WHERE id = $1`, [id]))?.secret_hash,
      storedCodes: async () => (await postgres.admin().query(`SELECT * FROM ${schema}.agent_enrollment_codes`)).rows,
      storedLastSeen: async (id) => {
        const row = await one<{ last_seen: string | null }>(`SELECT last_seen FROM ${schema}.agents WHERE id = $1`, [id]);
        return row?.last_seen == null ? null : Number(row.last_seen);
      },
      async cleanup() {
        await current.stop();
        await postgres.dropSchema(schema);
      },
    };
  },
  { skip: NO_PG },
);

describe('PostgresAgentRegistry replicas', { skip: NO_PG }, () => {
  test('replicas starting at once on an empty schema migrate once and all start', () =>
    withReplicas(4, {}, async (replicas, schema) => {
      const { rows } = await postgres.admin().query(`SELECT component, version FROM ${schema}.state_migrations`);
      assert.deepEqual(rows, [{ component: 'agent registry', version: 1 }]);
      await replicas[0]!.create('box-1', 'gym-a');
      assert.equal((await replicas[3]!.get('box-1'))?.gym, 'gym-a');
    }));

  test('one code redeemed concurrently on several replicas issues exactly one secret, which every replica accepts', () =>
    withReplicas(4, { now: () => T0 }, async (replicas) => {
      for (let round = 0; round < 5; round++) {
        const id = `box-${round}`;
        const { enrollment } = await replicas[0]!.createForEnrollment(id, 'gym-a');
        const attempts = replicas.flatMap((r) => [r.redeemEnrollment(enrollment.code, T0), r.redeemEnrollment(enrollment.code, T0)]);
        const winners = (await Promise.all(attempts)).filter((x) => x !== undefined);
        assert.equal(winners.length, 1, `round ${round}`);
        for (const r of replicas) assert.equal((await r.authenticate(id, winners[0]!.secret))?.id, id);
      }
    }));

  test("a replica's cached success is refused as soon as another replica rotates, revokes, disables or removes the agent", () =>
    withReplicas(2, { authCacheMs: 60_000, now: () => T0 }, async ([a, b]) => {
      const { secret } = await a!.create('box-1', 'gym-a');
      assert.ok(await a!.authenticate('box-1', secret), 'cached on a');
      const rotated = (await b!.rotateSecret('box-1'))!;
      assert.equal(await a!.authenticate('box-1', secret), undefined, 'rotated on b');
      assert.ok(await a!.authenticate('box-1', rotated), 'cached on a again');
      await b!.disable('box-1');
      assert.equal(await a!.authenticate('box-1', rotated), undefined, 'disabled on b');
      await b!.enable('box-1');
      assert.ok(await a!.authenticate('box-1', rotated));
      await b!.issueEnrollment('box-1', { revokeSecret: true });
      assert.equal(await a!.authenticate('box-1', rotated), undefined, 'revoked on b');
      const recreated = await b!.remove('box-1').then(() => b!.create('box-1', 'gym-a'));
      assert.equal(await a!.authenticate('box-1', rotated), undefined, 'removed and created anew on b');
      assert.ok(await a!.authenticate('box-1', recreated.secret));
    }));

  test('presence is shared: what one replica records every replica reads, and an older change never overrides a newer one', () => {
    let now = T0;
    return withReplicas(3, { now: () => now }, async ([a, b, c]) => {
      await a!.create('box-1', 'gym-a');
      a!.setOnline('box-1', true);
      assert.equal((await a!.get('box-1'))?.online, true, 'a reads its own write');
      assert.equal((await b!.get('box-1'))?.online, true, 'b reads what a recorded');
      now = T0 + 2_000;
      b!.setOnline('box-1', false); // the agent's last will reached b
      assert.equal((await b!.get('box-1'))?.online, false);
      assert.equal((await c!.list())[0]?.online, false);
      now = T0 + 1_000;
      c!.setOnline('box-1', true); // c heard of the connection late: older than the will
      assert.equal((await c!.get('box-1'))?.online, false, 'the newer change stands');
      now = T0 + 3_000;
      a!.setOnline('box-1', true);
      a!.setOnline('box-1', false);
      a!.setOnline('box-1', true);
      assert.equal((await a!.get('box-1'))?.online, true, "one replica's changes land in the order it made them");
      assert.equal((await c!.get('box-1'))?.online, true, 'and the others read them once written');
    });
  });

  test('presence survives a replica restart: another replica recorded it, and the agent is still connected', () =>
    withReplicas(1, {}, async ([a], schema) => {
      await a!.create('box-1', 'gym-a');
      a!.setOnline('box-1', true);
      await a!.get('box-1');
      const restarted = registry(schema);
      await restarted.start();
      try {
        assert.equal((await restarted.get('box-1'))?.online, true);
      } finally {
        await restarted.stop();
      }
    }));

  test('last-seen: each replica buffers its own, the stored time is the newest of all, written by the periodic flush', () =>
    withReplicas(2, { flushIntervalMs: 20 }, async ([a, b]) => {
      await a!.create('box-1', 'gym-a');
      a!.touch('box-1', 9_000);
      b!.touch('box-1', 5_000);
      assert.equal((await b!.get('box-1'))?.lastSeen, 5_000, 'b knows only its own until a flushes');
      await until('a has flushed its last-seen time', async () => (await b!.get('box-1'))?.lastSeen === 9_000, 5_000);
      await b!.flushLastSeen();
      assert.equal((await a!.get('box-1'))?.lastSeen, 9_000, "b's older time did not move it back");
    }));

  test('an unreachable server makes start() fail with unavailable, naming the server and not the password', async () => {
    const r = new PostgresAgentRegistry({ url: 'postgres://pb:secret-word@127.0.0.1:1/state', log });
    const err = await r.start().then(
      () => assert.fail('start() should fail'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof PostgresStateError && err.code === 'unavailable', String(err));
    assert.match(err.message, /127\.0\.0\.1:1\/state/);
    assert.doesNotMatch(err.message, /secret-word/);
    await assert.rejects(r.get('box-1'), (e: unknown) => e instanceof PostgresStateError && e.code === 'not_started');
  });
});

test('a schema name that is not a plain identifier is refused before anything is sent', () => {
  assert.throws(
    () => new PostgresAgentRegistry({ url: 'postgres://127.0.0.1/x', schema: 'a; DROP TABLE agents', log }),
    (err: unknown) => err instanceof PostgresStateError && err.code === 'invalid_schema',
  );
});
