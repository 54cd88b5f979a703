/**
 * `npm start`: the whole system on one machine with no external services. A hub (HTTP API, embedded MQTT
 * broker, SQLite stores under ./data) and one edge agent whose simulator plays a class of 20 athletes.
 * Ctrl-C stops both. Ports: PB_DEMO_HTTP_PORT (8080), PB_DEMO_MQTT_PORT (1883), PB_DEMO_HEALTH_PORT (9400).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify as toYaml } from 'yaml';
import { settlesWithin, until } from '@pulsebridge/runtime';

const root = fileURLToPath(new URL('..', import.meta.url));
const data = resolve(root, 'data');
const httpPort = Number(process.env.PB_DEMO_HTTP_PORT ?? 8080);
const mqttPort = Number(process.env.PB_DEMO_MQTT_PORT ?? 1883);
const healthPort = Number(process.env.PB_DEMO_HEALTH_PORT ?? 9400);
const agentId = 'demo-box';
const hubUrl = `http://127.0.0.1:${httpPort}`;

mkdirSync(data, { recursive: true });

function secretFile(name: string, make: () => string): string {
  const path = join(data, name);
  if (!existsSync(path)) writeFileSync(path, `${make()}\n`, { mode: 0o600 });
  return path;
}

const tokenFile = secretFile('admin-token', () => randomBytes(24).toString('base64url'));
const adminToken = readFileSync(tokenFile, 'utf8').trim();
const hubConfig = join(data, 'hub.yaml');
writeFileSync(
  hubConfig,
  toYaml({
    hub: { dataDir: join(data, 'hub') },
    http: { host: '127.0.0.1', port: httpPort },
    mqtt: { host: '127.0.0.1', port: mqttPort },
    api: { adminToken: { file: tokenFile } },
    log: { level: 'info', pretty: false },
  }),
);

function hubCli(args: string[]): string {
  return execFileSync(process.execPath, ['--import', 'tsx', 'hub/src/main.ts', ...args, '--config', hubConfig], { cwd: root, encoding: 'utf8' });
}

// Enroll the demo agent once; its secret lives in a file only this user can read.
const agentSecretFile = join(data, 'agent-secret');
if (!existsSync(agentSecretFile)) {
  const known = JSON.parse(hubCli(['agent', 'list', '--json'])) as { id: string }[];
  if (known.some((a) => a.id === agentId)) hubCli(['agent', 'remove', agentId]);
  const { secret } = JSON.parse(hubCli(['agent', 'add', agentId, '--gym', 'demo-gym', '--json'])) as { secret: string };
  writeFileSync(agentSecretFile, `${secret}\n`, { mode: 0o600 });
}

const agentConfig = join(data, 'agent.yaml');
writeFileSync(
  agentConfig,
  toYaml({
    agent: { id: agentId, dataDir: join(data, 'agent') },
    hub: { url: `mqtt://127.0.0.1:${mqttPort}`, password: { file: agentSecretFile } },
    health: { host: '127.0.0.1', port: healthPort },
    sources: { simulator: { enabled: true, athletes: 20, seed: 1 } },
    log: { level: 'info', pretty: false },
  }),
);

function start(name: string, args: string[]): ChildProcess {
  const log = createWriteStream(join(data, `${name}.log`), { flags: 'a' });
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  child.on('exit', (code, signal) => {
    if (!stopping) {
      console.error(`\n${name} exited (${signal ?? code}); see data/${name}.log:\n`);
      console.error(
        readFileSync(join(data, `${name}.log`), 'utf8')
          .split('\n')
          .slice(-15)
          .join('\n'),
      );
      void stop(1);
    }
  });
  return child;
}

/** True once `url` answers 2xx; false while nothing listens there yet. */
async function answers(url: string): Promise<boolean> {
  try {
    return (await fetch(url)).ok;
  } catch {
    return false;
  }
}

let stopping = false;
const children: ChildProcess[] = [];

async function stop(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.log('\nstopping…');
  // The agent first, so it can say goodbye to the hub and keep nothing unsent that it could have sent.
  for (const child of [...children].reverse()) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    // Both stop within their own shutdown timeouts; a child that hangs past that is killed.
    if (!(await settlesWithin(exited, 30_000))) child.kill('SIGKILL');
  }
  process.exit(code);
}

process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));

const hub = start('hub', ['hub/src/main.ts', 'serve', '--config', hubConfig]);
children.push(hub);
await until('the hub to be ready', () => answers(`${hubUrl}/readyz`), 60_000, 250);
children.push(start('agent', ['edge-agent/src/main.ts', '--config', agentConfig]));
await until('the agent health endpoint', () => answers(`http://127.0.0.1:${healthPort}/healthz`), 60_000, 250);

console.log(`
Pulsebridge demo is running: a hub and an edge agent simulating a class of 20 athletes.

  hub API          ${hubUrl}/api/v1          (docs: ${hubUrl}/api/v1/docs)
  hub metrics      ${hubUrl}/metrics
  MQTT broker      mqtt://127.0.0.1:${mqttPort}  and ws://127.0.0.1:${httpPort}/mqtt
  agent health     http://127.0.0.1:${healthPort}/healthz   (metrics: /metrics)
  admin token      ${adminToken}
  data and logs    ${data}

Try:
  curl -H 'Authorization: Bearer ${adminToken}' ${hubUrl}/api/v1/agents
  curl -H 'Authorization: Bearer ${adminToken}' ${hubUrl}/api/v1/series?agent=${agentId}
  curl -N '${hubUrl}/api/v1/live?agent=${agentId}&metric=heart_rate&access_token=${adminToken}'

Ctrl-C stops both.
`);

// A line every 10 s so the terminal shows the data moving.
setInterval(() => {
  void fetch(`http://127.0.0.1:${healthPort}/healthz`)
    .then((r) => r.json() as Promise<{ readingsPerSecond?: number; outbox?: { readings: number }; uplink?: { state: string } }>)
    .then((h) => console.log(`agent: ${Math.round(h.readingsPerSecond ?? 0)} readings/s, outbox ${h.outbox?.readings ?? '?'} waiting, uplink ${h.uplink?.state ?? '?'}`))
    .catch(() => undefined);
}, 10_000).unref();
