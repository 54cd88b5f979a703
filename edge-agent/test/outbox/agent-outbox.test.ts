/**
 * The outbox as the running agent uses it: what reaches the hub, and what /healthz and /metrics say.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Reading } from '@pulsebridge/protocol';
import { EXIT_CONFIG, until, type CliIo } from '@pulsebridge/runtime';
import { Agent } from '../../src/agent.ts';
import { loadAgentConfig, type AgentConfig } from '../../src/config.ts';
import { main } from '../../src/main.ts';
import { Outbox } from '../../src/outbox/outbox.ts';
import type { Source, SourceHealth, SourceSink } from '../../src/sources/source.ts';
import { hubRig, silentLog } from '../uplink/fixtures.ts';
import { ManualTime, flatten, readings, tempDir } from './fixtures.ts';

function agentConfig(dataDir: string, hubUrl: string, agentId = 'gym-1'): AgentConfig {
  return loadAgentConfig({
    env: {},
    overrides: {
      agent: { id: agentId, dataDir },
      hub: { url: hubUrl, password: 'secret', protocolVersion: 4 },
      uplink: { liveBatchDelayMs: 50, statusIntervalMs: 300, reconnectMinMs: 100, reconnectMaxMs: 500, ackTimeoutMs: 2_000 },
      health: { port: 0 },
      sources: { simulator: { enabled: false } },
      log: { level: 'silent' },
    },
  });
}

/** A source that hands the agent a fixed list of readings as soon as it starts. */
class ListSource implements Source {
  readonly name = 'list';
  private readonly list: readonly Reading[];
  private sent = 0;

  constructor(list: readonly Reading[]) {
    this.list = list;
  }

  async start(sink: SourceSink): Promise<void> {
    for (const r of this.list) sink.reading(r);
    this.sent = this.list.length;
  }

  async stop(): Promise<void> {}

  health(): SourceHealth {
    return { state: 'running', sensors: 0, readings: this.sent, rejected: 0 };
  }
}

test('one reading with a sensor id the hub refuses is dropped and counted at the agent; every good reading around it reaches the hub', { timeout: 30_000 }, async (t) => {
  const { broker, hub } = await hubRig(t);
  const good = [...readings('ble:c0-ff-ee-00-00-01', Date.now() - 10_000, 20), ...readings('ant:120:12345:1', Date.now() - 10_000, 20)];
  const withBad = [...good.slice(0, 10), { ...good[10]!, sensor: 'ant:hr:12345/1' }, ...good.slice(10)];
  const agent = new Agent(agentConfig(tempDir(t), broker.url), { log: silentLog, sources: [new ListSource(withBad)] });
  t.after(() => agent.stop());
  await agent.start();

  await until('every good reading acknowledged', () => agent.outbox.stats().acknowledged === good.length, 10_000);
  assert.deepEqual(hub.decodeErrors, []);
  const received = flatten(hub.batches.flatMap((b) => b.series));
  assert.deepEqual(received, flatten(good.map((r) => ({ sensor: r.sensor, metric: r.metric, ts: [r.ts], values: [r.value] }))));

  const { port } = agent.healthServer.address()!;
  const health = (await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()) as { outbox: { dropped: Record<string, number> } };
  assert.equal(health.outbox.dropped.invalidSensor, 1);
  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  assert.match(metrics, /^pb_agent_outbox_dropped_total\{reason="invalidSensor"\} 1$/m);
});

function captureIo(): CliIo & { out: string; err: string } {
  const captured = {
    out: '',
    err: '',
    env: {},
    stdoutIsTTY: false,
    stdout: (text: string) => void (captured.out += text),
    stderr: (text: string) => void (captured.err += text),
    stopSignal: () => new Promise<string>(() => undefined),
  };
  return captured;
}

test('the agent refuses to start on an outbox holding readings another agent id recorded: exit status 2 and what to do', { timeout: 30_000 }, async (t) => {
  const dataDir = tempDir(t);
  const earlier = new Outbox({ path: join(dataDir, 'outbox.db'), agent: 'gym-1', clock: new ManualTime().clock(), log: silentLog });
  earlier.start();
  for (const r of readings('ble:c0-ff-ee-00-00-01', Date.now(), 12)) earlier.append(r);
  earlier.stop();

  const file = join(dataDir, 'agent.yaml');
  writeFileSync(
    file,
    `agent: { id: gym-2, dataDir: '${dataDir}' }\nhub: { url: 'mqtt://127.0.0.1:1', password: x }\nhealth: { port: 0 }\nsources: { simulator: { enabled: false } }\nlog: { level: silent }\n`,
  );
  const io = captureIo();
  assert.equal(await main(['-c', file], io), EXIT_CONFIG);
  assert.match(io.err, /^pulsebridge-agent: the outbox \S+outbox\.db holds 12 readings recorded by agent "gym-1", and this agent is "gym-2"/);
  assert.match(io.err, /run this box as "gym-1"/);

  // Its own id still opens it, with every reading.
  const owner = new Outbox({ path: join(dataDir, 'outbox.db'), agent: 'gym-1', clock: new ManualTime().clock(), log: silentLog });
  owner.start();
  t.after(() => owner.stop());
  assert.equal(owner.stats().readings, 12);
});

test('readings lost with an outbox file found damaged at start are in /healthz and /metrics', { timeout: 30_000 }, async (t) => {
  const { broker } = await hubRig(t);
  const dataDir = tempDir(t);
  const path = join(dataDir, 'outbox.db');
  const earlier = new Outbox({ path, agent: 'gym-1', clock: new ManualTime().clock(), log: silentLog });
  earlier.start();
  for (const r of readings('ble:c0-ff-ee-00-00-01', Date.now(), 9)) earlier.append(r);
  earlier.stop();
  const db = new Database(path);
  db.prepare("UPDATE meta SET value = '' WHERE key = 'stream'").run();
  db.close();

  const agent = new Agent(agentConfig(dataDir, broker.url), { log: silentLog });
  t.after(() => agent.stop());
  await agent.start();
  const { port } = agent.healthServer.address()!;
  const health = (await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()) as {
    outbox: { dropped: Record<string, number>; corruptRecoveries: number; lastRecovery: { summary: string; lossCounted: string } | null };
  };
  assert.equal(health.outbox.corruptRecoveries, 1);
  assert.equal(health.outbox.dropped.corrupt, 9);
  assert.equal(health.outbox.lastRecovery?.summary, '9 readings lost');
  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  assert.match(metrics, /^pb_agent_outbox_dropped_total\{reason="corrupt"\} 9$/m);
  assert.match(metrics, /^pb_agent_outbox_corrupt_recoveries_total 1$/m);
});
