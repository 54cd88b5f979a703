import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import { Writable } from 'node:stream';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Agent } from '../src/agent.ts';
import { loadAgentConfig, type AgentConfig } from '../src/config.ts';
import { createLogger, until, withTimeout } from '@pulsebridge/runtime';
import type { Source, SourceHealth } from '../src/sources/source.ts';
import { hubRig, silentLog, type FakeHub } from './uplink/fixtures.ts';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'pb-agent-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function agentConfig(dataDir: string, hubUrl: string, overrides: Record<string, unknown> = {}): AgentConfig {
  return loadAgentConfig({
    env: {},
    overrides: {
      agent: { id: 'gym-1', dataDir },
      hub: { url: hubUrl, password: 'secret', protocolVersion: 4 },
      uplink: { liveBatchDelayMs: 250, statusIntervalMs: 300, reconnectMinMs: 100, reconnectMaxMs: 500, ackTimeoutMs: 2_000 },
      health: { port: 0 },
      sources: { simulator: { athletes: 6 } },
      log: { level: 'silent' },
      ...overrides,
    },
  });
}

/** Every sequence number the hub received, and whether together they cover a range without gaps. */
function coverage(hub: FakeHub): { count: number; min: number; max: number; gaps: number } {
  const seen = new Set(hub.sequences());
  const min = Math.min(...seen);
  const max = Math.max(...seen);
  return { count: seen.size, min, max, gaps: max - min + 1 - seen.size };
}

test(
  'with the simulator and a broker: readings flow, are acknowledged, survive a restart with the lifetime total of accepted readings, and stop is clean',
  { timeout: 60_000 },
  async (t) => {
    const { broker, hub } = await hubRig(t);
    const dataDir = tempDir(t);
    const config = agentConfig(dataDir, broker.url);
    const agent = new Agent(config, { log: silentLog });
    t.after(() => agent.stop());
    await agent.start();

    await until('acknowledged readings', () => agent.outbox.stats().acknowledged > 500, 10_000);
    const health = agent.health();
    assert.equal(health.status, 'ok', health.reasons.join('; '));
    assert.equal(health.sources.simulator!.state, 'running');
    assert.ok(health.sources.simulator!.sensors >= 12);
    assert.equal(health.uplink.state, 'connected');
    assert.ok(existsSync(join(dataDir, 'outbox.db')), 'outbox under the data directory');

    // The health endpoint over HTTP.
    const { port } = agent.healthServer.address()!;
    const body = (await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()) as { status: string; agent: string; readingsPerSecond: number; outbox: { depth: number } };
    assert.equal(body.agent, 'gym-1');
    assert.equal(typeof body.outbox.depth, 'number');
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    assert.match(metrics, /^pb_agent_uplink_connected 1$/m);
    assert.match(metrics, /^pb_agent_source_state\{source="simulator",state="running"\} 1$/m);
    assert.match(metrics, /^pb_agent_outbox_readings \d+$/m);
    assert.match(metrics, /^pb_agent_uplink_batches_total\{outcome="acked"\} [1-9]/m);

    // What the hub saw: status with sources, the inventory, readings batches from this agent's stream.
    await until('inventory', () => hub.inventories.length > 0, 5_000);
    const sensors = (hub.inventories.at(-1)!.message as { sensors: { source: string }[] }).sensors;
    assert.ok(sensors.length >= 12 && sensors.every((s) => s.source === 'simulator'));
    const online = hub.statuses.find((s) => s.message.state === 'online')!.message as { sources: Record<string, { state: string }>; version: string };
    assert.deepEqual(online.sources, { simulator: { state: 'running' } });
    assert.match(online.version, /^\d+\.\d+\.\d+/);
    // The periodic status carries each simulated sensor's signal (the first may precede the sources' start).
    await until('a status with signal', () => hub.statuses.some((s) => (s.message as { signal?: unknown[] }).signal?.length === sensors.length), 5_000);
    const signal = (hub.statuses.findLast((s) => (s.message as { signal?: unknown[] }).signal !== undefined)!.message as { signal: { id: string; rssi: number }[] }).signal;
    assert.deepEqual(signal.map((s) => s.id).sort(), sensors.map((s) => (s as unknown as { id: string }).id).sort());
    assert.ok(signal.every((s) => s.rssi >= -127 && s.rssi <= 20));
    assert.ok(hub.events.some((e) => e.message.type === 'agent_started'));
    assert.equal(hub.decodeErrors.length, 0);
    assert.ok(hub.batches.every((b) => b.agent === 'gym-1' && b.stream === agent.outbox.stream));

    // The hub answers a status with its time: the clock learns it.
    const mono = agent.clock.mono();
    await hub.send('gym-1', 'cmd', JSON.stringify({ type: 'time', hubTime: Date.now(), echo: mono }));
    await until('the clock to sync', () => agent.clock.synced, 5_000);

    const bytes = hub.payloadBytes.reduce((a, b) => a + b, 0);
    const readings = hub.sequences().length;
    t.diagnostic(`simulator, 6 athletes, liveBatchDelayMs 250: ${hub.batches.length} batches, ${(bytes / readings).toFixed(2)} bytes per reading on the wire`);

    const stream = agent.outbox.stream;
    const started = Date.now();
    await agent.stop();
    const firstRun = agent.outbox.stats().appended;
    assert.ok(Date.now() - started < 5_000, `stop took ${Date.now() - started} ms`);
    assert.equal(agent.uplink.state, 'stopped');
    assert.equal(JSON.parse((await broker.retained(hub.topics.of('gym-1', 'status'))).toString()).state, 'offline');

    // A restart on the same data directory delivers what was left, in the same stream, with no gap.
    hub.policy = () => 'stored';
    const again = new Agent(agentConfig(dataDir, broker.url), { log: silentLog });
    t.after(() => again.stop());
    await again.start();
    assert.equal(again.outbox.stream, stream);
    await until('more readings after the restart', () => again.outbox.stats().acknowledged > 200, 10_000);
    // The lifetime total of accepted readings goes on from the first run's, in /healthz and /metrics alike.
    const againPort = again.healthServer.address()!.port;
    const againBody = (await (await fetch(`http://127.0.0.1:${againPort}/healthz`)).json()) as { outbox: { appended: number; acceptedTotal: number } };
    assert.ok(againBody.outbox.appended > 0);
    assert.equal(againBody.outbox.acceptedTotal, firstRun + againBody.outbox.appended);
    const lifetime = /^pb_agent_outbox_accepted_lifetime_total (\d+)$/m.exec(await (await fetch(`http://127.0.0.1:${againPort}/metrics`)).text());
    assert.ok(lifetime && Number(lifetime[1]) >= firstRun + againBody.outbox.appended);
    await again.stop();
    const seen = coverage(hub);
    assert.equal(seen.gaps, 0, `gaps in ${seen.min}..${seen.max}`);
  },
);

