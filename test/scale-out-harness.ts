/**
 * Several hub replicas behind the real Mosquitto of scripts/test-services.sh (MQTT 5 shared subscriptions), on
 * the real InfluxDB, PostgreSQL and Redis, with 50 agents of the real agent code in one process (agent-pack.ts):
 * for test/scale-out.test.ts, test/rolling-restart.test.ts and scripts/bench/replicas.ts.
 *
 * Each run has its own share group, Influx database, PostgreSQL schemas, Redis key prefix, client ids and agent
 * ids, so runs never meet, nor other tests on the same services. Every hub of a cluster gets the same
 * configuration but its data folder and ports: agent registry, dedupe ranges, documents (PostgreSQL) and the live
 * bus (Redis) are shared; only sign-in (the identity store) stays each replica's own.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, rmSync, writeFileSync } from 'node:fs';
import { build } from 'esbuild';
import { request, type IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import mqtt from 'mqtt';
import { MESSAGE_KINDS, Topics, type MessageKind } from '@pulsebridge/protocol';
import { settlesWithin, until } from '@pulsebridge/runtime';
import { createStateStores } from '../hub/src/registry/state-stores.ts';
import type { StateConfig } from '../hub/src/registry/state-config.ts';
import pg from 'pg';
import { mosquittoPasswordLine } from '../hub/src/broker/mosquitto-password.ts';
import { InfluxSeriesStore } from '../hub/src/storage/series/influx-series-store.ts';
import { MAX_SERIES_PAGE } from '../hub/src/storage/series/series-query.ts';
import { influxql, startInfluxV2Proxy, type InfluxV2Proxy } from '../hub/test/storage/influx-v2-proxy.ts';
import { HubRunner, metricValue, tempDir } from './harness.ts';
import type { AgentPackSpec, PackedAgent } from './agent-pack.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const INFLUX_TOKEN = 'pulsebridge:secret';
const quiet = pino({ level: 'silent' });
const topics = new Topics('pb');

/** The PostgreSQL schema of a run: the agent registry, dedupe ranges and gym documents of its replicas. */
const schemaOf = (run: string): string => `pb_cluster_${run}`;

/** The replicas' shared stores, each in the run's own schemas or key prefix: nothing of a replica's state is its own. */
function sharedStateConfig(run: string): Record<string, unknown> {
  const postgres = { url: { env: 'PG_URL' }, schema: schemaOf(run) };
  return {
    state: { store: 'postgres', postgres },
    documents: { kind: 'postgres', postgres: { ...postgres, schema: `${schemaOf(run)}_docs` } },
    live: { bus: 'redis' },
    redis: { url: { env: 'REDIS_URL' }, keyPrefix: `pb-cluster-${run}:` },
  };
}

/** Why the services a cluster needs are missing, or false. */
export function clusterServicesMissing(env: NodeJS.ProcessEnv = process.env): string | false {
  const missing = ['MOSQUITTO_URL', 'MOSQUITTO_PASSWD_FILE', 'MOSQUITTO_PID', 'INFLUX_URL', 'PG_URL', 'REDIS_URL'].filter((name) => !env[name]);
  return missing.length === 0 ? false : `${missing.join(', ')} not set (run the test through scripts/test-services.sh)`;
}

/** An agent of the pack: its id, gym and broker secret. */
export interface ClusterAgent {
  id: string;
  gym: string;
  secret: string;
}

export interface ClusterOptions {
  replicas: number;
  agents: number;
  gyms: string[];
  /** Merged into every hub's configuration (after the cluster's own). */
  hubConfig?: Record<string, unknown>;
}

/** One SSE subscription to /api/v1/live on one replica, recording every reading it was sent. */
export class LiveSubscriber {
  readonly seen = new Set<string>();
  openedAt = 0;
  closedAt: number | undefined;
  private response: IncomingMessage | undefined;

  constructor(
    readonly replica: number,
    readonly gym: string,
  ) {}

