/**
 * Runs real hub and agent processes for the system tests: their own CLIs, config files, data folders and
 * sockets on 127.0.0.1, exactly as an operator would start them.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { TEST_SERVICE_SECRET, clientsWithTestService, serviceToken } from '../hub/test/service-token.ts';
import { stringify as toYaml } from 'yaml';
import pino from 'pino';
import { settlesWithin, until } from '@pulsebridge/runtime';
import { MAX_SERIES_PAGE } from '../hub/src/storage/series/series-query.ts';
import { SqliteSeriesStore } from '../hub/src/storage/series/sqlite-series-store.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const run = promisify(execFile);

export function tempDir(prefix: string): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), `pb-${prefix}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A port that was free a moment ago: the processes need fixed ports to be restarted on the same address. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** True when `url` answers 2xx; false while nothing listens there yet (the process is still starting). */
async function answers(url: string): Promise<boolean> {
  try {
    return (await fetch(url)).ok;
  } catch {
    return false;
  }
}

/** Runs `body`; when it fails, prints the end of each process's log first, so the failure can be read. */
export async function showLogsOnFailure<T>(procs: readonly { log(): string }[], body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (err) {
    for (const p of procs) console.error(p.log().split('\n').slice(-40).join('\n'));
    throw err;
  }
}

/**
 * Cleanups that run after the test, last registered first, so that what was started last stops first (the
 * agent before the device and the hub it talks to). node:test runs its own `after` hooks in registration order.
 */
export function cleanupStack(t: TestContext): (cleanup: () => unknown) => void {
  const stack: (() => unknown)[] = [];
  t.after(async () => {
    for (const cleanup of stack.reverse()) await cleanup();
  });
  return (cleanup) => void stack.push(cleanup);
}

/** The objects of a JSON-lines file, such as the simulated devices write. */
export function jsonLines<T>(file: string): T[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as T);
}

/** Adds one to `key`'s count. */
export function tally(counts: Map<string, number>, key: string): void {
  counts.set(key, (counts.get(key) ?? 0) + 1);
}

export function sum(counts: Map<string, number>): number {
  return [...counts.values()].reduce((a, b) => a + b, 0);
}

const live = new Set<ChildProcess>();
// A failed or timed-out test must not leave hubs and agents running behind it.
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/** A child process whose output goes to a log file the test can show when something fails. */
export class Proc {
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly logFile: string;

  constructor(args: string[], logFile: string, env: NodeJS.ProcessEnv = {}, typescript = true) {
    this.logFile = logFile;
    const out = createWriteStream(logFile, { flags: 'a' });
    this.child = spawn(process.execPath, [...(typescript ? ['--import', 'tsx'] : []), ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout?.pipe(out);
    this.child.stderr?.pipe(out);
    live.add(this.child);
    this.exited = new Promise((resolve) =>
      this.child.once('exit', (code, signal) => {
        live.delete(this.child);
        resolve({ code, signal });
      }),
    );
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 30_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (!this.running) return this.exited;
    this.child.kill(signal);
    if (!(await settlesWithin(this.exited, timeoutMs))) this.child.kill('SIGKILL');
    return this.exited;
  }

  /** Polls `url` until it answers 2xx; fails at once, with the end of the log, if the process exits first. */
  async answering(what: string, url: string, timeoutMs = 60_000): Promise<void> {
    await until(
      `${what} to answer at ${url}`,
      async () => {
        if (!this.running) throw new Error(`${what} exited early:\n${this.log().slice(-2000)}`);
        return answers(url);
      },
      timeoutMs,
      200,
    );
  }

  log(): string {
    try {
      return readFileSync(this.logFile, 'utf8');
    } catch {
      return '';
    }
  }
}

export interface HubOptions {
  dir: string;
  /** The secret of the test's platform-admin service client (client credentials). */
  serviceSecret?: string;
  /** Merged into the generated config file. */
  config?: Record<string, unknown>;
  /** What to run: the TypeScript sources (default) or a built bundle such as hub/dist/main.mjs. */
  entry?: string;
}

export class HubRunner {
  readonly dir: string;
  readonly configFile: string;
  readonly serviceSecret: string;
  httpPort = 0;
  mqttPort = 0;
  proc: Proc | undefined;
  private starts = 0;

  constructor(private readonly options: HubOptions) {
    this.dir = options.dir;
    mkdirSync(this.dir, { recursive: true });
    this.configFile = join(this.dir, 'hub.yaml');
    this.serviceSecret = options.serviceSecret ?? TEST_SERVICE_SECRET;
  }

  get httpUrl(): string {
    return `http://127.0.0.1:${this.httpPort}`;
  }

  get mqttUrl(): string {
    return `mqtt://127.0.0.1:${this.mqttPort}`;
  }

  private async writeConfig(): Promise<void> {
    if (!this.httpPort) this.httpPort = await freePort();
    if (!this.mqttPort) this.mqttPort = await freePort();
    const config = {
      hub: { dataDir: join(this.dir, 'data') },
      http: { host: '127.0.0.1', port: this.httpPort },
      mqtt: { host: '127.0.0.1', port: this.mqttPort },
      identity: { clients: clientsWithTestService(this.serviceSecret) },
      log: { level: 'info', pretty: false },
      ...this.options.config,
    };
    writeFileSync(this.configFile, toYaml(config));
  }

  async addAgent(id: string, gym: string): Promise<string> {
    await this.writeConfig();
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'hub/src/main.ts', 'agent', 'add', id, '--gym', gym, '--json', '--config', this.configFile], { cwd: ROOT });
    return (JSON.parse(stdout) as { secret: string }).secret;
  }

