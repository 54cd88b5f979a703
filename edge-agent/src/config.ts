/**
 * The agent's one configuration schema, composed of each component's own section, and how it is loaded:
 * a YAML file, then `PB_AGENT_*` environment overrides (e.g. `PB_AGENT_HUB__URL`), every problem reported at
 * once with its path. Secrets are referenced (`{ env: NAME }` or `{ file: PATH }`) and never printed.
 */
import { join } from 'node:path';
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { stringify as toYaml } from 'yaml';
import { AgentId } from '@pulsebridge/protocol';
import { ConfigError, LogConfig, SecretRef, TelemetryConfig, loadConfig, telemetryConfigProblems } from '@pulsebridge/runtime';
import { HealthConfig } from './health/health-server.ts';
import { OutboxConfig } from './outbox/outbox.ts';
import { SourcesConfig, sourcesConfigProblems } from './sources/registry.ts';
import { CA_FINGERPRINT_PATTERN } from './uplink/hub-certificate.ts';
import { UplinkConfig, hubConnectionProblems, uplinkConfigProblems } from './uplink/uplink.ts';

export const ENV_PREFIX = 'PB_AGENT_';
export const OUTBOX_FILE_NAME = 'outbox.db';

const TlsConfig = Type.Object(
  {
    ca: Type.Optional(Type.String({ minLength: 1, description: 'PEM file of the CA that signed the broker certificate (default: the system CAs)' })),
    cert: Type.Optional(Type.String({ minLength: 1, description: 'PEM file of this agent client certificate, for brokers that require one' })),
    key: Type.Optional(Type.String({ minLength: 1, description: 'PEM file of the private key of `cert`' })),
    rejectUnauthorized: Type.Boolean({ default: true, description: 'refuse brokers whose certificate does not verify; false only for testing' }),
    caFingerprint: Type.Optional(
      Type.String({
        pattern: CA_FINGERPRINT_PATTERN,
        description: "SHA-256 fingerprint of a CA that must be in the hub's verified chain (AB:CD:… as openssl prints it, or 64 hex digits)",
      }),
    ),
  },
  { additionalProperties: false },
);

const HubSection = Type.Object(
  {
    url: Type.String({ default: 'mqtt://127.0.0.1:1883', pattern: '^(mqtts?|wss?|tcp|tls|ssl)://[^\\s]+$', description: 'broker URL: mqtt://, mqtts:// (TLS), ws:// or wss://' }),
    password: SecretRef,
    topicRoot: Type.String({ default: 'pb', pattern: '^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$', description: 'first topic levels; must match the hub' }),
    protocolVersion: Type.Union([Type.Literal(5), Type.Literal(4)], { default: 5, description: 'MQTT 5, or 4 for 3.1.1; a broker that refuses 5 is retried with 4' }),
    tls: Type.Optional(TlsConfig),
  },
  { additionalProperties: false, default: {} },
);

const AgentSection = Type.Object(
  {
    id: AgentId,
    dataDir: Type.String({ minLength: 1, default: 'data/agent', description: 'where the agent keeps its state (the outbox)' }),
  },
  { additionalProperties: false, default: {} },
);

// The outbox's path defaults to a file under agent.dataDir, so it is optional here and filled in after loading.
const OutboxSection = Type.Composite(
  [
    Type.Omit(OutboxConfig, ['path']),
    Type.Object({ path: Type.Optional(Type.String({ minLength: 1, description: `SQLite file (default: <agent.dataDir>/${OUTBOX_FILE_NAME})` })) }),
  ],
  {
    additionalProperties: false,
    default: {},
  },
);

const ClockSection = Type.Object(
  {
    jumpThresholdMs: Type.Integer({
      minimum: 1,
      maximum: 86_400_000,
      default: 1_000,
      description: 'a wall-clock step larger than this, relative to the monotonic clock, is a jump',
    }),
  },
  { additionalProperties: false, default: {} },
);

export const AgentConfigSchema = Type.Object(
  {
    agent: AgentSection,
    hub: HubSection,
    uplink: UplinkConfig,
    outbox: OutboxSection,
    clock: ClockSection,
    health: HealthConfig,
    sources: SourcesConfig,
    log: LogConfig,
    telemetry: TelemetryConfig,
  },
  { additionalProperties: false },
);

type LoadedConfig = Static<typeof AgentConfigSchema>;

/** The effective configuration: every default applied and every derived value filled in. */
export type AgentConfig = Omit<LoadedConfig, 'outbox' | 'log'> & {
  outbox: LoadedConfig['outbox'] & { path: string };
  log: LoadedConfig['log'] & { pretty: boolean };
};

export interface LoadAgentConfigOptions {
  file?: string | undefined;
  env?: NodeJS.ProcessEnv | undefined;
  overrides?: Record<string, unknown> | undefined;
  /** Decides `log.pretty` when the configuration does not. */
  stdoutIsTTY?: boolean | undefined;
}

/** Each component's own checks: combinations no schema can express. */
function crossFieldProblems(config: LoadedConfig): string[] {
  return [
    ...uplinkConfigProblems(config.uplink, '/uplink'),
    ...hubConnectionProblems(config.hub, '/hub'),
    ...sourcesConfigProblems(config.sources, '/sources'),
    ...telemetryConfigProblems(config.telemetry, '/telemetry'),
  ];
}

export function loadAgentConfig(options: LoadAgentConfigOptions = {}): AgentConfig {
  const loaded = loadConfig(AgentConfigSchema, { file: options.file, env: options.env ?? process.env, envPrefix: ENV_PREFIX, overrides: options.overrides ?? {} });
  const problems = crossFieldProblems(loaded);
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    ...loaded,
    outbox: { ...loaded.outbox, path: loaded.outbox.path ?? join(loaded.agent.dataDir, OUTBOX_FILE_NAME) },
    log: { ...loaded.log, pretty: loaded.log.pretty ?? options.stdoutIsTTY === true },
  };
}

export const REDACTED = '[redacted]';

/** The configuration with every secret value replaced; references to secrets (env names, file paths) stay. */
export function redactConfig(config: AgentConfig): AgentConfig {
  const copy = structuredClone(config);
  if (typeof copy.hub.password === 'string') copy.hub.password = REDACTED;
  return copy;
}

/** Keys in the order the schema declares them, so printed configuration reads like the example file. */
function inSchemaOrder(schema: TSchema, value: unknown): unknown {
  const properties = (schema as { properties?: Record<string, TSchema> }).properties;
  if (!properties || value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const source = value as Record<string, unknown>;
  const ordered: Record<string, unknown> = {};
  for (const [key, property] of Object.entries(properties)) if (key in source) ordered[key] = inSchemaOrder(property, source[key]);
  for (const [key, v] of Object.entries(source)) if (!(key in ordered)) ordered[key] = v;
  return ordered;
}

export function configToYaml(config: AgentConfig): string {
  return toYaml(inSchemaOrder(AgentConfigSchema, redactConfig(config)));
}
