/**
 * A development certificate authority for a hub without certificates of its own (the demo, a single box on a
 * LAN): created once in a folder, it signs the hub's server certificate, and agents trust it through
 * enrollment (its certificate, or its SHA-256 fingerprint). Not for production: the CA's private key lives on
 * the hub, next to the server key, so anyone who can read that folder can issue certificates agents accept.
 *
 * Files, all PEM, in `dir` (mode 0700): ca.pem, ca-key.pem (0600), server.pem, server-key.pem (0600).
 */
// @peculiar/x509 resolves its services through tsyringe, which needs the Reflect metadata API loaded first.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { X509Certificate, randomBytes, webcrypto } from 'node:crypto';

type CryptoKey = webcrypto.CryptoKey;
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';

// The global Web Crypto (node:crypto's webcrypto), typed the same whether or not a program also has the DOM library.
x509.cryptoProvider.set(crypto);

export const DEV_CA_FILES = {
  caCert: 'ca.pem',
  caKey: 'ca-key.pem',
  serverCert: 'server.pem',
  serverKey: 'server-key.pem',
} as const;

const KEY_ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGNING_ALGORITHM = { ...KEY_ALGORITHM, hash: 'SHA-256' } as const;
const DAY_MS = 86_400_000;
const CA_VALIDITY_DAYS = 3_650;
const SERVER_VALIDITY_DAYS = 365;
/** A server certificate with less left than this is replaced at the next start. */
const SERVER_RENEW_BEFORE_DAYS = 30;
/** Certificates start an hour in the past, so a peer whose clock lags a little still accepts them. */
const BACKDATE_MS = 3_600_000;

export interface DevCertificateOptions {
  /** Names (DNS) or addresses (IP) the server certificate must cover besides localhost, 127.0.0.1, ::1 and this machine's name. */
  hosts?: readonly string[] | undefined;
  /** Only for tests that move time. */
  now?: (() => Date) | undefined;
}

export interface DevCertificates {
  dir: string;
  /** The CA certificate agents trust (hand it to them: enrollment, hub.tls.ca). */
  caCertFile: string;
  /** The server certificate and its key, for HTTPS, WSS and MQTTS. */
  certFile: string;
  keyFile: string;
  /** SHA-256 of the CA certificate as `openssl x509 -fingerprint -sha256` prints it: upper-case hex pairs joined by colons. */
  caFingerprint: string;
  /** The same fingerprint as lower-case hex without separators. */
  caFingerprintHex: string;
  /** What this call did: a fresh CA means every agent has to be given the new one. */
  created: { ca: boolean; serverCertificate: boolean };
}

/** Lower-case hex without separators, from either fingerprint form (colons or not, any case). */
export function normalizeFingerprint(fingerprint: string): string {
  return fingerprint.replace(/:/g, '').toLowerCase();
}

/** The names and addresses the server certificate covers. */
export function devCertificateHosts(extra: readonly string[] = []): { dns: string[]; ip: string[] } {
  const dns = new Set<string>(['localhost']);
  const ip = new Set<string>(['127.0.0.1', '::1']);
  for (const host of [hostname(), ...extra]) {
    const bare = host.replace(/^\[(.*)\]$/, '$1');
    if (bare === '') continue;
    if (isIP(bare)) ip.add(bare);
    else dns.add(bare.toLowerCase());
  }
  return { dns: [...dns], ip: [...ip] };
}

/**
 * Creates the development CA and a server certificate in `dir` on the first call; later calls reuse them,
 * replacing only the server certificate when it nears expiry, lacks a requested host, or was not signed by
 * the CA in the folder. A CA whose files are missing or unreadable is created anew (with a new fingerprint).
 */
export async function ensureDevCertificates(dir: string, options: DevCertificateOptions = {}): Promise<DevCertificates> {
  const now = options.now?.() ?? new Date();
  const paths = {
    caCert: join(dir, DEV_CA_FILES.caCert),
    caKey: join(dir, DEV_CA_FILES.caKey),
    serverCert: join(dir, DEV_CA_FILES.serverCert),
    serverKey: join(dir, DEV_CA_FILES.serverKey),
  };
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // The folder may predate us with a looser mode; it holds the CA key.
  chmodSync(dir, 0o700);

  const hosts = devCertificateHosts(options.hosts);
  let ca = await readCa(paths.caCert, paths.caKey, now);
  const createdCa = ca === undefined;
  if (!ca) {
    ca = await createCa(now);
    writePem(paths.caKey, ca.keyPem, 0o600);
    writePem(paths.caCert, ca.cert.toString(), 0o644);
  }

  const renewServer = createdCa || serverCertificateProblem(paths.serverCert, paths.serverKey, ca.cert, hosts, now) !== undefined;
  if (renewServer) {
    const server = await createServerCertificate(ca, hosts, now);
    writePem(paths.serverKey, server.keyPem, 0o600);
    writePem(paths.serverCert, server.certPem, 0o644);
  }

  const fingerprint = ca.cert.fingerprint256;
  return {
    dir,
    caCertFile: paths.caCert,
    certFile: paths.serverCert,
    keyFile: paths.serverKey,
    caFingerprint: fingerprint,
    caFingerprintHex: normalizeFingerprint(fingerprint),
    created: { ca: createdCa, serverCertificate: renewServer },
  };
}

