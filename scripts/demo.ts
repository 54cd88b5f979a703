/**
 * `npm start`: the whole system on one machine with no external services. A hub (HTTPS API and sign-in, embedded
 * MQTTS broker, SQLite stores under ./data, a development CA made on the first start) and one edge agent whose
 * simulator plays a class of 20 athletes. The first start also makes the platform admin, a coach and twenty
 * athletes (demo-class.ts), and every start makes sure a class is running with them on the gym's straps.
 * Ctrl-C stops both: the agent first, then the hub, each with one SIGTERM, and the demo exits 0 only when
 * both stopped cleanly. Ports: PB_DEMO_HTTP_PORT (8080), PB_DEMO_MQTT_PORT (1883), PB_DEMO_HEALTH_PORT (9400);
 * data and logs: PB_DEMO_DATA_DIR (./data). A port that is taken or invalid ends the demo with one line.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { get as httpsGet, request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify as toYaml } from 'yaml';
import { errorMessage, settlesWithin, until } from '@pulsebridge/runtime';
import { ALL_GYMS } from '../hub/src/identity/identity-store.ts';
import { DEFAULT_CLIENTS } from '../hub/src/oidc/config.ts';
import { ensureDevCertificates } from '../hub/src/tls/dev-ca.ts';
import { devTlsDir } from '../hub/src/tls/config.ts';
import { createIdentityStore } from '../hub/src/identity/index.ts';
import { loadAdminToolConfig } from '../hub/src/config.ts';
import { ensureDemoClass, ensureDemoPeople } from './demo-class.ts';
import { ensureDemoGym, type DemoRequest } from './demo-gym.ts';
import { buildWeb } from './build-web.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const data = resolve(root, process.env.PB_DEMO_DATA_DIR ?? 'data');

interface DemoPort {
  variable: string;
  what: string;
  port: number;
}

/** The port a variable names, or the one line that says why it cannot be used. */
function portFrom(variable: string, what: string, fallback: number): DemoPort | string {
  const text = process.env[variable] ?? String(fallback);
  const port = Number(text);
  if (!/^\d+$/.test(text.trim()) || port < 1 || port > 65_535) return `demo: ${variable}="${text}" is not a port number (1-65535)`;
  return { variable, what, port };
}

/** Why `port` cannot be listened on at 127.0.0.1, as one line; undefined when it is free. */
function portTaken({ variable, what, port }: DemoPort): Promise<string | undefined> {
  return new Promise((resolvePort) => {
    const probe = createServer();
    probe.once('error', (err: NodeJS.ErrnoException) => {
      const why = err.code === 'EADDRINUSE' ? 'is in use' : err.code === 'EACCES' ? 'is not allowed for this user' : `cannot be used (${errorMessage(err)})`;
      resolvePort(`demo: port ${port} for the ${what} ${why}; stop what uses it or choose another port, e.g. ${variable}=${port + 1} npm start`);
    });
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolvePort(undefined)));
  });
}

/** Checks every port before anything starts, so a taken one ends the demo with one clear line, not a hub's stack trace. */
async function demoPorts(): Promise<[number, number, number]> {
  const ports = [
    portFrom('PB_DEMO_HTTP_PORT', 'hub HTTP API', 8080),
    portFrom('PB_DEMO_MQTT_PORT', 'hub MQTT broker', 1883),
    portFrom('PB_DEMO_HEALTH_PORT', 'agent health endpoint', 9400),
  ];
  let problem = ports.find((p): p is string => typeof p === 'string');
  const valid = ports.filter((p): p is DemoPort => typeof p !== 'string');
  const twice = valid.find((p, i) => valid.findIndex((q) => q.port === p.port) !== i);
  if (!problem && twice) problem = `demo: port ${twice.port} is given twice; PB_DEMO_HTTP_PORT, PB_DEMO_MQTT_PORT and PB_DEMO_HEALTH_PORT must differ`;
  for (const port of valid) problem ??= await portTaken(port);
  if (problem) {
    console.error(problem);
    process.exit(1);
  }
  return valid.map((p) => p.port) as [number, number, number];
}

