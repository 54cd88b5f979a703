/**
 * The hub's configuration: one schema, a YAML file, then `PB_HUB_*` environment overrides
 * (e.g. `PB_HUB_HTTP__PORT=9090`, `PB_HUB_IDENTITY__STORE__POSTGRES__URL='{"env":"PG_URL"}'`).
 * Every problem is reported at once, each with its path. Secrets are SecretRefs, resolved when the hub starts.
 */
import { hostname } from 'node:os';
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { ConfigError, LogConfig, SecretRef, TelemetryConfig, errorMessage, loadConfig, resolveSecret, telemetryConfigProblems } from '@pulsebridge/runtime';
import { MqttSection, Port, mqttConfigProblems } from './broker/config.ts';
import { IdentityStoreConfig, identityStoreConfigProblems } from './identity/index.ts';
import { DocumentsConfig, documentsConfigProblems } from './documents/index.ts';
import { ImagesConfig } from './images/config.ts';
import { IdentitySection, identityConfigProblems, identitySecretRefs, webClientProblems } from './oidc/config.ts';
import { trustedIssuerSecretRefs } from './auth/config.ts';
import { IngestConfig, ingestConfigProblems } from './ingest/ingest.ts';
import { SeriesConfig, seriesConfigProblems } from './storage/series/index.ts';
import { ServerTls, serverTlsProblems } from './tls/config.ts';
import { CorsConfig, corsConfigProblems } from './api/hardening.ts';
import { DeepLinksConfig, deepLinksConfigProblems } from './api/deep-links.ts';
import { WebConfig, webConfigProblems } from './web/web-app.ts';
import { RateLimitsConfig, rateLimitConfigProblems } from './auth/rate-limits-config.ts';
import { WebhookUrlConfig, webhookUrlConfigProblems } from './webhooks/url-guard.ts';
import { SessionsConfig } from './domain/sessions/config.ts';
import { ShutdownConfig, shutdownConfigProblems } from './shutdown-config.ts';
import { RedisConfig, redisConfigProblems, redisNeeded, type RedisUsers } from './redis/config.ts';
import { LiveConfig } from './live/live-bus.ts';
import { CacheConfig } from './cache/cache.ts';
import { StateConfig, stateConfigProblems } from './registry/state-config.ts';

export const ENV_PREFIX = 'PB_HUB_';

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
    tls: Type.Optional(
      Type.Composite([ServerTls], {
        additionalProperties: false,
        description: 'Serve HTTPS (and MQTT over WSS) on the HTTP port: certFile and keyFile, or dev: true for the development CA in <hub.dataDir>/tls',
      }),
    ),
    cors: CorsConfig,
  },
  { additionalProperties: false, default: {} },
);

export { ExternalBrokerSection, MqttSection } from './broker/config.ts';

export const TopicRoot = Type.String({ pattern: '^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$', default: 'pb', description: 'First topic levels, shared with every agent' });

export const HubConfig = Type.Object(
  {
    hub: HubSection,
    http: HttpSection,
    mqtt: MqttSection,
    topicRoot: TopicRoot,
    identity: Type.Object({ ...IdentitySection.properties, store: IdentityStoreConfig }, { additionalProperties: false, default: {} }),
    series: SeriesConfig,
    documents: DocumentsConfig,
    images: ImagesConfig,
    ingest: IngestConfig,
    rateLimits: RateLimitsConfig,
    deepLinks: DeepLinksConfig,
    web: WebConfig,
    webhooks: WebhookUrlConfig,
    sessions: SessionsConfig,
    shutdown: ShutdownConfig,
    redis: RedisConfig,
    live: LiveConfig,
    cache: CacheConfig,
    state: StateConfig,
    log: LogConfig,
    telemetry: TelemetryConfig,
  },
  { additionalProperties: false },
);
export type HubConfig = Static<typeof HubConfig>;

/** What `admin create` needs: the identity store, without a running hub. */
export const AdminToolConfig = Type.Object(
  { hub: HubSection, identity: Type.Object({ store: IdentityStoreConfig }, { additionalProperties: true, default: {} }) },
  { additionalProperties: true },
);
export type AdminToolConfig = Static<typeof AdminToolConfig>;

