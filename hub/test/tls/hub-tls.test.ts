import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { get } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import mqtt from 'mqtt';
import { Hub, openStateDatabase } from '../../src/hub.ts';
import { tlsHubConfig } from './tls-hub.ts';
import { SqliteAgentRegistry } from '../../src/registry/sqlite-agent-registry.ts';
import { ensureDevCertificates } from '../../src/tls/dev-ca.ts';

const log = pino({ level: 'silent' });
let dir: string;
let hub: Hub;
let caPem: Buffer;
let unrelatedCaPem: Buffer;
let secret: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pb-hub-tls-'));
  const dataDir = join(dir, 'hub');
  const db = openStateDatabase(dataDir);
  try {
    ({ secret } = await new SqliteAgentRegistry({ db, log }).create('tls-box', 'gym-1'));
  } finally {
    db.close();
  }
  hub = new Hub(tlsHubConfig(dataDir), { log });
  await hub.start();
  caPem = readFileSync(hub.tls!.dev!.caCertFile);
  unrelatedCaPem = readFileSync((await ensureDevCertificates(join(dir, 'unrelated'))).caCertFile);
});
after(async () => {
  await hub?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** GET over HTTPS with node:https: the status, or the TLS error code when the connection is refused. */
function httpsGet(path: string, ca: Buffer | undefined): Promise<{ status?: number; error?: string }> {
  const { port } = hub.addresses.http!;
  return new Promise((resolve) => {
    const request = get({ host: '127.0.0.1', port, path, ...(ca ? { ca } : {}) }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode! }));
    });
    request.on('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }));
  });
}

const agentOptions = () => ({ clientId: 'tls-box', username: 'tls-box', password: secret, protocolVersion: 4 as const, reconnectPeriod: 0, connectTimeout: 3_000 });

test('the API is served over HTTPS that verifies with the dev CA, and is refused without it or with another CA', async () => {
  assert.deepEqual(await httpsGet('/healthz', caPem), { status: 200 });
  assert.deepEqual(await httpsGet('/healthz', undefined), { error: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
  assert.deepEqual(await httpsGet('/healthz', unrelatedCaPem), { error: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
});

test('the hub names the CA agents should trust: the dev CA certificate and its fingerprint', () => {
  const anchor = hub.tls!.trustAnchor!;
  assert.equal(anchor.certificatePem, caPem.toString('utf8'));
  assert.equal(anchor.fingerprint, hub.tls!.dev!.caFingerprint);
  assert.equal(anchor.fingerprintHex, hub.tls!.dev!.caFingerprintHex);
});

test('MQTT over WSS on the HTTP port connects with the dev CA and fails with an unrelated CA', async () => {
  const url = `wss://127.0.0.1:${hub.addresses.http!.port}/mqtt`;
  const client = await mqtt.connectAsync(url, { ...agentOptions(), ca: caPem }, false);
  await client.endAsync();
  await assert.rejects(mqtt.connectAsync(url, { ...agentOptions(), ca: unrelatedCaPem }, false), /unable to verify the first certificate/);
});

test('MQTTS on the broker port connects with the dev CA and fails with an unrelated CA', async () => {
  const url = `mqtts://127.0.0.1:${hub.addresses.mqtt!.port}`;
  const client = await mqtt.connectAsync(url, { ...agentOptions(), ca: caPem }, false);
  await client.endAsync();
  await assert.rejects(mqtt.connectAsync(url, { ...agentOptions(), ca: unrelatedCaPem }, false), /unable to verify the first certificate/);
});

test('a restarted hub keeps its dev CA: the same fingerprint, and clients that trust it still connect', async () => {
  const dataDir = join(dir, 'restart');
  const first = new Hub(tlsHubConfig(dataDir), { log });
  await first.start();
  const fingerprint = first.tls!.dev!.caFingerprint;
  await first.stop();
  const second = new Hub(tlsHubConfig(dataDir), { log });
  await second.start();
  try {
    assert.equal(second.tls!.dev!.caFingerprint, fingerprint);
    assert.equal(second.tls!.dev!.created.ca, false);
    const { port } = second.addresses.http!;
    const status = await new Promise<number | undefined>((resolve, reject) =>
      get({ host: '127.0.0.1', port, path: '/healthz', ca: readFileSync(first.tls!.dev!.caCertFile) }, (res) => {
        res.resume();
        resolve(res.statusCode);
      }).on('error', reject),
    );
    assert.equal(status, 200);
  } finally {
    await second.stop();
  }
});
