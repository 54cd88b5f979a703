/**
 * The agent's uplink session against a real hub serving MQTTS and WSS with its development CA: it connects when
 * it trusts that CA (optionally pinned by fingerprint), and otherwise refuses the hub and says why in its log.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { until } from '@pulsebridge/runtime';
import { Hub, openStateDatabase } from '../hub/src/hub.ts';
import { tlsHubConfig } from '../hub/test/tls/tls-hub.ts';
import { SqliteAgentRegistry } from '../hub/src/registry/sqlite-agent-registry.ts';
import { ensureDevCertificates, type DevCertificates } from '../hub/src/tls/dev-ca.ts';
import { MqttSession } from '../edge-agent/src/uplink/session.ts';
import type { UplinkTls } from '../edge-agent/src/uplink/config.ts';
import { CA_PIN_MISMATCH } from '../edge-agent/src/uplink/hub-certificate.ts';

const AGENT = 'tls-agent';
let dir: string;
let hub: Hub;
let dev: DevCertificates;
let unrelated: DevCertificates;
let secret: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pb-agent-tls-'));
  const dataDir = join(dir, 'hub');
  const db = openStateDatabase(dataDir);
  try {
    ({ secret } = await new SqliteAgentRegistry({ db, log: pino({ level: 'silent' }) }).create(AGENT, 'gym-1'));
  } finally {
    db.close();
  }
  hub = new Hub(tlsHubConfig(dataDir), { log: pino({ level: 'silent' }) });
  await hub.start();
  dev = hub.tls!.dev!;
  unrelated = await ensureDevCertificates(join(dir, 'unrelated'));
});
after(async () => {
  await hub?.stop();
  rmSync(dir, { recursive: true, force: true });
});

interface LogLine {
  level: number;
  msg: string;
  code?: string;
}

/** A session as the uplink makes it, with its log lines kept; stopped when the test ends. */
function session(t: { after: (fn: () => Promise<void>) => void }, url: string, tls: UplinkTls): { session: MqttSession; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') lines.push(JSON.parse(line) as LogLine);
      done();
    },
  });
  const created = new MqttSession({
    agent: AGENT,
    connection: { url, password: secret, topicRoot: 'pb', protocolVersion: 4, tls },
    subscriptions: ['ack', 'cmd'],
    will: Buffer.from('{}'),
    log: pino({ level: 'debug' }, sink),
    now: () => Date.now(),
    reconnectMinMs: 60_000,
    reconnectMaxMs: 60_000,
    connectTimeoutMs: 3_000,
    keepaliveS: 30,
  });
  t.after(() => created.stop(Buffer.from('{}'), 1_000));
  created.start();
  return { session: created, lines };
}

const mqttsUrl = () => `mqtts://127.0.0.1:${hub.addresses.mqtt!.port}`;
const wssUrl = () => `wss://127.0.0.1:${hub.addresses.http!.port}/mqtt`;

for (const [transport, url] of [
  ['MQTTS', mqttsUrl],
  ['WSS', wssUrl],
] as const) {
  test(`${transport}: an agent that trusts the dev CA connects, also with the CA pinned by fingerprint`, async (t) => {
    // One at a time: the broker lets one connection per agent id live.
    for (const caFingerprint of [undefined, dev.caFingerprint, dev.caFingerprintHex]) {
      const { session: trusting } = session(t, url(), { ca: dev.caCertFile, rejectUnauthorized: true, caFingerprint });
      await until(`the agent to connect (pin ${caFingerprint})`, () => trusting.ready, 10_000);
      await trusting.stop(Buffer.from('{}'), 1_000);
    }
  });

  test(`${transport}: an agent that trusts another CA refuses the hub and logs an error naming hub.tls.ca`, async (t) => {
    const { session: refused, lines } = session(t, url(), { ca: unrelated.caCertFile, rejectUnauthorized: true });
    await until('the refusal in the log', () => lines.some((line) => line.level >= 50), 10_000);
    const error = lines.find((line) => line.level >= 50)!;
    assert.match(error.msg, /refused the hub's TLS certificate: check hub\.tls\.ca/);
    assert.equal(error.code, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    assert.equal(refused.ready, false);
    assert.match(refused.lastError ?? '', /^the hub's certificate is not trusted: /);
  });

  test(`${transport}: a pinned fingerprint that is not in the hub's chain is refused even though the CA verifies`, async (t) => {
    const { session: refused, lines } = session(t, url(), { ca: dev.caCertFile, rejectUnauthorized: true, caFingerprint: unrelated.caFingerprint });
    await until('the refusal in the log', () => lines.some((line) => line.level >= 50), 10_000);
    assert.equal(lines.find((line) => line.level >= 50)!.code, CA_PIN_MISMATCH);
    assert.equal(refused.ready, false);
  });
}