  async open(hub: HubRunner): Promise<void> {
    const token = await hub.token();
    await new Promise<void>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: hub.httpPort, path: `/api/v1/live?gym=${this.gym}&access_token=${token}` }, (res) => {
        if (res.statusCode !== 200) {
          reject(new Error(`live stream on replica ${this.replica}: HTTP ${res.statusCode}`));
          res.resume();
          return;
        }
        this.response = res;
        this.openedAt = Date.now();
        let buffer = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buffer += chunk;
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            this.record(buffer.slice(0, end));
            buffer = buffer.slice(end + 2);
          }
        });
        res.on('close', () => (this.closedAt ??= Date.now()));
        resolve();
      });
      req.on('error', (err) => (this.response ? (this.closedAt ??= Date.now()) : reject(err)));
      req.end();
    });
  }

  close(): void {
    this.closedAt ??= Date.now();
    this.response?.destroy();
  }

  private record(event: string): void {
    const data = event.split('\n').find((line) => line.startsWith('data: '));
    if (!event.startsWith('event: readings') || !data) return;
    const readings = JSON.parse(data.slice(6)) as { agent: string; series: { sensor: string; metric: string; ts: number[] }[] };
    for (const s of readings.series) for (const ts of s.ts) this.seen.add(`${readings.agent} ${s.sensor} ${s.metric} ${ts}`);
  }
}

export class Cluster {
  readonly run = randomBytes(3).toString('hex');
  readonly work = tempDir(`cluster-${this.run}`);
  readonly hubs: HubRunner[] = [];
  readonly agents: ClusterAgent[];
  readonly database = `pb_cluster_${this.run}`;
  /** Beside hub/package.json, which the hub reads its version from; dist/ is not tracked. */
  private readonly hubBundle = join(ROOT, 'hub', 'dist', `cluster-${this.run}.mjs`);
  private proxy: InfluxV2Proxy | undefined;
  private pack: ChildProcess | undefined;
  private packPort = 0;
  private packExited: Promise<void> | undefined;
  private packLog = '';

  constructor(private readonly options: ClusterOptions) {
    this.agents = Array.from({ length: options.agents }, (_, i) => ({
      id: `so-${this.run}-${String(i).padStart(2, '0')}`,
      gym: options.gyms[i % options.gyms.length]!,
      secret: randomBytes(12).toString('hex'),
    }));
  }

  private get env(): NodeJS.ProcessEnv {
    return process.env;
  }

  /** The database, the broker accounts of the agents, and the replicas' configurations and registries. */
  async prepare(): Promise<void> {
    const env = this.env;
    await influxql(env['INFLUX_URL']!, `CREATE DATABASE "${this.database}"`);
    this.proxy = await startInfluxV2Proxy(env['INFLUX_URL']!);
    for (const agent of this.agents) appendFileSync(env['MOSQUITTO_PASSWD_FILE']!, `${mosquittoPasswordLine(agent.id, agent.secret)}\n`);
    process.kill(Number(env['MOSQUITTO_PID']), 'SIGHUP');
    const last = this.agents.at(-1)!;
    await until(`mosquitto to accept agent ${last.id}`, () => brokerAccepts(env['MOSQUITTO_URL']!, last), 10_000, 100);
    // Plain node on a bundle starts in a fraction of the TypeScript loader's time, which restarts mid-stream need.
    await build({
      entryPoints: [join(ROOT, 'hub/src/main.ts')],
      outfile: this.hubBundle,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      // As scripts/build.ts: our workspaces are bundled, npm packages load from node_modules.
      plugins: [
        {
          name: 'external-packages',
          setup: (b) => b.onResolve({ filter: /^[^./]/ }, (args) => (args.path.startsWith('@pulsebridge/') ? undefined : { path: args.path, external: true })),
        },
      ],
      logLevel: 'warning',
    });
    await this.seedRegistry();
    for (let i = 0; i < this.options.replicas; i++) {
      const hub = new HubRunner({ dir: join(this.work.dir, `hub-${i}`), config: this.hubConfig(i), entry: this.hubBundle });
      this.hubs.push(hub);
    }
  }