const [httpPort, mqttPort, healthPort] = await demoPorts();
const agentId = 'demo-box';
const gym = 'demo-gym';
// localhost, not 127.0.0.1: the issuer is the name apps use, and the development certificate names both.
const hubUrl = `https://localhost:${httpPort}`;
const adminEmail = 'admin@demo.pulsebridge.example';
const operatorId = 'demo-operator';

mkdirSync(data, { recursive: true });
// The hub makes the same CA on its first start; making it here first lets the demo trust it from its first request.
const devTls = await ensureDevCertificates(devTlsDir(join(data, 'hub')));
const ca = readFileSync(devTls.caCertFile);

function secretFile(name: string, make: () => string): string {
  const path = join(data, name);
  if (!existsSync(path)) writeFileSync(path, `${make()}\n`, { mode: 0o600 });
  return path;
}

// A service client standing for the company's other services: the curl examples below get their token with it.
const operatorSecretFile = secretFile('operator-secret', () => randomBytes(24).toString('base64url'));
const operatorSecret = readFileSync(operatorSecretFile, 'utf8').trim();
const hubConfig = join(data, 'hub.yaml');
writeFileSync(
  hubConfig,
  toYaml({
    hub: { dataDir: join(data, 'hub') },
    http: { host: '127.0.0.1', port: httpPort, tls: { dev: true } },
    mqtt: { host: '127.0.0.1', port: mqttPort, tls: { dev: true } },
    identity: {
      issuer: hubUrl,
      clients: [
        ...DEFAULT_CLIENTS,
        {
          clientId: operatorId,
          name: 'Demo operator',
          kind: 'service',
          clientSecret: { file: operatorSecretFile },
          roles: [{ gym: ALL_GYMS, role: 'platform_admin' }],
        },
      ],
    },
    log: { level: 'info', pretty: false },
  }),
);

function hubCli(args: string[]): string {
  return execFileSync(process.execPath, ['--import', 'tsx', 'hub/src/main.ts', ...args, '--config', hubConfig], { cwd: root, encoding: 'utf8' });
}

// The first platform admin, once; its generated password is kept where only this user can read it.
const adminPasswordFile = join(data, 'admin-password');
if (!existsSync(adminPasswordFile)) {
  const { password } = JSON.parse(hubCli(['admin', 'create', '--email', adminEmail, '--name', 'Demo admin', '--reset', '--json'])) as { password: string };
  writeFileSync(adminPasswordFile, `${password}\n`, { mode: 0o600 });
}
const adminPassword = readFileSync(adminPasswordFile, 'utf8').trim();

// The gym's coach and athletes, once, while the hub is not running yet (the identity store is the hub's).
const identity = createIdentityStore(loadAdminToolConfig({ file: hubConfig, env: {} }).identity.store, { dataDir: join(data, 'hub'), env: {} });
await identity.start();
const people = await ensureDemoPeople(identity, gym, join(data, 'demo-people.json')).finally(() => identity.stop());

// Enroll the demo agent once; its secret lives in a file only this user can read.
const agentSecretFile = join(data, 'agent-secret');
if (!existsSync(agentSecretFile)) {
  const known = JSON.parse(hubCli(['agent', 'list', '--json'])) as { id: string }[];
  if (known.some((a) => a.id === agentId)) hubCli(['agent', 'remove', agentId]);
  const { secret } = JSON.parse(hubCli(['agent', 'add', agentId, '--gym', gym, '--json'])) as { secret: string };
  writeFileSync(agentSecretFile, `${secret}\n`, { mode: 0o600 });
}

const agentConfig = join(data, 'agent.yaml');
writeFileSync(
  agentConfig,
  toYaml({
    agent: { id: agentId, dataDir: join(data, 'agent') },
    hub: { url: `mqtts://localhost:${mqttPort}`, password: { file: agentSecretFile }, tls: { ca: devTls.caCertFile, caFingerprint: devTls.caFingerprint } },
    health: { host: '127.0.0.1', port: healthPort },
    sources: { simulator: { enabled: true, athletes: 20, seed: 1 } },
    log: { level: 'info', pretty: false },
  }),
);

