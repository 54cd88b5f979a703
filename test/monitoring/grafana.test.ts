/**
 * The Grafana files: the dashboard JSON parses, is laid out and wired to the provisioned datasource, covers
 * what a gym chain watches, and every panel's PromQL passes Prometheus's own parser (promtool checks them as
 * rules). That the metrics exist and the queries run is the system test's part (prometheus-system.test.ts).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import { parse, stringify } from 'yaml';
import { missingService } from '../services.ts';
import { tempDir } from '../harness.ts';
import { PROMTOOL, promtoolMissing } from './prometheus-process.ts';
import { MONITORING, asSent, dashboard, dashboardExpressions, metricNames } from './monitoring-files.ts';

const run = promisify(execFile);
const work = tempDir('grafana');
after(() => work.cleanup());

interface Datasources {
  apiVersion: number;
  datasources: { name: string; uid: string; type: string; url: string }[];
}

test('the dashboard JSON parses and every panel queries the provisioned Prometheus datasource', () => {
  const board = dashboard();
  assert.equal(board.uid, 'pulsebridge-gym-chain');
  const provisioned = parse(readFileSync(join(MONITORING, 'grafana/provisioning/datasources/pulsebridge.yml'), 'utf8')) as Datasources;
  assert.equal(provisioned.apiVersion, 1);
  const prometheus = provisioned.datasources.find((d) => d.type === 'prometheus');
  assert.ok(prometheus);
  assert.ok(provisioned.datasources.some((d) => d.type === 'loki'));
  const graphs = board.panels.filter((p) => p.type !== 'row');
  assert.ok(graphs.length >= 10);
  for (const panel of graphs) {
    assert.equal(panel.datasource?.uid, prometheus.uid, panel.title);
    assert.ok((panel.targets ?? []).length > 0, `${panel.title} has no query`);
    assert.ok(panel.gridPos.x + panel.gridPos.w <= 24, `${panel.title} is wider than the grid`);
  }
  for (const variable of board.templating.list) assert.equal(variable.datasource?.uid, prometheus.uid, variable.name);
  const ids = board.panels.map((p) => (p as unknown as { id: number }).id);
  assert.equal(new Set(ids).size, ids.length, 'panel ids are unique');
});

test('the dashboard shows what a gym chain watches: agents online, readings/s, outbox depth, ack latency, refusals, API latency', () => {
  const metricsOf = (title: RegExp): string[] =>
    dashboardExpressions()
      .filter((e) => title.test(e.panel))
      .flatMap((e) => metricNames(e.expr));
  assert.ok(metricsOf(/^Agents online$/).includes('pb_agent_uplink_connected'));
  assert.ok(metricsOf(/^Readings\/s stored/).includes('pb_hub_ingest_readings_total'));
  assert.ok(metricsOf(/^Outbox depth$/).includes('pb_agent_outbox_readings'));
  assert.ok(metricsOf(/^Ack latency$/).includes('pb_agent_uplink_ack_latency_seconds_bucket'));
  assert.ok(metricsOf(/^Refusals$/).includes('pb_hub_ingest_rejected_total'));
  assert.ok(metricsOf(/^API latency/).includes('pb_hub_http_request_duration_seconds_bucket'));
  // The gym selector narrows every agent-side panel.
  for (const { panel, expr } of dashboardExpressions()) if (/pb_agent_/.test(expr)) assert.match(expr, /gym=~"\$gym"/, panel);
});

test('every panel expression passes the PromQL parser (promtool check rules)', { skip: missingService(promtoolMissing()) }, async () => {
  const expressions = dashboardExpressions();
  const file = join(work.dir, 'dashboard-as-rules.yml');
  const rules = expressions.map((e, i) => ({ record: `dashboard:panel_${i}`, expr: asSent(e.expr) }));
  writeFileSync(file, stringify({ groups: [{ name: 'dashboard', rules }] }));
  const { stdout } = await run(PROMTOOL, ['check', 'rules', file]);
  assert.match(stdout, new RegExp(`SUCCESS: ${expressions.length} rules found`));
  // The same check refuses a broken expression, so the pass above means something.
  writeFileSync(file, stringify({ groups: [{ name: 'dashboard', rules: [{ record: 'dashboard:broken', expr: 'sum(rate(pb_hub_ingest_readings_total[1m])' }] }] }));
  await assert.rejects(run(PROMTOOL, ['check', 'rules', file]), /unclosed left parenthesis|parse error/);
});

test('the dashboard provider points Grafana at a dashboards folder', () => {
  const provider = parse(readFileSync(join(MONITORING, 'grafana/provisioning/dashboards/pulsebridge.yml'), 'utf8')) as {
    providers: { type: string; options: { path: string } }[];
  };
  assert.equal(provider.providers[0]?.type, 'file');
  assert.ok(provider.providers[0]?.options.path.startsWith('/'));
});
