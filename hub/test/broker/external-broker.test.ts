/**
 * The external-broker transport against a real Mosquitto:
 * - the one scripts/test-services.sh starts (MOSQUITTO_URL, MOSQUITTO_HUB_USERNAME/PASSWORD,
 *   MOSQUITTO_PASSWD_FILE, MOSQUITTO_PID), skipped when it is not set;
 * - one started here from deploy/mosquitto (the documented configuration: ACL files, client id = username,
 *   separate hub listener), skipped when the mosquitto binary is not installed.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { Topics } from '@pulsebridge/protocol';
import { until } from '@pulsebridge/runtime';
import { EmbeddedBroker } from '../../src/broker/embedded-broker.ts';
import { ExternalBroker, type ExternalBrokerOptions } from '../../src/broker/external-broker.ts';
import { SqliteAgentRegistry } from '../../src/registry/sqlite-agent-registry.ts';
import { mosquittoPasswordLine } from '../../src/broker/mosquitto-password.ts';
import type { AgentMessage } from '../../src/broker/transport.ts';
import { DeployedMosquitto, addMosquittoAgent, freePort, mosquittoBin, type Broker } from './mosquitto-harness.ts';
import { missingService } from '../../../test/services.ts';

const topics = new Topics('pb');
const log = pino({ level: 'silent' });
const SHARE_GROUP = `hub-test-${process.pid}-${Date.now() % 100_000}`;

async function metricValue(metrics: Registry, name: string): Promise<number> {
  return (await metrics.getSingleMetric(name)!.get()).values[0]?.value ?? 0;
}

const connected = (t: ExternalBroker): boolean => t.readiness() === 'ok';

/**
 * Publishes markers from `client` until every replica has one. A broker delivers one publisher's messages to
 * a subscriber in order, so afterwards nothing published before is still on its way to any replica.
 */
async function flushTo(client: MqttClient, agentId: string, replicas: AgentMessage[][]): Promise<void> {
  const markers = (messages: AgentMessage[]): number => messages.filter((m) => m.kind === 'events' && m.agent === agentId).length;
  const total = (): number => replicas.reduce((sum, r) => sum + markers(r), 0);
  for (let i = 0; !replicas.every((r) => markers(r) > 0); i++) {
    if (i > 50) throw new Error('the markers did not reach every replica');
    const before = total();
    await client.publishAsync(topics.of(agentId, 'events'), Buffer.from(`{"at":${i},"type":"marker"}`), { qos: 1 });
    await until('the marker at a replica', () => total() > before, 5_000);
  }
}

interface Harness {
  transports: ExternalBroker[];
  clients: MqttClient[];
}

function transport(h: Harness, broker: Broker, options: Partial<ExternalBrokerOptions> = {}): { transport: ExternalBroker; messages: AgentMessage[]; metrics: Registry } {
  const metrics = new Registry();
  const t = new ExternalBroker({
    url: broker.hub.url,
    username: broker.hub.username,
    password: broker.hub.password,
    clientId: `hub-test-${h.transports.length}-${process.pid}`,
    // A group of this run's own: any other hub on the same broker in the default group would take a share of the
    // messages, and so would a session it left behind, which Mosquitto keeps serving its turn until it expires.
    shareGroup: SHARE_GROUP,
    sessionExpirySeconds: 0,
    reconnectMinMs: 50,
    reconnectMaxMs: 500,
    publishTimeoutMs: 3_000,
    startTimeoutMs: 5_000,
    log,
    metrics,
    ...options,
  });
  const messages: AgentMessage[] = [];
  t.onMessage((m) => messages.push(m));
  h.transports.push(t);
  return { transport: t, messages, metrics };
}

async function agent(h: Harness, broker: Broker, id: string, secret: string, extra: IClientOptions = {}): Promise<MqttClient> {
  const client = await mqtt.connectAsync(broker.agentUrl, { clientId: `pb-agent-${id}`, username: id, password: secret, protocolVersion: 5, reconnectPeriod: 0, ...extra }, false);
  h.clients.push(client);
  return client;
}

async function cleanup(h: Harness): Promise<void> {
  await Promise.all(h.clients.map((c) => c.endAsync(true).catch(() => undefined)));
  await Promise.all(h.transports.map((t) => t.stop()));
  h.clients.length = 0;
  h.transports.length = 0;
}

