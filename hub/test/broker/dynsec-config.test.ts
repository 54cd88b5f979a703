/**
 * The configuration of agent accounts kept in Mosquitto's dynamic security plugin (mqtt.external.agentAccounts):
 * what it needs, what it refuses, and that its secret is checked at load and masked in --print-config.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadHubConfig, redactConfig } from '../../src/config.ts';
import { dynamicSecurityUrl } from '../../src/broker/config.ts';
import { configProblems } from '../../../test/config-problems.ts';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'pb-dynsec-config-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function load(lines: string[], env: NodeJS.ProcessEnv = {}) {
  const path = join(dir, 'hub.yaml');
  writeFileSync(path, ['mqtt:', '  mode: external', ...lines].join('\n'));
  return () => loadHubConfig({ file: path, env });
}

describe('mqtt.external.agentAccounts', () => {
  test("defaults to the password file, today's behaviour, with no dynamic security connection", () => {
    const config = load([])();
    assert.equal(config.mqtt.external.agentAccounts, 'password-file');
    assert.equal(config.mqtt.external.dynamicSecurity.commandTimeoutMs, 5_000);
  });

  test('dynamic-security needs the admin username, password and a URL (its own or mqtt.publicUrl)', () => {
    assert.deepEqual(configProblems(load(['  external:', '    agentAccounts: dynamic-security'])), [
      "/mqtt/external/dynamicSecurity/username: required with agentAccounts dynamic-security (the plugin's admin client for the hub)",
      '/mqtt/external/dynamicSecurity/password: required with agentAccounts dynamic-security',
      "/mqtt/external/dynamicSecurity/url: required with agentAccounts dynamic-security when mqtt.publicUrl is not set (the agents' listener, where the plugin runs)",
    ]);
  });

  test("the URL defaults to mqtt.publicUrl, the agents' listener; its own URL wins", () => {
    const base = [
      '  publicUrl: mqtts://agents.example:8883',
      '  external:',
      '    agentAccounts: dynamic-security',
      '    dynamicSecurity:',
      '      username: hub-admin',
      '      password: {env: ADMIN_PW}',
    ];
    const env = { ADMIN_PW: 'admin-password' };
    assert.equal(dynamicSecurityUrl(load(base, env)().mqtt), 'mqtts://agents.example:8883');
    assert.equal(dynamicSecurityUrl(load([...base, '      url: mqtt://mosquitto.internal:1883'], env)().mqtt), 'mqtt://mosquitto.internal:1883');
  });

  test('the admin password is resolved at load and masked in --print-config', () => {
    const lines = ['  publicUrl: mqtt://agents.example:1883', '  external:', '    agentAccounts: dynamic-security', '    dynamicSecurity:', '      username: hub-admin'];
    const unresolved = configProblems(load([...lines, '      password: {env: NOT_SET_ANYWHERE}']));
    assert.equal(unresolved.length, 1, unresolved.join('\n'));
    assert.match(unresolved[0]!, /^\/mqtt\/external\/dynamicSecurity\/password: .*NOT_SET_ANYWHERE/);
    const config = load([...lines, '      password: inline-admin-password'])();
    assert.equal(redactConfig(config).mqtt.external.dynamicSecurity.password, '[redacted]');
    assert.ok(!JSON.stringify(redactConfig(config)).includes('inline-admin-password'));
  });

  test('a CA file needs a TLS URL and must exist; dynamic security settings with the password file are refused', () => {
    const lines = ['  external:', '    agentAccounts: dynamic-security', '    dynamicSecurity:', '      url: mqtt://agents.example:1883', '      username: a', '      password: p'];
    assert.deepEqual(configProblems(load([...lines, '      caFile: /nonexistent/pulsebridge/ca.pem'])), [
      '/mqtt/external/dynamicSecurity/caFile: set, but mqtt://agents.example:1883 is not a TLS URL (mqtts://, wss:// or ssl://)',
      '/mqtt/external/dynamicSecurity/caFile: /nonexistent/pulsebridge/ca.pem: no such file',
    ]);
    assert.deepEqual(configProblems(load(['  external:', '    dynamicSecurity:', '      username: a', '      password: p'])), [
      '/mqtt/external/dynamicSecurity: username, password set, but /mqtt/external/agentAccounts is password-file',
    ]);
    assert.ok(configProblems(load(['  external:', '    agentAccounts: files'])).length > 0, 'an unknown kind');
  });
});
