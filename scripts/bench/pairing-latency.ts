/**
 * Time from a pairing change to the agent applying it (target: at most 2 s): a hub in this
 * process and a real agent process on loopback, with the simulator's straps taking part in admission.
 * Each change binds or unbinds a strap in the hub's documents and calls the pairing channel's gymChanged();
 * the time runs from that call to the agent's "pairing list applied" log line (pino's `time`, the same
 * machine's wall clock). One JSON line (DESIGN §9):
 *   {"name": "pairing_change_to_agent_applied_ms", "value": <p50>, "unit": "ms", "p99": ..., "max": ..., "changes": N}
 *
 *   node --import tsx scripts/bench/pairing-latency.ts [--changes 50]
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { until } from '@pulsebridge/runtime';
import { Hub } from '../../hub/src/hub.ts';
import { BINDINGS } from '../../hub/src/domain/pairing/collections.ts';
import { testHubConfig } from '../../hub/test/test-hub.ts';
import { SimulatorSource, simulatorConfig } from '../../edge-agent/src/sources/simulator/index.ts';
import { AgentRunner, tempDir } from '../../test/harness.ts';
import { printFigure } from './figures.ts';

const { values: args } = parseArgs({ options: { changes: { type: 'string', default: '50' } } });
const CHANGES = Number(args.changes);
const GYM = 'gym-bench';
const AGENT = 'box-bench';
const SIMULATOR = { athletes: 2, seed: 5, admission: true, equipment: { bike: 0, treadmill: 0, rower: 0, outdoor: 0 } };
const log = pino({ level: 'silent' });

interface LogLine {
  msg?: string;
  time?: number;
  version?: number;
}

function applied(agent: AgentRunner): LogLine[] {
  return agent
    .log()
    .split('\n')
    .filter((line) => line.includes('"pairing list applied"'))
    .map((line) => JSON.parse(line) as LogLine);
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

const work = tempDir('bench-pairing');
const hubDir = join(work.dir, 'hub');
const hub = new Hub(testHubConfig(hubDir), { log });
let agent: AgentRunner | undefined;
try {
  await hub.start();
  const domain = hub.domain!;
  const { secret } = await domain.agents.create(AGENT, GYM);
  const running = new AgentRunner({ dir: work.dir, id: AGENT, secret, mqttUrl: `mqtt://127.0.0.1:${hub.addresses.mqtt!.port}`, simulator: SIMULATOR });
  agent = running;
  await running.start();
  await until('the agent to apply its first list', () => applied(running).length > 0, 30_000, 20);
  const strap = new SimulatorSource({ ...simulatorConfig(SIMULATOR), now: Date.now, log }).sensors()[0]!.id;
  const bindings = domain.documents.collection(BINDINGS);
  const latencies: number[] = [];
  for (let change = 0; change < CHANGES; change++) {
    const before = applied(running).length;
    if (change % 2 === 0)
      await bindings.insert({ id: `b${change}`, gym: GYM, sensor: strap, athlete: 'athlete-1', active: true, from: Date.now(), kind: 'own', createdBy: 'bench' });
    else await bindings.update({ id: `b${change - 1}` }, { set: { active: false, until: Date.now() } });
    const changedAt = Date.now();
    await domain.pairing.gymChanged(GYM);
    await until('the agent to apply the changed list', () => applied(running).length > before, 10_000, 5);
    latencies.push(applied(running).at(-1)!.time! - changedAt);
  }
  const sorted = [...latencies].sort((a, b) => a - b);
  printFigure('pairing_change_to_agent_applied_ms', percentile(sorted, 50), 'ms', { p99: percentile(sorted, 99), max: sorted.at(-1), changes: CHANGES, targetMs: 2_000 });
} finally {
  await agent?.stop();
  await hub.stop();
  work.cleanup();
}