interface DemoChild {
  name: string;
  process: ChildProcess;
  exited: Promise<number | NodeJS.Signals>;
}

function start(name: string, args: string[]): DemoChild {
  const logFile = join(data, `${name}.log`);
  const log = createWriteStream(logFile, { flags: 'a' });
  // Its own process group: a terminal's Ctrl-C signals the whole foreground group, and a child that got it
  // from the terminal and again from stop() below would take the second as "stop now, unclean".
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  const exited = new Promise<number | NodeJS.Signals>((resolveExit) =>
    child.once('exit', (code, signal) => {
      resolveExit(signal ?? code ?? 1);
      if (stopping) return;
      console.error(`\n${name} exited (${signal ?? code}); see ${logFile}:\n`);
      console.error(readFileSync(logFile, 'utf8').split('\n').slice(-15).join('\n'));
      void stop(1);
    }),
  );
  return { name, process: child, exited };
}

/** True once `url` answers 2xx; false while nothing listens there yet. HTTPS is checked against the demo's CA. */
function answers(url: string): Promise<boolean> {
  return new Promise((resolveAnswer) => {
    const get = url.startsWith('https:') ? httpsGet : httpGet;
    const request = get(url, { ca, timeout: 5_000 }, (response) => {
      response.resume();
      resolveAnswer((response.statusCode ?? 500) < 300);
    });
    request.on('error', () => resolveAnswer(false));
    request.on('timeout', () => request.destroy());
  });
}

let stopping = false;
const children: DemoChild[] = [];

const running = (child: ChildProcess): boolean => child.exitCode === null && child.signalCode === null;

async function stop(code: number): Promise<void> {
  if (stopping) {
    // A second Ctrl-C: the operator is done waiting, and the children stop at once on a second signal.
    for (const { process: child } of children) if (running(child)) child.kill('SIGTERM');
    return;
  }
  stopping = true;
  console.log('\nstopping…');
  let clean = true;
  // The agent first, so it can say goodbye to the hub and keep nothing unsent that it could have sent.
  for (const { name, process: child, exited } of [...children].reverse()) {
    if (running(child)) {
      child.kill('SIGTERM');
      // Both stop within their own shutdown timeouts; a child that hangs past that is killed.
      if (!(await settlesWithin(exited, 30_000))) child.kill('SIGKILL');
    }
    const status = await exited;
    clean &&= status === 0;
    if (code === 0) console.log(status === 0 ? `${name} stopped cleanly` : `${name} did not stop cleanly (${status}); see ${join(data, `${name}.log`)}`);
  }
  process.exit(code === 0 && !clean ? 1 : code);
}

process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));
process.on('SIGHUP', () => void stop(0));
// The children have their own process groups, so nothing else ends them if the demo dies.
process.on('exit', () => {
  for (const { process: child } of children) if (running(child)) child.kill('SIGKILL');
});

// The web app first, so the hub serves it from its first request (web/dist, the hub's default web.dir).
await buildWeb({ quiet: true });
children.push(start('hub', ['hub/src/main.ts', 'serve', '--config', hubConfig]));
await until('the hub to be ready', () => answers(`${hubUrl}/readyz`), 60_000, 250);
// The demo gym (settings, equipment, a workout, a weekly class), made through the API on the first start.
const request: DemoRequest = (method, url, headers, body) =>
  new Promise((resolveRequest, reject) => {
    const req = httpsRequest(url, { method, headers, ca, timeout: 10_000 }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => resolveRequest({ status: response.statusCode ?? 500, text }));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error(`${method} ${url} timed out`)));
    req.end(body);
  });
