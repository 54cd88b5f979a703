/** The embedded broker throttles failed logins: a guessing client stops costing scrypt runs, good agents still connect. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createConnection } from 'node:net';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { EmbeddedBroker } from '../../src/broker/embedded-broker.ts';
import { SqliteAgentRegistry } from '../../src/registry/sqlite-agent-registry.ts';

const log = pino({ level: 'silent' });

async function metricValue(metrics: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = await metrics.getSingleMetric(name)?.get();
  const match = metric?.values.find((v) => Object.entries(labels).every(([k, value]) => v.labels[k] === value));
  return match?.value ?? 0;
}

/** Connects from `localAddress` (any 127.x.y.z is this host), so the broker sees distinct client addresses. */
function connectFrom(localAddress: string, port: number, options: IClientOptions): Promise<MqttClient> {
  const client = new mqtt.MqttClient(() => createConnection({ host: '127.0.0.1', port, localAddress }), {
    protocolVersion: 4,
    reconnectPeriod: 0,
    connectTimeout: 3_000,
    ...options,
  });
  return new Promise((resolve, reject) => {
    client.once('connect', () => resolve(client));
    client.once('error', (err) => {
      client.end(true);
      reject(err);
    });
  });
}

/** The CONNACK refusal code, or 0 when the connection was accepted. */
async function loginCode(localAddress: string, port: number, agent: string, password: string): Promise<number> {
  try {
    const client = await connectFrom(localAddress, port, { clientId: agent, username: agent, password });
    await client.endAsync();
    return 0;
  } catch (err) {
    return (err as { code?: number }).code ?? -1;
  }
}

test('a loop of bad logins is throttled without checking secrets, a good agent from another address still connects, and the block expires', { timeout: 30_000 }, async () => {
  const db = new Database(':memory:');
  const registry = new SqliteAgentRegistry({ db, log, scryptCost: { N: 1024, r: 8, p: 1 } });
  const good = await registry.create('box-good', 'gym-1');
  const target = await registry.create('box-target', 'gym-1');
  let checks = 0;
  const authenticate = registry.authenticate.bind(registry);
  registry.authenticate = (id, secret) => {
    checks++;
    return authenticate(id, secret);
  };
  const clock = { now: 1_000_000 };
  const metrics = new Registry();
  const broker = new EmbeddedBroker({
    registry,
    log,
    metrics,
    listen: { host: '127.0.0.1', port: 0 },
    websocket: false,
    loginThrottle: { maxFailuresPerAddress: 8, maxFailuresPerAgent: 3, windowMs: 60_000, blockMs: 60_000, maxTrackedKeys: 1_000 },
    now: () => clock.now,
  });
  await broker.start();
  const port = broker.address()!.port;
  try {
    // One agent id guessed in a loop: three secrets are checked, then the id is refused unchecked.
    const codes: number[] = [];
    for (let i = 0; i < 10; i++) codes.push(await loginCode('127.0.0.1', port, 'box-target', `guess-${i}`));
    assert.deepEqual(codes, [4, 4, 4, 3, 3, 3, 3, 3, 3, 3]);
    assert.equal(checks, 3, 'only the first three secrets cost a check');
    assert.equal(await metricValue(metrics, 'pb_hub_mqtt_login_throttled_total', { by: 'agent' }), 7);
    assert.equal(await metricValue(metrics, 'pb_hub_broker_auth_failures_total', { reason: 'bad_credentials' }), 3);
    assert.equal(await metricValue(metrics, 'pb_hub_broker_auth_failures_total', { reason: 'throttled' }), 7);
    assert.equal(await loginCode('127.0.0.1', port, 'box-target', target.secret), 3, 'while blocked, even the right secret is not checked');

    // Guessing other ids from the same address blocks the address.
    for (let i = 0; i < 5; i++) assert.equal(await loginCode('127.0.0.1', port, `nobody-${i}`, 'guess'), 4);
    assert.equal(await loginCode('127.0.0.1', port, 'box-good', good.secret), 3, 'the address is blocked');
    assert.equal(await metricValue(metrics, 'pb_hub_mqtt_login_throttled_total', { by: 'address' }), 1);

    assert.equal(await loginCode('127.0.0.2', port, 'box-good', good.secret), 0, 'a good agent from another address connects');

    // Usernames that are no agent id share one key, so huge ones cannot fill the throttle's memory.
    const junk: number[] = [];
    for (let i = 0; i < 5; i++) junk.push(await loginCode('127.0.0.3', port, `${'x'.repeat(5_000)}${i}`, 'guess'));
    assert.deepEqual(junk, [4, 4, 4, 3, 3]);
    assert.equal(await loginCode('127.0.0.3', port, 'box-good', good.secret), 0, 'a real agent id from that address is still checked');

    clock.now += 60_000;
    assert.equal(await loginCode('127.0.0.1', port, 'box-target', target.secret), 0, 'after blockMs the address and the id are checked again');
    assert.equal(await loginCode('127.0.0.1', port, 'box-good', good.secret), 0);
  } finally {
    await broker.stop();
    db.close();
  }
});