class BrokenRadio implements Source {
  readonly name = 'ble';
  async start(): Promise<void> {
    throw new Error('no Bluetooth adapter');
  }
  async stop(): Promise<void> {}
  health(): SourceHealth {
    return { state: 'starting', sensors: 0, readings: 0, rejected: 0 };
  }
}

test('a source that fails to start is reported unavailable and the agent keeps running', { timeout: 30_000 }, async (t) => {
  const { broker, hub } = await hubRig(t);
  const agent = new Agent(agentConfig(tempDir(t), broker.url), { log: silentLog, sources: [new BrokenRadio()] });
  t.after(() => agent.stop());
  await agent.start();
  await until('acknowledged readings', () => agent.outbox.stats().acknowledged > 100, 10_000);
  const health = agent.health();
  assert.equal(health.status, 'degraded');
  assert.deepEqual(health.sources.ble, { state: 'unavailable', detail: 'no Bluetooth adapter', sensors: 0, readings: 0, rejected: 0 });
  assert.equal(health.sources.simulator!.state, 'running');
  assert.deepEqual(health.reasons, ['source ble is unavailable: no Bluetooth adapter']);
  await until('the status to show it', () => hub.statuses.some((s) => (s.message.sources as Record<string, { state: string }> | undefined)?.ble?.state === 'unavailable'), 5_000);
  await until('the event', () => hub.events.some((e) => e.message.type === 'source_failed'), 5_000);
});

const hasBluetooth = ((): boolean => {
  try {
    return readdirSync('/sys/class/bluetooth').length > 0;
  } catch {
    return false;
  }
})();

