// Over 500 lines: the hub as a whole process (config, CLI, start and stop, both brokers), each part of which is tested alone elsewhere.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { pino } from 'pino';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { Topics, encodeBatch, type AckMessage, type ReadingBatch } from '@pulsebridge/protocol';
import { Hub, openStateDatabase } from '../src/hub.ts';
import type { Agent } from '../src/api/schemas.ts';
import { SqliteAgentRegistry } from '../src/registry/sqlite-agent-registry.ts';
import type { HubConfig } from '../src/config.ts';
import { settlesWithin, until, withTimeout } from '@pulsebridge/runtime';
import { main } from '../src/main.ts';
import { DeployedMosquitto, freePort, mosquittoBin, portOpen } from './broker/mosquitto-harness.ts';
import { missingService } from '../../test/services.ts';
import { clientsWithTestService } from './service-token.ts';
import { platformToken, testHubConfig } from './test-hub.ts';
import { capturingIo } from './cli-io.ts';

const topics = new Topics('pb');
const log = pino({ level: 'silent' });

const hubConfig = testHubConfig;

function batch(agent: string, first: number, ts0: number): ReadingBatch {
  return {
    agent,
    stream: 's1',
    first,
    last: first + 2,
    floor: 0,
    clockUnsynced: false,
    series: [{ sensor: 'ble:hr-1', metric: 'heart_rate', ts: [ts0, ts0 + 1_000, ts0 + 2_000], values: [120, 121, 123] }],
  };
}

async function api(hub: Hub, path: string, token: string | null | undefined = null): Promise<{ status: number; body: unknown }> {
  const { port } = hub.addresses.http!;
  if (token === null) token = await platformToken(hub);
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: /metrics
  }
  return { status: res.status, body };
}

function nextMessage(client: MqttClient, timeoutMs = 5_000): Promise<[string, Buffer]> {
  const message = new Promise<[string, Buffer]>((resolve) => client.once('message', (topic, payload) => resolve([topic, payload])));
  return withTimeout(message, timeoutMs, 'a message from the hub');
}

/** Enrolls an agent the way `agent add` does: in the state database, beside a running hub. */
async function enroll(hub: Hub, id: string, gym: string): Promise<{ secret: string }> {
  const db = openStateDatabase(hub.config.hub.dataDir);
  try {
    return await new SqliteAgentRegistry({ db, log }).create(id, gym);
  } finally {
    db.close();
  }
}

/** The agent as the API shows it. */
async function agentRecord(hub: Hub, id: string): Promise<Agent | undefined> {
  const { status, body } = await api(hub, `/api/v1/agents/${id}`);
  return status === 200 ? (body as Agent) : undefined;
}

function agentOptions(id: string, secret: string, extra: IClientOptions = {}): IClientOptions {
  return { clientId: `pb-agent-${id}`, username: id, password: secret, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 3_000, ...extra };
}