/** What both brokers must show: delivery with identity from the topic, acks, shared subscriptions, ACL, bad input. */
function transportSuite(name: string, skip: string | false, getBroker: () => Broker): void {
  describe(name, { skip, timeout: 60_000 }, () => {
    const h: Harness = { transports: [], clients: [] };
    const suffix = `${process.pid}-${Date.now() % 100_000}`;
    const a = `ext-a-${suffix}`;
    const b = `ext-b-${suffix}`;
    const secrets = { [a]: 'secret-a-0123456789', [b]: 'secret-b-0123456789' };
    let broker: Broker;

    before(async () => {
      broker = getBroker();
      await broker.addAgent(a, secrets[a]!);
      await broker.addAgent(b, secrets[b]!);
    });
    after(async () => {
      await cleanup(h);
      // The agents' retained statuses would reach every later subscriber on this broker, in any share group.
      const hub = await mqtt.connectAsync(broker.hub.url, { username: broker.hub.username, password: broker.hub.password, protocolVersion: 5 });
      // The deployed configuration's hub account may not write agent topics: there the broker is this file's alone.
      for (const id of [a, b]) await hub.publishAsync(topics.of(id, 'status'), Buffer.alloc(0), { qos: 1, retain: true }).catch(() => undefined);
      await hub.endAsync();
    });

    test('agent messages arrive with the agent id of their topic, and hub acks reach the agent', async () => {
      const { transport: t, messages } = transport(h, broker);
      await t.start();
      assert.equal(t.readiness(), 'ok');
      const client = await agent(h, broker, a, secrets[a]!);
      await client.subscribeAsync(topics.of(a, 'ack'), { qos: 1 });
      await client.publishAsync(topics.of(a, 'readings'), Buffer.from([1, 2, 3]), { qos: 1 });
      await client.publishAsync(topics.of(a, 'status'), Buffer.from('{"state":"online"}'), { qos: 1, retain: true });
      // Retained messages of other agents (other runs on the same broker) may arrive on subscribing.
      const own = (): AgentMessage[] => messages.filter((m) => m.agent === a);
      await until('two agent messages', () => own().length >= 2, 5_000);
      assert.deepEqual(own()[0], { agent: a, kind: 'readings', payload: Buffer.from([1, 2, 3]) });
      assert.equal(own()[1]!.kind, 'status');
      const received = new Promise<[string, Buffer]>((resolve) => client.once('message', (topic, payload) => resolve([topic, payload])));
      await t.publish(a, 'ack', Buffer.from('{"stream":"s","first":0,"last":0,"result":"stored"}'));
      const [topic, payload] = await received;
      assert.equal(topic, topics.of(a, 'ack'));
      assert.equal(JSON.parse(payload.toString()).result, 'stored');
      await flushTo(client, a, [messages]);
      assert.equal(own().filter((m) => m.kind !== 'events').length, 2, "the hub's own ack is not delivered back to it");
      await assert.rejects(t.publish('../x', 'ack', Buffer.from('{}')), { name: 'TransportError', code: 'invalid_agent' });
      await client.endAsync();
      await t.stop();
      await assert.rejects(t.publish(a, 'ack', Buffer.from('{}')), { code: 'not_running' });
    });

    test('an agent cannot write as another agent: the broker ACL drops it before the hub', async () => {
      const { transport: t, messages } = transport(h, broker);
      await t.start();
      const client = await agent(h, broker, a, secrets[a]!);
      client.on('error', () => undefined);
      // Mosquitto answers an ACL-denied QoS 1 publish with a PUBACK (3.1.1) or a reason code (5); either way nothing is delivered.
      await client.publishAsync(topics.of(b, 'readings'), Buffer.from([6, 6, 6]), { qos: 1 }).catch(() => undefined);
      await client.publishAsync(topics.of(a, 'events'), Buffer.from('{"at":1,"type":"marker"}'), { qos: 1 });
      await until('the marker event', () => messages.some((m) => m.kind === 'events'), 5_000);
      // Retained statuses of earlier tests may arrive too; what matters is that nothing claims to be agent b.
      assert.deepEqual(
        messages.filter((m) => m.kind !== 'status').map((m) => `${m.agent}/${m.kind}`),
        [`${a}/events`],
      );
      assert.ok(!messages.some((m) => m.agent === b));
      await client.endAsync();
      await t.stop();
    });

    test('two replicas with a shared subscription split the messages; without it both get all', async () => {
      const first = transport(h, broker);
      const second = transport(h, broker);
      await first.transport.start();
      await second.transport.start();
      const client = await agent(h, broker, b, secrets[b]!);
      const n = 40;
      // Retained statuses of earlier tests arrive on subscribing; count this agent's readings only.
      const readingsOf = (messages: AgentMessage[]) => messages.filter((m) => m.agent === b && m.kind === 'readings');
      for (let i = 0; i < n; i++) await client.publishAsync(topics.of(b, 'readings'), Buffer.from([i]), { qos: 1 });
      await until(`${n} messages across both replicas`, () => readingsOf(first.messages).length + readingsOf(second.messages).length >= n, 5_000);
      await flushTo(client, b, [first.messages, second.messages]);
      const [one, two] = [readingsOf(first.messages), readingsOf(second.messages)];
      assert.equal(one.length + two.length, n, 'each message reaches exactly one replica');
      assert.ok(one.length > 0 && two.length > 0, `both replicas take a share (${one.length}/${two.length})`);
      const seen = [...one, ...two].map((m) => m.payload[0]!).sort((x, y) => x - y);
      assert.deepEqual(seen, [...Array(n).keys()]);
      await first.transport.stop();
      await second.transport.stop();

      const plainA = transport(h, broker, { sharedSubscriptions: false });
      const plainB = transport(h, broker, { sharedSubscriptions: false });
      await plainA.transport.start();
      await plainB.transport.start();
      for (let i = 0; i < 5; i++) await client.publishAsync(topics.of(b, 'readings'), Buffer.from([i]), { qos: 1 });
      await until('every message at both replicas', () => readingsOf(plainA.messages).length === 5 && readingsOf(plainB.messages).length === 5, 5_000);
      await client.endAsync();
    });

    test('stopAccepting() drops the shared subscription: every later message goes to the other replica, and acks still go out', async () => {
      const leaving = transport(h, broker);
      const staying = transport(h, broker);
      await leaving.transport.start();
      await staying.transport.start();
      const client = await agent(h, broker, a, secrets[a]!);
      await client.subscribeAsync(topics.of(a, 'ack'), { qos: 1 });
      const readingsOf = (messages: AgentMessage[]) => messages.filter((m) => m.agent === a && m.kind === 'readings');
      for (let i = 0; i < 10; i++) await client.publishAsync(topics.of(a, 'readings'), Buffer.from([i]), { qos: 1 });
      await until('10 messages across both replicas', () => readingsOf(leaving.messages).length + readingsOf(staying.messages).length >= 10, 5_000);
      assert.ok(readingsOf(leaving.messages).length > 0, 'the leaving replica took a share before');

      await leaving.transport.stopAccepting();
      assert.notEqual(leaving.transport.readiness(), 'ok');
      const before = readingsOf(leaving.messages).length;
      const n = 30;
      for (let i = 0; i < n; i++) await client.publishAsync(topics.of(a, 'readings'), Buffer.from([100 + i]), { qos: 1 });
      await flushTo(client, a, [staying.messages]);
      assert.equal(readingsOf(leaving.messages).length, before, 'nothing reaches the replica after its UNSUBACK');
      assert.deepEqual(
        readingsOf(staying.messages)
          .map((m) => m.payload[0]!)
          .filter((x) => x >= 100),
        [...Array(n).keys()].map((i) => 100 + i),
      );
      const acked = new Promise<Buffer>((resolve) => client.once('message', (_topic, payload) => resolve(payload)));
      await leaving.transport.publish(a, 'ack', Buffer.from('{"stream":"s","first":0,"last":0,"result":"stored"}'));
      assert.equal(JSON.parse((await acked).toString()).result, 'stored');
      await client.endAsync();
    });

    test('wrong hub credentials fail start() with auth_failed', async () => {
      const { transport: t } = transport(h, broker, { password: 'wrong-password' });
      await assert.rejects(t.start(), { name: 'TransportError', code: 'auth_failed' });
      assert.equal(connected(t), false);
    });

    test('an unreachable broker does not block start() forever; the transport keeps retrying', async () => {
      const port = await freePort();
      const { transport: t, metrics } = transport(h, broker, {
        url: `mqtt://127.0.0.1:${port}`,
        startTimeoutMs: 300,
        reconnectMinMs: 20,
        reconnectMaxMs: 50,
        publishTimeoutMs: 200,
      });
      const started = Date.now();
      await t.start();
      assert.ok(Date.now() - started < 2_000);
      assert.match(t.readiness(), /^not connected to mqtt:/);
      const reconnects = async (): Promise<number> => (await metrics.getSingleMetric('pb_hub_broker_reconnects_total')!.get()).values[0]!.value;
      await until('two reconnect attempts', async () => (await reconnects()) >= 2, 5_000);
      await assert.rejects(
        t.publish(a, 'ack', Buffer.from('{}')).then(() => undefined),
        { code: 'timeout' },
        'a publish while disconnected times out, saying what it waited for',
      );
      await t.stop();
    });
  });
}

