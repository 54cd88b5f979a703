/**
 * The dynamic security client against a real Mosquitto 2.0 with mosquitto_dynamic_security.so: an account
 * created for an agent connects, disabling it closes its connection at once and refuses it, a new password
 * refuses the old one, and deleting it closes the connection. Skipped without mosquitto or the plugin.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { settlesWithin, until, withTimeout } from '@pulsebridge/runtime';
import { Topics } from '@pulsebridge/protocol';
import { DynsecAccounts } from '../../src/broker/broker-accounts.ts';
import { DynamicSecurity, DynamicSecurityError } from '../../src/broker/dynamic-security.ts';
import { dynsecMissing, dynsecPlugin, freePort, mosquittoBin, mosquittoCtrl, portOpen } from './mosquitto-harness.ts';
import { missingService } from '../../../test/services.ts';

const PLUGIN = dynsecPlugin;
const CTRL = mosquittoCtrl;
/** CONNACK 5 (MQTT 3.1.1): not authorized: what Mosquitto answers a wrong password or a disabled client. */
const NOT_AUTHORIZED = 5;

describe('dynamic security client with a real Mosquitto', { skip: missingService(dynsecMissing), timeout: 30_000 }, () => {
  let dir: string;
  let broker: ChildProcess;
  let url: string;
  let admin: MqttClient;
  let dynsec: DynamicSecurity;
  const clients: MqttClient[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pb-dynsec-'));
    const port = await freePort();
    execFileSync(CTRL!, ['dynsec', 'init', join(dir, 'dynsec.json'), 'pulsebridge-admin', 'admin-password-0123'], { stdio: 'pipe' });
    const conf = [
      ...(process.getuid?.() === 0 ? ['user root'] : []),
      `listener ${port} 127.0.0.1`,
      'allow_anonymous false',
      `plugin ${PLUGIN}`,
      `plugin_opt_config_file ${join(dir, 'dynsec.json')}`,
      'log_dest stdout',
    ];
    writeFileSync(join(dir, 'mosquitto.conf'), `${conf.join('\n')}\n`);
    broker = spawn(mosquittoBin!, ['-c', join(dir, 'mosquitto.conf')], { stdio: 'ignore' });
    await until('mosquitto to listen', () => portOpen(port), 10_000, 50);
    url = `mqtt://127.0.0.1:${port}`;
    admin = await mqtt.connectAsync(url, { username: 'pulsebridge-admin', password: 'admin-password-0123', protocolVersion: 5, reconnectPeriod: 0 });
    dynsec = new DynamicSecurity({ client: admin });
  });

  after(async () => {
    await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
    await admin?.endAsync(true);
    if (broker && broker.exitCode === null) {
      const exited = new Promise((resolve) => broker.once('exit', resolve));
      broker.kill('SIGTERM');
      if (!(await settlesWithin(exited, 5_000))) broker.kill('SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  });

  async function connect(agent: string, password: string): Promise<MqttClient> {
    const client = await mqtt.connectAsync(url, { clientId: `pb-agent-${agent}`, username: agent, password, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 3_000 }, false);
    clients.push(client);
    return client;
  }

  async function refusal(agent: string, password: string): Promise<number | undefined> {
    try {
      const client = await connect(agent, password);
      await client.endAsync(true);
      return undefined;
    } catch (err) {
      return (err as { code?: number }).code;
    }
  }

  function closed(client: MqttClient): Promise<void> {
    return withTimeout(new Promise<void>((resolve) => client.once('close', () => resolve())), 3_000, 'the broker to close the connection');
  }

  test('an account created for an agent connects; disabling closes its connection and refuses it until enabled', async () => {
    await dynsec.createClient('box-1', 'secret-one');
    const client = await connect('box-1', 'secret-one');
    const gone = closed(client);
    await dynsec.disableClient('box-1');
    await gone;
    assert.equal(await refusal('box-1', 'secret-one'), NOT_AUTHORIZED);
    await dynsec.enableClient('box-1');
    assert.equal(await refusal('box-1', 'secret-one'), undefined);
  });

  test('a new password refuses the old one', async () => {
    await dynsec.createClient('box-2', 'secret-old');
    await dynsec.setClientPassword('box-2', 'secret-new');
    assert.equal(await refusal('box-2', 'secret-old'), NOT_AUTHORIZED);
    assert.equal(await refusal('box-2', 'secret-new'), undefined);
  });

  test('deleting the account closes the connection and refuses reconnects', async () => {
    await dynsec.createClient('box-3', 'secret-three');
    const client = await connect('box-3', 'secret-three');
    const gone = closed(client);
    await dynsec.deleteClient('box-3');
    await gone;
    assert.equal(await refusal('box-3', 'secret-three'), NOT_AUTHORIZED);
  });

  test('a command without a connection fails at once instead of waiting for a reconnect', async () => {
    const offline = await mqtt.connectAsync(url, { username: 'pulsebridge-admin', password: 'admin-password-0123', protocolVersion: 5, reconnectPeriod: 0 });
    await offline.endAsync(true);
    const started = Date.now();
    await assert.rejects(
      new DynamicSecurity({ client: offline, timeoutMs: 5_000 }).disableClient('box-1'),
      (err: unknown) => err instanceof DynamicSecurityError && err.code === 'dynsec_unavailable' && /disableClient/.test(err.message),
    );
    assert.ok(Date.now() - started < 1_000, 'not after the command timeout');
  });

  test("the broker's refusal of a command is an error naming it", async () => {
    await assert.rejects(
      dynsec.deleteClient('nobody'),
      (err: unknown) => err instanceof DynamicSecurityError && err.code === 'dynsec_refused' && /deleteClient for nobody/.test(err.message),
    );
    await dynsec.createClient('box-4', 'x');
    await assert.rejects(dynsec.createClient('box-4', 'y'), DynamicSecurityError);
  });

  test('agent accounts: each agent publishes on its own topics only; a new secret replaces the old; disable, enable and remove', async () => {
    const topics = new Topics('pb');
    const accounts = new DynsecAccounts(dynsec, topics);
    // Plays the hub: reads every agent topic.
    await dynsec.createRole('watch-all', [{ acltype: 'subscribePattern', topic: 'pb/#', allow: true }]);
    await dynsec.createClient('watcher', 'watcher-password', ['watch-all']);
    const watcher = await connect('watcher', 'watcher-password');
    const seen: string[] = [];
    watcher.on('message', (topic) => seen.push(topic));
    await watcher.subscribeAsync('pb/#', { qos: 1 });

    await accounts.setSecret('box-a', 'first');
    await accounts.setSecret('box-b', 'other');
    const a = await connect('box-a', 'first');
    await a.publishAsync(topics.of('box-b', 'readings'), 'posing', { qos: 1 });
    await a.publishAsync(topics.of('box-a', 'events'), 'own', { qos: 1 });
    await until('its own message at the watcher', () => seen.includes(topics.of('box-a', 'events')), 3_000);
    assert.deepEqual(seen, [topics.of('box-a', 'events')], "the publish on box-b's topic was dropped");
    await a.subscribeAsync(topics.of('box-a', 'ack'), { qos: 1 });
    await assert.rejects(a.subscribeAsync(topics.of('box-b', 'ack'), { qos: 1 }), /Subscribe error/, "another agent's ack topic");

    const gone = closed(a);
    await accounts.disable('box-a');
    await gone;
    assert.equal(await refusal('box-a', 'first'), NOT_AUTHORIZED);
    await accounts.enable('box-a');
    await accounts.setSecret('box-a', 'second');
    assert.equal(await refusal('box-a', 'first'), NOT_AUTHORIZED);
    const again = await connect('box-a', 'second');
    const removed = closed(again);
    await accounts.remove('box-a');
    await removed;
    assert.equal(await refusal('box-a', 'second'), NOT_AUTHORIZED);
    // Nothing to do for accounts the broker does not have.
    await accounts.remove('box-a');
    await accounts.enable('never-enrolled');
    await accounts.disable('never-enrolled');
  });
});
