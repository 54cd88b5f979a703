/**
 * Debian's Prometheus scrapes a real hub and a real agent streaming simulated sensors: the reading counter
 * read back through PromQL matches what the hub stored, the deployed rules load and evaluate, and every
 * dashboard expression is accepted and names metrics the processes really export.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { until } from '@pulsebridge/runtime';
import { missingService } from '../services.ts';
import { hubWithAgent, showLogsOnFailure, tempDir, type AgentRunner, type HubRunner } from '../harness.ts';
import { PrometheusProcess, prometheusMissing } from './prometheus-process.ts';
import { MONITORING, asSent, dashboardExpressions, exposedNames, metricNames, ruleExpressions } from './monitoring-files.ts';

const skip = missingService(prometheusMissing());
const READINGS = 400;
const GYM = 'gym-north';
/** Metrics only a hub on an external broker (Mosquitto) exports; the test's hub runs the embedded one. */
const EXTERNAL_BROKER_ONLY = ['pb_hub_broker_connected'];

let hub: HubRunner;
let agent: AgentRunner;
let prometheus: PrometheusProcess;
let exposed: Set<string>;
const work = tempDir('prometheus-system');
/** Stops, last started first. */
const stops: (() => Promise<void>)[] = [];
const cleanup = (stop: () => Promise<void>): number => stops.unshift(stop);
after(async () => {
  for (const stop of stops) await stop();
  work.cleanup();
});

before(async () => {
  if (skip) return;
  ({ hub, agent } = await hubWithAgent({ dir: join(work.dir, 'hub') }, { dir: work.dir, id: 'box-1', simulator: { athletes: 3, sensorRateHz: 4, maxReadings: READINGS } }, GYM));
  cleanup(() => hub.stop());
  await agent.start();
  cleanup(() => agent.stop());
  prometheus = new PrometheusProcess(
    work.dir,
    [
      { job: 'pulsebridge-hub', targets: [`127.0.0.1:${hub.httpPort}`] },
      { job: 'pulsebridge-agent', targets: [`127.0.0.1:${agent.healthPort}`], labels: { gym: GYM } },
    ],
    [join(MONITORING, 'rules/pulsebridge-recording.yml'), join(MONITORING, 'rules/pulsebridge-alerts.yml')],
  );
  await prometheus.start();
  cleanup(() => prometheus.stop());
  await showLogsOnFailure([hub, agent, prometheus], () => agent.settled('simulator'));
  exposed = new Set([...exposedNames(await hub.metrics()), ...exposedNames(await agent.metrics())]);
});

test('the readings counter read through PromQL equals the readings the hub stored and the agent had acknowledged', { skip, timeout: 60_000 }, async () => {
  await showLogsOnFailure([hub, agent, prometheus], async () => {
    const stored = await hub.storedCount('box-1');
    assert.equal(stored, READINGS);
    let seen: number | undefined;
    await until(
      `Prometheus to scrape ${stored} stored readings (last seen ${seen})`,
      async () => (seen = await prometheus.scalar('sum(pb_hub_ingest_readings_total{job="pulsebridge-hub"})')) === stored,
      15_000,
      200,
    );
    await until(
      'Prometheus to scrape the agent acknowledged counter',
      async () => (await prometheus.scalar(`sum(pb_agent_uplink_readings_total{job="pulsebridge-agent",gym="${GYM}",outcome="acked"})`)) === stored,
      15_000,
      200,
    );
  });
});

test('the deployed rules load into Prometheus, evaluate without error, and nothing fires on a healthy hub and agent', { skip, timeout: 60_000 }, async () => {
  type Rules = { data: { groups: { name: string; rules: { name: string; health: string; lastError?: string }[] }[] } };
  let rules: Rules['data']['groups'] = [];
  await until(
    'every rule to have been evaluated',
    async () => {
      rules = (await prometheus.get<Rules>('/api/v1/rules')).data.groups;
      return rules.length > 0 && rules.every((g) => g.rules.every((r) => r.health !== 'unknown'));
    },
    15_000,
    200,
  );
  const names = rules.flatMap((g) => g.rules.map((r) => r.name));
  for (const { name } of [...ruleExpressions('pulsebridge-alerts.yml'), ...ruleExpressions('pulsebridge-recording.yml')]) assert.ok(names.includes(name), `${name} not loaded`);
  for (const rule of rules.flatMap((g) => g.rules)) assert.equal(rule.health, 'ok', `${rule.name}: ${rule.lastError}`);
  await until('the recording rule to count the connected agent', async () => (await prometheus.scalar(`pulsebridge:agents_connected:sum_by_gym{gym="${GYM}"}`)) === 1, 15_000, 200);
  const alerts = (await prometheus.get<{ data: { alerts: { labels: { alertname: string }; state: string }[] } }>('/api/v1/alerts')).data.alerts;
  assert.deepEqual(
    alerts.map((a) => `${a.labels.alertname} ${a.state}`),
    [],
  );
});

test('every dashboard expression is accepted by Prometheus; the agents-online and readings panels show the running agent', { skip, timeout: 60_000 }, async () => {
  for (const { panel, expr } of dashboardExpressions()) await assert.doesNotReject(prometheus.query(asSent(expr)), `${panel}: ${expr}`);
  assert.equal(await prometheus.scalar(asSent('sum(pb_agent_uplink_connected{gym=~"$gym"})')), 1);
  const online = dashboardExpressions().find((e) => e.panel === 'Agents online');
  assert.ok(online);
  assert.equal(await prometheus.scalar(asSent(online.expr)), 1);
});

test('every metric the dashboard and the rules name is exported by the running hub or agent', { skip }, () => {
  const named = new Map<string, string>();
  for (const { panel, expr } of dashboardExpressions()) for (const m of metricNames(expr)) named.set(m, `dashboard panel ${panel}`);
  for (const file of ['pulsebridge-alerts.yml', 'pulsebridge-recording.yml'])
    for (const { name, expr } of ruleExpressions(file)) for (const m of metricNames(expr)) named.set(m, `rule ${name}`);
  assert.ok(named.size >= 15, [...named.keys()].join(' '));
  const externalBroker = readFileSync(fileURLToPath(new URL('../../hub/src/broker/external-broker.ts', import.meta.url)), 'utf8');
  for (const [metric, where] of named) {
    if (EXTERNAL_BROKER_ONLY.includes(metric)) assert.ok(externalBroker.includes(`name: '${metric}'`), `${metric} (${where}) is not in external-broker.ts`);
    else assert.ok(exposed.has(metric), `${metric} (${where}) is not in the hub's or the agent's /metrics`);
  }
});