  async start(): Promise<void> {
    await this.writeConfig();
    this.starts++;
    const entry = this.options.entry;
    this.proc = new Proc([entry ?? 'hub/src/main.ts', 'serve', '--config', this.configFile], join(this.dir, `hub-${this.starts}.log`), {}, entry === undefined);
    await this.proc.answering('the hub', `${this.httpUrl}/readyz`);
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    await this.proc?.stop(signal);
  }

  /** The log of the latest start. */
  log(): string {
    return this.proc?.log() ?? '';
  }

  private issued: { token: string; until: number } | undefined;

  /** A platform admin's access token from the running hub (client credentials of the test service), reused for 5 min. */
  async token(): Promise<string> {
    if (this.issued === undefined || this.issued.until < Date.now()) this.issued = { token: await serviceToken(this.httpUrl, this.serviceSecret), until: Date.now() + 300_000 };
    return this.issued.token;
  }

  async api<T>(path: string): Promise<T> {
    const res = await fetch(`${this.httpUrl}${path}`, { headers: { authorization: `Bearer ${await this.token()}` } });
    if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  }

  async metrics(): Promise<string> {
    const res = await fetch(`${this.httpUrl}/metrics`);
    return res.text();
  }

  /** Stored readings of one agent, read from the hub's SQLite series store through the store's own port. */
  async storedCount(agent: string): Promise<number> {
    return this.withStore((store) => store.count({ agent }));
  }

  /** `sensor metric` -> stored readings of one agent, read through the store's own port. */
  async storedSeries(agent: string): Promise<Map<string, number>> {
    return this.withStore((store) => seriesCounts(store, agent));
  }

  /**
   * storedSeries, with the per-sensor count checked against the series as a second, independent path
   * through the store: for the final look, once nothing is being written any more.
   */
  async storedSeriesChecked(agent: string): Promise<Map<string, number>> {
    return this.withStore(async (store) => {
      const stored = await seriesCounts(store, agent);
      for (const sensor of new Set([...stored.keys()].map((k) => k.split(' ')[0] ?? ''))) {
        const perSensor = [...stored].filter(([k]) => k.startsWith(`${sensor} `)).reduce((sum, [, n]) => sum + n, 0);
        const counted = await store.count({ sensor, agent });
        if (counted !== perSensor) throw new Error(`count({ sensor: ${sensor} }) is ${counted}, its series hold ${perSensor}`);
      }
      return stored;
    });
  }

  private async withStore<T>(read: (store: SqliteSeriesStore) => Promise<T>): Promise<T> {
    const store = new SqliteSeriesStore({ path: join(this.dir, 'data', 'series.db'), log: pino({ level: 'silent' }) });
    await store.start();
    try {
      return await read(store);
    } finally {
      await store.stop();
    }
  }
}

async function seriesCounts(store: SqliteSeriesStore, agent: string): Promise<Map<string, number>> {
  const stored = new Map<string, number>();
  // One page of the most a store lists at once: a system test agent has a few dozen series.
  for (const series of await store.listSeries({ agent }, { limit: MAX_SERIES_PAGE })) {
    const points = await store.readRaw({ sensor: series.sensor, metric: series.metric, agent, from: 0, to: Number.MAX_SAFE_INTEGER }, 100_000);
    stored.set(`${series.sensor} ${series.metric}`, points.length);
  }
  return stored;
}

