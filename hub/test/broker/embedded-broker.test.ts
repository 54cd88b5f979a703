import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server } from 'node:http';
import { connect as connectTcp, type AddressInfo } from 'node:net';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import * as aedesPersistence from 'aedes-persistence';
import type { AedesPersistence } from 'aedes-persistence';
import { Topics } from '@pulsebridge/protocol';
import { until, withTimeout } from '@pulsebridge/runtime';
import { EmbeddedBroker } from '../../src/broker/embedded-broker.ts';
import type { AgentMessage } from '../../src/broker/transport.ts';
import { SqliteAgentRegistry } from '../../src/registry/sqlite-agent-registry.ts';

const topics = new Topics('pb');
const MAX_PACKET = 64 * 1024;

interface Setup {
  db: Database.Database;
  registry: SqliteAgentRegistry;
  metrics: Registry;
  broker: EmbeddedBroker;
  http: Server;
  mqttUrl: string;
  wsUrl: string;
  messages: AgentMessage[];
  /** `agent:connected` or `agent:gone`, as the broker reported them, in order. */
  presence: string[];
  /** The broker's retained messages, sessions and wills. */
  persistence: AedesPersistence;
  secrets: Map<string, string>;
}

async function setup(): Promise<Setup> {
  const db = new Database(':memory:');
  const log = pino({ level: 'silent' });
  // Low scrypt cost: the tests are about the broker, not about hashing time.
  const registry = new SqliteAgentRegistry({ db, log, scryptCost: { N: 1024, r: 8, p: 1 } });
  const secrets = new Map<string, string>();
  for (const id of ['agent-a', 'agent-b']) secrets.set(id, (await registry.create(id, 'gym-1')).secret);
  const metrics = new Registry();
  // The package is CommonJS: its module.exports is the factory, which its typings declare as the default export.
  const persistence = (aedesPersistence.default as unknown as () => AedesPersistence)();
  const broker = new EmbeddedBroker({ registry, log, metrics, listen: { host: '127.0.0.1', port: 0 }, maxPacketBytes: MAX_PACKET, stopTimeoutMs: 2_000, persistence });
  const messages: AgentMessage[] = [];
  broker.onMessage((m) => messages.push(m));
  const presence: string[] = [];
  broker.onPresence((agent, connected) => presence.push(`${agent}:${connected ? 'connected' : 'gone'}`));
  await broker.start();
  const http = createServer((_req, res) => res.writeHead(404).end());
  http.on('upgrade', (req, socket, head) => {
    if (!broker.handleUpgrade(req, socket, head)) socket.destroy();
  });
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  const port = broker.address()!.port;
  const httpPort = (http.address() as AddressInfo).port;
  return { db, registry, metrics, broker, http, mqttUrl: `mqtt://127.0.0.1:${port}`, wsUrl: `ws://127.0.0.1:${httpPort}/mqtt`, messages, presence, persistence, secrets };
}

async function teardown(s: Setup): Promise<void> {
  await s.broker.stop();
  s.http.closeAllConnections();
  await new Promise<void>((resolve) => s.http.close(() => resolve()));
  s.db.close();
}

function agentOptions(s: Setup, agent: string, extra: IClientOptions = {}): IClientOptions {
  return { clientId: agent, username: agent, password: s.secrets.get(agent)!, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 3_000, ...extra };
}

const clients: MqttClient[] = [];

async function connectAgent(url: string, options: IClientOptions): Promise<MqttClient> {
  const client = await mqtt.connectAsync(url, options, false);
  clients.push(client);
  return client;
}

async function refusalCode(url: string, options: IClientOptions): Promise<number | undefined> {
  try {
    const client = await mqtt.connectAsync(url, options, false);
    await client.endAsync(true);
    return undefined;
  } catch (err) {
    return (err as { code?: number }).code;
  }
}

/** What an agent left retained on one of its topics. */
async function retained(s: Setup, agent: string, kind: 'status' | 'inventory'): Promise<string | undefined> {
  let found: string | undefined;
  for await (const packet of s.persistence.createRetainedStream(topics.of(agent, kind))) {
    found = String((packet as { payload: Buffer | string }).payload);
  }
  return found;
}

const connectedAgents = (s: Setup): Promise<number> => metricValue(s.metrics, 'pb_hub_broker_connected_agents');

