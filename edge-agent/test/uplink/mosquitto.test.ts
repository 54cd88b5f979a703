/**
 * The uplink against Mosquitto, an external broker that speaks MQTT 5 (aedes speaks 3.1.1 only), so the
 * MQTT 5 path runs for real: connect, subscriptions, last will, no fallback.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Value } from '@sinclair/typebox/value';
import { Uplink, UplinkConfig } from '../../src/uplink/uplink.ts';
import { until } from '@pulsebridge/runtime';
import { FakeClock, FakeHub, MemoryOutbox, silentLog } from './fixtures.ts';
import { missingService } from '../../../test/services.ts';

const MOSQUITTO = ['/usr/sbin/mosquitto', '/usr/bin/mosquitto'].find((p) => spawnSync(p, ['-h']).error === undefined);

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.end();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

test(
  'through Mosquitto the uplink stays on MQTT 5, delivers every reading, gets time commands and leaves offline on stop',
  { skip: missingService(MOSQUITTO ? false : 'mosquitto is not installed (apt-get install mosquitto)'), timeout: 30_000 },
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'pb-mosquitto-'));
    const port = await freePort();
    writeFileSync(join(dir, 'mosquitto.conf'), `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\n`);
    const broker = spawn(MOSQUITTO!, ['-c', join(dir, 'mosquitto.conf')], { stdio: 'ignore' });
    t.after(() => {
      broker.kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    });
    await until('mosquitto to accept connections', () => accepts(port), 5_000, 50);

    const url = `mqtt://127.0.0.1:${port}`;
    const hub = new FakeHub(url);
    await hub.start();
    t.after(() => hub.stop());
    const clock = new FakeClock();
    const outbox = new MemoryOutbox(clock);
    for (let i = 0; i < 10; i++) outbox.addChunk(200, 60_000);
    const uplink = new Uplink({
      ...(Value.Default(UplinkConfig, {}) as UplinkConfig),
      maxBatchReadings: 500,
      agent: 'gym-5',
      connection: { url, password: 'unused', topicRoot: 'pb', protocolVersion: 5 },
      version: 'test',
      outbox,
      clock,
      log: silentLog,
    });
    t.after(() => uplink.stop());
    uplink.start();
    await until('the outbox to drain', () => outbox.chunks.length === 0, 10_000);
    assert.equal(uplink.health().protocolVersion, 5, 'no fallback with a broker that speaks MQTT 5');
    assert.equal(hub.sequences().length, 2_000);
    await hub.send('gym-5', 'cmd', JSON.stringify({ type: 'time', hubTime: 1_800_000_000_000, echo: 5 }));
    await until('the time command', () => clock.syncs.length === 1, 5_000);
    await uplink.stop();
    await until('the offline status', () => hub.statuses.some((s) => s.message.state === 'offline'), 5_000);
  },
);
