/**
 * The certificates of the hub's listeners, read (or, with `dev: true`, made by the development CA) once at
 * start, and the CA agents are told to trust. The configuration was checked at load (tls/config.ts).
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { Logger } from 'pino';
import type { HubConfig } from '../config.ts';
import type { ServerTls } from './config.ts';
import { devTlsDir } from './config.ts';
import { ensureDevCertificates, normalizeFingerprint, type DevCertificates } from './dev-ca.ts';

/** What node:tls, node:https and the embedded broker take. */
export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
}

/** The CA agents trust to verify the hub: its PEM certificate and fingerprints (see DevCertificates for the forms). */
export interface HubTrustAnchor {
  certificatePem: string;
  fingerprint: string;
  fingerprintHex: string;
}

export interface HubTls {
  /** HTTPS and WSS on the HTTP port; undefined serves plain HTTP. */
  http: TlsMaterial | undefined;
  /** MQTTS on the embedded broker's TCP port; undefined serves plain MQTT. */
  mqtt: TlsMaterial | undefined;
  /** The development CA's files, when a listener uses `dev: true`. */
  dev: DevCertificates | undefined;
  /** The dev CA, or the configured caFile (http.tls first); undefined when the certificates come from a CA agents already trust. */
  trustAnchor: HubTrustAnchor | undefined;
}

const ANY_ADDRESS = new Set(['0.0.0.0', '::', '[::]']);

/** The names agents may use for the hub that the configuration shows: listen addresses, mqtt.publicUrl, and the listed hosts. */
export function devCertificateHostsOf(config: Pick<HubConfig, 'http' | 'mqtt'>): string[] {
  const hosts = new Set<string>([...(config.http.tls?.hosts ?? []), ...(config.mqtt.tls?.hosts ?? [])]);
  for (const listen of [config.http.host, config.mqtt.host]) if (!ANY_ADDRESS.has(listen)) hosts.add(listen);
  if (config.mqtt.publicUrl !== undefined) {
    const host = new URL(config.mqtt.publicUrl).hostname.replace(/^\[(.*)\]$/, '$1');
    if (host !== '' && (isIP(host) || /^[A-Za-z0-9.-]+$/.test(host))) hosts.add(host);
  }
  return [...hosts];
}

function trustAnchorOf(certificatePem: string): HubTrustAnchor {
  const fingerprint = new X509Certificate(certificatePem).fingerprint256;
  return { certificatePem, fingerprint, fingerprintHex: normalizeFingerprint(fingerprint) };
}

/** Reads the certificate files, or ensures the development CA when a listener asks for it. */
export async function loadHubTls(config: Pick<HubConfig, 'hub' | 'http' | 'mqtt'>, log?: Logger): Promise<HubTls> {
  const mqttTls = config.mqtt.mode === 'embedded' && config.mqtt.tcp ? config.mqtt.tls : undefined;
  const wanted = [config.http.tls, mqttTls].filter((tls): tls is ServerTls => tls !== undefined);
  const dev = wanted.some((tls) => tls.dev === true) ? await ensureDevCertificates(devTlsDir(config.hub.dataDir), { hosts: devCertificateHostsOf(config) }) : undefined;
  if (dev) {
    const { created, caFingerprint, caCertFile } = dev;
    // A new CA means agents enrolled before must be given it again; say so where an operator looks.
    log?.[created.ca ? 'warn' : 'info']({ caCertFile, caFingerprint, created }, created.ca ? 'development CA created: agents must trust it' : 'development CA in use');
  }
  const material = (tls: ServerTls | undefined): TlsMaterial | undefined => {
    if (tls === undefined) return undefined;
    const files = tls.dev === true && dev ? dev : { certFile: tls.certFile!, keyFile: tls.keyFile! };
    return { cert: readFileSync(files.certFile), key: readFileSync(files.keyFile) };
  };
  const caFile = dev?.caCertFile ?? wanted.find((tls) => tls.caFile !== undefined)?.caFile;
  return {
    http: material(config.http.tls),
    mqtt: material(mqttTls),
    dev,
    trustAnchor: caFile === undefined ? undefined : trustAnchorOf(readFileSync(caFile, 'utf8')),
  };
}
