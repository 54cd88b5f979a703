/**
 * The `state` section wired into the hub: SQLite in hub.db by default, PostgreSQL shared by hubs when
 * configured (PG_URL, started by scripts/test-services.sh), with no hub.db at all.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import mqtt from 'mqtt';
import pg from 'pg';
import { pino } from 'pino';
import { until } from '@pulsebridge/runtime';
import { Hub, STATE_DATABASE_FILE } from '../../src/hub.ts';
import { createStateStores } from '../../src/registry/state-stores.ts';
import { platformToken, testHubConfig } from '../test-hub.ts';
import { missingService } from '../../../test/services.ts';

const PG_URL = process.env['PG_URL'];
const NO_PG = missingService(PG_URL ? false : 'PG_URL not set (run the tests through scripts/test-services.sh to start PostgreSQL)');
const log = pino({ level: 'silent' });

let dir: string;
let admin: pg.Pool | undefined;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'pb-state-stores-'));
  if (PG_URL) admin = new pg.Pool({ connectionString: PG_URL, max: 2 });
});
after(async () => {
  rmSync(dir, { recursive: true, force: true });
  await admin?.end();
});

test('the default state store is hub.db in the data folder, and reports itself ready', async () => {
  const dataDir = join(dir, 'sqlite');
  const state = createStateStores({ store: 'sqlite', postgres: {} }, { dataDir, log, env: {} });
  await state.start();
  try {
    await state.registry.create('box-1', 'gym-a');
    state.dedupe.load();
    await state.dedupe.record([{ agent: 'box-1', stream: 's', first: 0, last: 9, floor: 0 }]);
    assert.equal(await state.dedupe.isDuplicate('box-1', 's', 0, 9), true);
    assert.equal(await state.readiness(), 'ok');
    assert.ok(existsSync(join(dataDir, STATE_DATABASE_FILE)));
  } finally {
    await state.stop();
  }
  assert.equal(await state.readiness(), 'The database connection is not open');
});

test('two hubs on one PostgreSQL state share agents and presence, and keep no hub.db', { skip: NO_PG }, async () => {
  const schema = `pb_state_hub_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const env = { PB_HUB_STATE__STORE: 'postgres', PB_HUB_STATE__POSTGRES__URL: '{"env":"STATE_URL"}', PB_HUB_STATE__POSTGRES__SCHEMA: schema, STATE_URL: PG_URL! };
  const hubs = [new Hub(testHubConfig(join(dir, 'a'), env), { log, env }), new Hub(testHubConfig(join(dir, 'b'), env), { log, env })];
  const cli = createStateStores({ store: 'postgres', postgres: { url: { env: 'STATE_URL' }, schema } }, { dataDir: join(dir, 'cli'), log, env, flushIntervalMs: 0 });
  let client: mqtt.MqttClient | undefined;
  try {
    await Promise.all(hubs.map((h) => h.start()));
    await cli.start();
    // Created beside the running hubs, as `agent add` does.
    const { secret } = await cli.registry.create('box-1', 'gym-a');
    const agentOn = async (hub: Hub): Promise<{ online: boolean } | undefined> => {
      const res = await fetch(`http://127.0.0.1:${hub.addresses.http!.port}/api/v1/agents/box-1`, { headers: { authorization: `Bearer ${await platformToken(hub)}` } });
      return res.status === 200 ? ((await res.json()) as { online: boolean }) : undefined;
    };
    assert.equal((await agentOn(hubs[1]!))?.online, false, 'hub b knows the agent the tool created');

    client = await mqtt.connectAsync(
      `mqtt://127.0.0.1:${hubs[0]!.addresses.mqtt!.port}`,
      { clientId: 'pb-agent-box-1', username: 'box-1', password: secret, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 3_000 },
      false,
    );
    await until('hub b shows the agent connected to hub a as online', async () => (await agentOn(hubs[1]!))?.online === true, 5_000);
    await client.endAsync();
    client = undefined;
    await until('hub b shows it offline once it left hub a', async () => (await agentOn(hubs[1]!))?.online === false, 5_000);

    const ready = await fetch(`http://127.0.0.1:${hubs[1]!.addresses.http!.port}/readyz`);
    assert.equal(((await ready.json()) as { checks: Record<string, string> }).checks['stateDatabase'], 'ok');
    for (const name of ['a', 'b']) assert.equal(existsSync(join(dir, name, STATE_DATABASE_FILE)), false, `no hub.db in ${name}`);
  } finally {
    await client?.endAsync();
    await Promise.all(hubs.map((h) => h.stop()));
    await cli.stop();
    await admin!.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  }
});
