/**
 * `pulsebridge-agent enroll`: exchanges a one-time enrollment code for the agent's credentials at the hub's
 * /api/v1/enroll, and writes what the agent needs to run: its secret (mode 0600), the hub's CA when there is
 * one, and agent.yaml (mode 0600). Over HTTPS the hub is verified first: against --ca, against the CA
 * certificate pinned by --ca-fingerprint, or against the system CAs. The code is spent by the hub once
 * redeemed, so everything that can be checked locally is checked before it is sent.
 */
import { X509Certificate, createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { dirname, join, resolve } from 'node:path';
import { connect as tlsConnect, type DetailedPeerCertificate } from 'node:tls';
import { parseArgs } from 'node:util';
import { stringify as toYaml } from 'yaml';
import { EXIT_CONFIG, EXIT_FAILURE, EXIT_OK, PulsebridgeError, errorMessage, type CliIo } from '@pulsebridge/runtime';

export const ENROLL_USAGE = `Usage: pulsebridge-agent enroll --hub URL --code CODE [--ca FILE | --ca-fingerprint SHA256] [--dir DIR] [--config FILE] [--force]

Exchanges a one-time enrollment code (from the hub's admin) for this box's credentials and writes its
configuration. The code works once and expires after a few minutes.

Options:
      --hub URL               the hub's address, https://hub.example (http:// only for tests: the secret travels in clear)
      --code CODE             the enrollment code, e.g. ABCDE-FGHJK
      --ca FILE               PEM of the CA that signed the hub's certificate (default: the system CAs)
      --ca-fingerprint HEX    SHA-256 fingerprint of the hub's CA certificate, to trust it without a file
      --dir DIR               where the secret and the CA are written (default: the current directory)
      --config FILE           the configuration to write (default: DIR/agent.yaml)
      --force                 replace an existing configuration
  -h, --help                  print this help and exit

Exit codes: 0 enrolled, 2 wrong arguments or an existing configuration, 1 the hub refused the code, could not
be reached or presented a certificate that does not match.
`;

const REQUEST_TIMEOUT_MS = 15_000;
/** The certificate checks Node reports when a hub's certificate does not verify. */
const CERTIFICATE_ERRORS = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|ERR_TLS/;

type EnrollErrorCode = 'refused' | 'unreachable' | 'certificate' | 'hub';

/** Why enrollment failed, in words for the operator at the box. */
export class EnrollError extends PulsebridgeError<EnrollErrorCode> {}

/** What the hub answers; see the hub's api/agent-admin-schemas.ts (Enrolled). */
export interface Enrollment {
  agentId: string;
  gym: string;
  mqttUrl: string;
  topicRoot: string;
  secret: string;
  caPem?: string;
  caFingerprint?: string;
}

export interface EnrolledFiles {
  config: string;
  secret: string;
  ca: string | undefined;
}

/** The configuration of an enrolled agent: the same shape the hub's `agent add` prints (hub/src/enrollment.ts). */
export function enrolledAgentConfig(options: { agentId: string; url: string; secretFile: string; topicRoot: string; caFile?: string | undefined }): Record<string, unknown> {
  const hub: Record<string, unknown> = { url: options.url, password: { file: options.secretFile }, topicRoot: options.topicRoot };
  if (options.caFile !== undefined) hub['tls'] = { ca: options.caFile };
  return { agent: { id: options.agentId }, hub, sources: { simulator: { enabled: false } } };
}

/** `AB:CD:…` or `abcd…` to lowercase hex; undefined unless it is 32 bytes. */
export function normalizeFingerprint(text: string): string | undefined {
  const hex = text.replace(/[:\s]/g, '').toLowerCase();
  return /^[0-9a-f]{64}$/.test(hex) ? hex : undefined;
}

function fingerprintOf(der: Buffer): string {
  return createHash('sha256').update(der).digest('hex');
}

function toPem(der: Buffer): string {
  const base64 = der.toString('base64').replace(/.{64}/g, '$&\n');
  return `-----BEGIN CERTIFICATE-----\n${base64.endsWith('\n') ? base64 : `${base64}\n`}-----END CERTIFICATE-----\n`;
}

/**
 * The certificate of the presented chain whose SHA-256 is `fingerprint`, as PEM. The chain is read without
 * verification; the request that follows verifies the hub against this certificate as its only CA, with the
 * host name check, so a chain that merely contains the pinned certificate is not enough.
 */
async function pinnedCertificate(url: URL, fingerprint: string): Promise<string> {
  const port = Number(url.port || 443);
  const chain = await new Promise<DetailedPeerCertificate>((resolvePeer, reject) => {
    const socket = tlsConnect({ host: url.hostname, port, servername: isIp(url.hostname) ? undefined : url.hostname, rejectUnauthorized: false }, () => {
      const peer = socket.getPeerCertificate(true);
      socket.end();
      resolvePeer(peer);
    });
    socket.setTimeout(REQUEST_TIMEOUT_MS, () => socket.destroy(new Error(`no TLS handshake within ${REQUEST_TIMEOUT_MS} ms`)));
    socket.once('error', (err) => reject(new EnrollError('unreachable', `cannot reach the hub at ${url.origin}: ${errorMessage(err)}`, { cause: err })));
  });
  const seen = new Set<string>();
  for (let cert: DetailedPeerCertificate | undefined = chain; cert?.raw && !seen.has(cert.fingerprint256); cert = cert.issuerCertificate) {
    seen.add(cert.fingerprint256);
    if (fingerprintOf(cert.raw) === fingerprint) return toPem(cert.raw);
  }
  throw new EnrollError('certificate', `the hub's certificate chain does not contain the certificate with fingerprint ${fingerprint}: this may not be your hub`);
}

function isIp(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(':');
}

/** POSTs the code; the answer's JSON, or an EnrollError that says what went wrong. */
async function redeem(url: URL, code: string, ca: string | undefined): Promise<Enrollment> {
  const endpoint = new URL('api/v1/enroll', url.href.endsWith('/') ? url.href : `${url.href}/`);
  const body = JSON.stringify({ code });
  const send = endpoint.protocol === 'https:' ? httpsRequest : httpRequest;
  const response = await new Promise<{ status: number; text: string }>((resolveResponse, reject) => {
    const req = send(
      endpoint,
      {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), Accept: 'application/json' },
        ...(ca === undefined ? {} : { ca }),
        timeout: REQUEST_TIMEOUT_MS,
      },
      (res: IncomingMessage) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolveResponse({ status: res.statusCode ?? 0, text }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms`)));
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (CERTIFICATE_ERRORS.test(err.code ?? '')) {
        reject(
          new EnrollError('certificate', `the hub's certificate is not trusted (${err.code}: ${err.message}); pass the hub's CA with --ca or --ca-fingerprint`, { cause: err }),
        );
      } else {
        reject(new EnrollError('unreachable', `cannot reach the hub at ${url.origin}: ${err.code ?? err.message}`, { cause: err }));
      }
    });
    req.end(body);
  });
  let parsed: unknown;
  try {
    parsed = JSON.parse(response.text);
  } catch {
    parsed = undefined;
  }
  if (response.status === 200 && isEnrollment(parsed)) return parsed;
  const detail = typeof (parsed as { detail?: unknown } | undefined)?.detail === 'string' ? (parsed as { detail: string }).detail : response.text.slice(0, 200);
  if (response.status === 400 || response.status === 404) throw new EnrollError('refused', `the hub refused the code: ${detail}`);
  throw new EnrollError('hub', `the hub answered ${response.status}${detail ? `: ${detail}` : ''}; is ${url.origin} a Pulsebridge hub?`);
}

function isEnrollment(value: unknown): value is Enrollment {
  const v = value as Partial<Enrollment> | undefined;
  return typeof v === 'object' && v !== null && [v.agentId, v.gym, v.mqttUrl, v.topicRoot, v.secret].every((field) => typeof field === 'string' && field !== '');
}

/** Writes a file with this mode even when it existed before (writeFileSync's mode only applies on creation). */
function writePrivate(path: string, text: string, mode: number): void {
  writeFileSync(path, text, { mode });
  chmodSync(path, mode);
}

/** Writes the secret, the CA (if any) and the configuration; returns their paths. */
export function writeEnrollment(enrollment: Enrollment, options: { dir: string; config: string; caPem: string | undefined }): EnrolledFiles {
  mkdirSync(options.dir, { recursive: true, mode: 0o700 });
  mkdirSync(dirname(options.config), { recursive: true, mode: 0o700 });
  const secret = join(options.dir, `${enrollment.agentId}.secret`);
  writePrivate(secret, `${enrollment.secret}\n`, 0o600);
  let ca: string | undefined;
  if (options.caPem !== undefined) {
    ca = join(options.dir, 'hub-ca.pem');
    writePrivate(ca, options.caPem, 0o644);
  }
  const config = enrolledAgentConfig({ agentId: enrollment.agentId, url: enrollment.mqttUrl, secretFile: secret, topicRoot: enrollment.topicRoot, caFile: ca });
  writePrivate(options.config, toYaml(config), 0o600);
  return { config: options.config, secret, ca };
}

export async function enrollCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const usage = (message: string): number => {
    io.stderr(`pulsebridge-agent enroll: ${message}\n\n${ENROLL_USAGE}`);
    return EXIT_CONFIG;
  };
  let values: { hub?: string; code?: string; ca?: string; 'ca-fingerprint'?: string; dir?: string; config?: string; force?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        hub: { type: 'string' },
        code: { type: 'string' },
        ca: { type: 'string' },
        'ca-fingerprint': { type: 'string' },
        dir: { type: 'string' },
        config: { type: 'string', short: 'c' },
        force: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    return usage(errorMessage(err));
  }
  if (values.help) {
    io.stdout(ENROLL_USAGE);
    return EXIT_OK;
  }
  if (!values.hub) return usage('--hub is required');
  if (!values.code) return usage('--code is required');
  let hub: URL;
  try {
    hub = new URL(values.hub);
  } catch {
    return usage(`--hub: not a URL: ${values.hub}`);
  }
  if (hub.protocol !== 'https:' && hub.protocol !== 'http:') return usage(`--hub: must be https:// (or http:// for a test hub), not ${hub.protocol}`);
  if (values.ca !== undefined && values['ca-fingerprint'] !== undefined) return usage('give --ca or --ca-fingerprint, not both');
  if (hub.protocol === 'http:' && (values.ca !== undefined || values['ca-fingerprint'] !== undefined)) return usage('--ca and --ca-fingerprint need an https:// hub');
  const pinned = values['ca-fingerprint'] === undefined ? undefined : normalizeFingerprint(values['ca-fingerprint']);
  if (values['ca-fingerprint'] !== undefined && pinned === undefined) return usage('--ca-fingerprint: expected 64 hex digits (SHA-256), colons allowed');
  let caFromFile: string | undefined;
  if (values.ca !== undefined) {
    try {
      caFromFile = readFileSync(values.ca, 'utf8');
      new X509Certificate(caFromFile);
    } catch (err) {
      return usage(`--ca: cannot read a PEM certificate from ${values.ca}: ${errorMessage(err)}`);
    }
  }
  const dir = resolve(values.dir ?? '.');
  const config = resolve(values.config ?? join(dir, 'agent.yaml'));
  // Checked before the code is sent: a spent code cannot be taken back.
  if (existsSync(config) && !values.force) return usage(`${config} exists; pass --force to replace it`);

  if (hub.protocol === 'http:') io.stderr('pulsebridge-agent enroll: warning: http:// carries the secret unencrypted; use https:// outside a test\n');
  try {
    const ca = caFromFile ?? (pinned === undefined ? undefined : await pinnedCertificate(hub, pinned));
    const enrollment = await redeem(hub, values.code, ca);
    // The CA this enrollment verified the hub with is the one to keep; else the one the hub hands out.
    const files = writeEnrollment(enrollment, { dir, config, caPem: ca ?? enrollment.caPem });
    io.stdout(
      `Enrolled agent ${enrollment.agentId} for gym ${enrollment.gym}.\n` +
        `  secret: ${files.secret} (mode 0600)\n` +
        (files.ca ? `  hub CA: ${files.ca}\n` : '') +
        `  config: ${files.config} (mode 0600)\n` +
        `Start it with: pulsebridge-agent --config ${files.config}\n`,
    );
    return EXIT_OK;
  } catch (err) {
    if (err instanceof EnrollError) {
      io.stderr(`pulsebridge-agent enroll: ${err.message}\n`);
      return EXIT_FAILURE;
    }
    io.stderr(`pulsebridge-agent enroll: ${errorMessage(err)}\n`);
    return EXIT_FAILURE;
  }
}
