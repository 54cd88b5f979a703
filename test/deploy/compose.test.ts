/**
 * deploy/compose/compose.yaml (Docker is not installed here): it parses, has every service of the single-server
 * install with a health check and its volumes, keeps secrets in env files, and the hub's configuration loader
 * accepts every setting the file and its env file template give the hub.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { envOf, parseDockerfile } from './dockerfile.ts';
import { loadAccepted, type HubSettings } from './hub-settings.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const COMPOSE_DIR = join(ROOT, 'deploy/compose');

interface Service {
  image?: string;
  build?: { context: string; dockerfile: string };
  env_file?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
  stop_grace_period?: string;
}
const compose = parse(readFileSync(join(COMPOSE_DIR, 'compose.yaml'), 'utf8')) as { services: Record<string, Service>; volumes: Record<string, unknown> };
const services = compose.services;

/** An env file as compose reads it: NAME=value lines, # comments. */
function envFile(path: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const match = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line.trim());
    if (match) env[match[1]!] = match[2]!;
  }
  return env;
}
/** Each env_file is committed as `<file>.example`; the real one (secrets) is made at install. */
const envFiles = (service: Service): Record<string, string> =>
  Object.assign({}, ...(service.env_file ?? []).map((file) => envFile(join(COMPOSE_DIR, `${file}.example`)))) as Record<string, string>;

test('compose.yaml has every service of the single-server install', () => {
  for (const name of ['hub', 'postgres', 'influxdb', 'mosquitto', 'redis', 'prometheus', 'grafana', 'loki']) assert.ok(services[name], `service ${name}`);
});

test('every service has a health check (the hub: its image, GET /readyz) and named volumes are declared', () => {
  for (const [name, service] of Object.entries(services)) {
    if (name === 'hub') {
      const dockerfile = readFileSync(join(COMPOSE_DIR, service.build!.context, service.build!.dockerfile), 'utf8');
      assert.match(dockerfile, /^HEALTHCHECK .*\/readyz/ms);
      continue;
    }
    assert.ok(service.healthcheck?.test.length, `${name} has a health check`);
  }
  for (const [name, service] of Object.entries(services)) {
    for (const volume of service.volumes ?? []) {
      const source = volume.split(':')[0]!;
      if (source.startsWith('.') || source.startsWith('/')) continue;
      assert.ok(source in compose.volumes, `${name}: volume ${source} is declared`);
    }
  }
  assert.ok(
    services['hub']!.volumes?.some((v) => v.endsWith(':/var/lib/pulsebridge')),
    "the hub's state folder is a volume",
  );
});

test('the hub waits for its stores and broker, and is given longer than its own stop (shutdown.gracePeriodMs)', () => {
  const hub = services['hub']!;
  for (const dependency of ['postgres', 'redis', 'influxdb', 'mosquitto']) assert.equal(hub.depends_on?.[dependency]?.condition, 'service_healthy', dependency);
  const stopMs = loadAccepted(settings()).shutdown.gracePeriodMs;
  assert.ok(Number.parseInt(hub.stop_grace_period!, 10) * 1000 > stopMs, `stop_grace_period ${hub.stop_grace_period}`);
});

test('files the services mount from the repository exist', () => {
  // Made at install (git-ignored): the broker's password files.
  const madeAtInstall = /^\.\/mosquitto\/\w+\.passwd$/;
  for (const [name, service] of Object.entries(services)) {
    for (const volume of service.volumes ?? []) {
      const source = volume.split(':')[0]!;
      if (!source.startsWith('.') || madeAtInstall.test(source)) continue;
      assert.ok(existsSync(join(COMPOSE_DIR, source)), `${name}: ${source}`);
    }
    for (const file of service.env_file ?? []) assert.ok(existsSync(join(COMPOSE_DIR, `${file}.example`)), `${name}: ${file}.example`);
  }
});

test('no secret is written in compose.yaml: passwords, tokens and URLs with credentials come from env files', () => {
  for (const [name, service] of Object.entries(services)) {
    for (const [key, value] of Object.entries(service.environment ?? {})) {
      if (/PASSWORD|TOKEN|SECRET/.test(key)) assert.match(value, /^\{"env":"[A-Z_]+"\}$/, `${name}: ${key} is a reference to an env file's variable`);
      if (/URL$/.test(key)) assert.doesNotMatch(value, /\/\/[^/]*@/, `${name}: ${key} carries no credentials`);
    }
  }
  const hubEnv = envFiles(services['hub']!);
  for (const reference of Object.values(services['hub']!.environment!).flatMap((v) => [...v.matchAll(/\{"env":"([A-Z_]+)"\}/g)].map((m) => m[1]!))) {
    assert.ok(reference in hubEnv, `env/hub.env.example defines ${reference}`);
    assert.ok(!reference.startsWith('PB_HUB_'), `${reference} would be read as configuration`);
  }
});

/** What the hub container sees, by compose's precedence: the image's ENV, then env_file, then environment. */
function hubEnvironment(): Record<string, string> {
  const hub = services['hub']!;
  const image = envOf(parseDockerfile(readFileSync(join(COMPOSE_DIR, hub.build!.context, hub.build!.dockerfile), 'utf8')).at(-1)!);
  return { ...image, ...envFiles(hub), ...hub.environment };
}
const settings = (): HubSettings => ({ env: hubEnvironment() });

test("the hub's config loader accepts what compose sets: every shared store, the external broker with shared subscriptions", () => {
  const config = loadAccepted(settings());
  assert.equal(config.state.store, 'postgres');
  assert.equal(config.documents.kind, 'postgres');
  assert.equal(config.live.bus, 'redis');
  assert.equal(config.cache.store, 'redis');
  assert.equal(config.rateLimits.store, 'redis');
  assert.equal(config.identity.store.kind, 'postgres');
  assert.equal(config.series.kind, 'influx');
  assert.equal(config.mqtt.mode, 'external');
  assert.equal(config.mqtt.external.url, 'mqtt://mosquitto:1884');
  assert.equal(config.mqtt.external.sharedSubscriptions, true);
  assert.equal(config.mqtt.external.protocolVersion, 5);
  assert.equal(config.hub.dataDir, '/var/lib/pulsebridge/hub', 'from the image');
});
