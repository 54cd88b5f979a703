/**
 * The README's "Running it for real": what `pulsebridge-hub agent add` prints is a working agent configuration
 * for the hub it was run against, read by the agent's own loader.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Value } from '@sinclair/typebox/value';
import { parse as parseYaml } from 'yaml';
import { resolveSecret, type CliIo } from '@pulsebridge/runtime';
import { AgentConfigSchema, loadAgentConfig } from '../edge-agent/src/config.ts';
import { main } from '../hub/src/main.ts';

const dir = mkdtempSync(join(tmpdir(), 'pb-enroll-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let agents = 0;

/** Runs `agent add` against a hub configuration file; returns what it printed. */
async function agentAdd(hubYaml: string, extra: string[] = []): Promise<{ id: string; out: string }> {
  const id = `box-${++agents}`;
  const file = join(dir, `hub-${agents}.yaml`);
  writeFileSync(file, `hub:\n  dataDir: ${join(dir, `hub-${agents}`)}\n${hubYaml}`);
  const io = { out: '', err: '' };
  const cli: CliIo = {
    env: {},
    stdout: (text) => void (io.out += text),
    stderr: (text) => void (io.err += text),
    stdoutIsTTY: false,
    stopSignal: () => new Promise<string>(() => undefined),
  };
  assert.equal(await main(['agent', 'add', id, '--gym', 'gym-1', '--config', file, ...extra], cli), 0, io.err);
  return { id, out: io.out };
}

/** The YAML after the last explanation line: the agent configuration. */
function snippetOf(out: string): unknown {
  const start = out.indexOf('\nagent:\n');
  assert.ok(start > 0, out);
  return parseYaml(out.slice(start));
}

/** Runs the printed `printf ... > file` line in `cwd` (by hand: the line is for a shell on the box). */
function storeSecret(out: string, cwd: string): void {
  const match = /\(umask 077 && printf '%s\\n' '([^']+)' > (\S+)\)$/m.exec(out);
  assert.ok(match, out);
  const [, secret, file] = match;
  writeFileSync(join(cwd, file!), `${secret}\n`, { mode: 0o600 });
}

test('agent add prints an agent configuration the agent loads: secret from a file, simulator off, the hub TCP listener', async () => {
  const { id, out } = await agentAdd('mqtt:\n  host: 127.0.0.1\n  port: 18830\ntopicRoot: gyms/eu\n');
  const snippet = snippetOf(out);
  assert.ok(
    Value.Check(AgentConfigSchema, Value.Default(AgentConfigSchema, structuredClone(snippet))),
    [...Value.Errors(AgentConfigSchema, snippet)].map((e) => `${e.path}: ${e.message}`).join('; '),
  );

  const agentDir = mkdtempSync(join(dir, 'box-'));
  const agentYaml = join(agentDir, 'agent.yaml');
  writeFileSync(agentYaml, out.slice(out.indexOf('\nagent:\n')));
  const config = loadAgentConfig({ file: agentYaml, env: {} });
  assert.equal(config.agent.id, id);
  assert.equal(config.hub.url, 'mqtt://127.0.0.1:18830');
  assert.equal(config.hub.topicRoot, 'gyms/eu');
  assert.equal(config.sources.simulator.enabled, false);
  assert.deepEqual(config.hub.password, { file: `${id}.secret` });

  storeSecret(out, agentDir);
  const secret = resolveSecret({ file: join(agentDir, `${id}.secret`) });
  assert.match(secret, /^[A-Za-z0-9_-]{43}$/);
  assert.equal(out.split(secret).length, 2, 'the secret appears once, in the line that stores it');
});

test('agent add takes the URL from the hub configuration: TLS, any-address, WebSocket only, publicUrl, --mqtt-url, --secret-file', async () => {
  const cases: [string, string[], string][] = [
    ['mqtt:\n  port: 8883\n  tls: { certFile: /etc/pb/hub.crt, keyFile: /etc/pb/hub.key }\n', [], `mqtts://${hostname()}:8883`],
    ['mqtt:\n  host: "::1"\n', [], 'mqtt://[::1]:1883'],
    ['http:\n  host: 10.0.0.5\n  port: 9090\nmqtt:\n  tcp: false\n  host: 127.0.0.1\n  websocketPath: /broker\n', [], 'ws://10.0.0.5:9090/broker'],
    ['mqtt:\n  publicUrl: mqtts://hub.example.com:8883\n', [], 'mqtts://hub.example.com:8883'],
    ['', ['--mqtt-url', 'wss://edge.example.com/mqtt'], 'wss://edge.example.com/mqtt'],
  ];
  for (const [hubYaml, extra, url] of cases) {
    const { out } = await agentAdd(hubYaml, extra);
    assert.equal((snippetOf(out) as { hub: { url: string } }).hub.url, url, hubYaml);
    if (/^(mqtts|wss):/.test(url)) assert.match(out, /hub\.tls\.ca/, 'TLS: says how to trust a private CA');
  }
  const custom = await agentAdd('', ['--secret-file', '/etc/pulsebridge/agent.secret']);
  assert.deepEqual((snippetOf(custom.out) as { hub: { password: unknown } }).hub.password, { file: '/etc/pulsebridge/agent.secret' });
  assert.match(custom.out, /> \/etc\/pulsebridge\/agent\.secret\)$/m);
});

test('agent add with an external broker and no publicUrl says the URL is a placeholder to replace', async () => {
  const { out } = await agentAdd('mqtt:\n  mode: external\n');
  assert.match(out, /mqtt\.publicUrl is not set/);
  assert.match(out, /^[\w.-]+:\$7\$/m, 'the Mosquitto password line is printed');
  assert.equal((snippetOf(out) as { hub: { url: string } }).hub.url, 'mqtt://<broker-host>:1883');
});