  private hubConfig(replica: number): Record<string, unknown> {
    const env = this.env;
    return {
      mqtt: {
        mode: 'external',
        external: {
          url: env['MOSQUITTO_URL'],
          username: env['MOSQUITTO_HUB_USERNAME'],
          password: env['MOSQUITTO_HUB_PASSWORD'],
          clientId: `pb-hub-${this.run}-${replica}`,
          shareGroup: `pb-${this.run}`,
          sessionExpirySeconds: 0,
          reconnectMinMs: 100,
          reconnectMaxMs: 1_000,
        },
      },
      series: { kind: 'influx', influx: { url: this.proxy!.url, token: INFLUX_TOKEN, bucket: `${this.database}/autogen` } },
      ...sharedStateConfig(this.run),
      ingest: { drainTimeoutMs: 5_000 },
      shutdown: { gracePeriodMs: 20_000, endpointDelayMs: 1_000 },
      log: { level: 'warn', pretty: false },
      ...this.options.hubConfig,
    };
  }

  /** The agents in the registry the replicas share. */
  private async seedRegistry(): Promise<void> {
    const state = createStateStores(sharedStateConfig(this.run)['state'] as StateConfig, {
      dataDir: join(this.work.dir, 'state'),
      log: quiet,
      env: process.env,
      flushIntervalMs: 0,
    });
    await state.start();
    try {
      for (const agent of this.agents) await state.registry.create(agent.id, agent.gym);
    } finally {
      await state.stop();
    }
  }

  async startHubs(): Promise<void> {
    await Promise.all(this.hubs.map((hub) => hub.start()));
  }

