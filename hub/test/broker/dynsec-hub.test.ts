/**
 * A real hub in external mode with `agentAccounts: dynamic-security` against a real Mosquitto started from
 * deploy/mosquitto/mosquitto-dynsec.conf: an agent created and enrolled through the API connects to Mosquitto with
 * the secret it got and its batch is stored; disabling or rotating it through the API closes its connection at once
 * and refuses it afterwards; it cannot publish on another agent's topic; and /enroll answers 503 while the hub's
 * admin connection to the plugin is down; a refused admin password stops the hub at start. Skipped without mosquitto, the plugin or mosquitto_ctrl.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { Topics, encodeBatch, type AckMessage, type ReadingBatch } from '@pulsebridge/protocol';
import { until, withTimeout } from '@pulsebridge/runtime';
import { Hub } from '../../src/hub.ts';
import { TransportError } from '../../src/broker/transport-error.ts';
import { loadHubConfig } from '../../src/config.ts';
import { missingService } from '../../../test/services.ts';
import { clientsWithTestService, serviceToken } from '../service-token.ts';
import { DeployedMosquitto, dynsecMissing } from './mosquitto-harness.ts';

const topics = new Topics('pb');
/** CONNACK 5 (MQTT 3.1.1): not authorized: Mosquitto's answer to a wrong, disabled or deleted account. */
const NOT_AUTHORIZED = 5;

function batch(agent: string, first: number): ReadingBatch {
  const ts0 = Date.now() - 30_000;
  return {
    agent,
    stream: 's1',
    first,
    last: first + 1,
    floor: 0,
    clockUnsynced: false,
    series: [{ sensor: 'ble:hr-1', metric: 'heart_rate', ts: [ts0, ts0 + 1_000], values: [120, 121] }],
  };
}

