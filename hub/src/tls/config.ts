/**
 * How a listener of the hub (HTTPS and WSS on the HTTP port, MQTTS on the embedded broker's TCP port) gets its
 * certificate: PEM files by path, or the development CA in <hub.dataDir>/tls (dev-ca.ts). The schema, and the
 * rules across its fields, including the files the hub will read at start.
 */
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Type, type Static } from '@sinclair/typebox';

export const ServerTls = Type.Object(
  {
    dev: Type.Optional(
      Type.Boolean({ description: 'Use the development CA in <hub.dataDir>/tls, created on the first start (not for production); instead of certFile and keyFile' }),
    ),
    certFile: Type.Optional(Type.String({ minLength: 1, description: 'PEM file of the server certificate, optionally followed by its intermediate CAs' })),
    keyFile: Type.Optional(Type.String({ minLength: 1, description: 'PEM file of the private key of certFile' })),
    caFile: Type.Optional(Type.String({ minLength: 1, description: 'PEM file of the CA that signed certFile, for agents to trust (enrollment hands it out)' })),
    hosts: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), { description: 'With dev: more names or addresses for the certificate, besides localhost, 127.0.0.1, ::1 and the hostname' }),
    ),
  },
  { additionalProperties: false },
);
export type ServerTls = Static<typeof ServerTls>;

/** Where `dev: true` keeps the development CA and the server certificate it signed. */
export function devTlsDir(dataDir: string): string {
  return join(dataDir, 'tls');
}

/** Why a file could not be used: missing, unreadable, or not what it should hold. */
function unusable(err: unknown, what: string): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES' || code === 'EPERM' || code === 'EISDIR') return 'cannot be read';
  return `not ${what}`;
}

/**
 * Problems of one TLS setting: dev and files mixed or missing, and files that cannot be read or parsed, or a
 * key that is not the certificate's (each found now, at load, rather than as a failed start).
 */
export function serverTlsProblems(tls: ServerTls, path: string): string[] {
  const problems: string[] = [];
  if (tls.dev === true) {
    for (const field of ['certFile', 'keyFile', 'caFile'] as const) {
      if (tls[field] !== undefined) problems.push(`${path}/${field}: not with ${path}/dev: true, which makes its own certificate`);
    }
    return problems;
  }
  if (tls.hosts !== undefined) problems.push(`${path}/hosts: only with ${path}/dev: true; a certificate from a file names its own hosts`);
  if (tls.certFile === undefined) problems.push(`${path}/certFile: required unless ${path}/dev is true`);
  if (tls.keyFile === undefined) problems.push(`${path}/keyFile: required unless ${path}/dev is true`);

  let cert: X509Certificate | undefined;
  let key: KeyObject | undefined;
  if (tls.certFile !== undefined) {
    try {
      cert = new X509Certificate(readFileSync(tls.certFile));
    } catch (err) {
      problems.push(`${path}/certFile: ${tls.certFile}: ${unusable(err, 'a PEM certificate')}`);
    }
  }
  if (tls.keyFile !== undefined) {
    try {
      key = createPrivateKey(readFileSync(tls.keyFile));
    } catch (err) {
      problems.push(`${path}/keyFile: ${tls.keyFile}: ${unusable(err, 'a PEM private key without a passphrase')}`);
    }
  }
  if (cert && key && !cert.checkPrivateKey(key)) problems.push(`${path}/keyFile: ${tls.keyFile}: not the private key of ${tls.certFile}`);
  if (tls.caFile !== undefined) {
    try {
      new X509Certificate(readFileSync(tls.caFile));
    } catch (err) {
      problems.push(`${path}/caFile: ${tls.caFile}: ${unusable(err, 'a PEM certificate')}`);
    }
  }
  return problems;
}
