/**
 * deploy/monitoring/alertmanager is what Alertmanager itself accepts (`amtool check-config`), routes critical
 * alerts to the on-call receiver and the rest to the operators, and inhibits only alerts the rules define.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parse } from 'yaml';
import { missingService } from '../services.ts';
import { tempDir } from '../harness.ts';
import { MONITORING, alertRules } from './monitoring-files.ts';
import { AMTOOL, amtoolMissing, runTool } from './prometheus-process.ts';

const CONFIG = join(MONITORING, 'alertmanager/alertmanager.yml');
const skip = missingService(amtoolMissing());

const amtool = (args: string[]): Promise<{ ok: boolean; output: string }> => runTool(AMTOOL, args);

test('amtool accepts the Alertmanager configuration, and refuses a broken copy of it', { skip }, async () => {
  const checked = await amtool(['check-config', CONFIG]);
  assert.ok(checked.ok, checked.output);
  const dir = tempDir('alertmanager');
  after(() => dir.cleanup());
  const broken = join(dir.dir, 'alertmanager.yml');
  writeFileSync(broken, readFileSync(CONFIG, 'utf8').replace('receiver: operators', 'receiver: nobody'));
  assert.equal((await amtool(['check-config', broken])).ok, false, 'a route to an undefined receiver is refused');
});

test('every alert the rules define is routed by its severity: critical pages the on-call, warning and info reach the operators', { skip }, async () => {
  const rules = alertRules();
  assert.ok(rules.length > 0);
  for (const rule of rules) {
    const { severity } = rule;
    assert.ok(severity === 'critical' || severity === 'warning' || severity === 'info', `${rule.alert}: severity ${severity}`);
    const routed = await amtool(['config', 'routes', 'test', `--config.file=${CONFIG}`, `alertname=${rule.alert}`, `severity=${severity}`, 'gym=gym-1']);
    assert.ok(routed.ok, routed.output);
    assert.equal(routed.output.split('\n')[0]!.trim(), severity === 'critical' ? 'on-call' : 'operators', rule.alert);
  }
});

test('the inhibit rules name only alerts the rules define', () => {
  const defined = new Set(alertRules().map((r) => r.alert));
  const config = parse(readFileSync(CONFIG, 'utf8')) as { inhibit_rules: { source_matchers: string[]; target_matchers: string[] }[] };
  for (const rule of config.inhibit_rules) {
    for (const matcher of [...rule.source_matchers, ...rule.target_matchers]) {
      const names = /^alertname =~? "(.*)"$/.exec(matcher)?.[1];
      assert.ok(names !== undefined, matcher);
      for (const name of names.split('|')) assert.ok(defined.has(name), `${name} (in ${matcher}) is not an alert of the rules`);
    }
  }
});