// --- the Mosquitto of scripts/test-services.sh ------------------------------------------------------------

const serviceUrl = process.env['MOSQUITTO_URL'];
const servicePasswd = process.env['MOSQUITTO_PASSWD_FILE'];
const servicePid = process.env['MOSQUITTO_PID'];
const serviceSkip = missingService(
  !serviceUrl
    ? 'MOSQUITTO_URL not set (run through scripts/test-services.sh)'
    : !servicePasswd || !servicePid
      ? 'MOSQUITTO_PASSWD_FILE and MOSQUITTO_PID are needed to add agent accounts'
      : false,
);

transportSuite('external broker: Mosquitto from MOSQUITTO_URL', serviceSkip, () => ({
  agentUrl: serviceUrl!,
  hub: { url: serviceUrl!, username: process.env['MOSQUITTO_HUB_USERNAME'] ?? 'hub', password: process.env['MOSQUITTO_HUB_PASSWORD'] ?? '' },
  async addAgent(id, secret) {
    await addMosquittoAgent({ passwdFile: servicePasswd!, pid: Number(servicePid), agentUrl: serviceUrl! }, id, secret);
  },
}));

// --- a Mosquitto started here from deploy/mosquitto ----------------------------------------------------

const deployed = mosquittoBin ? new DeployedMosquitto() : undefined;
const deployedSkip = missingService(mosquittoBin ? false : 'mosquitto binary not installed (apt-get install mosquitto)');

