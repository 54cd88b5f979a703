/**
 * deploy/systemd: both units pass `systemd-analyze verify` without a word, are ordered after time sync, share
 * their hardening, and the agent's node flags start without a V8 warning.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const UNITS = join(ROOT, 'deploy/systemd');
const AGENT = 'pulsebridge-agent.service';
const HUB = 'pulsebridge-hub.service';

/** Directive name to its values, in order, from one unit file. */
function directives(unit: string): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const line of readFileSync(join(UNITS, unit), 'utf8').split('\n')) {
    const match = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (match) map.set(match[1]!, [...(map.get(match[1]!) ?? []), match[2]!]);
  }
  return map;
}

const words = (unit: Map<string, string[]>, key: string): string[] => (unit.get(key) ?? []).flatMap((v) => v.split(/\s+/)).filter(Boolean);

const systemdAnalyze = spawnSync('systemd-analyze', ['--version'], { stdio: 'ignore' }).error ? 'systemd-analyze is not installed' : false;

test('systemd-analyze verify says nothing about either unit', { skip: systemdAnalyze }, () => {
  const result = spawnSync('systemd-analyze', ['verify', `./${AGENT}`, `./${HUB}`], { cwd: UNITS, encoding: 'utf8', timeout: 60_000 });
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stderr.trim(), '');
  assert.equal(result.stdout.trim(), '');
});

test('both units want and are ordered after time-sync.target and network-online.target', () => {
  for (const unit of [AGENT, HUB]) {
    const d = directives(unit);
    for (const target of ['time-sync.target', 'network-online.target']) {
      assert.ok(words(d, 'Wants').includes(target), `${unit} Wants=${target}`);
      assert.ok(words(d, 'After').includes(target), `${unit} After=${target}`);
    }
  }
});

test('the hub has the agent hardening, with no capability and no devices', () => {
  const agent = directives(AGENT);
  const hub = directives(HUB);
  const hardening = [...agent.keys()].filter((key) => /^(NoNewPrivileges|Protect|Private|Restrict(?!AddressFamilies)|Lock|SystemCall|UMask|StateDirectory)/.test(key));
  assert.ok(hardening.length >= 15, hardening.join(' '));
  for (const key of hardening) assert.deepEqual(hub.get(key), agent.get(key), key);
  assert.deepEqual(hub.get('CapabilityBoundingSet'), ['']);
  assert.deepEqual(hub.get('PrivateDevices'), ['true']);
  assert.deepEqual(words(agent, 'CapabilityBoundingSet'), ['CAP_NET_RAW', 'CAP_NET_ADMIN']);
  assert.ok(!agent.has('ProtectClock') && !agent.has('PrivateDevices') && !agent.has('DeviceAllow'), 'the agent reaches serial and USB devices');
});

test("the agent's node flags start the bundle without a warning, and the footprint benchmark measures with them", { timeout: 60_000 }, () => {
  const exec = words(directives(AGENT), 'ExecStart');
  assert.equal(exec[0], '/usr/bin/node');
  const bundle = exec.findIndex((word) => word.endsWith('/edge-agent/dist/main.mjs'));
  const flags = exec.slice(1, bundle);
  assert.ok(flags.includes('--lite-mode') && flags.includes('--no-expose-wasm'), flags.join(' '));
  const bench = readFileSync(join(ROOT, 'scripts/bench/agent-footprint.ts'), 'utf8');
  assert.ok(bench.includes(`const PRODUCTION_NODE_ARGS = [${flags.map((f) => `'${f}'`).join(', ')}];`), 'agent-footprint.ts keeps in step with the unit');

  const build = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/build.ts'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  assert.equal(build.status, 0, build.stderr);
  const run = spawnSync(process.execPath, [...flags, join(ROOT, 'edge-agent/dist/main.mjs'), '--version'], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(run.status, 0, run.stderr);
  assert.equal(run.stderr, '', 'nothing on stderr, where the journal would show it at every start');
});
