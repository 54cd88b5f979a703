/**
 * Test 7 of the identity issue with the embedded broker: an agent enrolled with a one-time code connects with
 * what it got; disabling, rotating or removing it closes its connection at once and refuses its reconnects;
 * and an enrolled agent cannot publish as another agent.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { Topics } from '@pulsebridge/protocol';
import { until, withTimeout } from '@pulsebridge/runtime';
import { EmbeddedBroker } from '../../src/broker/embedded-broker.ts';
import type { AgentMessage } from '../../src/broker/transport.ts';
import { SqliteAgentRegistry } from '../../src/registry/sqlite-agent-registry.ts';

const topics = new Topics('pb');
/** CONNACK 4: bad user name or password. */
const BAD_CREDENTIALS = 4;

describe('revoking an enrolled agent with the embedded broker', { timeout: 30_000 }, () => {
  let registry: SqliteAgentRegistry;
  let broker: EmbeddedBroker;
  let url: string;
  const messages: AgentMessage[] = [];
  const presence: string[] = [];
  const clients: MqttClient[] = [];

  before(async () => {
    const log = pino({ level: 'silent' });
    // authCacheMs on: revocation must beat a remembered success.
    registry = new SqliteAgentRegistry({ db: new Database(':memory:'), log, scryptCost: { N: 1024, r: 8, p: 1 }, authCacheMs: 60_000 });
    // A generous login throttle: the refusals these tests provoke must be refusals of credentials, not of the throttle.
    broker = new EmbeddedBroker({
      registry,
      log,
      metrics: new Registry(),
      listen: { host: '127.0.0.1', port: 0 },
      stopTimeoutMs: 2_000,
      loginThrottle: { maxFailuresPerAddress: 1_000, maxFailuresPerAgent: 1_000, windowMs: 60_000, blockMs: 60_000, maxTrackedKeys: 1_000 },
    });
    broker.onMessage((m) => messages.push(m));
    broker.onPresence((agent, connected) => presence.push(`${agent}:${connected ? 'connected' : 'gone'}`));
    await broker.start();
    url = `mqtt://127.0.0.1:${broker.address()!.port}`;
  });

  after(async () => {
    await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
    await broker.stop();
    await registry.stop();
  });

  /** Creates the agent for enrollment and redeems its code, as `pulsebridge-agent enroll` does through the API. */
  async function enrolled(id: string): Promise<string> {
    const { enrollment } = await registry.createForEnrollment(id, 'gym-1');
    const redeemed = await registry.redeemEnrollment(enrollment.code, Date.now());
    assert.ok(redeemed);
    return redeemed.secret;
  }

  function options(id: string, secret: string): IClientOptions {
    return { clientId: `pb-agent-${id}`, username: id, password: secret, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 3_000 };
  }

  async function connect(id: string, secret: string): Promise<MqttClient> {
    const client = await mqtt.connectAsync(url, options(id, secret), false);
    clients.push(client);
    return client;
  }

  async function refusal(id: string, secret: string): Promise<number | undefined> {
    try {
      const client = await mqtt.connectAsync(url, options(id, secret), false);
      await client.endAsync(true);
      return undefined;
    } catch (err) {
      return (err as { code?: number }).code;
    }
  }

  function closed(client: MqttClient): Promise<void> {
    if (client.disconnected) return Promise.resolve();
    return withTimeout(new Promise<void>((resolve) => client.once('close', () => resolve())), 3_000, 'the broker to close the connection');
  }

  async function publishes(client: MqttClient, id: string): Promise<void> {
    await client.publishAsync(topics.of(id, 'events'), Buffer.from('{"at":1,"type":"marker"}'), { qos: 1 });
    await until(`${id}'s message at the hub`, () => messages.some((m) => m.agent === id), 3_000);
  }

  test('an agent with enrolled credentials connects and its messages arrive under its id', async () => {
    const secret = await enrolled('box-ok');
    const client = await connect('box-ok', secret);
    await publishes(client, 'box-ok');
    await client.endAsync();
  });

  test('an agent waiting for enrollment has no password that works', async () => {
    await registry.createForEnrollment('box-waiting', 'gym-1');
    assert.equal(await refusal('box-waiting', ''), BAD_CREDENTIALS);
    assert.equal(await refusal('box-waiting', 'x'.repeat(43)), BAD_CREDENTIALS);
  });

  test('disabling closes the open connection at once and refuses reconnects until enabled', async () => {
    const secret = await enrolled('box-disabled');
    const client = await connect('box-disabled', secret);
    await publishes(client, 'box-disabled');
    const gone = closed(client);
    await registry.disable('box-disabled');
    await broker.disconnectAgent('box-disabled');
    await gone;
    await until('presence gone', () => presence.includes('box-disabled:gone'), 3_000);
    assert.equal(await refusal('box-disabled', secret), BAD_CREDENTIALS);
    await registry.enable('box-disabled');
    assert.equal(await refusal('box-disabled', secret), undefined, 'accepted again once enabled');
  });

  test('rotating closes the connection and the old secret is refused; the re-enrolled one connects', async () => {
    const secret = await enrolled('box-rotated');
    const client = await connect('box-rotated', secret);
    const gone = closed(client);
    const code = await registry.issueEnrollment('box-rotated', { revokeSecret: true });
    await broker.disconnectAgent('box-rotated');
    await gone;
    assert.equal(await refusal('box-rotated', secret), BAD_CREDENTIALS);
    const again = await registry.redeemEnrollment(code!.code, Date.now());
    assert.ok(again);
    const fresh = await connect('box-rotated', again.secret);
    await publishes(fresh, 'box-rotated');
    await fresh.endAsync();
  });

  test('removing closes the connection and refuses reconnects', async () => {
    const secret = await enrolled('box-removed');
    const client = await connect('box-removed', secret);
    const gone = closed(client);
    await registry.remove('box-removed');
    await broker.disconnectAgent('box-removed');
    await gone;
    assert.equal(await refusal('box-removed', secret), BAD_CREDENTIALS);
  });

  test('disconnecting one agent leaves the others connected', async () => {
    const a = await enrolled('box-stays');
    const b = await enrolled('box-goes');
    const stays = await connect('box-stays', a);
    const goes = await connect('box-goes', b);
    const gone = closed(goes);
    await broker.disconnectAgent('box-goes');
    await gone;
    assert.equal(stays.connected, true);
    await publishes(stays, 'box-stays');
    await stays.endAsync();
  });

  test("an enrolled agent publishing on another agent's topic is refused and nothing reaches the hub as that agent", async () => {
    const mallory = await enrolled('box-mallory');
    await enrolled('box-victim');
    const client = await connect('box-mallory', mallory);
    const gone = closed(client);
    client.publish(topics.of('box-victim', 'readings'), Buffer.from([1, 2, 3]), { qos: 1 });
    await gone;
    assert.ok(!messages.some((m) => m.agent === 'box-victim'));
    assert.equal(await refusal('box-victim', mallory), BAD_CREDENTIALS, 'nor does its secret log in as the other agent');
  });

  test('a login whose secret was checked just before the revocation is closed as its session opens', async () => {
    const secret = await enrolled('box-race');
    let checked!: () => void;
    const secretChecked = new Promise<void>((resolve) => (checked = resolve));
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    // The registry answers "valid" for a check that began before the revocation, as a slow scrypt run would.
    const slow = Object.create(registry) as SqliteAgentRegistry;
    slow.authenticate = async (id, password) => {
      const agent = await registry.authenticate(id, password);
      checked();
      await held;
      return agent;
    };
    const log = pino({ level: 'silent' });
    const second = new EmbeddedBroker({ registry: slow, log, metrics: new Registry(), listen: { host: '127.0.0.1', port: 0 }, stopTimeoutMs: 2_000 });
    const seen: string[] = [];
    second.onPresence((agent, connected) => seen.push(`${agent}:${connected}`));
    await second.start();
    try {
      const client = mqtt.connect(`mqtt://127.0.0.1:${second.address()!.port}`, options('box-race', secret));
      clients.push(client);
      const gone = new Promise<void>((resolve) => client.once('close', () => resolve()));
      await secretChecked;
      await registry.disable('box-race');
      await second.disconnectAgent('box-race');
      release();
      await withTimeout(gone, 3_000, 'the racing connection to close');
      assert.deepEqual(seen, [], 'never counted as connected');
    } finally {
      await second.stop();
    }
  });
});
