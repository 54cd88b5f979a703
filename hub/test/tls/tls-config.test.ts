import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadAgentToolConfig, loadHubConfig } from '../../src/config.ts';
import { agentMqttUrl } from '../../src/enrollment.ts';
import { ensureDevCertificates, type DevCertificates } from '../../src/tls/dev-ca.ts';
import { devCertificateHostsOf } from '../../src/tls/server-tls.ts';
import { configProblems } from '../../../test/config-problems.ts';

let dir: string;
let good: DevCertificates;
let other: DevCertificates;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pb-tls-config-'));
  good = await ensureDevCertificates(join(dir, 'good'));
  other = await ensureDevCertificates(join(dir, 'other'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const BASE_ENV = {};

function withTls(http: unknown, mqtt?: unknown): string[] {
  return configProblems(() => loadHubConfig({ env: BASE_ENV, overrides: { http: { tls: http }, ...(mqtt === undefined ? {} : { mqtt: { tls: mqtt } }) } }));
}

test('http.tls takes certificate files, or dev: true from the environment', () => {
  assert.deepEqual(withTls({ certFile: good.certFile, keyFile: good.keyFile, caFile: good.caCertFile }), []);
  const config = loadHubConfig({ env: { ...BASE_ENV, PB_HUB_HTTP__TLS__DEV: 'true' } });
  assert.deepEqual(config.http.tls, { dev: true });
});

test('mqtt.tls keeps its certFile/keyFile form and also takes dev: true', () => {
  assert.deepEqual(withTls(undefined, { certFile: good.certFile, keyFile: good.keyFile }), []);
  assert.deepEqual(withTls(undefined, { dev: true }), []);
});

test('every TLS problem is reported at load with its path: missing files, a key that is not a key or not the certificate key, dev mixed with files', () => {
  const notAKey = join(dir, 'not-a-key.pem');
  writeFileSync(notAKey, 'not a key');
  assert.deepEqual(withTls({ certFile: join(dir, 'missing.pem'), keyFile: notAKey }), [
    `/http/tls/certFile: ${join(dir, 'missing.pem')}: no such file`,
    `/http/tls/keyFile: ${notAKey}: not a PEM private key without a passphrase`,
  ]);
  assert.deepEqual(withTls({ certFile: good.certFile, keyFile: other.keyFile }), [`/http/tls/keyFile: ${other.keyFile}: not the private key of ${good.certFile}`]);
  assert.deepEqual(withTls({ certFile: good.certFile, keyFile: good.keyFile, caFile: good.keyFile }), [`/http/tls/caFile: ${good.keyFile}: not a PEM certificate`]);
  assert.deepEqual(withTls({}), ['/http/tls/certFile: required unless /http/tls/dev is true', '/http/tls/keyFile: required unless /http/tls/dev is true']);
  assert.deepEqual(withTls({ dev: true, certFile: good.certFile }), ['/http/tls/certFile: not with /http/tls/dev: true, which makes its own certificate']);
  assert.deepEqual(withTls({ certFile: good.certFile, keyFile: good.keyFile, hosts: ['a.example'] }), [
    '/http/tls/hosts: only with /http/tls/dev: true; a certificate from a file names its own hosts',
  ]);
  assert.deepEqual(withTls(undefined, { certFile: good.certFile }), ['/mqtt/tls/keyFile: required unless /mqtt/tls/dev is true']);
});

test('a key path the hub cannot read (a folder here) is a configuration problem', () => {
  assert.deepEqual(withTls({ certFile: good.certFile, keyFile: dir }), [`/http/tls/keyFile: ${dir}: cannot be read`]);
});

test('the development certificate names the listen addresses, mqtt.publicUrl and the listed hosts, not the any-address', () => {
  const config = loadHubConfig({
    env: BASE_ENV,
    overrides: { http: { host: '192.168.1.5', tls: { dev: true, hosts: ['hub.gym.example'] } }, mqtt: { publicUrl: 'mqtts://broker.gym.example:8883', tls: { dev: true } } },
  });
  assert.deepEqual(devCertificateHostsOf(config).sort(), ['192.168.1.5', 'broker.gym.example', 'hub.gym.example']);
});

test('agent add gives a wss:// URL when the HTTP port serves TLS and MQTT has no TCP listener', () => {
  const config = loadAgentToolConfig({ env: {}, overrides: { http: { host: '127.0.0.1', port: 8443, tls: { dev: true } }, mqtt: { tcp: false } } });
  assert.equal(agentMqttUrl(config).url, 'wss://127.0.0.1:8443/mqtt');
});
