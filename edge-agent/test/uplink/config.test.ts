/**
 * The uplink's configuration rules, checked when the agent's configuration loads (through loadAgentConfig,
 * as the agent runs them) so that every problem is a configuration error with its path and exit status 2.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { EXIT_CONFIG, type CliIo } from '@pulsebridge/runtime';
import { loadAgentConfig } from '../../src/config.ts';
import { prepare } from '../../src/main.ts';
import { uplinkConfigProblems } from '../../src/uplink/uplink.ts';
import { tempDir } from '../outbox/fixtures.ts';
import { configProblems } from '../../../test/config-problems.ts';

const REQUIRED_ENV = { PB_AGENT_AGENT__ID: 'gym-1', PB_AGENT_HUB__PASSWORD: '{"env":"PB_SECRET"}' };

function pem(dir: string, name: string): string {
  const file = join(dir, name);
  writeFileSync(file, '-----BEGIN CERTIFICATE-----\n');
  return file;
}

function problemsOf(env: NodeJS.ProcessEnv): string[] {
  return configProblems(() => loadAgentConfig({ env: { ...REQUIRED_ENV, ...env } }));
}

test('readable TLS files with an mqtts:// URL load without problems', (t) => {
  const dir = tempDir(t);
  const tls = { ca: pem(dir, 'ca.pem'), cert: pem(dir, 'agent.pem'), key: pem(dir, 'agent.key'), rejectUnauthorized: true };
  const config = loadAgentConfig({ env: { ...REQUIRED_ENV, PB_AGENT_HUB__URL: 'mqtts://hub.example:8883', PB_AGENT_HUB__TLS: JSON.stringify(tls) } });
  assert.deepEqual(config.hub.tls, tls);
});

test('every unreadable TLS file is a configuration problem naming its field, file and why', (t) => {
  const dir = tempDir(t);
  const ca = join(dir, 'missing-ca.pem');
  const key = join(dir, 'a-directory');
  mkdirSync(key);
  const problems = problemsOf({ PB_AGENT_HUB__URL: 'mqtts://hub.example:8883', PB_AGENT_HUB__TLS: JSON.stringify({ ca, cert: pem(dir, 'agent.pem'), key }) });
  assert.deepEqual(problems, [`/hub/tls/ca: cannot read the CA certificate ${ca}: ENOENT`, `/hub/tls/key: cannot read the client key ${key}: EISDIR`]);
});

test('TLS settings on a plain mqtt:// URL and a certificate without its key are refused together', (t) => {
  const dir = tempDir(t);
  const problems = problemsOf({ PB_AGENT_HUB__URL: 'mqtt://hub.example:1883', PB_AGENT_HUB__TLS: JSON.stringify({ cert: pem(dir, 'agent.pem') }) });
  assert.deepEqual(problems, ['/hub/tls: TLS settings need an mqtts:// or wss:// URL, not mqtt://hub.example:1883', '/hub/tls: cert and key go together']);
});

test('the command line exits with the configuration status and prints the unreadable TLS file, before starting anything', (t) => {
  const ca = join(tempDir(t), 'nope.pem');
  let stderr = '';
  const io: CliIo = {
    env: { ...REQUIRED_ENV, PB_SECRET: 's', PB_AGENT_HUB__URL: 'mqtts://hub.example:8883', PB_AGENT_HUB__TLS: JSON.stringify({ ca }) },
    stdout: () => undefined,
    stderr: (text: string) => void (stderr += text),
    stdoutIsTTY: false,
    stopSignal: () => new Promise<string>(() => undefined),
  };
  assert.deepEqual(prepare([], io), { exit: EXIT_CONFIG });
  assert.match(stderr, new RegExp(`/hub/tls/ca: cannot read the CA certificate ${ca}: ENOENT`));
});

test('uplinkConfigProblems: a longest reconnect delay below the shortest is refused; equal ones are fine', () => {
  assert.deepEqual(uplinkConfigProblems({ reconnectMinMs: 5_000, reconnectMaxMs: 1_000 }, '/uplink'), ['/uplink/reconnectMaxMs: 1000 is below /uplink/reconnectMinMs (5000)']);
  assert.deepEqual(uplinkConfigProblems({ reconnectMinMs: 1_000, reconnectMaxMs: 1_000 }, '/x'), []);
});

test('hub.tls.caFingerprint takes the openssl form or 64 hex digits, refuses anything else, and needs rejectUnauthorized', (t) => {
  const ca = pem(tempDir(t), 'ca.pem');
  const colons = Array.from({ length: 32 }, (_, i) => (i * 7).toString(16).padStart(2, '0').toUpperCase()).join(':');
  const load = (tls: object) => problemsOf({ PB_SECRET: 's', PB_AGENT_HUB__URL: 'mqtts://hub.example:8883', PB_AGENT_HUB__TLS: JSON.stringify({ ca, ...tls }) });
  assert.deepEqual(load({ caFingerprint: colons }), []);
  assert.deepEqual(load({ caFingerprint: colons.replace(/:/g, '').toLowerCase() }), []);
  assert.ok(
    load({ caFingerprint: 'AB:CD' }).some((p) => p.startsWith('/hub/tls/caFingerprint')),
    'a short fingerprint is refused',
  );
  assert.deepEqual(load({ caFingerprint: colons, rejectUnauthorized: false }), [
    '/hub/tls/caFingerprint: checked only on a verified chain; not with /hub/tls/rejectUnauthorized: false',
  ]);
});
