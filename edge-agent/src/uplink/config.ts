/**
 * The uplink's configuration: its schema, the hub connection it is given, and the rules no schema expresses.
 * The agent's config loader runs `uplinkConfigProblems` and `hubConnectionProblems` so that every problem
 * is reported when the configuration loads; the uplink then trusts what it is given.
 */
import { readFileSync } from 'node:fs';
import { Type, type Static } from '@sinclair/typebox';

export const UplinkConfig = Type.Object(
  {
    window: Type.Integer({ minimum: 1, maximum: 64, default: 8, description: 'batches sent and not yet acknowledged by the hub, at most' }),
    maxBatchReadings: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 20_000, description: 'readings in one batch, at most' }),
    maxBatchBytes: Type.Integer({ minimum: 1_024, maximum: 16 * 1024 * 1024, default: 512 * 1024, description: 'stored bytes of the chunks in one batch, at most' }),
    liveBatchDelayMs: Type.Integer({ minimum: 0, maximum: 60_000, default: 1_000, description: 'how long fresh chunks wait to be merged into one batch' }),
    liveAgeMs: Type.Integer({ minimum: 0, maximum: 600_000, default: 5_000, description: 'chunks younger than this are live data and are not queued behind the backlog' }),
    ackTimeoutMs: Type.Integer({ minimum: 100, maximum: 600_000, default: 15_000, description: 'a batch not acknowledged within this is sent again' }),
    clockSyncWaitMs: Type.Integer({
      minimum: 0,
      maximum: 60_000,
      default: 5_000,
      description: 'after a connect, how long readings whose true time is unknown wait for the hub time answer before they are sent flagged; 0 sends them at once',
    }),
    statusIntervalMs: Type.Integer({ minimum: 100, maximum: 3_600_000, default: 10_000, description: 'how often the retained status is refreshed' }),
    reconnectMinMs: Type.Integer({ minimum: 10, maximum: 600_000, default: 500, description: 'shortest delay before reconnecting' }),
    reconnectMaxMs: Type.Integer({ minimum: 10, maximum: 3_600_000, default: 30_000, description: 'longest delay before reconnecting' }),
    connectTimeoutMs: Type.Integer({ minimum: 100, maximum: 600_000, default: 10_000, description: 'how long to wait for the broker to accept a connection' }),
    keepaliveS: Type.Integer({ minimum: 0, maximum: 65_535, default: 30, description: 'MQTT keepalive, seconds' }),
    inventoryDebounceMs: Type.Integer({ minimum: 0, maximum: 60_000, default: 500, description: 'sensor inventory changes within this are published once' }),
    stopTimeoutMs: Type.Integer({ minimum: 100, maximum: 60_000, default: 3_000, description: 'how long stopping may wait for the broker' }),
  },
  { additionalProperties: false, default: {} },
);
export type UplinkConfig = Static<typeof UplinkConfig>;

export type ProtocolVersion = 4 | 5;

export interface UplinkTls {
  /** Paths of PEM files, read when the uplink starts. */
  ca?: string | undefined;
  cert?: string | undefined;
  key?: string | undefined;
  rejectUnauthorized: boolean;
  /** SHA-256 of a CA that must be in the hub's verified chain. */
  caFingerprint?: string | undefined;
}

export interface UplinkConnection {
  url: string;
  /** The agent's own credentials: the username is its agent id. */
  password: string;
  topicRoot: string;
  /** MQTT 5 by default; a broker that refuses it (aedes speaks 3.1.1) is retried with 4 automatically. */
  protocolVersion: ProtocolVersion;
  tls?: UplinkTls | undefined;
}

/** Problems of the uplink section that no single field shows. */
export function uplinkConfigProblems(config: Pick<UplinkConfig, 'reconnectMinMs' | 'reconnectMaxMs'>, path: string): string[] {
  const problems: string[] = [];
  if (config.reconnectMaxMs < config.reconnectMinMs) {
    problems.push(`${path}/reconnectMaxMs: ${config.reconnectMaxMs} is below ${path}/reconnectMinMs (${config.reconnectMinMs})`);
  }
  return problems;
}

const TLS_URL = /^(mqtts|wss|tls|ssl):\/\//;

const TLS_FILES = [
  ['ca', 'CA certificate'],
  ['cert', 'client certificate'],
  ['key', 'client key'],
] as const;

/**
 * Problems of the hub connection: TLS settings on a plain URL, a certificate without its key, and TLS
 * files that cannot be read (checked now, so a typo in a path is a configuration error, not a failed start).
 */
export function hubConnectionProblems(hub: { url: string; tls?: UplinkTls | undefined }, path: string): string[] {
  const tls = hub.tls;
  if (!tls) return [];
  const problems: string[] = [];
  if (!TLS_URL.test(hub.url)) problems.push(`${path}/tls: TLS settings need an mqtts:// or wss:// URL, not ${hub.url}`);
  if ((tls.cert === undefined) !== (tls.key === undefined)) problems.push(`${path}/tls: cert and key go together`);
  if (tls.caFingerprint !== undefined && !tls.rejectUnauthorized) {
    problems.push(`${path}/tls/caFingerprint: checked only on a verified chain; not with ${path}/tls/rejectUnauthorized: false`);
  }
  for (const [field, what] of TLS_FILES) {
    const file = tls[field];
    if (file === undefined) continue;
    try {
      readFileSync(file);
    } catch (err) {
      problems.push(`${path}/tls/${field}: cannot read the ${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  return problems;
}
