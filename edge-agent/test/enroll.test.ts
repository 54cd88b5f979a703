/**
 * `pulsebridge-agent enroll` against a stand-in hub over HTTPS: it verifies the hub with --ca, with a pinned CA
 * fingerprint, or not at all (then it refuses), and explains a refused code. The end-to-end run against a real
 * hub is in test/agent-enroll.test.ts.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import type { CliIo } from '@pulsebridge/runtime';
import { enrollCommand, normalizeFingerprint } from '../src/enroll.ts';

const openssl = ['/usr/bin/openssl', '/usr/local/bin/openssl'].find((path) => existsSync(path));
const GOOD_CODE = 'ABCDE-FGHJK';
const SECRET = 's'.repeat(43);

function cli(): CliIo & { out: string; err: string } {
  const io = {
    out: '',
    err: '',
    env: {},
    stdoutIsTTY: false,
    stdout: (text: string) => void (io.out += text),
    stderr: (text: string) => void (io.err += text),
    stopSignal: () => new Promise<string>(() => undefined),
  };
  return io;
}

/** A CA, and a certificate it signed for 127.0.0.1 and localhost. */
function certificates(dir: string, name: string): { caPem: string; caFile: string; key: string; chain: string } {
  const file = (suffix: string) => join(dir, `${name}-${suffix}`);
  const ssl = (...args: string[]) => execFileSync(openssl!, args, { stdio: 'pipe' });
  ssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', file('ca.key'), '-out', file('ca.pem'), '-days', '2', '-subj', `/CN=${name} CA`);
  ssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', file('hub.key'), '-out', file('hub.csr'), '-subj', '/CN=hub');
  writeFileSync(file('ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  ssl('x509', '-req', '-in', file('hub.csr'), '-CA', file('ca.pem'), '-CAkey', file('ca.key'), '-CAcreateserial', '-out', file('hub.pem'), '-days', '2', '-extfile', file('ext'));
  const caPem = readFileSync(file('ca.pem'), 'utf8');
  return { caPem, caFile: file('ca.pem'), key: readFileSync(file('hub.key'), 'utf8'), chain: readFileSync(file('hub.pem'), 'utf8') + caPem };
}

describe('pulsebridge-agent enroll over HTTPS', { skip: openssl ? false : 'openssl not installed', timeout: 30_000 }, () => {
  let dir: string;
  let server: Server;
  let hubUrl: string;
  let own: ReturnType<typeof certificates>;
  let stranger: ReturnType<typeof certificates>;
  let boxes = 0;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pb-agent-enroll-'));
    own = certificates(dir, 'own');
    stranger = certificates(dir, 'stranger');
    server = createServer({ key: own.key, cert: own.chain }, (req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        const { code } = JSON.parse(body) as { code: string };
        if (req.url !== '/api/v1/enroll' || req.method !== 'POST') {
          res.writeHead(404).end();
        } else if (code !== GOOD_CODE) {
          res.writeHead(400, { 'content-type': 'application/problem+json' }).end(JSON.stringify({ status: 400, detail: 'code: this enrollment code is not valid' }));
        } else {
          res
            .writeHead(200, { 'content-type': 'application/json' })
            .end(JSON.stringify({ agentId: 'box-tls', gym: 'gym-1', mqttUrl: 'mqtts://127.0.0.1:8883', topicRoot: 'pb', secret: SECRET }));
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    hubUrl = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  async function enroll(...args: string[]): Promise<{ exit: number; io: ReturnType<typeof cli>; box: string }> {
    const box = join(dir, `box-${++boxes}`);
    const io = cli();
    const exit = await enrollCommand(['--hub', hubUrl, '--dir', box, ...args], io);
    return { exit, io, box };
  }

  test('with --ca the hub is verified, and the secret, the CA and a config pointing at both are written', async () => {
    const { exit, io, box } = await enroll('--code', GOOD_CODE, '--ca', own.caFile);
    assert.equal(exit, 0, io.err);
    const config = parseYaml(readFileSync(join(box, 'agent.yaml'), 'utf8')) as { hub: { url: string; password: { file: string }; tls: { ca: string } } };
    assert.equal(config.hub.url, 'mqtts://127.0.0.1:8883');
    assert.equal(config.hub.tls.ca, join(box, 'hub-ca.pem'));
    assert.equal(readFileSync(config.hub.tls.ca, 'utf8'), own.caPem);
    assert.equal(readFileSync(config.hub.password.file, 'utf8'), `${SECRET}\n`);
    assert.equal(statSync(config.hub.password.file).mode & 0o777, 0o600);
    assert.equal(statSync(join(box, 'agent.yaml')).mode & 0o777, 0o600);
    assert.ok(!io.out.includes(SECRET));
  });

  test('with --ca-fingerprint the pinned CA from the presented chain verifies the hub and is kept for the agent', async () => {
    const fingerprint = new X509Certificate(own.caPem).fingerprint256; // AB:CD:… as operators copy it
    const { exit, io, box } = await enroll('--code', GOOD_CODE, '--ca-fingerprint', fingerprint);
    assert.equal(exit, 0, io.err);
    const kept = new X509Certificate(readFileSync(join(box, 'hub-ca.pem')));
    assert.equal(kept.fingerprint256, fingerprint);
  });

  test('a fingerprint that is not in the chain, another CA, or no CA at all is a certificate error; no file is written', async () => {
    const wrongPin = await enroll('--code', GOOD_CODE, '--ca-fingerprint', new X509Certificate(stranger.caPem).fingerprint256);
    assert.equal(wrongPin.exit, 1);
    assert.match(wrongPin.io.err, /does not contain the certificate with fingerprint .*this may not be your hub/);
    const otherCa = await enroll('--code', GOOD_CODE, '--ca', stranger.caFile);
    assert.equal(otherCa.exit, 1);
    assert.match(otherCa.io.err, /the hub's certificate is not trusted/);
    const systemCas = await enroll('--code', GOOD_CODE);
    assert.equal(systemCas.exit, 1);
    assert.match(systemCas.io.err, /not trusted .*pass the hub's CA with --ca or --ca-fingerprint/);
    for (const attempt of [wrongPin, otherCa, systemCas]) assert.equal(existsSync(join(attempt.box, 'agent.yaml')), false);
  });

  test("a refused code is reported with the hub's words and exit code 1", async () => {
    const { exit, io, box } = await enroll('--code', 'ZZZZZ-ZZZZZ', '--ca', own.caFile);
    assert.equal(exit, 1);
    assert.match(io.err, /the hub refused the code: code: this enrollment code is not valid/);
    assert.equal(existsSync(join(box, 'agent.yaml')), false);
  });
});

test('fingerprints are accepted with or without colons, in either case, and only at SHA-256 length', () => {
  const hex = 'ab'.repeat(32);
  assert.equal(normalizeFingerprint(hex.toUpperCase().match(/../g)!.join(':')), hex);
  assert.equal(normalizeFingerprint(hex), hex);
  assert.equal(normalizeFingerprint('ab'.repeat(20)), undefined);
  assert.equal(normalizeFingerprint(`${hex}zz`), undefined);
});