test(
  'BLE enabled on a box without Bluetooth: ble is unavailable with the reason, the simulator keeps running',
  { timeout: 30_000, skip: hasBluetooth ? 'a Bluetooth adapter is present; this test does not touch real radios' : false },
  async (t) => {
    const { broker } = await hubRig(t);
    const agent = new Agent(agentConfig(tempDir(t), broker.url, { sources: { simulator: { athletes: 2 }, ble: { enabled: true, permitJoinSeconds: 60 } } }), { log: silentLog });
    t.after(() => agent.stop());
    await agent.start();
    await until('acknowledged readings', () => agent.outbox.stats().acknowledged > 20, 10_000);
    const health = agent.health();
    assert.equal(health.sources.ble?.state, 'unavailable');
    assert.match(health.sources.ble?.detail ?? '', /^Bluetooth unavailable on hci0: \S/);
    assert.deepEqual(health.sources.ble?.devices, []);
    assert.equal(health.sources.simulator?.state, 'running');
    assert.ok(health.reasons.some((r) => r.startsWith('source ble is unavailable: Bluetooth unavailable on hci0')));
  },
);

test('without a hub, readings are kept in the outbox and stop is still prompt', { timeout: 30_000 }, async (t) => {
  const closed = net.createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const port = (closed.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => closed.close(() => resolve()));

  const agent = new Agent(agentConfig(tempDir(t), `mqtt://127.0.0.1:${port}`), { log: silentLog });
  t.after(() => agent.stop());
  await agent.start();
  await until('readings in the outbox', () => agent.outbox.stats().readings > 200, 10_000);
  const health = agent.health();
  assert.equal(health.status, 'degraded');
  assert.notEqual(health.uplink.state, 'connected');
  assert.ok(health.reasons.some((r) => r.startsWith('uplink is ')));
  const started = Date.now();
  await agent.stop();
  assert.ok(Date.now() - started < 3_000, `stop took ${Date.now() - started} ms`);
});

test('the CLI runs the agent and stops cleanly on SIGTERM', { timeout: 60_000 }, async (t) => {
  const { broker, hub } = await hubRig(t);
  const dataDir = tempDir(t);
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
    env: {
      PATH: process.env.PATH,
      PB_AGENT_AGENT__ID: 'gym-cli',
      PB_AGENT_AGENT__DATA_DIR: dataDir,
      PB_AGENT_HUB__URL: broker.url,
      PB_AGENT_HUB__PASSWORD: '{"env":"PB_TEST_SECRET"}',
      PB_TEST_SECRET: 'secret',
      PB_AGENT_HEALTH__PORT: '0',
      PB_AGENT_SOURCES__SIMULATOR__ATHLETES: '4',
      PB_AGENT_UPLINK__LIVE_BATCH_DELAY_MS: '200',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));

  await until('readings from the CLI agent', () => hub.batches.some((b) => b.agent === 'gym-cli'), 20_000);
  assert.match(stdout, /"msg":"agent running"/);
  assert.doesNotMatch(stdout + stderr, /"secret"|PB_TEST_SECRET.*secret/, 'the secret is never logged');
  child.kill('SIGTERM');
  const code = await withTimeout(exited, 15_000, 'the agent to exit after SIGTERM');
  assert.equal(code, 0, stderr);
  assert.match(stdout, /"msg":"agent stopped"/);
  assert.equal(JSON.parse((await broker.retained(hub.topics.of('gym-cli', 'status'))).toString()).state, 'offline');
});

test('the logger writes JSON or pretty lines and redacts secrets', () => {
  const lines: string[] = [];
  const collect = (into: string[]): Writable =>
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        into.push(chunk.toString());
        done();
      },
    });
  const destination = collect(lines);
  const json = createLogger({ name: 'pulsebridge-agent', level: 'info', pretty: false, destination });
  json.child({ ns: 'uplink' }).info({ hub: { password: 'hunter2' }, connection: { password: 'hunter3' }, password: 'hunter4', url: 'mqtt://x' }, 'connecting');
  json.debug('not at info');
  assert.equal(lines.length, 1);
  const entry = JSON.parse(lines[0]!) as Record<string, unknown>;
  assert.equal(entry.ns, 'uplink');
  assert.equal(entry.msg, 'connecting');
  assert.deepEqual(entry.hub, { password: '[redacted]' });
  assert.deepEqual(entry.connection, { password: '[redacted]' });
  assert.equal(entry.password, '[redacted]');
  assert.doesNotMatch(lines[0]!, /hunter/);

  const prettyLines: string[] = [];
  const pretty = createLogger({ name: 'pulsebridge-agent', level: 'info', pretty: true, destination: collect(prettyLines) });
  pretty.info({ password: 'hunter5' }, 'hello');
  const text = prettyLines.join('');
  assert.match(text, /INFO.*hello/);
  assert.doesNotMatch(text, /^\{/);
  assert.doesNotMatch(text, /hunter5/);
});