async function metricValue(metrics: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = await metrics.getSingleMetric(name)?.get();
  const match = metric?.values.find((v) => Object.entries(labels).every(([k, value]) => v.labels[k] === value));
  return match?.value ?? 0;
}

function nextMessage(client: MqttClient, timeoutMs = 3_000): Promise<[topic: string, payload: Buffer, packet: { qos: number; retain: boolean }]> {
  const message = new Promise<[string, Buffer, { qos: number; retain: boolean }]>((resolve) =>
    client.once('message', (topic, payload, packet) => resolve([topic, payload, packet])),
  );
  return withTimeout(message, timeoutMs, 'a message');
}

/** Resolves when the connection closes; unlike events.once, an 'error' before the close is expected here. */
function closed(client: MqttClient, timeoutMs = 3_000): Promise<void> {
  return withTimeout(new Promise<void>((resolve) => client.once('close', () => resolve())), timeoutMs, 'the broker to close the connection');
}

describe('embedded broker', { timeout: 30_000 }, () => {
  let s: Setup;
  before(async () => {
    s = await setup();
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
    await teardown(s);
  });

  test('a registered agent connects and its publishes reach the hub with its authenticated identity', async () => {
    const before = s.messages.length;
    const client = await connectAgent(s.mqttUrl, agentOptions(s, 'agent-a'));
    await client.publishAsync(topics.of('agent-a', 'readings'), Buffer.from([1, 2, 3]), { qos: 1 });
    await client.publishAsync(topics.of('agent-a', 'events'), Buffer.from('{"at":1,"type":"x"}'), { qos: 0 });
    await until('two agent messages', () => s.messages.length >= before + 2, 3_000);
    const got = s.messages.slice(before);
    assert.deepEqual(got[0], { agent: 'agent-a', kind: 'readings', payload: Buffer.from([1, 2, 3]) });
    assert.equal(got[1]!.kind, 'events');
    assert.equal(await connectedAgents(s), 1);
    assert.equal(s.presence.at(-1), 'agent-a:connected', 'connecting is reported');
    const seenBefore = s.presence.length;
    await client.endAsync();
    await until('the agent to count as gone', async () => (await connectedAgents(s)) === 0, 3_000);
    assert.deepEqual(s.presence.slice(seenBefore), ['agent-a:gone'], 'so is disconnecting');
  });

  test('an agent reconnecting while its old connection is still open stays connected when the broker drops the old one', async () => {
    const first = await connectAgent(s.mqttUrl, agentOptions(s, 'agent-b'));
    first.on('error', () => undefined);
    const seenBefore = s.presence.length;
    const second = await connectAgent(s.mqttUrl, agentOptions(s, 'agent-b'));
    await until('the broker to drop the old connection', () => !first.connected, 3_000);
    await until('both presence reports', () => s.presence.length >= seenBefore + 2, 3_000);
    assert.equal(
      s.presence
        .slice(seenBefore)
        .filter((p) => p.startsWith('agent-b:'))
        .at(-1),
      'agent-b:connected',
      'the last word is the open connection',
    );
    await second.endAsync();
    await until('agent-b to count as gone', () => s.presence.at(-1) === 'agent-b:gone', 3_000);
  });

  test('a wrong secret, an unknown agent and missing credentials are refused with CONNACK 4 and counted', async () => {
    const before = await metricValue(s.metrics, 'pb_hub_broker_auth_failures_total', { reason: 'bad_credentials' });
    assert.equal(await refusalCode(s.mqttUrl, agentOptions(s, 'agent-a', { password: 'not-the-secret' })), 4);
    assert.equal(await refusalCode(s.mqttUrl, agentOptions(s, 'agent-a', { password: s.secrets.get('agent-b')! })), 4);
    assert.equal(await refusalCode(s.mqttUrl, { ...agentOptions(s, 'agent-a'), clientId: 'nobody', username: 'nobody' }), 4);
    assert.equal(await refusalCode(s.mqttUrl, { clientId: 'agent-a', protocolVersion: 4, reconnectPeriod: 0 }), 4);
    assert.equal(await refusalCode(s.mqttUrl, { ...agentOptions(s, 'agent-a'), clientId: '../x', username: '../x' }), 4, 'an invalid id is an unknown id');
    assert.equal(await metricValue(s.metrics, 'pb_hub_broker_auth_failures_total', { reason: 'bad_credentials' }), before + 4);
    assert.equal(await metricValue(s.metrics, 'pb_hub_broker_auth_failures_total', { reason: 'missing_credentials' }), 1);
  });

  test('a client id posing as another agent is refused, so it cannot take over that agent session', async () => {
    const victim = await connectAgent(s.mqttUrl, agentOptions(s, 'agent-b'));
    assert.equal(await refusalCode(s.mqttUrl, agentOptions(s, 'agent-a', { clientId: 'agent-b' })), 2);
    assert.equal(await refusalCode(s.mqttUrl, agentOptions(s, 'agent-a', { clientId: 'pb-agent-agent-b' })), 2);
    assert.equal(await refusalCode(s.mqttUrl, agentOptions(s, 'agent-a', { clientId: 'agent-a-2' })), 2);
    assert.ok(victim.connected, 'the real agent-b stays connected');
    await victim.endAsync();
  });

  test("the edge agent's client id form pb-agent-<id> is accepted", async () => {
    const client = await connectAgent(s.mqttUrl, agentOptions(s, 'agent-a', { clientId: 'pb-agent-agent-a' }));
    await client.publishAsync(topics.of('agent-a', 'events'), Buffer.from('{}'), { qos: 1 });
    await until('the event', () => s.messages.at(-1)?.agent === 'agent-a', 3_000);
    await client.endAsync();
  });

  test('an empty client id becomes the agent id', async () => {
    const client = await connectAgent(s.mqttUrl, agentOptions(s, 'agent-a', { clientId: '', clean: true }));
    await client.publishAsync(topics.of('agent-a', 'events'), Buffer.from('{}'), { qos: 1 });
    await until('the event', () => s.messages.at(-1)?.agent === 'agent-a' && s.messages.at(-1)?.kind === 'events', 3_000);
    await client.endAsync();
  });

  test('MQTT 5 clients are refused: the embedded broker speaks MQTT 3.1.1', async () => {
    assert.equal(await refusalCode(s.mqttUrl, agentOptions(s, 'agent-a', { protocolVersion: 5 })), 1);
  });

  for (const [what, topic] of [
    ["another agent's readings", topics.of('agent-b', 'readings')],
    ["another agent's status", topics.of('agent-b', 'status')],
    ['its own ack topic', topics.of('agent-a', 'ack')],
    ['its own cmd topic', topics.of('agent-a', 'cmd')],
    ['a topic outside the protocol', 'pb/v1/agent-a/readings/extra'],
    ['$SYS', '$SYS/broker/heartbeat'],
  ] as const) {
    test(`publishing to ${what} is denied, counted and closes the connection`, async () => {
      const before = await metricValue(s.metrics, 'pb_hub_broker_denied_total', { action: 'publish' });
      const messagesBefore = s.messages.length;
      const client = await connectAgent(s.mqttUrl, agentOptions(s, 'agent-a'));
      const gone = closed(client);
      client.publish(topic, Buffer.from('{}'), { qos: 1 });
      await gone;
      assert.equal(await metricValue(s.metrics, 'pb_hub_broker_denied_total', { action: 'publish' }), before + 1);
      assert.equal(s.messages.length, messagesBefore, 'nothing reached the hub');
    });
  }

  test("subscribing to another agent's ack, to wildcards or to its own readings is refused with SUBACK 0x80", async () => {
    const client = await connectAgent(s.mqttUrl, agentOptions(s, 'agent-a'));
    const before = await metricValue(s.metrics, 'pb_hub_broker_denied_total', { action: 'subscribe' });
    const refused = [topics.of('agent-b', 'ack'), 'pb/v1/+/ack', 'pb/#', '#', topics.of('agent-a', 'readings'), '$SYS/#'];
    const granted = await new Promise<number[]>((resolve) => {
      // mqtt.js reports any refused filter as an error carrying the SUBACK.
      client.subscribe([...refused, topics.of('agent-a', 'ack'), topics.of('agent-a', 'cmd')], { qos: 1 }, (err, grants, packet) => {
        const suback = packet ?? (err as { packet?: { granted: unknown[] } } | null)?.packet;
        resolve(suback ? suback.granted.map((g) => (typeof g === 'number' ? g : -1)) : (grants ?? []).map((g) => g.qos));
      });
    });
    assert.deepEqual(granted, [...refused.map(() => 128), 1, 1]);
    assert.equal(await metricValue(s.metrics, 'pb_hub_broker_denied_total', { action: 'subscribe' }), before + refused.length);
    assert.ok(client.connected, 'a refused subscription keeps the connection');
    await client.endAsync();
  });

  test("the hub's publish reaches the agent's ack subscription and is not delivered back to the hub", async () => {
    const client = await connectAgent(s.mqttUrl, agentOptions(s, 'agent-a'));
    const other = await connectAgent(s.mqttUrl, agentOptions(s, 'agent-b'));
    await client.subscribeAsync(topics.of('agent-a', 'ack'), { qos: 1 });
    await other.subscribeAsync(topics.of('agent-b', 'ack'), { qos: 1 });
    const otherGot: string[] = [];
    other.on('message', (topic) => otherGot.push(topic));
    const messagesBefore = s.messages.length;
    const received = nextMessage(client);
    await s.broker.publish('agent-a', 'ack', Buffer.from('{"stream":"s","first":1,"last":2,"result":"stored"}'));
    const [topic, payload, packet] = await received;
    assert.equal(topic, topics.of('agent-a', 'ack'));
    assert.equal(JSON.parse(payload.toString()).result, 'stored');
    assert.equal(packet.qos, 1);
    // Messages reach the hub in order: once this one is in, the ack would have been too.
    await client.publishAsync(topics.of('agent-a', 'events'), Buffer.from('{"at":1,"type":"marker"}'), { qos: 1 });
    await until('the marker event', () => s.messages.length > messagesBefore, 3_000);
    assert.deepEqual(
      s.messages.slice(messagesBefore).map((m) => m.kind),
      ['events'],
      'the ack did not come back to the hub',
    );
    assert.deepEqual(otherGot, [], 'agent-b does not see agent-a acks');
    await assert.rejects(s.broker.publish('../x', 'ack', Buffer.from('{}')), { name: 'TransportError', code: 'invalid_agent' });
    await client.endAsync();
    await other.endAsync();
  });

  test('a retained status is kept, a retained readings batch is not, and the will reaches the hub when the socket dies', async () => {
    const will = { topic: topics.of('agent-b', 'status'), payload: Buffer.from('{"state":"offline"}'), qos: 1 as const, retain: true };
    const client = await connectAgent(s.mqttUrl, agentOptions(s, 'agent-b', { will }));
    await client.publishAsync(topics.of('agent-b', 'status'), Buffer.from('{"state":"online"}'), { qos: 1, retain: true });
    await client.publishAsync(topics.of('agent-b', 'readings'), Buffer.from([9]), { qos: 1, retain: true });
    await until('the readings', () => s.messages.some((m) => m.agent === 'agent-b' && m.kind === 'readings'), 3_000);
    assert.equal(await retained(s, 'agent-b', 'status'), '{"state":"online"}');
    assert.equal(await retained(s, 'agent-b', 'inventory'), undefined);
    const before = s.messages.length;
    client.stream.destroy();
    await until('the last will', () => s.messages.length > before, 3_000);
    assert.deepEqual(s.messages.at(-1), { agent: 'agent-b', kind: 'status', payload: will.payload });
    assert.equal(await retained(s, 'agent-b', 'status'), '{"state":"offline"}', 'the will replaced the retained status');
  });

  test('a will on another agent topic is refused at CONNECT with code 5', async () => {
    const before = await metricValue(s.metrics, 'pb_hub_broker_denied_total', { action: 'will' });
    const will = { topic: topics.of('agent-b', 'status'), payload: Buffer.from('{"state":"offline"}'), qos: 1 as const, retain: true };
    assert.equal(await refusalCode(s.mqttUrl, agentOptions(s, 'agent-a', { will })), 5);
    assert.equal(await metricValue(s.metrics, 'pb_hub_broker_denied_total', { action: 'will' }), before + 1);
  });

  test('MQTT over WebSocket on the HTTP server works with the same authentication and ACL', async () => {
    assert.equal(await refusalCode(s.wsUrl, agentOptions(s, 'agent-a', { password: 'wrong' })), 4);
    const client = await connectAgent(s.wsUrl, agentOptions(s, 'agent-a'));
    await client.subscribeAsync(topics.of('agent-a', 'cmd'), { qos: 1 });
    await client.publishAsync(topics.of('agent-a', 'inventory'), Buffer.from('{"sensors":[]}'), { qos: 1 });
    await until('the inventory over WebSocket', () => s.messages.at(-1)?.kind === 'inventory', 3_000);
    assert.equal(s.messages.at(-1)!.agent, 'agent-a');
    const received = nextMessage(client);
    await s.broker.publish('agent-a', 'cmd', Buffer.from('{"type":"time","hubTime":1,"echo":2}'));
    assert.equal((await received)[0], topics.of('agent-a', 'cmd'));
    await client.endAsync();
  });

  test('another HTTP upgrade path is left to the HTTP server', async () => {
    const httpPort = (s.http.address() as AddressInfo).port;
    await assert.rejects(mqtt.connectAsync(`ws://127.0.0.1:${httpPort}/not-mqtt`, agentOptions(s, 'agent-a'), false));
    assert.equal(await connectedAgents(s), 0);
  });

  test('an oversized packet closes only that connection, over TCP and WebSocket', async () => {
    const bystander = await connectAgent(s.mqttUrl, agentOptions(s, 'agent-b'));
    await bystander.subscribeAsync(topics.of('agent-b', 'ack'), { qos: 1 });
    for (const url of [s.mqttUrl, s.wsUrl]) {
      const transport = url.startsWith('ws') ? 'ws' : 'tcp';
      const before = await metricValue(s.metrics, 'pb_hub_broker_rejected_packets_total', { reason: 'oversized', transport });
      const messagesBefore = s.messages.length;
      const big = await connectAgent(url, agentOptions(s, 'agent-a'));
      big.on('error', () => undefined); // the reset is the expected outcome
      const gone = closed(big);
      big.publish(topics.of('agent-a', 'readings'), Buffer.alloc(MAX_PACKET + 1), { qos: 1 });
      await gone;
      assert.equal(await metricValue(s.metrics, 'pb_hub_broker_rejected_packets_total', { reason: 'oversized', transport }), before + 1, transport);
      assert.equal(s.messages.length, messagesBefore);
    }
    // Just under the limit still passes.
    const fits = await connectAgent(s.mqttUrl, agentOptions(s, 'agent-a'));
    await fits.publishAsync(topics.of('agent-a', 'readings'), Buffer.alloc(MAX_PACKET - 100), { qos: 1 });
    await until('the packet just under the limit', () => s.messages.at(-1)?.payload.length === MAX_PACKET - 100, 3_000);
    await fits.endAsync();
    assert.ok(bystander.connected);
    const received = nextMessage(bystander);
    await s.broker.publish('agent-b', 'ack', Buffer.from('{}'));
    await received;
    await bystander.publishAsync(topics.of('agent-b', 'events'), Buffer.from('{}'), { qos: 1 });
    await until('the bystander publish', () => s.messages.at(-1)?.agent === 'agent-b', 3_000);
    await bystander.endAsync();
  });

  test('garbage on the MQTT port closes that socket and the broker keeps serving', async () => {
    const port = s.broker.address()!.port;
    for (const bytes of [
      Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'),
      Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]), // remaining length longer than 4 bytes
      Buffer.from([0x30, 0xff, 0xff, 0xff, 0x7f]), // announces 256 MiB
    ]) {
      const socket = connectTcp(port, '127.0.0.1');
      socket.on('error', () => undefined);
      await once(socket, 'connect');
      socket.write(bytes);
      await once(socket, 'close', { signal: AbortSignal.timeout(3_000) });
    }
    assert.ok((await metricValue(s.metrics, 'pb_hub_broker_rejected_packets_total', { reason: 'malformed', transport: 'tcp' })) >= 1);
    const client = await connectAgent(s.mqttUrl, agentOptions(s, 'agent-a'));
    assert.ok(client.connected);
    await client.endAsync();
  });

  test('connected agents are reported in /metrics', async () => {
    const client = await connectAgent(s.mqttUrl, agentOptions(s, 'agent-a'));
    assert.equal(await metricValue(s.metrics, 'pb_hub_broker_connected_agents'), 1);
    await client.endAsync();
  });
});