  /** Starts the agents, each simulating `simulator` with its own seed. */
  async startAgents(simulator: Record<string, unknown>, uplink: Record<string, unknown> = {}): Promise<void> {
    const spec: AgentPackSpec = {
      dir: join(this.work.dir, 'agents'),
      mqttUrl: this.env['MOSQUITTO_URL']!,
      agents: this.agents.map((a, i) => ({ id: a.id, secret: a.secret, seed: 1_000 + i })),
      simulator,
      uplink,
    };
    const specFile = join(this.work.dir, 'agents.json');
    writeFileSync(specFile, JSON.stringify(spec));
    const pack = spawn(process.execPath, ['--import', 'tsx', 'test/agent-pack.ts', specFile], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    this.pack = pack;
    this.packExited = new Promise((resolve) => pack.once('exit', () => resolve()));
    pack.stderr.on('data', (chunk: Buffer) => (this.packLog = (this.packLog + chunk.toString()).slice(-20_000)));
    pack.stdout.on('data', (chunk: Buffer) => {
      this.packLog = (this.packLog + chunk.toString()).slice(-20_000);
      const listening = /\{"listening":(\d+)\}/.exec(chunk.toString());
      if (listening) this.packPort = Number(listening[1]);
    });
    await until(
      'the agent pack to listen',
      () => {
        if (pack.exitCode !== null) throw new Error(`the agent pack exited: ${this.packLog}`);
        return this.packPort > 0;
      },
      60_000,
      100,
    );
  }

  async agentReports(): Promise<PackedAgent[]> {
    return (await (await fetch(`http://127.0.0.1:${this.packPort}/agents`)).json()) as PackedAgent[];
  }

  /** Readings every agent accepted so far. */
  async appended(): Promise<number> {
    return (await this.agentReports()).reduce((sum, a) => sum + a.outbox.appended, 0);
  }

  /** Stops every simulator; the agents go on sending what their outboxes hold. */
  async stopSources(): Promise<void> {
    const res = await fetch(`http://127.0.0.1:${this.packPort}/sources/stop`, { method: 'POST' });
    if (!res.ok) throw new Error(`stopping the simulators: ${res.status} ${await res.text()}`);
  }

  /** Until every simulator has stopped and every outbox is empty (all acknowledged). */
  async allAcknowledged(timeoutMs: number): Promise<PackedAgent[]> {
    let last: PackedAgent[] = [];
    await until(
      'every agent to finish and get every reading acknowledged',
      async () => {
        last = await this.agentReports();
        return last.every((a) => a.source.state === 'stopped' && a.outbox.readings === 0 && a.outbox.buffered === 0);
      },
      timeoutMs,
      250,
    );
    return last;
  }

  async stopAgents(): Promise<void> {
    if (!this.pack || this.pack.exitCode !== null) return;
    this.pack.kill('SIGTERM');
    if (!(await settlesWithin(this.packExited!, 20_000))) this.pack.kill('SIGKILL');
  }

  get agentLog(): string {
    return this.packLog;
  }

  /** Per agent: readings stored in InfluxDB, and per (agent, sensor, metric) their times. */
  async stored(): Promise<{ perAgent: Map<string, number>; readings: Map<string, number[]> }> {
    const store = new InfluxSeriesStore({ url: this.proxy!.url, token: INFLUX_TOKEN, org: 'pulsebridge', bucket: `${this.database}/autogen`, timeoutMs: 30_000, log: quiet });
    await store.start();
    try {
      const perAgent = new Map<string, number>();
      const readings = new Map<string, number[]>();
      for (const agent of this.agents) {
        let total = 0;
        for (const series of await store.listSeries({ agent: agent.id }, { limit: MAX_SERIES_PAGE })) {
          const points = await store.readRaw({ agent: agent.id, sensor: series.sensor, metric: series.metric, from: 0, to: Number.MAX_SAFE_INTEGER }, 100_000);
          readings.set(
            `${agent.id} ${series.sensor} ${series.metric}`,
            points.map((p) => p.ts),
          );
          total += points.length;
        }
        perAgent.set(agent.id, total);
      }
      return { perAgent, readings };
    } finally {
      await store.stop();
    }
  }

  /** A counter summed over the replicas that answer now. */
  async counter(name: string, labels: Record<string, string> = {}): Promise<number> {
    let total = 0;
    for (const hub of this.hubs) if (hub.proc?.running) total += metricValue(await hub.metrics(), name, labels);
    return total;
  }

  /**
   * The run's retained messages (agents' statuses, last wills and inventories, the hubs' pairing lists) would stay
   * on the shared broker, and every later subscriber to agent topics, in any share group, would get them.
   */
  private async clearRetained(): Promise<void> {
    const env = this.env;
    const client = await mqtt.connectAsync(env['MOSQUITTO_URL']!, { username: env['MOSQUITTO_HUB_USERNAME'], password: env['MOSQUITTO_HUB_PASSWORD'], protocolVersion: 5 });
    const retainedKinds = (Object.keys(MESSAGE_KINDS) as MessageKind[]).filter((kind) => MESSAGE_KINDS[kind].retained);
    try {
      for (const agent of this.agents) for (const kind of retainedKinds) await client.publishAsync(topics.of(agent.id, kind), Buffer.alloc(0), { qos: 1, retain: true });
    } finally {
      await client.endAsync();
    }
  }

  async cleanup(): Promise<void> {
    await this.stopAgents();
    await Promise.all(this.hubs.map((hub) => hub.stop('SIGKILL')));
    await this.clearRetained().catch(() => undefined);
    await this.proxy?.close();
    await influxql(this.env['INFLUX_URL']!, `DROP DATABASE "${this.database}"`).catch(() => undefined);
    const client = new pg.Client({ connectionString: this.env['PG_URL'] });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS ${schemaOf(this.run)}, ${schemaOf(this.run)}_docs CASCADE`).finally(() => client.end());
    rmSync(this.hubBundle, { force: true });
    this.work.cleanup();
  }
}

async function brokerAccepts(url: string, agent: ClusterAgent): Promise<boolean> {
  try {
    const client = await mqtt.connectAsync(url, { clientId: `pb-agent-${agent.id}`, username: agent.id, password: agent.secret, protocolVersion: 5, reconnectPeriod: 0 }, false);
    await client.endAsync(true);
    return true;
  } catch {
    return false;
  }
}

/**
 * What `subscriber` should have seen: every stored reading of its gym stamped in its window, from a second after
 * it connected to `latencyMs` before it closed (a reading stamped later may be stored after the stream ended).
 */
export function missedBy(subscriber: LiveSubscriber, stored: Map<string, number[]>, agentsOfGym: Set<string>, endOfRun: number, latencyMs: number): string[] {
  const from = subscriber.openedAt + 1_000;
  const to = subscriber.closedAt === undefined ? endOfRun : subscriber.closedAt - latencyMs;
  const missed: string[] = [];
  for (const [key, times] of stored) {
    if (!agentsOfGym.has(key.split(' ')[0]!)) continue;
    for (const ts of times) if (ts >= from && ts <= to && !subscriber.seen.has(`${key} ${ts}`)) missed.push(`${key} ${ts}`);
  }
  return missed;
}