interface Ca {
  cert: X509Certificate;
  key: CryptoKey;
  keyPem: string;
}

async function readCa(certFile: string, keyFile: string, now: Date): Promise<Ca | undefined> {
  let certPem: string;
  let keyPem: string;
  try {
    certPem = readFileSync(certFile, 'utf8');
    keyPem = readFileSync(keyFile, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const cert = new X509Certificate(certPem);
    if (!cert.ca || new Date(cert.validTo).getTime() <= now.getTime()) return undefined;
    const key = await webcrypto.subtle.importKey('pkcs8', pemBody(keyPem), SIGNING_ALGORITHM, true, ['sign']);
    // A key that is not the certificate's would sign server certificates nobody can verify.
    const publicKey = cert.publicKey.export({ format: 'der', type: 'spki' });
    const derived = await webcrypto.subtle.exportKey('jwk', key);
    const fromCert = await webcrypto.subtle.exportKey('jwk', await webcrypto.subtle.importKey('spki', publicKey, KEY_ALGORITHM, true, ['verify']));
    if (derived.x !== fromCert.x || derived.y !== fromCert.y) return undefined;
    return { cert, key, keyPem };
  } catch {
    return undefined;
  }
}

async function createCa(now: Date): Promise<Ca> {
  const keys = await webcrypto.subtle.generateKey(SIGNING_ALGORITHM, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: `CN=Pulsebridge development CA (${hostname()}), O=Pulsebridge`,
    notBefore: new Date(now.getTime() - BACKDATE_MS),
    notAfter: new Date(now.getTime() + CA_VALIDITY_DAYS * DAY_MS),
    signingAlgorithm: SIGNING_ALGORITHM,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert: new X509Certificate(cert.toString('pem')), key: keys.privateKey, keyPem: await privateKeyPem(keys.privateKey) };
}

async function createServerCertificate(ca: Ca, hosts: { dns: string[]; ip: string[] }, now: Date): Promise<{ certPem: string; keyPem: string }> {
  const keys = await webcrypto.subtle.generateKey(SIGNING_ALGORITHM, true, ['sign', 'verify']);
  const issuer = new x509.X509Certificate(ca.cert.raw);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject: `CN=${hosts.dns[0] ?? 'localhost'}, O=Pulsebridge`,
    issuer: issuer.subject,
    notBefore: new Date(now.getTime() - BACKDATE_MS),
    notAfter: new Date(now.getTime() + SERVER_VALIDITY_DAYS * DAY_MS),
    signingAlgorithm: SIGNING_ALGORITHM,
    publicKey: keys.publicKey,
    signingKey: ca.key,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([...hosts.dns.map((value) => ({ type: 'dns' as const, value })), ...hosts.ip.map((value) => ({ type: 'ip' as const, value }))]),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(issuer),
    ],
  });
  return { certPem: cert.toString('pem'), keyPem: await privateKeyPem(keys.privateKey) };
}

/** Why the server certificate in the folder cannot be kept, or undefined when it can. */
function serverCertificateProblem(certFile: string, keyFile: string, ca: X509Certificate, hosts: { dns: string[]; ip: string[] }, now: Date): string | undefined {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(readFileSync(certFile));
    readFileSync(keyFile);
  } catch {
    return 'missing or unreadable';
  }
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) return 'not signed by the CA';
  if (new Date(cert.validTo).getTime() - now.getTime() < SERVER_RENEW_BEFORE_DAYS * DAY_MS) return 'expires soon';
  const missing = [...hosts.dns.filter((dns) => cert.checkHost(dns) === undefined), ...hosts.ip.filter((ip) => cert.checkIP(ip) === undefined)];
  if (missing.length > 0) return `does not cover ${missing.join(', ')}`;
  return undefined;
}

/** A positive 128-bit serial (the top bit cleared: DER integers are signed). */
function serialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = bytes[0]! & 0x7f;
  return bytes.toString('hex');
}

async function privateKeyPem(key: CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', key), 'PRIVATE KEY');
}

function pemBody(pem: string): ArrayBuffer {
  const [der] = x509.PemConverter.decode(pem);
  if (!der) throw new Error('no PEM block');
  return der;
}

/** Written beside the target, then renamed over it, so a crash never leaves half a key. */
function writePem(file: string, pem: string, mode: number): void {
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, pem.endsWith('\n') ? pem : `${pem}\n`, { mode });
  chmodSync(temporary, mode);
  renameSync(temporary, file);
}
