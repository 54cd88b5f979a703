/**
 * The agent and the hub's pairing messages over a real MQTT broker: a list applies without a restart and is
 * saved, an older one is ignored, an offline start admits the saved list, and a discovery window sends
 * `nearby` reports.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import mqtt from 'mqtt';
import pino from 'pino';
import { decodeJsonMessage, type NearbyMessage } from '@pulsebridge/protocol';
import { until } from '@pulsebridge/runtime';
import { Agent } from '../src/agent.ts';
import { loadAgentConfig, type AgentConfig } from '../src/config.ts';
import { PAIRING_FILE_NAME, loadPairingFile } from '../src/sources/pairing-file.ts';
import { SimulatorSource } from '../src/sources/simulator/simulator.ts';
import { hubRig, silentLog } from './uplink/fixtures.ts';

const SIMULATOR = { athletes: 2, seed: 4, admission: true, equipment: { bike: 0, treadmill: 0, rower: 0, outdoor: 0 } };

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'pb-agent-pairing-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function agentConfig(dataDir: string, hubUrl: string): AgentConfig {
  return loadAgentConfig({
    env: {},
    overrides: {
      agent: { id: 'gym-1', dataDir },
      hub: { url: hubUrl, password: 'secret', protocolVersion: 4 },
      uplink: { liveBatchDelayMs: 100, statusIntervalMs: 300, reconnectMinMs: 100, reconnectMaxMs: 500 },
      health: { port: 0 },
      sources: { simulator: SIMULATOR },
      log: { level: 'silent' },
    },
  });
}

function simulatorOf(agent: Agent): SimulatorSource {
  return agent.sources.find((s) => s instanceof SimulatorSource) as SimulatorSource;
}

function captureLog(): { log: pino.Logger; messages: () => string[] } {
  const written: string[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => void written.push(line) });
  return { log, messages: () => written.map((l) => (JSON.parse(l) as { msg: string }).msg) };
}

test('a list from the hub applies without a restart and is saved; an older one is ignored; an offline start admits the saved list', { timeout: 60_000 }, async (t) => {
  const { broker, hub } = await hubRig(t);
  const dataDir = tempDir(t);
  const agent = new Agent(agentConfig(dataDir, broker.url), { log: silentLog });
  t.after(() => agent.stop());
  await agent.start();
  const [strap1, strap2] = simulatorOf(agent)
    .sensors()
    .map((s) => s.id) as [string, string];
  await until('the agent to connect', () => agent.uplink.state === 'connected', 10_000);
  const heardSensors = (): Set<string> => new Set(hub.batches.flatMap((b) => b.series.map((s) => s.sensor)));

  await hub.send('gym-1', 'pairing', JSON.stringify({ version: 10, allow: [strap1], updatedAt: Date.now() }));
  await until("strap 1's readings to reach the hub", () => heardSensors().has(strap1), 10_000);
  assert.deepEqual(loadPairingFile(join(dataDir, PAIRING_FILE_NAME), silentLog), { version: 10, allow: [strap1], updatedAt: agent.pairing.list!.updatedAt });

  await hub.send('gym-1', 'pairing', JSON.stringify({ version: 9, allow: [strap2], updatedAt: Date.now() }));
  await hub.send('gym-1', 'pairing', JSON.stringify({ version: 11, allow: [strap1], updatedAt: Date.now() }));
  await until('the newer list to apply', () => agent.pairing.version === 11, 10_000);
  assert.equal(agent.pairing.has(strap2), false, 'the older list was ignored');
  assert.equal(heardSensors().has(strap2), false);
  await agent.stop();

  // No hub at all: the saved list is what the agent admits.
  const offline = new Agent(agentConfig(dataDir, 'mqtt://127.0.0.1:1'), { log: silentLog });
  t.after(() => offline.stop());
  await offline.start();
  assert.equal(offline.pairing.version, 11);
  await until('the offline agent to read strap 1', () => simulatorOf(offline).health().readings > 0, 10_000);
  assert.equal(simulatorOf(offline).health().sensors, 1, 'only the saved list is admitted');
});

test('a corrupt saved list is ignored with a log line and the agent starts admitting nothing but its configuration', { timeout: 30_000 }, async (t) => {
  const dataDir = tempDir(t);
  writeFileSync(join(dataDir, PAIRING_FILE_NAME), '{"version": 3, "allow": [');
  const { log, messages } = captureLog();
  const agent = new Agent(agentConfig(dataDir, 'mqtt://127.0.0.1:1'), { log });
  t.after(() => agent.stop());
  assert.equal(agent.pairing.version, undefined);
  assert.ok(messages().includes('saved pairing list is corrupt; ignoring it'), messages().join('\n'));
});

test('a discovery window from the hub sends nearby reports of unpaired straps with their signal strength', { timeout: 60_000 }, async (t) => {
  const { broker, hub } = await hubRig(t);
  const listener = await mqtt.connectAsync(broker.url, { username: 'hub-listener', password: 'secret', protocolVersion: 4 });
  t.after(() => listener.endAsync(true));
  const reports: NearbyMessage[] = [];
  listener.on('message', (_topic, payload) => reports.push(decodeJsonMessage('nearby', payload)));
  await listener.subscribeAsync(hub.topics.of('gym-1', 'nearby'), { qos: 1 });
  const agent = new Agent(agentConfig(tempDir(t), broker.url), { log: silentLog });
  t.after(() => agent.stop());
  await agent.start();
  const straps = simulatorOf(agent)
    .sensors()
    .map((s) => s.id)
    .sort();
  await until('the agent to connect', () => agent.uplink.state === 'connected', 10_000);
  await hub.send('gym-1', 'cmd', JSON.stringify({ type: 'window', until: Date.now() + 30_000, permitJoin: false, discover: true }));
  await until('a nearby report naming both straps', () => reports.some((r) => r.sensors.length === 2), 10_000);
  const report = reports.find((r) => r.sensors.length === 2)!;
  assert.deepEqual(report.sensors.map((s) => s.id).sort(), straps);
  for (const sensor of report.sensors) assert.equal(typeof sensor.rssi, 'number');
  assert.equal(simulatorOf(agent).health().readings, 0, 'discovery admits nothing');
});
