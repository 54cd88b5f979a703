/**
 * Enrolling a box end to end: a gym admin creates the agent through a real hub's API, `pulsebridge-agent enroll`
 * redeems the one-time code, and the agent started with the configuration it wrote connects and its readings
 * arrive. Plain HTTP here; the hub's TLS has its own tests.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { until } from '@pulsebridge/runtime';
import { agentConfigSnippet } from '../hub/src/enrollment.ts';
import { HubRunner, Proc, cleanupStack, freePort, showLogsOnFailure, tempDir } from './harness.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const run = promisify(execFile);

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

async function agentCli(args: string[]): Promise<CliResult> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', 'edge-agent/src/main.ts', ...args], { cwd: ROOT, timeout: 30_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

async function createAgent(hub: HubRunner, id: string, gym: string): Promise<{ code: string }> {
  const res = await fetch(`${hub.httpUrl}/api/v1/agents`, {
    method: 'POST',
    headers: { authorization: `Bearer ${await hub.token()}`, 'content-type': 'application/json' },
    body: JSON.stringify({ id, gym }),
  });
  assert.equal(res.status, 201, await res.clone().text());
  return (await res.json()) as { code: string };
}

function mode(path: string): number {
  return statSync(path).mode & 0o777;
}

test('pulsebridge-agent enroll redeems a code at a real hub, writes private files and a configuration whose agent delivers readings', { timeout: 120_000 }, async (t) => {
  const { dir, cleanup } = tempDir('agent-enroll');
  const onCleanup = cleanupStack(t);
  onCleanup(cleanup);
  const hub = new HubRunner({ dir: join(dir, 'hub') });
  await hub.start();
  onCleanup(() => hub.stop());
  const box = join(dir, 'box');

  await showLogsOnFailure([hub], async () => {
    const { code } = await createAgent(hub, 'box-enrolled', 'gym-e2e');
    const enrolled = await agentCli(['enroll', '--hub', hub.httpUrl, '--code', code, '--dir', box]);
    assert.equal(enrolled.code, 0, enrolled.stderr);
    assert.match(enrolled.stdout, /Enrolled agent box-enrolled for gym gym-e2e/);
    assert.match(enrolled.stderr, /http:\/\/ carries the secret unencrypted/);

    const configFile = join(box, 'agent.yaml');
    const secretFile = join(box, 'box-enrolled.secret');
    assert.equal(mode(configFile), 0o600);
    assert.equal(mode(secretFile), 0o600);
    const secret = readFileSync(secretFile, 'utf8').trim();
    assert.match(secret, /^[A-Za-z0-9_-]{43}$/);
    assert.ok(!enrolled.stdout.includes(secret) && !enrolled.stderr.includes(secret), 'the secret is not printed');
    const config = parseYaml(readFileSync(configFile, 'utf8')) as Record<string, unknown>;
    assert.deepEqual(config, {
      agent: { id: 'box-enrolled' },
      hub: { url: hub.mqttUrl, password: { file: secretFile }, topicRoot: 'pb' },
      sources: { simulator: { enabled: false } },
    });
    // One shape for an agent's configuration, whichever way the agent was enrolled.
    assert.deepEqual(config, parseYaml(agentConfigSnippet({ agentId: 'box-enrolled', url: hub.mqttUrl, secretFile, topicRoot: 'pb' })));

    const reused = await agentCli(['enroll', '--hub', hub.httpUrl, '--code', code, '--dir', join(dir, 'other')]);
    assert.equal(reused.code, 1);
    assert.match(reused.stderr, /the hub refused the code: .*not valid/);

    const again = await agentCli(['enroll', '--hub', hub.httpUrl, '--code', code, '--dir', box]);
    assert.equal(again.code, 2, 'an existing configuration is refused before the code is sent');
    assert.match(again.stderr, /agent\.yaml exists; pass --force/);
    assert.equal(readFileSync(secretFile, 'utf8').trim(), secret);

    // The written configuration as is, with a simulated sensor switched on and a data folder for the run.
    const healthPort = await freePort();
    const agent = new Proc(['edge-agent/src/main.ts', '--config', configFile], join(dir, 'agent.log'), {
      PB_AGENT_AGENT__DATA_DIR: join(box, 'data'),
      PB_AGENT_SOURCES__SIMULATOR__ENABLED: 'true',
      PB_AGENT_HEALTH__HOST: '127.0.0.1',
      PB_AGENT_HEALTH__PORT: String(healthPort),
      PB_AGENT_LOG__PRETTY: 'false',
    });
    onCleanup(() => agent.stop());
    await showLogsOnFailure([agent], async () => {
      await until('readings of the enrolled agent at the hub', async () => (await hub.storedCount('box-enrolled')) > 0, 60_000, 500);
      const seen = await hub.api<{ online: boolean; gym: string }>('/api/v1/agents/box-enrolled');
      assert.equal(seen.gym, 'gym-e2e');
    });
  });
});

test('enroll explains a refused code, an unreachable hub and bad arguments with their exit codes', { timeout: 60_000 }, async (t) => {
  const { dir, cleanup } = tempDir('agent-enroll-errors');
  t.after(cleanup);

  const unreachable = await agentCli(['enroll', '--hub', 'http://127.0.0.1:9', '--code', 'ABCDE-FGHJK', '--dir', join(dir, 'a')]);
  assert.equal(unreachable.code, 1);
  assert.match(unreachable.stderr, /cannot reach the hub at http:\/\/127\.0\.0\.1:9: ECONNREFUSED/);

  for (const [args, message] of [
    [['--code', 'ABCDE-FGHJK'], /--hub is required/],
    [['--hub', 'http://127.0.0.1:9'], /--code is required/],
    [['--hub', 'ftp://hub', '--code', 'X'], /must be https:\/\//],
    [['--hub', 'https://hub.test', '--code', 'X', '--ca', 'a.pem', '--ca-fingerprint', 'ab'], /not both/],
    [['--hub', 'https://hub.test', '--code', 'X', '--ca-fingerprint', 'xyz'], /64 hex digits/],
    [['--hub', 'https://hub.test', '--code', 'X', '--ca', join(dir, 'missing.pem')], /--ca: cannot read a PEM certificate/],
    [['--hub', 'http://127.0.0.1:9', '--code', 'X', '--bogus'], /Unknown option '--bogus'/],
  ] as const) {
    const result = await agentCli(['enroll', ...args]);
    assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
    assert.match(result.stderr, message);
  }

  const existing = join(dir, 'agent.yaml');
  writeFileSync(existing, 'agent: {id: x}\n');
  const kept = await agentCli(['enroll', '--hub', 'http://127.0.0.1:9', '--code', 'X', '--config', existing]);
  assert.equal(kept.code, 2);
  assert.equal(readFileSync(existing, 'utf8'), 'agent: {id: x}\n');
  const forced = await agentCli(['enroll', '--hub', 'http://127.0.0.1:9', '--code', 'X', '--config', existing, '--force']);
  assert.equal(forced.code, 1, '--force gets past the check, then the hub is unreachable');
});