test('stop() disconnects agents and refuses publishes afterwards', { timeout: 15_000 }, async () => {
  const s = await setup();
  const client = await mqtt.connectAsync(s.mqttUrl, agentOptions(s, 'agent-a'), false);
  const gone = closed(client);
  const started = Date.now();
  await teardown(s);
  await gone;
  assert.ok(Date.now() - started < 3_000, 'stop is prompt');
  await assert.rejects(s.broker.publish('agent-a', 'ack', Buffer.from('{}')), { code: 'not_running' });
  await client.endAsync(true);
});

test('stopAccepting() refuses new connections and keeps current ones for the last acks', { timeout: 15_000 }, async () => {
  const s = await setup();
  try {
    const client = await mqtt.connectAsync(s.mqttUrl, agentOptions(s, 'agent-a'), false);
    await client.subscribeAsync(topics.of('agent-a', 'ack'), { qos: 1 });
    s.broker.stopAccepting();
    await assert.rejects(mqtt.connectAsync(s.mqttUrl, agentOptions(s, 'agent-b'), false), 'TCP refused');
    await assert.rejects(mqtt.connectAsync(s.wsUrl, agentOptions(s, 'agent-b'), false), 'WebSocket refused');
    const received = nextMessage(client);
    await s.broker.publish('agent-a', 'ack', Buffer.from('{"last":1}'));
    assert.equal((await received)[1].toString(), '{"last":1}');
    await client.publishAsync(topics.of('agent-a', 'events'), Buffer.from('{}'), { qos: 1 });
    await until('a message from the connected agent', () => s.messages.length === 1, 3_000);
    await client.endAsync();
  } finally {
    await teardown(s);
  }
});