describe('Hub', { timeout: 60_000 }, () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'pb-hub-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('starts on ephemeral ports with a temp data dir, serves probes and metrics, and stops cleanly', async () => {
    const hub = new Hub(hubConfig(join(dir, 'probes')), { log });
    await hub.start();
    const { http, mqtt: broker } = hub.addresses;
    assert.ok(http && http.port > 0);
    assert.ok(broker && broker.port > 0 && broker.port !== http.port);
    assert.equal((await api(hub, '/healthz', undefined)).status, 200);
    const ready = await api(hub, '/readyz', undefined);
    assert.equal(ready.status, 200, JSON.stringify(ready.body));
    assert.deepEqual((ready.body as { checks: Record<string, string> }).checks, { stateDatabase: 'ok', documents: 'ok', broker: 'ok', ingest: 'ok' });
    const metrics = await api(hub, '/metrics', undefined);
    assert.match(String(metrics.body), /pb_hub_broker_connected_agents 0/);
    assert.match(String(metrics.body), /pb_hub_ingest_batches_total/);
    assert.equal((await api(hub, '/api/v1/agents', 'wrong-token')).status, 401);
    const started = Date.now();
    await hub.stop();
    assert.ok(Date.now() - started < 5_000, `stop took ${Date.now() - started} ms`);
    assert.ok(!(await portOpen(http.port)), 'HTTP port closed');
    assert.ok(!(await portOpen(broker.port)), 'MQTT port closed');
    await hub.stop(); // idempotent
  });

  test('an agent publish over MQTT is stored, acknowledged, visible in the API, and deduplicated after a restart', async () => {
    const dataDir = join(dir, 'e2e');
    let hub = new Hub(hubConfig(dataDir), { log });
    await hub.start();
    const { secret } = await enroll(hub, 'box-1', 'gym-1');
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${hub.addresses.mqtt!.port}`, agentOptions('box-1', secret), false);
    try {
      await client.subscribeAsync([topics.of('box-1', 'ack'), topics.of('box-1', 'cmd')], { qos: 1 });
      const ts0 = Date.now() - 60_000;
      const acked = nextMessage(client);
      await client.publishAsync(topics.of('box-1', 'readings'), encodeBatch(batch('box-1', 0, ts0)), { qos: 1 });
      const [ackTopic, ackPayload] = await acked;
      assert.equal(ackTopic, topics.of('box-1', 'ack'));
      const ack = JSON.parse(ackPayload.toString()) as AckMessage;
      assert.deepEqual({ stream: ack.stream, first: ack.first, last: ack.last, result: ack.result }, { stream: 's1', first: 0, last: 2, result: 'stored' });

      const readings = await api(hub, `/api/v1/readings?sensor=ble:hr-1&metric=heart_rate&from=${ts0 - 1}&to=${ts0 + 10_000}`);
      assert.equal(readings.status, 200, JSON.stringify(readings.body));
      assert.deepEqual((readings.body as { readings: { ts: number; value: number }[] }).readings, [
        { ts: ts0, value: 120 },
        { ts: ts0 + 1_000, value: 121 },
        { ts: ts0 + 2_000, value: 123 },
      ]);

      // An online status carrying the agent's monotonic clock is answered with a time command.
      const command = nextMessage(client);
      await client.publishAsync(topics.of('box-1', 'status'), Buffer.from(JSON.stringify({ state: 'online', version: '9.9.9', mono: 1234 })), { qos: 1, retain: true });
      const [cmdTopic, cmdPayload] = await command;
      assert.equal(cmdTopic, topics.of('box-1', 'cmd'));
      assert.equal(JSON.parse(cmdPayload.toString()).echo, 1234);
      await until(
        'box-1 to show online',
        async () => ((await api(hub, '/api/v1/agents')).body as { id: string; online: boolean }[]).some((a) => a.id === 'box-1' && a.online),
        5_000,
      );

      // Bad input is refused without harm: a batch claiming another agent, and garbage.
      const rejected = nextMessage(client);
      await client.publishAsync(topics.of('box-1', 'readings'), encodeBatch(batch('box-2', 10, ts0)), { qos: 1 });
      assert.equal((JSON.parse((await rejected)[1].toString()) as AckMessage).result, 'rejected');
      await client.publishAsync(topics.of('box-1', 'readings'), Buffer.from('not msgpack'), { qos: 1 });
      await client.publishAsync(topics.of('box-1', 'events'), Buffer.from('{"broken'), { qos: 1 });
      assert.equal((await api(hub, '/readyz', undefined)).status, 200, 'still ready after bad input');
    } finally {
      await client.endAsync();
      await hub.stop();
    }

    // The same data dir: the agent, its readings and the dedupe ranges survive.
    hub = new Hub(hubConfig(dataDir), { log });
    await hub.start();
    try {
      const agent = await agentRecord(hub, 'box-1');
      assert.equal(agent?.gym, 'gym-1');
      assert.equal(agent?.version, '9.9.9');
      const again = await mqtt.connectAsync(`mqtt://127.0.0.1:${hub.addresses.mqtt!.port}`, agentOptions('box-1', secret), false);
      await again.subscribeAsync(topics.of('box-1', 'ack'), { qos: 1 });
      const acked = nextMessage(again);
      await again.publishAsync(topics.of('box-1', 'readings'), encodeBatch(batch('box-1', 0, Date.now() - 60_000)), { qos: 1 });
      assert.equal((JSON.parse((await acked)[1].toString()) as AckMessage).result, 'duplicate');
      await again.endAsync();
    } finally {
      await hub.stop();
    }
  });

  test('MQTT over WebSocket shares the HTTP port; other upgrade paths get 404', async () => {
    const hub = new Hub(hubConfig(join(dir, 'ws'), { PB_HUB_MQTT__TCP: 'false' }), { log });
    await hub.start();
    try {
      assert.equal(hub.addresses.mqtt, undefined, 'no TCP listener');
      const { secret } = await enroll(hub, 'box-ws', 'gym-1');
      const port = hub.addresses.http!.port;
      const client = await mqtt.connectAsync(`ws://127.0.0.1:${port}/mqtt`, agentOptions('box-ws', secret), false);
      await client.subscribeAsync(topics.of('box-ws', 'ack'), { qos: 1 });
      const acked = nextMessage(client);
      await client.publishAsync(topics.of('box-ws', 'readings'), encodeBatch(batch('box-ws', 0, Date.now() - 10_000)), { qos: 1 });
      assert.equal((JSON.parse((await acked)[1].toString()) as AckMessage).result, 'stored');
      await client.endAsync();
      await assert.rejects(mqtt.connectAsync(`ws://127.0.0.1:${port}/elsewhere`, agentOptions('box-ws', secret), false));
    } finally {
      await hub.stop();
    }
  });

  test('an agent is online while connected, and a restarted hub shows it offline until it connects again', async () => {
    const dataDir = join(dir, 'restart-presence');
    let hub = new Hub(hubConfig(dataDir), { log });
    await hub.start();
    const { secret } = await enroll(hub, 'box-p', 'gym-1');
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${hub.addresses.mqtt!.port}`, agentOptions('box-p', secret), false);
    client.on('error', () => undefined);
    try {
      await until('box-p online on connecting, before any status', async () => (await agentRecord(hub, 'box-p'))?.online === true, 5_000);
      await client.publishAsync(topics.of('box-p', 'status'), Buffer.from('{"state":"online","version":"1.0.0"}'), { qos: 1, retain: true });
      await until('the status recorded', async () => (await agentRecord(hub, 'box-p'))?.version === '1.0.0', 5_000);
      await hub.stop();
      await client.endAsync(true);
      hub = new Hub(hubConfig(dataDir), { log });
      await hub.start();
      const after = await agentRecord(hub, 'box-p');
      assert.equal(after?.online, false, 'its last status said online, but it has not connected to this hub');
      assert.equal(after?.version, '1.0.0', 'what it last reported is still shown');
      assert.ok(after?.lastSeen !== null, 'last-seen is kept');
    } finally {
      await client.endAsync(true);
      await hub.stop();
    }
  });

  test('stop() with a connected agent is bounded and records its last will', async () => {
    const dataDir = join(dir, 'will');
    const hub = new Hub(hubConfig(dataDir), { log });
    await hub.start();
    const { secret } = await enroll(hub, 'box-w', 'gym-1');
    const client = await mqtt.connectAsync(
      `mqtt://127.0.0.1:${hub.addresses.mqtt!.port}`,
      agentOptions('box-w', secret, { will: { topic: topics.of('box-w', 'status'), payload: Buffer.from('{"state":"offline"}'), qos: 1, retain: true } }),
      false,
    );
    client.on('error', () => undefined);
    await client.publishAsync(topics.of('box-w', 'status'), Buffer.from('{"state":"online"}'), { qos: 1, retain: true });
    await until('box-w online', async () => (await agentRecord(hub, 'box-w'))?.online === true, 5_000);
    // Abrupt loss of the agent: the will marks it offline.
    client.stream.destroy();
    await until('box-w offline through its will', async () => (await agentRecord(hub, 'box-w'))?.online === false, 5_000);
    const again = await mqtt.connectAsync(`mqtt://127.0.0.1:${hub.addresses.mqtt!.port}`, agentOptions('box-w', secret), false);
    again.on('error', () => undefined);
    const started = Date.now();
    await hub.stop();
    assert.ok(Date.now() - started < 8_000, `stop took ${Date.now() - started} ms`);
    await until('the agent to be disconnected', () => !again.connected, 5_000);
    await again.endAsync(true);
  });

  test(
    'with an external Mosquitto (deploy/mosquitto), an agent batch is stored and acked through the broker; readiness follows the connection',
    { skip: missingService(mosquittoBin ? false : 'mosquitto binary not installed (apt-get install mosquitto)') },
    async () => {
      const broker = new DeployedMosquitto();
      await broker.setup();
      const hub = new Hub(
        hubConfig(join(dir, 'external'), {
          PB_HUB_MQTT__MODE: 'external',
          PB_HUB_MQTT__EXTERNAL__URL: broker.hub.url,
          PB_HUB_MQTT__EXTERNAL__USERNAME: broker.hub.username,
          PB_HUB_MQTT__EXTERNAL__PASSWORD: JSON.stringify({ env: 'PB_TEST_BROKER_PASSWORD' }),
          PB_HUB_MQTT__EXTERNAL__RECONNECT_MIN_MS: '50',
          PB_HUB_MQTT__EXTERNAL__RECONNECT_MAX_MS: '300',
          PB_HUB_MQTT__EXTERNAL__SESSION_EXPIRY_SECONDS: '0',
          PB_TEST_BROKER_PASSWORD: broker.hub.password,
        }),
        { log, env: { PB_TEST_BROKER_PASSWORD: broker.hub.password } },
      );
      let client: MqttClient | undefined;
      try {
        await hub.start();
        assert.equal(hub.addresses.mqtt, undefined, 'no embedded listener');
        const { secret } = await enroll(hub, 'box-ext', 'gym-1');
        await broker.addAgent('box-ext', secret);
        client = await mqtt.connectAsync(broker.agentUrl, agentOptions('box-ext', secret, { protocolVersion: 5 }), false);
        await client.subscribeAsync(topics.of('box-ext', 'ack'), { qos: 1 });
        const acked = nextMessage(client);
        await client.publishAsync(topics.of('box-ext', 'readings'), encodeBatch(batch('box-ext', 0, Date.now() - 30_000)), { qos: 1 });
        assert.equal((JSON.parse((await acked)[1].toString()) as AckMessage).result, 'stored');
        assert.equal((await api(hub, '/readyz', undefined)).status, 200);
        client.on('error', () => undefined);
        await broker.kill();
        await until('readiness to drop with the broker', async () => (await api(hub, '/readyz', undefined)).status === 503, 5_000);
        const notReady = await api(hub, '/readyz', undefined);
        assert.match((notReady.body as { checks: Record<string, string> }).checks['broker'] ?? '', /not connected/);
        await broker.start();
        await until('readiness after the broker is back', async () => (await api(hub, '/readyz', undefined)).status === 200, 10_000);
      } finally {
        await client?.endAsync(true);
        await hub.stop();
        await broker.dispose();
      }
    },
  );

  test(
    'with an external Mosquitto, an agent is online as its retained status says, and offline through its last will',
    { skip: mosquittoBin ? false : 'mosquitto binary not installed (apt-get install mosquitto)', timeout: 30_000 },
    async () => {
      const broker = new DeployedMosquitto();
      await broker.setup();
      let hub: Hub | undefined;
      let client: MqttClient | undefined;
      try {
        hub = new Hub(
          hubConfig(join(dir, 'external-presence'), {
            PB_HUB_MQTT__MODE: 'external',
            PB_HUB_MQTT__EXTERNAL__URL: broker.hub.url,
            PB_HUB_MQTT__EXTERNAL__USERNAME: broker.hub.username,
            PB_HUB_MQTT__EXTERNAL__PASSWORD: JSON.stringify({ env: 'PB_TEST_BROKER_PASSWORD' }),
            PB_HUB_MQTT__EXTERNAL__SESSION_EXPIRY_SECONDS: '0',
            PB_TEST_BROKER_PASSWORD: broker.hub.password,
          }),
          { log, env: { PB_TEST_BROKER_PASSWORD: broker.hub.password } },
        );
        const running = hub;
        await running.start();
        const { secret } = await enroll(running, 'box-xp', 'gym-1');
        await broker.addAgent('box-xp', secret);
        const will = { topic: topics.of('box-xp', 'status'), payload: Buffer.from('{"state":"offline"}'), qos: 1 as const, retain: true };
        client = await mqtt.connectAsync(broker.agentUrl, agentOptions('box-xp', secret, { protocolVersion: 5, will }), false);
        client.on('error', () => undefined);
        await client.publishAsync(topics.of('box-xp', 'status'), Buffer.from('{"state":"online","version":"2.0.0"}'), { qos: 1, retain: true });
        await until('box-xp online through its status', async () => (await agentRecord(running, 'box-xp'))?.online === true, 5_000);
        // Abrupt loss of the agent: Mosquitto publishes its will. The destroyed client is not ended again.
        const lost = client;
        client = undefined;
        lost.stream.destroy();
        await until('box-xp offline through its will', async () => (await agentRecord(running, 'box-xp'))?.online === false, 10_000);
      } finally {
        await client?.endAsync(true);
        await hub?.stop();
        await broker.dispose();
      }
    },
  );

  test('a start that fails (port taken) reports it and releases everything it opened', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const taken = (blocker.address() as AddressInfo).port;
    const dataDir = join(dir, 'fail');
    try {
      const hub = new Hub(hubConfig(dataDir, { PB_HUB_HTTP__PORT: String(taken) }), { log });
      await assert.rejects(hub.start(), /EADDRINUSE/);
      // Everything was closed: a second hub on the same data dir starts and stops.
      const second = new Hub(hubConfig(dataDir), { log });
      await second.start();
      await second.stop();
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
  });

  test('a client secret that cannot be resolved fails start() with the reason', async () => {
    const config = hubConfig(join(dir, 'token'));
    config.identity.clients = clientsWithTestService();
    config.identity.clients.at(-1)!.clientSecret = { env: 'PB_TEST_SECRET_THAT_IS_NOT_SET' };
    const hub = new Hub(config, { log, env: {} });
    await assert.rejects(hub.start(), /PB_TEST_SECRET_THAT_IS_NOT_SET/);
  });
});