describe('deploy/mosquitto configuration', { skip: deployedSkip, timeout: 90_000 }, () => {
  before(async () => {
    await deployed!.setup();
  });
  after(async () => {
    await deployed!.dispose();
  });

  transportSuite('external broker: Mosquitto from deploy/mosquitto', deployedSkip, () => deployed!);

  test('agents cannot subscribe to another agent, nor use the hub listener; client ids are forced to the username', async () => {
    const h: Harness = { transports: [], clients: [] };
    try {
      await deployed!.addAgent('acl-a', 'secret-acl-a');
      await deployed!.addAgent('acl-b', 'secret-acl-b');
      const hub = transport(h, deployed!);
      await hub.transport.start();
      // Mosquitto grants any subscription and applies `read` rules when it delivers: acl-a hears nothing of acl-b.
      const a = await agent(h, deployed!, 'acl-a', 'secret-acl-a', { protocolVersion: 5 });
      const heardByA: string[] = [];
      a.on('message', (topic) => heardByA.push(topic));
      await a.subscribeAsync([topics.of('acl-b', 'ack'), topics.of('acl-a', 'ack'), 'pb/v1/+/readings', 'pb/#'], { qos: 1 }).catch(() => undefined);
      const bListens = await agent(h, deployed!, 'acl-b', 'secret-acl-b');
      await bListens.subscribeAsync(topics.of('acl-b', 'ack'), { qos: 1 });
      const heardByB = new Promise<string>((resolve) => bListens.once('message', (topic) => resolve(topic)));
      await hub.transport.publish('acl-b', 'ack', Buffer.from('{}'));
      await bListens.publishAsync(topics.of('acl-b', 'readings'), Buffer.from([1]), { qos: 1 });
      assert.equal(await heardByB, topics.of('acl-b', 'ack'));
      await hub.transport.publish('acl-a', 'ack', Buffer.from('{}'));
      await until("acl-a's own ack", () => heardByA.length > 0, 5_000);
      // The hub published acl-b's ack before acl-a's: had acl-a been sent it, it would have arrived first.
      // Overlapping subscriptions may deliver the one message twice (MQTT 5, 4.8.2); only the topics matter.
      assert.deepEqual([...new Set(heardByA)], [topics.of('acl-a', 'ack')]);
      await bListens.endAsync();
      await hub.transport.stop();

      // Agent credentials do not open the hub listener.
      await assert.rejects(mqtt.connectAsync(deployed!.hub.url, { username: 'acl-a', password: 'secret-acl-a', protocolVersion: 5, reconnectPeriod: 0 }, false));

      // acl-b connecting with acl-a's client id must not take over acl-a's connection.
      const b = await agent(h, deployed!, 'acl-b', 'secret-acl-b', { clientId: 'pb-agent-acl-a' });
      // A round trip on acl-a's connection: a takeover would have closed it before the broker answered.
      await a.subscribeAsync(topics.of('acl-a', 'cmd'), { qos: 1 });
      assert.ok(a.connected, 'acl-a is still connected');
      assert.ok(b.connected);

      // A will on another agent's status is not published.
      const { transport: t, messages } = transport(h, deployed!);
      await t.start();
      // Mosquitto either refuses the CONNECT or drops the will when it fires; both keep acl-a's status safe.
      const rogue = await agent(h, deployed!, 'acl-b', 'secret-acl-b', {
        will: { topic: topics.of('acl-a', 'status'), payload: Buffer.from('{"state":"offline"}'), qos: 1, retain: true },
      }).catch(() => undefined);
      rogue?.on('error', () => undefined);
      rogue?.stream.destroy();
      const honest = await agent(h, deployed!, 'acl-a', 'secret-acl-a', {
        clientId: 'x',
        will: { topic: topics.of('acl-a', 'status'), payload: Buffer.from('{"state":"offline"}'), qos: 1, retain: true },
      });
      honest.stream.destroy();
      await until('the honest will', () => messages.some((m) => m.kind === 'status'), 5_000);
      // The rogue's socket closed first, so its will, had it been published, would be in before this marker.
      await flushTo(await agent(h, deployed!, 'acl-b', 'secret-acl-b'), 'acl-b', [messages]);
      assert.deepEqual(
        messages.filter((m) => m.agent.startsWith('acl-') && m.kind !== 'events').map((m) => `${m.agent}/${m.kind}`),
        ['acl-a/status'],
      );
    } finally {
      await cleanup(h);
    }
  });

  test('after a broker restart the transport reconnects with backoff, resubscribes and delivers again', async () => {
    const h: Harness = { transports: [], clients: [] };
    try {
      await deployed!.addAgent('restart-a', 'secret-restart-a');
      const { transport: t, messages, metrics } = transport(h, deployed!, { reconnectMinMs: 50, reconnectMaxMs: 400, sessionExpirySeconds: 60 });
      await t.start();
      await deployed!.kill();
      await until('the transport to notice the broker is gone', () => !connected(t), 5_000);
      await until('a few failed attempts', async () => (await metricValue(metrics, 'pb_hub_broker_reconnects_total')) >= 3, 5_000);
      await deployed!.start();
      await until('the transport to reconnect and resubscribe', () => connected(t), 10_000);
      const client = await agent(h, deployed!, 'restart-a', 'secret-restart-a');
      await client.publishAsync(topics.of('restart-a', 'readings'), Buffer.from([42]), { qos: 1 });
      await until('the reading after the restart', () => messages.some((m) => m.agent === 'restart-a' && m.payload[0] === 42), 5_000);
    } finally {
      await cleanup(h);
    }
  });
});