const basic = Buffer.from(`${operatorId}:${operatorSecret}`).toString('base64');
const tokenAnswer = await request(
  'POST',
  `${hubUrl}/oidc/token`,
  { Authorization: `Basic ${basic}`, 'Content-Type': 'application/x-www-form-urlencoded' },
  'grant_type=client_credentials&scope=gym%3Aread%20gym%3Awrite%20me%3Awrite%20agents%3Aread',
);
const operatorToken = (JSON.parse(tokenAnswer.text) as { access_token?: string }).access_token;
if (operatorToken === undefined) throw new Error(`demo: the operator's token was refused (${tokenAnswer.status}): ${tokenAnswer.text}`);
await ensureDemoGym({ hubUrl, gym, token: operatorToken, request });
children.push(start('agent', ['edge-agent/src/main.ts', '--config', agentConfig]));
await until('the agent health endpoint', () => answers(`http://127.0.0.1:${healthPort}/healthz`), 60_000, 250);
// A class running now, every athlete on one of the gym's straps: the board has tiles from the first minute.
const demoClass = await ensureDemoClass({ hubUrl, gym, agent: agentId, token: operatorToken, request, people });
const anna = people.athletes[0]!;

console.log(`
Pulsebridge demo is running: a hub, an edge agent simulating a class of 20 athletes, and the web app.
The class "Open spin" is ${demoClass.started ? 'running now' : 'still running'} (run ${demoClass.run}); a coach can end it from the web app.

  web app          ${hubUrl}/app/
    coach          ${people.coach.email}   password: ${people.coach.password}   (staff set up two-step sign-in first)
    athlete        ${anna.email}   password: ${anna.password}
    platform admin ${adminEmail}   password: ${adminPassword}
  class board      ${hubUrl}/board/          (shows a code: confirm it signed in as the coach)

  hub API          ${hubUrl}/api/v1          (docs: ${hubUrl}/api/v1/docs)
  sign-in          ${hubUrl}/oidc            (discovery: ${hubUrl}/oidc/.well-known/openid-configuration)
  hub metrics      ${hubUrl}/metrics
  MQTT broker      mqtts://localhost:${mqttPort}  and wss://localhost:${httpPort}/mqtt
  development CA   ${devTls.caCertFile}   (SHA-256 ${devTls.caFingerprint})
  agent health     http://127.0.0.1:${healthPort}/healthz   (metrics: /metrics)
  data and logs    ${data}

Try (the demo operator is a service client; its token lasts 10 minutes):
  export CURL_CA_BUNDLE=${devTls.caCertFile}
  TOKEN=$(curl -s -u ${operatorId}:${operatorSecret} -d grant_type=client_credentials -d 'scope=agents:read readings:read audit:read' ${hubUrl}/oidc/token | node -p 'JSON.parse(require("fs").readFileSync(0)).access_token')
  curl -H "Authorization: Bearer $TOKEN" ${hubUrl}/api/v1/agents
  curl -H "Authorization: Bearer $TOKEN" '${hubUrl}/api/v1/series?agent=${agentId}'
  curl -N "${hubUrl}/api/v1/live?agent=${agentId}&metric=heart_rate&access_token=$TOKEN"
  TOKEN=$(curl -s -u ${operatorId}:${operatorSecret} -d grant_type=client_credentials -d 'scope=gym:read' ${hubUrl}/oidc/token | node -p 'JSON.parse(require("fs").readFileSync(0)).access_token')
  curl -H "Authorization: Bearer $TOKEN" '${hubUrl}/api/v1/classes?gym=${gym}'
  curl -H "Authorization: Bearer $TOKEN" '${hubUrl}/api/v1/equipment?gym=${gym}'

Ctrl-C stops both.
`);

// A line every 10 s so the terminal shows the data moving.
setInterval(() => {
  void fetch(`http://127.0.0.1:${healthPort}/healthz`)
    .then((r) => r.json() as Promise<{ readingsPerSecond?: number; outbox?: { readings: number }; uplink?: { state: string } }>)
    .then((h) => console.log(`agent: ${Math.round(h.readingsPerSecond ?? 0)} readings/s, outbox ${h.outbox?.readings ?? '?'} waiting, uplink ${h.uplink?.state ?? '?'}`))
    .catch(() => undefined);
}, 10_000).unref();