describe('pulsebridge-hub command line', { timeout: 60_000 }, () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'pb-hub-cli-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const io = capturingIo;

  test('agent add prints the secret once with a config snippet; list and remove work; the secret authenticates', async () => {
    const env = { PB_HUB_HUB__DATA_DIR: join(dir, 'agents'), PB_HUB_MQTT__PUBLIC_URL: 'mqtts://hub.example:8883' };
    const add = io(env);
    assert.equal(await main(['agent', 'add', 'box-1', '--gym', 'gym-1'], add), 0, add.err);
    const secret = /printf '%s\\n' '([A-Za-z0-9_-]{43})' > box-1\.secret\)$/m.exec(add.out)?.[1];
    assert.ok(secret, add.out);
    assert.equal(add.out.split(secret).length, 2, 'the secret is printed once');
    const snippet = parseYaml(add.out.slice(add.out.indexOf('\nagent:\n'))) as unknown;
    assert.deepEqual(snippet, {
      agent: { id: 'box-1' },
      hub: { url: 'mqtts://hub.example:8883', password: { file: 'box-1.secret' }, topicRoot: 'pb' },
      sources: { simulator: { enabled: false } },
    });

    const json = io(env);
    assert.equal(await main(['agent', 'add', 'box-2', '--gym', 'gym-1', '--json'], json), 0);
    assert.equal(JSON.parse(json.out).id, 'box-2');

    const dup = io(env);
    assert.equal(await main(['agent', 'add', 'box-1', '--gym', 'gym-2'], dup), 1);
    assert.match(dup.err, /already exists/);
    assert.equal(dup.out, '', 'no secret printed for a failed add');
    const bad = io(env);
    assert.equal(await main(['agent', 'add', 'no/slash', '--gym', 'gym-1'], bad), 2);

    const list = io(env);
    assert.equal(await main(['agent', 'list'], list), 0);
    assert.match(list.out, /^ID\s+GYM\s+LAST STATUS/);
    assert.match(list.out, /box-1\s+gym-1\s+-\s/);
    const listJson = io(env);
    await main(['agent', 'list', '--json'], listJson);
    assert.deepEqual(
      (JSON.parse(listJson.out) as { id: string }[]).map((a) => a.id),
      ['box-1', 'box-2'],
    );
    assert.ok(!listJson.out.includes(secret), 'list never shows secrets');
    assert.ok(!listJson.out.includes('"online"'), 'only a running hub knows whether an agent is online');

    const hub = new Hub(hubConfig(join(dir, 'agents')), { log });
    await hub.start();
    try {
      const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${hub.addresses.mqtt!.port}`, agentOptions('box-1', secret), false);
      await client.endAsync();
    } finally {
      await hub.stop();
    }

    const remove = io(env);
    assert.equal(await main(['agent', 'remove', 'box-2'], remove), 0);
    const again = io(env);
    assert.equal(await main(['agent', 'remove', 'box-2'], again), 1);
    assert.match(again.err, /no agent "box-2"/);
  });

  test('external mode prints a Mosquitto password line for the agent', async () => {
    const add = io({ PB_HUB_HUB__DATA_DIR: join(dir, 'external'), PB_HUB_MQTT__MODE: 'external' });
    assert.equal(await main(['agent', 'add', 'box-x', '--gym', 'gym-1'], add), 0);
    assert.match(add.out, /^box-x:\$7\$101\$[A-Za-z0-9+/=]{16}\$[A-Za-z0-9+/=]{88}$/m);
  });

  test('usage and configuration errors exit 2 and say what is wrong', async () => {
    for (const argv of [['--bogus'], ['agent'], ['agent', 'add', 'box-1'], ['agent', 'launch'], ['agent', 'list', 'extra'], ['serve', 'extra'], ['frobnicate']]) {
      const run = io({ PB_HUB_HUB__DATA_DIR: join(dir, 'usage') });
      assert.equal(await main(argv, run), 2, argv.join(' '));
      assert.match(run.err, /^pulsebridge-hub: .+\n\nUsage:/, argv.join(' '));
    }
    const path = join(dir, 'bad.yaml');
    writeFileSync(path, 'http:\n  port: -1\nmqtt:\n  mode: nope\n');
    const run = io({});
    assert.equal(await main(['--config', path], run), 2);
    for (const where of ['/http/port', '/mqtt/mode']) assert.ok(run.err.includes(where), run.err);
  });

  test('a configuration that would fail at start (TLS files missing, TLS without TCP) exits 2 listing every problem', async () => {
    const path = join(dir, 'tls.yaml');
    writeFileSync(path, 'mqtt:\n  tcp: false\n  tls:\n    certFile: /nonexistent/cert.pem\n    keyFile: /nonexistent/key.pem\n');
    const run = io({ PB_HUB_HUB__DATA_DIR: join(dir, 'tls') });
    assert.equal(await main(['--config', path], run), 2);
    for (const where of ['/mqtt/tls: TLS serves the TCP listener', '/mqtt/tls/certFile: /nonexistent/cert.pem', '/mqtt/tls/keyFile: /nonexistent/key.pem']) {
      assert.ok(run.err.includes(where), run.err);
    }
  });

  test('--print-config masks client secrets written inline', async () => {
    const path = join(dir, 'secret.yaml');
    writeFileSync(path, `identity:\n  clients:\n    - { clientId: ops, name: Ops, kind: service, clientSecret: very-secret-client-secret }\n`);
    const run = io({});
    assert.equal(await main(['--config', path, '--print-config'], run), 0, run.err);
    assert.ok(!run.out.includes('very-secret-client-secret'));
    assert.equal((parseYaml(run.out) as HubConfig).identity.clients[0]!.clientSecret, '[redacted]');
  });

  test('serve runs until SIGTERM and then exits 0 after a clean stop', async () => {
    const root = fileURLToPath(new URL('../../', import.meta.url));
    // Chosen up front so the test knows where to look without reading the hub's log.
    const httpPort = await freePort();
    const child = spawn(process.execPath, ['--import', 'tsx', 'hub/src/main.ts', 'serve'], {
      cwd: root,
      env: {
        ...process.env,
        PB_HUB_HUB__DATA_DIR: join(dir, 'serve'),
        PB_HUB_HTTP__HOST: '127.0.0.1',
        PB_HUB_HTTP__PORT: String(httpPort),
        PB_HUB_MQTT__HOST: '127.0.0.1',
        PB_HUB_MQTT__PORT: '0',
        PB_HUB_LOG__PRETTY: 'false',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const url = `http://127.0.0.1:${httpPort}`;
      await until(
        'the hub to answer /readyz',
        async () => {
          if (child.exitCode !== null) throw new Error(`the hub exited early:\n${output}`);
          return (await fetch(`${url}/readyz`).catch(() => undefined))?.ok === true;
        },
        20_000,
        100,
      );
      const health = await fetch(`${url}/healthz`);
      assert.equal(health.status, 200);
      child.kill('SIGTERM');
      assert.ok(await settlesWithin(exited, 15_000), `the hub did not exit within 15 s of SIGTERM:\n${output}`);
      // The service runner exits 0 only once the hub's stop finished within its timeout.
      assert.equal(await exited, 0, output);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