/** What `agent add/list/remove` need: they work without an admin token or a running hub. `http` gives the WebSocket URL. */
export const AgentToolConfig = Type.Object({ hub: HubSection, http: HttpSection, mqtt: MqttSection, topicRoot: TopicRoot, state: StateConfig }, { additionalProperties: true });
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
  const config = load(AgentToolConfig, options);
  const problems = stateConfigProblems(config.state, '/state');
  if (config.state.store === 'postgres' && config.state.postgres.url !== undefined) {
    try {
      resolveSecret(config.state.postgres.url, options.env ?? process.env);
    } catch (err) {
      problems.push(`/state/postgres/url: ${err instanceof ConfigError ? err.problems.join('; ') : errorMessage(err)}`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

export function loadAdminToolConfig(options: LoadHubConfigOptions = {}): AdminToolConfig {
  const config = load(AdminToolConfig, options);
  const problems = identityStoreConfigProblems(config.identity.store, '/identity/store');
  if (config.identity.store.kind === 'postgres' && config.identity.store.postgres.url !== undefined) {
    try {
      resolveSecret(config.identity.store.postgres.url, options.env ?? process.env);
    } catch (err) {
      problems.push(`/identity/store/postgres/url: ${err instanceof ConfigError ? err.problems.join('; ') : errorMessage(err)}`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

/**
 * Every component's own rules (cross-field rules, files it will read at start) and the secrets that cannot
 * be read; the schema has already passed. The one place configuration is checked: components trust it.
 */
export function checkHubConfig(config: HubConfig, env: NodeJS.ProcessEnv = process.env): string[] {
  const problems: string[] = [];
  const trySecret = (path: string, ref: SecretRef | undefined): void => {
    if (ref === undefined) return;
    try {
      if (resolveSecret(ref, env) === '') problems.push(`${path}: the secret is empty`);
    } catch (err) {
      problems.push(`${path}: ${err instanceof ConfigError ? err.problems.join('; ') : errorMessage(err)}`);
    }
  };
  for (const { path, ref } of identitySecretRefs(config.identity, '/identity')) trySecret(path, ref);
  for (const { path, ref } of trustedIssuerSecretRefs(config.identity.trustedIssuers, '/identity/trustedIssuers')) trySecret(path, ref);
  if (config.series.kind === 'influx') trySecret('/series/influx/token', config.series.influx.token);
  if (config.mqtt.mode === 'external') trySecret('/mqtt/external/password', config.mqtt.external.password);
  if (config.mqtt.mode === 'external') trySecret('/mqtt/external/dynamicSecurity/password', config.mqtt.external.dynamicSecurity.password);
  if (config.identity.store.kind === 'postgres') trySecret('/identity/store/postgres/url', config.identity.store.postgres.url);
  if (config.rateLimits.store === 'postgres') trySecret('/rateLimits/postgres/url', config.rateLimits.postgres.url);
  if (config.documents.kind === 'mongodb') trySecret('/documents/mongodb/url', config.documents.mongodb.url);
  if (redisNeeded(redisUsers(config))) trySecret('/redis/url', config.redis.url);
  if (config.state.store === 'postgres') trySecret('/state/postgres/url', config.state.postgres.url);
  if (config.documents.kind === 'postgres') trySecret('/documents/postgres/url', config.documents.postgres.url);
  if (config.http.tls !== undefined) problems.push(...serverTlsProblems(config.http.tls, '/http/tls'));
  problems.push(
    ...mqttConfigProblems(config.mqtt, '/mqtt'),
    ...seriesConfigProblems(config.series, '/series', config.ingest),
    ...documentsConfigProblems(config.documents, '/documents'),
    ...ingestConfigProblems(config.ingest, '/ingest'),
    ...identityStoreConfigProblems(config.identity.store, '/identity/store'),
    ...identityConfigProblems(config.identity, '/identity'),
    ...corsConfigProblems(config.http.cors, '/http/cors'),
    ...rateLimitConfigProblems(config.rateLimits, '/rateLimits'),
    ...deepLinksConfigProblems(config.deepLinks, '/deepLinks'),
    ...webConfigProblems(config.web, '/web'),
    ...webClientProblems(config.identity, config.web.enabled, '/web/enabled'),
    ...webhookUrlConfigProblems(config.webhooks, '/webhooks'),
    ...shutdownConfigProblems(config.shutdown, config.ingest.drainTimeoutMs, '/shutdown'),
    ...redisConfigProblems(config.redis, '/redis', redisUsers(config)),
    ...stateConfigProblems(config.state, '/state'),
    ...telemetryConfigProblems(config.telemetry, '/telemetry'),
  );
  return problems;
}

/** The settings that may choose Redis, by path; the hub opens its Redis connection when one of them does. */
export function redisUsers(config: Pick<HubConfig, 'live' | 'cache' | 'rateLimits'>): RedisUsers {
  return { '/live/bus': config.live.bus, '/cache/store': config.cache.store, '/rateLimits/store': config.rateLimits.store };
}

/** The replica's client id on an external broker when none is configured. */
export function defaultHubClientId(): string {
  return `pulsebridge-hub-${hostname()}`.slice(0, 128);
}

/** The configuration as `--print-config` shows it: secrets written inline are masked, references kept. */
export function redactConfig(config: HubConfig): HubConfig {
  const mask = (ref: SecretRef): SecretRef => (typeof ref === 'string' ? '[redacted]' : ref);
  const copy = structuredClone(config);
  for (const client of copy.identity.clients) if (client.clientSecret !== undefined) client.clientSecret = mask(client.clientSecret);
  for (const issuer of copy.identity.trustedIssuers) if (issuer.signIn !== undefined) issuer.signIn.clientSecret = mask(issuer.signIn.clientSecret);
  if (copy.mqtt.external.password !== undefined) copy.mqtt.external.password = mask(copy.mqtt.external.password);
  if (copy.mqtt.external.dynamicSecurity.password !== undefined) copy.mqtt.external.dynamicSecurity.password = mask(copy.mqtt.external.dynamicSecurity.password);
  if (copy.series.influx.token !== undefined) copy.series.influx.token = mask(copy.series.influx.token);
  if (copy.identity.store.postgres.url !== undefined) copy.identity.store.postgres.url = mask(copy.identity.store.postgres.url);
  if (copy.rateLimits.postgres.url !== undefined) copy.rateLimits.postgres.url = mask(copy.rateLimits.postgres.url);
  if (copy.documents.mongodb.url !== undefined) copy.documents.mongodb.url = mask(copy.documents.mongodb.url);
  if (copy.redis.url !== undefined) copy.redis.url = mask(copy.redis.url);
  if (copy.state.postgres.url !== undefined) copy.state.postgres.url = mask(copy.state.postgres.url);
  if (copy.documents.postgres.url !== undefined) copy.documents.postgres.url = mask(copy.documents.postgres.url);
  return copy;
}
