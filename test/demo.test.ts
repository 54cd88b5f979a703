/**
 * The demo (`npm start`, scripts/demo.ts) as a newcomer runs it in a terminal: its class board shows the demo
 * class's twenty athletes live; Ctrl-C, which the terminal
 * sends to the whole foreground process group, stops the hub and the agent cleanly; a port that is taken
 * ends it with one clear line.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { settlesWithin, until } from '@pulsebridge/runtime';
import { tempDir } from './harness.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

interface Demo {
  child: ChildProcess;
  output: () => { stdout: string; stderr: string };
  exited: Promise<number | NodeJS.Signals>;
}

const groups = new Set<number>();
// A failed test must not leave a demo (and its hub and agent) running.
after(() => {
  for (const pid of groups) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

/** Starts the demo as the leader of its own process group, as a terminal runs a foreground job. */
function startDemo(env: NodeJS.ProcessEnv): Demo {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/demo.ts'], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  if (child.pid !== undefined) groups.add(child.pid);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | NodeJS.Signals>((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code ?? -1)));
  return { child, output: () => ({ stdout, stderr }), exited };
}

function listen(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(Array.from({ length: n }, () => listen(0)));
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

/** The demo hub over HTTPS, trusting the demo's development CA. */
class HubClient {
  constructor(
    private readonly base: string,
    private readonly ca: Buffer,
  ) {}

  async operatorToken(secret: string): Promise<string> {
    const body = 'grant_type=client_credentials&scope=gym%3Aread';
    const basic = Buffer.from(`demo-operator:${secret}`).toString('base64');
    const text = await this.send('POST', '/oidc/token', { Authorization: `Basic ${basic}`, 'Content-Type': 'application/x-www-form-urlencoded' }, body);
    return (JSON.parse(text) as { access_token: string }).access_token;
  }

  get(path: string, token: string): Promise<string> {
    return this.send('GET', path, { Authorization: `Bearer ${token}` });
  }

  private send(method: string, path: string, headers: Record<string, string>, body?: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const req = httpsRequest(`${this.base}${path}`, { method, headers, ca: this.ca, timeout: 10_000 }, (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => ((response.statusCode ?? 500) < 300 ? resolve(text) : reject(new Error(`${method} ${path}: ${response.statusCode} ${text}`))));
      });
      req.on('error', reject);
      req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)));
      req.end(body);
    });
  }
}

async function answers(url: string): Promise<boolean> {
  try {
    return (await fetch(url)).ok;
  } catch {
    return false;
  }
}

test('Ctrl-C to the terminal process group stops the agent and the hub cleanly and the demo exits 0', { timeout: 180_000 }, async () => {
  const work = tempDir('demo');
  try {
    const [http, mqtt, health] = await freePorts(3);
    const demo = startDemo({ PB_DEMO_DATA_DIR: work.dir, PB_DEMO_HTTP_PORT: String(http), PB_DEMO_MQTT_PORT: String(mqtt), PB_DEMO_HEALTH_PORT: String(health) });
    await until(
      'the demo to say it is running',
      () => {
        if (demo.child.exitCode !== null) throw new Error(`the demo exited early:\n${demo.output().stderr}`);
        return demo.output().stdout.includes('Pulsebridge demo is running');
      },
      120_000,
      200,
    );
    await until('the agent to be connected', async () => answers(`http://127.0.0.1:${health}/healthz`), 30_000, 200);
    // The demo's class runs with every athlete on a strap: its board shows twenty athletes with heart rates.
    const printed = demo.output().stdout;
    assert.match(printed, /coach +cora\.coach@demo\.pulsebridge\.example +password: \S+/);
    assert.match(printed, /athlete +anna\.athlete@demo\.pulsebridge\.example +password: \S+/);
    const run = /\(run (\S+)\)/.exec(printed)?.[1];
    assert.ok(run, printed);
    const hub = new HubClient(`https://localhost:${http}`, readFileSync(join(work.dir, 'hub', 'tls', 'ca.pem')));
    const token = await hub.operatorToken(readFileSync(join(work.dir, 'operator-secret'), 'utf8').trim());
    await until(
      'the demo class board to show twenty athletes with heart rates',
      async () => {
        const board = JSON.parse(await hub.get(`/api/v1/class-runs/${encodeURIComponent(run)}/board/snapshot`, token)) as { tiles: { name: string; heartRateBpm?: number }[] };
        return board.tiles.length === 20 && board.tiles.every((tile) => tile.name.endsWith(' Athlete') && typeof tile.heartRateBpm === 'number');
      },
      30_000,
      500,
    );

    process.kill(-demo.child.pid!, 'SIGINT');
    assert.ok(await settlesWithin(demo.exited, 60_000), 'the demo exits within a minute');
    const { stdout, stderr } = demo.output();
    const agentLog = readFileSync(join(work.dir, 'agent.log'), 'utf8');
    const hubLog = readFileSync(join(work.dir, 'hub.log'), 'utf8');
    assert.doesNotMatch(agentLog, /second stop signal/);
    assert.match(agentLog, /"msg":"agent stopped"/);
    assert.match(hubLog, /"msg":"hub stopped"/);
    assert.equal(await demo.exited, 0, `${stdout}\n${stderr}\n${agentLog.slice(-2_000)}`);
    assert.match(stdout, /agent stopped cleanly/);
    assert.match(stdout, /hub stopped cleanly/);
    assert.ok(!(await answers(`http://127.0.0.1:${http}/healthz`)), 'the hub is gone');
    assert.ok(!(await answers(`http://127.0.0.1:${health}/healthz`)), 'the agent is gone');
  } finally {
    work.cleanup();
  }
});

test('a port in use ends the demo with one clear line on stderr and a non-zero status, before anything starts', { timeout: 60_000 }, async () => {
  const work = tempDir('demo-busy');
  const [mqtt, health] = await freePorts(2);
  const busy = await listen(0);
  const busyPort = (busy.address() as { port: number }).port;
  try {
    const demo = startDemo({ PB_DEMO_DATA_DIR: work.dir, PB_DEMO_HTTP_PORT: String(busyPort), PB_DEMO_MQTT_PORT: String(mqtt), PB_DEMO_HEALTH_PORT: String(health) });
    assert.ok(await settlesWithin(demo.exited, 50_000), 'the demo exits');
    const { stdout, stderr } = demo.output();
    assert.notEqual(await demo.exited, 0);
    const lines = stderr.split('\n').filter((line) => line.trim() !== '');
    assert.equal(lines.length, 1, `one line, got:\n${stderr}`);
    assert.match(lines[0]!, new RegExp(`port ${busyPort} .*in use.*PB_DEMO_HTTP_PORT`));
    assert.equal(stdout, '');

    const invalid = startDemo({ PB_DEMO_DATA_DIR: work.dir, PB_DEMO_HTTP_PORT: 'eighty', PB_DEMO_MQTT_PORT: String(mqtt), PB_DEMO_HEALTH_PORT: String(health) });
    assert.ok(await settlesWithin(invalid.exited, 50_000), 'the demo exits');
    assert.notEqual(await invalid.exited, 0);
    assert.equal(invalid.output().stderr.trim(), 'demo: PB_DEMO_HTTP_PORT="eighty" is not a port number (1-65535)');
  } finally {
    busy.close();
    work.cleanup();
  }
});