test('start() fails with listen_failed when the port is taken', { timeout: 15_000 }, async () => {
  const s = await setup();
  try {
    const db = new Database(':memory:');
    const log = pino({ level: 'silent' });
    const second = new EmbeddedBroker({
      registry: new SqliteAgentRegistry({ db, log }),
      log,
      metrics: new Registry(),
      listen: { host: '127.0.0.1', port: s.broker.address()!.port },
    });
    await assert.rejects(second.start(), { name: 'TransportError', code: 'listen_failed' });
    await second.stop();
    db.close();
  } finally {
    await teardown(s);
  }
});

const openssl = ['/usr/bin/openssl', '/usr/local/bin/openssl'].find((path) => existsSync(path));

test('with TLS configured, agents connect over mqtts and plain MQTT is refused', { timeout: 20_000, skip: openssl ? false : 'openssl not installed' }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pb-broker-tls-'));
  const db = new Database(':memory:');
  const log = pino({ level: 'silent' });
  try {
    execFileSync(
      openssl!,
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    const cert = readFileSync(join(dir, 'cert.pem'));
    const registry = new SqliteAgentRegistry({ db, log, scryptCost: { N: 1024, r: 8, p: 1 } });
    const { secret } = await registry.create('tls-box', 'gym-1');
    const broker = new EmbeddedBroker({ registry, log, metrics: new Registry(), listen: { host: '127.0.0.1', port: 0 }, tls: { cert, key: readFileSync(join(dir, 'key.pem')) } });
    const messages: AgentMessage[] = [];
    broker.onMessage((m) => messages.push(m));
    await broker.start();
    try {
      const port = broker.address()!.port;
      const options = { clientId: 'tls-box', username: 'tls-box', password: secret, protocolVersion: 4 as const, reconnectPeriod: 0, connectTimeout: 2_000 };
      const client = await mqtt.connectAsync(`mqtts://127.0.0.1:${port}`, { ...options, ca: cert }, false);
      await client.publishAsync(topics.of('tls-box', 'events'), Buffer.from('{}'), { qos: 1 });
      await until('the event over TLS', () => messages.length === 1, 3_000);
      assert.equal(messages[0]!.agent, 'tls-box');
      await client.endAsync();
      await assert.rejects(mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, options, false));
      await assert.rejects(mqtt.connectAsync(`mqtts://127.0.0.1:${port}`, options, false), 'an unknown CA is refused by the client');
    } finally {
      await broker.stop();
    }
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