test('mosquittoPasswordLine writes what mosquitto_passwd 2.0 writes', () => {
  // Reference line from `mosquitto_passwd -b file agent-1 secretvalue` (Mosquitto 2.0.11).
  const salt = Buffer.from('WXY/0wEsKdjqAqek', 'base64');
  assert.equal(
    mosquittoPasswordLine('agent-1', 'secretvalue', salt),
    'agent-1:$7$101$WXY/0wEsKdjqAqek$9JEV+OdDFX7JatjS0IF8dkFtY2Jyw42r7i7yO9+eKHMozYA6j8EIj3Dpt8EBOqq+jztBt85EEAUc5zW4+Qy05A==',
  );
  assert.notEqual(mosquittoPasswordLine('a', 's'), mosquittoPasswordLine('a', 's'), 'a fresh salt each time');
  assert.throws(() => mosquittoPasswordLine('a:b', 's'));
  assert.throws(() => mosquittoPasswordLine('a\nb', 's'));
});

test('a broker that refuses the subscriptions fails start() with subscribe_refused', { timeout: 15_000 }, async () => {
  // The embedded broker plays a strict external broker: an agent account may not read other agents' messages.
  const db = new Database(':memory:');
  const registry = new SqliteAgentRegistry({ db, log, scryptCost: { N: 1024, r: 8, p: 1 } });
  const { secret } = await registry.create('strict', 'gym-1');
  const strict = new EmbeddedBroker({ registry, log, metrics: new Registry(), listen: { host: '127.0.0.1', port: 0 } });
  await strict.start();
  try {
    const t = new ExternalBroker({
      url: `mqtt://127.0.0.1:${strict.address()!.port}`,
      username: 'strict',
      password: secret,
      clientId: 'strict',
      protocolVersion: 4,
      log,
      metrics: new Registry(),
    });
    await assert.rejects(t.start(), { name: 'TransportError', code: 'subscribe_refused' });
    assert.equal(connected(t), false);
    await t.stop();
  } finally {
    await strict.stop();
    db.close();
  }
});
