/**
 * deploy/monitoring/alertmanager is what Alertmanager itself accepts (`amtool check-config`), routes critical
 * alerts to the on-call receiver and the rest to the operators, and inhibits only alerts the rules define.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { missingService } from '../services.ts';
import { tempDir } from '../harness.ts';
import { AMTOOL, amtoolMissing } from './prometheus-process.ts';

const run = promisify(execFile);
const MONITORING = fileURLToPath(new URL('../../deploy/monitoring/', import.meta.url));
const CONFIG = join(MONITORING, 'alertmanager/alertmanager.yml');
const skip = missingService(amtoolMissing());

async function amtool(args: string[]): Promise<{ ok: boolean; output: string }> {
  try {
    const { stdout, stderr } = await run(AMTOOL, args, { timeout: 30_000 });
    return { ok: true, output: stdout + stderr };
  } catch (err) {
    const failed = err as { stdout?: string; stderr?: string; message: string };
    return { ok: false, output: `${failed.stdout ?? ''}${failed.stderr ?? ''}${failed.message}` };
  }
}

const alertRules = (): { alert: string; labels?: { severity?: string } }[] =>
  (parse(readFileSync(join(MONITORING, 'rules/pulsebridge-alerts.yml'), 'utf8')) as { groups: { rules: { alert?: string; labels?: { severity?: string } }[] }[] }).groups
    .flatMap((g) => g.rules)
    .filter((r): r is { alert: string; labels?: { severity?: string } } => r.alert !== undefined);

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
    const severity = rule.labels?.severity;
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
