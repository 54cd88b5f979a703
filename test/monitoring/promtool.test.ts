/**
 * The Prometheus files in deploy/monitoring are what Prometheus itself accepts (`promtool check`), and the
 * alert rules fire, and stay quiet, exactly where their unit tests say (`promtool test rules`).
 */
import assert from 'node:assert/strict';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { missingService } from '../services.ts';
import { tempDir } from '../harness.ts';
import { MONITORING, alertRules } from './monitoring-files.ts';
import { PROMTOOL, promtoolMissing, runTool } from './prometheus-process.ts';

const RULES = join(MONITORING, 'rules');
const skip = missingService(promtoolMissing());

const promtool = (args: string[], cwd = MONITORING): Promise<{ ok: boolean; output: string }> => runTool(PROMTOOL, args, cwd);

test('promtool accepts prometheus.yml, with its rule files and agent target files', { skip }, async () => {
  const result = await promtool(['check', 'config', 'prometheus.yml']);
  assert.ok(result.ok, result.output);
  assert.match(result.output, /SUCCESS: 2 rule files found/);
});

test('promtool accepts the alert and recording rules', { skip }, async () => {
  const result = await promtool(['check', 'rules', 'rules/pulsebridge-alerts.yml', 'rules/pulsebridge-recording.yml']);
  assert.ok(result.ok, result.output);
});

test('the alert unit tests pass: each alert fires on its input series and not on the healthy ones beside them', { skip }, async () => {
  const result = await promtool(['test', 'rules', 'rules/pulsebridge-alerts.test.yml']);
  assert.ok(result.ok, result.output);
  assert.match(result.output, /SUCCESS/);
});

test('every alert has a firing case and a quiet case in the unit tests, and a runbook section in docs/monitoring.md', () => {
  const tests = parse(readFileSync(join(RULES, 'pulsebridge-alerts.test.yml'), 'utf8')) as {
    tests: { alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[] }[];
  };
  const cases = tests.tests.flatMap((t) => t.alert_rule_test ?? []);
  const docs = readFileSync(fileURLToPath(new URL('../../docs/monitoring.md', import.meta.url)), 'utf8');
  for (const { alert } of alertRules()) {
    assert.ok(
      cases.some((c) => c.alertname === alert && c.exp_alerts.length > 0),
      `${alert} never expected to fire`,
    );
    assert.ok(
      cases.some((c) => c.alertname === alert && c.exp_alerts.length === 0),
      `${alert} never expected to stay quiet`,
    );
    assert.ok(docs.includes(`### ${alert}`), `docs/monitoring.md has no section ### ${alert}`);
  }
});

const work = tempDir('promtool-mutants');
after(() => work.cleanup());

test('the unit tests catch a broken rule: with every `== 0` turned into `== 1` they fail', { skip }, async () => {
  cpSync(RULES, work.dir, { recursive: true });
  const file = join(work.dir, 'pulsebridge-alerts.yml');
  writeFileSync(file, readFileSync(file, 'utf8').replaceAll('== 0', '== 1'));
  const result = await promtool(['test', 'rules', 'pulsebridge-alerts.test.yml'], work.dir);
  assert.equal(result.ok, false, result.output);
  assert.match(result.output, /PulsebridgeAgentOffline/);
});