/** The value of one Prometheus sample, e.g. metricValue(text, 'pb_hub_ingest_rejected_total', { reason: 'malformed' }). */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const match = /^([a-zA-Z_:][\w:]*)(\{([^}]*)\})?\s+(\S+)/.exec(line);
    if (!match || match[1] !== name) continue;
    const have = Object.fromEntries([...(match[3] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) total += Number(match[4]);
  }
  return total;
}

export interface AgentOptions {
  dir: string;
  id: string;
  secret: string;
  mqttUrl: string;
  simulator?: Record<string, unknown>;
  config?: Record<string, unknown>;
  /** What to run: the TypeScript sources (default) or a built bundle such as edge-agent/dist/main.mjs. */
  entry?: string;
  /** Options for node itself, e.g. the V8 memory flags of the production unit. */
  nodeArgs?: string[];
  /** Extra environment of the agent process. */
  env?: NodeJS.ProcessEnv;
}

/** A started hub in `hubDir` with one agent enrolled in `gym`; the agent is configured for it but not started. */
export async function hubWithAgent(
  hubOptions: HubOptions,
  agentOptions: Omit<AgentOptions, 'secret' | 'mqttUrl'>,
  gym = 'gym-system-test',
): Promise<{ hub: HubRunner; agent: AgentRunner }> {
  const hub = new HubRunner(hubOptions);
  const secret = await hub.addAgent(agentOptions.id, gym);
  await hub.start();
  return { hub, agent: new AgentRunner({ ...agentOptions, secret, mqttUrl: hub.mqttUrl }) };
}

export interface AgentHealth {
  status: string;
  outbox: { readings: number; buffered: number; appended: number; acceptedTotal: number; acknowledged: number; oldestAgeMs: number; dropped: Record<string, number> };
  uplink: { state: string };
  sources: Record<string, { state: string; readings: number; rejected: number; devices?: { id: string; state: string; lastSeen: number | null; rssi: number | null }[] }>;
}

export class AgentRunner {
  readonly configFile: string;
  healthPort = 0;
  proc: Proc | undefined;
  private starts = 0;

  constructor(private readonly options: AgentOptions) {
    this.configFile = join(options.dir, `${options.id}.yaml`);
  }

  get id(): string {
    return this.options.id;
  }

  async start(overrides: { simulator?: Record<string, unknown> } = {}): Promise<void> {
    if (!this.healthPort) this.healthPort = await freePort();
    const o = this.options;
    const config = {
      agent: { id: o.id, dataDir: join(o.dir, `${o.id}-data`) },
      hub: { url: o.mqttUrl, password: o.secret },
      uplink: { reconnectMinMs: 100, reconnectMaxMs: 1000, ackTimeoutMs: 5000 },
      health: { host: '127.0.0.1', port: this.healthPort },
      sources: { simulator: { enabled: true, ...o.simulator, ...overrides.simulator } },
      log: { level: 'info', pretty: false },
      ...o.config,
    };
    writeFileSync(this.configFile, toYaml(config));
    this.starts++;
    this.proc = new Proc(
      [...(o.nodeArgs ?? []), o.entry ?? 'edge-agent/src/main.ts', '--config', this.configFile],
      join(o.dir, `${o.id}-${this.starts}.log`),
      o.env,
      o.entry === undefined,
    );
    await this.proc.answering('the agent', `${this.healthUrl}/healthz`);
  }

  get healthUrl(): string {
    return `http://127.0.0.1:${this.healthPort}`;
  }

  /**
   * Waits until a source has stopped producing (stopped at its limit, or no new reading since the previous
   * look) and the hub has acknowledged everything the agent holds.
   */
  async settled(source: string, timeoutMs = 30_000): Promise<void> {
    let lastCount = -1;
    await until(
      `source ${source} to go quiet and the agent to get every reading acknowledged`,
      async () => {
        const h = await this.health();
        const readings = h.sources[source]?.readings ?? -1;
        const quiet = h.sources[source]?.state === 'stopped' || readings === lastCount;
        lastCount = readings;
        return quiet && h.outbox.readings === 0 && h.outbox.buffered === 0;
      },
      timeoutMs,
      500,
    );
  }

  async health(): Promise<AgentHealth> {
    const res = await fetch(`${this.healthUrl}/healthz`);
    return (await res.json()) as AgentHealth;
  }

  async metrics(): Promise<string> {
    return (await fetch(`${this.healthUrl}/metrics`)).text();
  }

  /** Readings this run has accepted into its outbox so far, from its health endpoint. */
  async appended(): Promise<number> {
    return (await this.health()).outbox.appended;
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    await this.proc?.stop(signal);
  }

  log(): string {
    return this.proc?.log() ?? '';
  }
}
