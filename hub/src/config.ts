/**
 * The hub's configuration: one schema, a YAML file, then `PB_HUB_*` environment overrides
 * (e.g. `PB_HUB_HTTP__PORT=9090`, `PB_HUB_API__ADMIN_TOKEN='{"env":"ADMIN_TOKEN"}'`).
 * Every problem is reported at once, each with its path. Secrets are SecretRefs, resolved when the hub starts.
 */
import { hostname } from 'node:os';
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { ConfigError, LogConfig, SecretRef, loadConfig, resolveSecret } from '@pulsebridge/runtime';
import { IngestConfig } from './ingest/ingest.ts';
import { SeriesConfig } from './storage/series/index.ts';

export const ENV_PREFIX = 'PB_HUB_';

const Port = (fallback: number, description: string) => Type.Integer({ minimum: 0, maximum: 65_535, default: fallback, description });

export const HubSection = Type.Object(
  {
    dataDir: Type.String({ minLength: 1, default: 'data/hub', description: 'Folder of the state database (hub.db) and embedded stores' }),
  },
  { additionalProperties: false, default: {} },
);

export const HttpSection = Type.Object(
  {
    host: Type.String({ minLength: 1, default: '0.0.0.0' }),
    port: Port(8080, 'API, probes, metrics and MQTT over WebSocket; 0 picks a free port'),
  },
  { additionalProperties: false, default: {} },
);

export const ExternalBrokerSection = Type.Object(
  {
    url: Type.String({ pattern: '^(mqtts?|wss?|tcp|ssl)://', default: 'mqtt://127.0.0.1:1883', description: 'The external broker' }),
    username: Type.Optional(Type.String({ minLength: 1, description: "The hub's own account on the broker" })),
    password: Type.Optional(SecretRef),
    clientId: Type.Optional(
      Type.String({ minLength: 1, maxLength: 128, description: 'Stable per replica, so its session survives a reconnect; default pulsebridge-hub-<hostname>' }),
    ),
    sharedSubscriptions: Type.Boolean({ default: true, description: 'Subscribe with $share/<shareGroup>/ so replicas split the load; off for brokers without them' }),
    shareGroup: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$', default: 'pulsebridge-hub' }),
    protocolVersion: Type.Union([Type.Literal(4), Type.Literal(5)], { default: 5, description: 'MQTT 5 (5) or 3.1.1 (4)' }),
    sessionExpirySeconds: Type.Integer({
      minimum: 0,
      maximum: 4_294_967_295,
      default: 3_600,
      description: 'How long the broker keeps queueing agent messages for a disconnected hub (MQTT 5)',
    }),
    keepaliveSeconds: Type.Integer({ minimum: 0, maximum: 65_535, default: 30 }),
    connectTimeoutMs: Type.Integer({ minimum: 100, default: 10_000 }),
    reconnectMinMs: Type.Integer({ minimum: 10, default: 500 }),
    reconnectMaxMs: Type.Integer({ minimum: 10, default: 30_000 }),
    publishTimeoutMs: Type.Integer({ minimum: 100, default: 10_000, description: 'How long an ack or command may wait for its PUBACK' }),
    caFile: Type.Optional(Type.String({ minLength: 1, description: "PEM file of the CA that signed the broker's certificate (mqtts, wss)" })),
  },
  { additionalProperties: false, default: {} },
);
export type ExternalBrokerSection = Static<typeof ExternalBrokerSection>;

export const MqttSection = Type.Object(
  {
    mode: Type.Union([Type.Literal('embedded'), Type.Literal('external')], { default: 'embedded' }),
    host: Type.String({ minLength: 1, default: '0.0.0.0', description: 'Embedded broker: TCP listen address' }),
    port: Port(1883, 'Embedded broker: TCP port; 0 picks a free port'),
    tcp: Type.Boolean({ default: true, description: 'Embedded broker: listen on TCP (else WebSocket only)' }),
    websocket: Type.Boolean({ default: true, description: 'Embedded broker: accept MQTT over WebSocket on the HTTP port' }),
    websocketPath: Type.String({ pattern: '^/', default: '/mqtt' }),
    maxPacketBytes: Type.Integer({ minimum: 1_024, maximum: 268_435_455, default: 1_048_576, description: 'Embedded broker: larger packets close the connection' }),
    tls: Type.Optional(
      Type.Object(
        { certFile: Type.String({ minLength: 1 }), keyFile: Type.String({ minLength: 1 }) },
        { additionalProperties: false, description: 'Embedded broker: serve MQTT over TLS on the TCP port' },
      ),
    ),
    publicUrl: Type.Optional(Type.String({ pattern: '^(mqtts?|wss?)://', description: 'How agents reach the broker; printed by `agent add`' })),
    external: ExternalBrokerSection,
  },
  { additionalProperties: false, default: {} },
);
export type MqttSection = Static<typeof MqttSection>;