describe('hub with Mosquitto dynamic security', { skip: missingService(dynsecMissing), timeout: 90_000 }, () => {
  let dir: string;
  let broker: DeployedMosquitto;
  let hub: Hub;
  let baseUrl: string;
  let token: string;
  const clients: MqttClient[] = [];

  function hubConfig(dataDir: string, adminPassword: string) {
    const env = { PB_TEST_HUB_PASSWORD: broker.hub.password, PB_TEST_ADMIN_PASSWORD: adminPassword };
    const config = loadHubConfig({
      overrides: { identity: { clients: clientsWithTestService() } },
      env: {
        PB_HUB_HUB__DATA_DIR: dataDir,
        PB_HUB_HTTP__HOST: '127.0.0.1',
        PB_HUB_HTTP__PORT: '0',
        PB_HUB_INGEST__MAX_WRITE_DELAY_MS: '0',
        PB_HUB_MQTT__MODE: 'external',
        // Also where the hub reaches the plugin: dynamicSecurity.url defaults to it.
        PB_HUB_MQTT__PUBLIC_URL: broker.agentUrl,
        PB_HUB_MQTT__EXTERNAL__URL: broker.hub.url,
        PB_HUB_MQTT__EXTERNAL__USERNAME: broker.hub.username,
        PB_HUB_MQTT__EXTERNAL__PASSWORD: JSON.stringify({ env: 'PB_TEST_HUB_PASSWORD' }),
        PB_HUB_MQTT__EXTERNAL__RECONNECT_MIN_MS: '50',
        PB_HUB_MQTT__EXTERNAL__RECONNECT_MAX_MS: '300',
        PB_HUB_MQTT__EXTERNAL__SESSION_EXPIRY_SECONDS: '0',
        PB_HUB_MQTT__EXTERNAL__AGENT_ACCOUNTS: 'dynamic-security',
        PB_HUB_MQTT__EXTERNAL__DYNAMIC_SECURITY__USERNAME: broker.dynsecAdmin.username,
        PB_HUB_MQTT__EXTERNAL__DYNAMIC_SECURITY__PASSWORD: JSON.stringify({ env: 'PB_TEST_ADMIN_PASSWORD' }),
        ...env,
      },
    });
    return { config, env };
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pb-dynsec-hub-'));
    broker = new DeployedMosquitto('dynamic-security');
    await broker.setup();
    const { config, env } = hubConfig(dir, broker.dynsecAdmin.password);
    hub = new Hub(config, { log: pino({ level: 'silent' }), env });
    await hub.start();
    baseUrl = `http://127.0.0.1:${hub.addresses.http!.port}`;
    token = await serviceToken(baseUrl);
  });

  after(async () => {
    await Promise.all(clients.map((client) => client.endAsync(true).catch(() => undefined)));
    await hub?.stop();
    await broker?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  async function call(method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
    const res = await fetch(`${baseUrl}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  async function enroll(code: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
    const res = await fetch(`${baseUrl}/api/v1/enroll`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code }) });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  /** Creates the agent through the API and enrolls it; its secret. */
  async function enrolledAgent(id: string): Promise<string> {
    const created = await call('POST', '/agents', { id, gym: 'gym-dynsec' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const enrolled = await enroll(created.body['code']);
    assert.equal(enrolled.status, 200, JSON.stringify(enrolled.body));
    assert.equal(enrolled.body['mqttUrl'], broker.agentUrl);
    return String(enrolled.body['secret']);
  }

  async function connect(id: string, secret: string, extra: IClientOptions = {}): Promise<MqttClient> {
    const options: IClientOptions = { clientId: `pb-agent-${id}`, username: id, password: secret, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 3_000 };
    const client = await mqtt.connectAsync(broker.agentUrl, { ...options, ...extra }, false);
    client.on('error', () => undefined);
    clients.push(client);
    return client;
  }

  /** The CONNACK refusal code, or undefined when the broker accepts the login. */
  async function refusal(id: string, secret: string): Promise<number | undefined> {
    try {
      const client = await connect(id, secret);
      await client.endAsync(true);
      return undefined;
    } catch (err) {
      return (err as { code?: number }).code;
    }
  }

  function closed(client: MqttClient): Promise<void> {
    return withTimeout(new Promise<void>((resolve) => client.once('close', () => resolve())), 3_000, 'the broker to close the agent connection');
  }

  /** Publishes a batch as `client` on `agent`'s topic and resolves with the hub's ack. */
  async function publishBatch(client: MqttClient, agent: string, first: number): Promise<AckMessage> {
    const ack = new Promise<AckMessage>((resolve) => client.once('message', (_topic, payload) => resolve(JSON.parse(payload.toString()) as AckMessage)));
    await client.publishAsync(topics.of(agent, 'readings'), encodeBatch(batch(agent, first)), { qos: 1 });
    return withTimeout(ack, 5_000, "the hub's ack");
  }

  async function metrics(): Promise<string> {
    return (await fetch(`${baseUrl}/metrics`)).text();
  }

  test('an agent enrolled through the API connects to Mosquitto with its secret and its batch is stored', async () => {
    const secret = await enrolledAgent('box-stored');
    const client = await connect('box-stored', secret);
    await client.subscribeAsync(topics.of('box-stored', 'ack'), { qos: 1 });
    assert.equal((await publishBatch(client, 'box-stored', 0)).result, 'stored');
    await client.endAsync(true);
  });

  test('disabling an agent through the API closes its Mosquitto connection at once and refuses it until enabled', async () => {
    const secret = await enrolledAgent('box-disabled');
    const client = await connect('box-disabled', secret);
    const gone = closed(client);
    const disabled = await call('POST', '/agents/box-disabled/disable');
    assert.equal(disabled.status, 200, JSON.stringify(disabled.body));
    await gone;
    assert.equal(await refusal('box-disabled', secret), NOT_AUTHORIZED);
    assert.equal((await call('POST', '/agents/box-disabled/enable')).status, 200);
    assert.equal(await refusal('box-disabled', secret), undefined);
  });

  test('rotating an agent through the API closes its connection and refuses the old secret; the new enrollment works', async () => {
    const secret = await enrolledAgent('box-rotated');
    const client = await connect('box-rotated', secret);
    const gone = closed(client);
    const rotated = await call('POST', '/agents/box-rotated/rotate');
    assert.equal(rotated.status, 200, JSON.stringify(rotated.body));
    await gone;
    assert.equal(await refusal('box-rotated', secret), NOT_AUTHORIZED);
    const again = await enroll(rotated.body['code']);
    assert.equal(again.status, 200, JSON.stringify(again.body));
    const newSecret = String(again.body['secret']);
    assert.notEqual(newSecret, secret);
    assert.equal(await refusal('box-rotated', secret), NOT_AUTHORIZED);
    assert.equal(await refusal('box-rotated', newSecret), undefined);
  });

  test("an agent cannot publish on another agent's topic nor read its acks", async () => {
    const secret = await enrolledAgent('box-honest');
    const victimSecret = await enrolledAgent('box-victim');
    const victim = await connect('box-victim', victimSecret);
    await victim.subscribeAsync(topics.of('box-victim', 'ack'), { qos: 1 });
    const victimAcks: string[] = [];
    victim.on('message', (_topic, payload) => victimAcks.push(payload.toString()));

    const intruder = await connect('box-honest', secret, { protocolVersion: 5 });
    // Mosquitto refuses the publish (MQTT 5 PUBACK "not authorized"), so the hub never sees it.
    await assert.rejects(intruder.publishAsync(topics.of('box-victim', 'readings'), encodeBatch(batch('box-victim', 0)), { qos: 1 }), /not authori[sz]ed/i);
    const granted = await intruder.subscribeAsync(topics.of('box-victim', 'ack'), { qos: 1 }).catch(() => [{ qos: 128 }]);
    assert.ok(
      granted.every((grant) => grant.qos >= 128),
      "the subscription to another agent's acks is refused",
    );
    // Its own topic still works, and the victim got no ack for a batch it never sent.
    await intruder.subscribeAsync(topics.of('box-honest', 'ack'), { qos: 1 });
    assert.equal((await publishBatch(intruder, 'box-honest', 0)).result, 'stored');
    assert.deepEqual(victimAcks, []);
  });

  test("/enroll answers 503 while the hub's connection to the plugin is down, and works again once it is back", async () => {
    const created = await call('POST', '/agents', { id: 'box-later', gym: 'gym-dynsec' });
    assert.equal(created.status, 201);
    assert.match(await metrics(), /^pb_hub_dynsec_connected 1$/m);
    await broker.kill();
    await until('the hub to notice the plugin is gone', async () => /^pb_hub_dynsec_connected 0$/m.test(await metrics()), 5_000);
    const refused = await enroll(created.body['code']);
    assert.equal(refused.status, 503, JSON.stringify(refused.body));
    await broker.start();
    let secret: string | undefined;
    await until(
      'the hub to reach the plugin again',
      async () => {
        const fresh = await call('POST', '/agents/box-later/enrollment');
        const answer = await enroll(fresh.body['code']);
        if (answer.status === 200) secret = String(answer.body['secret']);
        return secret !== undefined;
      },
      10_000,
      100,
    );
    assert.equal(await refusal('box-later', secret!), undefined);
  });

  test('a hub whose dynamic security admin password the broker refuses does not start, and says why', async () => {
    const { config, env } = hubConfig(join(dir, 'wrong-admin'), 'not-the-admin-password');
    const wrong = new Hub(config, { log: pino({ level: 'silent' }), env });
    await assert.rejects(wrong.start(), (err: unknown) => err instanceof TransportError && err.code === 'auth_failed' && /refused the dynamic security admin/.test(err.message));
    await wrong.stop();
  });
});
