import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEV_CA_FILES, ensureDevCertificates, normalizeFingerprint } from '../../src/tls/dev-ca.ts';

const DAY_MS = 86_400_000;
const openssl = ['/usr/bin/openssl', '/usr/local/bin/openssl'].find((path) => existsSync(path));

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'pb-dev-ca-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const mode = (path: string): number => statSync(path).mode & 0o777;

test('the first call creates a CA and a server certificate; the second reuses both with the same fingerprint', async (t) => {
  const dir = join(tempDir(t), 'tls');
  const first = await ensureDevCertificates(dir);
  assert.deepEqual(first.created, { ca: true, serverCertificate: true });
  const caPem = readFileSync(first.caCertFile, 'utf8');
  const serverPem = readFileSync(first.certFile, 'utf8');

  const second = await ensureDevCertificates(dir);
  assert.deepEqual(second.created, { ca: false, serverCertificate: false });
  assert.equal(second.caFingerprint, first.caFingerprint);
  assert.equal(readFileSync(second.caCertFile, 'utf8'), caPem);
  assert.equal(readFileSync(second.certFile, 'utf8'), serverPem);
});

test('keys are readable by the owner only (0600) and the folder is 0700, even when it existed with a looser mode', async (t) => {
  const dir = tempDir(t);
  const result = await ensureDevCertificates(dir);
  assert.equal(mode(dir), 0o700);
  assert.equal(mode(join(dir, DEV_CA_FILES.caKey)), 0o600);
  assert.equal(mode(result.keyFile), 0o600);
  assert.equal(mode(result.caCertFile), 0o644);
  assert.equal(mode(result.certFile), 0o644);
  assert.deepEqual(
    [result.caCertFile, result.certFile, result.keyFile].map((file) => file.startsWith(dir)),
    [true, true, true],
  );
});

test('the CA is an ECDSA P-256 CA for ten years; the server certificate is signed by it for a year, for serverAuth, naming localhost, this host, loopback and the given hosts', async (t) => {
  const dir = tempDir(t);
  const result = await ensureDevCertificates(dir, { hosts: ['hub.gym.example', '10.20.30.40', '[fd00::1]'] });
  const ca = new X509Certificate(readFileSync(result.caCertFile));
  const server = new X509Certificate(readFileSync(result.certFile));
  assert.equal(ca.ca, true);
  assert.equal(ca.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  const caYears = (Date.parse(ca.validTo) - Date.parse(ca.validFrom)) / (365 * DAY_MS);
  assert.ok(caYears > 9.9 && caYears < 10.1, `CA valid for ${caYears} years`);
  const caExtensions = new x509.X509Certificate(ca.raw);
  assert.equal(caExtensions.getExtension(x509.BasicConstraintsExtension)?.critical, true);
  const caUsages = caExtensions.getExtension(x509.KeyUsagesExtension)?.usages ?? 0;
  assert.ok(caUsages & x509.KeyUsageFlags.keyCertSign, 'keyCertSign');

  assert.equal(server.ca, false);
  assert.ok(server.checkIssued(ca) && server.verify(ca.publicKey), 'signed by the CA');
  assert.equal(server.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  const serverDays = (Date.parse(server.validTo) - Date.parse(server.validFrom)) / DAY_MS;
  assert.ok(serverDays > 360 && serverDays < 370, `server certificate valid for ${serverDays} days`);
  assert.deepEqual(server.keyUsage, ['1.3.6.1.5.5.7.3.1']);
  for (const dns of ['localhost', hostname().toLowerCase(), 'hub.gym.example']) assert.equal(server.checkHost(dns), dns, dns);
  for (const ip of ['127.0.0.1', '::1', '10.20.30.40', 'fd00::1']) assert.ok(server.checkIP(ip), ip);
  assert.equal(server.checkHost('other.example'), undefined);
  assert.ok(server.checkPrivateKey(createPrivateKey(readFileSync(result.keyFile))), 'the key file is the certificate key');
});

test('the fingerprint is given as openssl prints it and as lower-case hex', { skip: openssl ? false : 'openssl not installed' }, async (t) => {
  const result = await ensureDevCertificates(tempDir(t));
  const printed = execFileSync(openssl!, ['x509', '-in', result.caCertFile, '-noout', '-fingerprint', '-sha256'], { encoding: 'utf8' });
  assert.equal(printed.trim().split('=')[1], result.caFingerprint);
  assert.match(result.caFingerprintHex, /^[0-9a-f]{64}$/);
  assert.equal(result.caFingerprintHex, normalizeFingerprint(result.caFingerprint));
  execFileSync(openssl!, ['verify', '-CAfile', result.caCertFile, result.certFile]);
});

test('a host the server certificate lacks renews it and keeps the CA', async (t) => {
  const dir = tempDir(t);
  const first = await ensureDevCertificates(dir);
  const renewed = await ensureDevCertificates(dir, { hosts: ['new-name.example'] });
  assert.deepEqual(renewed.created, { ca: false, serverCertificate: true });
  assert.equal(renewed.caFingerprint, first.caFingerprint);
  assert.equal(new X509Certificate(readFileSync(renewed.certFile)).checkHost('new-name.example'), 'new-name.example');
  const again = await ensureDevCertificates(dir, { hosts: ['new-name.example'] });
  assert.equal(again.created.serverCertificate, false, 'a covered host does not renew it again');
});

test('a server certificate near its expiry is renewed with the same CA; one with months left is kept', async (t) => {
  const dir = tempDir(t);
  const first = await ensureDevCertificates(dir);
  const inFiveMonths = await ensureDevCertificates(dir, { now: () => new Date(Date.now() + 150 * DAY_MS) });
  assert.equal(inFiveMonths.created.serverCertificate, false);
  const inElevenMonths = await ensureDevCertificates(dir, { now: () => new Date(Date.now() + 340 * DAY_MS) });
  assert.deepEqual(inElevenMonths.created, { ca: false, serverCertificate: true });
  assert.equal(inElevenMonths.caFingerprint, first.caFingerprint);
  assert.ok(Date.parse(new X509Certificate(readFileSync(inElevenMonths.certFile)).validTo) > Date.now() + 700 * DAY_MS);
});

test('a damaged CA key is replaced by a new CA, and the server certificate is reissued by it', async (t) => {
  const dir = tempDir(t);
  const first = await ensureDevCertificates(dir);
  writeFileSync(join(dir, DEV_CA_FILES.caKey), 'not a key');
  const second = await ensureDevCertificates(dir);
  assert.deepEqual(second.created, { ca: true, serverCertificate: true });
  assert.notEqual(second.caFingerprint, first.caFingerprint);
  const ca = new X509Certificate(readFileSync(second.caCertFile));
  assert.ok(new X509Certificate(readFileSync(second.certFile)).verify(ca.publicKey));
});

test('a server certificate from another CA in the folder is reissued by the folder CA', async (t) => {
  const dir = tempDir(t);
  const other = await ensureDevCertificates(tempDir(t));
  await ensureDevCertificates(dir);
  writeFileSync(join(dir, DEV_CA_FILES.serverCert), readFileSync(other.certFile));
  writeFileSync(join(dir, DEV_CA_FILES.serverKey), readFileSync(other.keyFile));
  const result = await ensureDevCertificates(dir);
  assert.deepEqual(result.created, { ca: false, serverCertificate: true });
  assert.ok(new X509Certificate(readFileSync(result.certFile)).verify(new X509Certificate(readFileSync(result.caCertFile)).publicKey));
});