export const TopicRoot = Type.String({ pattern: '^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$', default: 'pb', description: 'First topic levels, shared with every agent' });

export const HubConfig = Type.Object(
  {
    hub: HubSection,
    http: HttpSection,
    mqtt: MqttSection,
    topicRoot: TopicRoot,
    api: Type.Object(
      { adminToken: SecretRef },
      { additionalProperties: false },
    ),
    series: SeriesConfig,
    ingest: IngestConfig,
    log: LogConfig,
  },
  { additionalProperties: false },
);
export type HubConfig = Static<typeof HubConfig>;

/** What `agent add/list/remove` need: they work without an admin token or a running hub. */
export const AgentToolConfig = Type.Object({ hub: HubSection, mqtt: MqttSection, topicRoot: TopicRoot }, { additionalProperties: true });
export type AgentToolConfig = Static<typeof AgentToolConfig>;

export interface LoadHubConfigOptions {
  file?: string | undefined;
  env?: NodeJS.ProcessEnv;
  overrides?: Record<string, unknown>;
}

function load<T extends TSchema>(schema: T, options: LoadHubConfigOptions): Static<T> {
  return loadConfig(schema, { file: options.file, env: options.env ?? process.env, envPrefix: ENV_PREFIX, overrides: options.overrides });
}

/** Loads, checks and tries every secret, then throws one ConfigError listing every problem. */
export function loadHubConfig(options: LoadHubConfigOptions = {}): HubConfig {
  const config = load(HubConfig, options);
  const problems = checkHubConfig(config, options.env ?? process.env);
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

export function loadAgentToolConfig(options: LoadHubConfigOptions = {}): AgentToolConfig {
  return load(AgentToolConfig, options);
}

/** Rules across fields, and secrets that cannot be read; the schema has already passed. */
export function checkHubConfig(config: HubConfig, env: NodeJS.ProcessEnv = process.env): string[] {
  const problems: string[] = [];
  const trySecret = (path: string, ref: SecretRef | undefined): void => {
    if (ref === undefined) return;
    try {
      if (resolveSecret(ref, env) === '') problems.push(`${path}: the secret is empty`);
    } catch (err) {
      problems.push(`${path}: ${err instanceof ConfigError ? err.problems.join('; ') : (err as Error).message}`);
    }
  };
  trySecret('/api/adminToken', config.api.adminToken);
  if (config.series.kind === 'influx') trySecret('/series/influx/token', config.series.influx.token);
  const external = config.mqtt.external;
  if (config.mqtt.mode === 'external') {
    trySecret('/mqtt/external/password', external.password);
    if (external.password !== undefined && external.username === undefined) problems.push('/mqtt/external/password: set only together with /mqtt/external/username');
    if (external.reconnectMinMs > external.reconnectMaxMs) problems.push('/mqtt/external/reconnectMinMs: must not exceed reconnectMaxMs');
  }
  if (config.mqtt.mode === 'embedded' && !config.mqtt.tcp && !config.mqtt.websocket) {
    problems.push('/mqtt: the embedded broker needs tcp or websocket enabled, or agents cannot connect');
  }
  return problems;
}

/** The replica's client id on an external broker when none is configured. */
export function defaultHubClientId(): string {
  return `pulsebridge-hub-${hostname()}`.slice(0, 128);
}

/** The configuration as `--print-config` shows it: secrets written inline are masked, references kept. */
export function redactConfig(config: HubConfig): HubConfig {
  const mask = (ref: SecretRef): SecretRef => (typeof ref === 'string' ? '[redacted]' : ref);
  const copy = structuredClone(config);
  copy.api.adminToken = mask(copy.api.adminToken);
  if (copy.mqtt.external.password !== undefined) copy.mqtt.external.password = mask(copy.mqtt.external.password);
  if (copy.series.influx.token !== undefined) copy.series.influx.token = mask(copy.series.influx.token);
  return copy;
}
