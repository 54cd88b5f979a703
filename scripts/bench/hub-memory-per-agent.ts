/**
 * Hub memory per connected agent (target ≤ 50 kB, TARGETS.md): a real hub process on its embedded broker,
 * and `--agents` MQTT connections from this process (loopback only), each authenticated as a registered agent
 * with its own secret, subscribed as the agent subscribes (ack, cmd, pairing, QoS 1, clean session, last will)
 * and publishing a retained online status, as the agent does on connect. JSON line (DESIGN §9).
 *
 *   node --import tsx scripts/bench/hub-memory-per-agent.ts [--agents 1000] [--warmup 20] [--breakdown]
 *
 * The hub runs in its own process under the inspector, so the bench can collect its garbage before each
 * measure (HeapProfiler.collectGarbage) and read its heap (Runtime.getHeapUsage) and resident set
 * (/proc/<pid>/status) rather than this process's. `--warmup` agents connect and leave first, so code loaded
 * and caches filled by the first connection (validators, the auth path) count in the baseline, not per agent.
 * The figure is (after − before) / agents of the resident set; the heap figure comes with it. `--breakdown`
 * also takes a heap snapshot before and after and prints, on standard error, where the heap grew per agent
 * (self size by constructor or kind of object): where to look when the figure exceeds its target. The
 * snapshots inflate the resident set, so that run prints no figure.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import mqtt from 'mqtt';
import { pino } from 'pino';
import WebSocket from 'ws';
import { stringify as toYaml } from 'yaml';
import { Topics } from '@pulsebridge/protocol';
import { until, withTimeout } from '@pulsebridge/runtime';
import { openStateDatabase } from '../../hub/src/hub.ts';
import { SqliteAgentRegistry } from '../../hub/src/registry/sqlite-agent-registry.ts';
import { Proc, freePort, metricValue, tempDir } from '../../test/harness.ts';
import { printFigure } from './figures.ts';

const { values: args } = parseArgs({
  options: { agents: { type: 'string', default: '1000' }, warmup: { type: 'string', default: '20' }, breakdown: { type: 'boolean', default: false } },
});
const AGENTS = Number(args.agents);
const WARMUP = Number(args.warmup);
const TARGET_KB = 50;
/** The whole run, hub start to stop: the bench ends by itself even if the hub stops answering. */
const BUDGET_MS = 300_000;
/** Connections opened at once: a gym chain's boxes reconnecting after a hub restart, not all in one instant. */
const CONNECT_CONCURRENCY = 50;
const GYMS = 50;

const topics = new Topics();

/** A Chrome DevTools Protocol session with the hub's inspector. */
class Inspector {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private snapshotChunks: string[] = [];

  private constructor(private readonly socket: WebSocket) {
    socket.on('message', (data: Buffer) => {
      const message = JSON.parse(data.toString()) as { id?: number; method?: string; params?: { chunk?: string }; result?: unknown; error?: { message: string } };
      if (message.method === 'HeapProfiler.addHeapSnapshotChunk') this.snapshotChunks.push(message.params?.chunk ?? '');
      const waiter = message.id === undefined ? undefined : this.pending.get(message.id);
      if (!waiter || message.id === undefined) return;
      this.pending.delete(message.id);
      if (message.error) waiter.reject(new Error(message.error.message));
      else waiter.resolve(message.result);
    });
  }

  static async open(port: number): Promise<Inspector> {
    const [target] = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as { webSocketDebuggerUrl: string }[];
    if (!target) throw new Error('the hub has no inspector target');
    const socket = new WebSocket(target.webSocketDebuggerUrl);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('error', reject);
    });
    return new Inspector(socket);
  }

  call<T>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    const id = this.nextId++;
    this.socket.send(JSON.stringify({ id, method, params }));
    return withTimeout(new Promise<T>((resolve, reject) => this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject })), 60_000, `inspector ${method}`);
  }

  /** Self size (bytes) and count of the hub's heap objects, by constructor name or kind. */
  async heapComposition(): Promise<Map<string, { bytes: number; count: number }>> {
    this.snapshotChunks = [];
    await this.call('HeapProfiler.takeHeapSnapshot', { reportProgress: false });
    const snapshot = JSON.parse(this.snapshotChunks.join('')) as HeapSnapshot;
    this.snapshotChunks = [];
    const fields = snapshot.snapshot.meta.node_fields;
    const types = snapshot.snapshot.meta.node_types[0] ?? [];
    const [typeAt, nameAt, sizeAt] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f));
    const composition = new Map<string, { bytes: number; count: number }>();
    for (let i = 0; i < snapshot.nodes.length; i += fields.length) {
      const type = types[snapshot.nodes[i + (typeAt ?? 0)] ?? 0] ?? '?';
      const name = type === 'object' || type === 'closure' || type === 'native' ? `${type} ${snapshot.strings[snapshot.nodes[i + (nameAt ?? 0)] ?? 0]}` : type;
      const entry = composition.get(name) ?? { bytes: 0, count: 0 };
      entry.bytes += snapshot.nodes[i + (sizeAt ?? 0)] ?? 0;
      entry.count++;
      composition.set(name, entry);
    }
    return composition;
  }

  close(): void {
    this.socket.close();
  }
}

interface HeapSnapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

/** The heap's growth per agent between two compositions, largest first, as lines for standard error. */
function growthLines(before: Map<string, { bytes: number; count: number }>, after: Map<string, { bytes: number; count: number }>, agents: number, top = 15): string[] {
  const growth = [...after].map(([name, a]) => ({ name, bytes: a.bytes - (before.get(name)?.bytes ?? 0), count: a.count - (before.get(name)?.count ?? 0) }));
  return growth
    .sort((x, y) => y.bytes - x.bytes)
    .slice(0, top)
    .map((g) => `${(g.bytes / agents / 1024).toFixed(2).padStart(7)} kB/agent ${(g.count / agents).toFixed(1).padStart(7)} objects/agent  ${g.name}`);
}

interface Memory {
  rssBytes: number;
  heapUsedBytes: number;
}

/** The hub's memory after two full garbage collections (the second frees what the first's finalisers released). */
async function hubMemory(inspector: Inspector, pid: number): Promise<Memory> {
  await inspector.call('HeapProfiler.enable');
  await inspector.call('HeapProfiler.collectGarbage');
  await inspector.call('HeapProfiler.collectGarbage');
  const heap = await inspector.call<{ usedSize: number }>('Runtime.getHeapUsage');
  const rssKb = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
  return { rssBytes: rssKb * 1024, heapUsedBytes: heap.usedSize };
}

/**
 * One agent's connection, as the agent's uplink session makes it, from its own loopback address (127.1.x.y):
 * a chain's boxes connect from many addresses, and the hub's login throttle counts logins in progress per address.
 */
async function connectAgent(mqttPort: number, index: number, id: string, secret: string): Promise<mqtt.MqttClient> {
  const localAddress = `127.1.${Math.floor(index / 250)}.${(index % 250) + 1}`;
  const client = new mqtt.MqttClient(() => createConnection({ host: '127.0.0.1', port: mqttPort, localAddress }), {
    protocolVersion: 4,
    clientId: `pb-agent-${id}`,
    username: id,
    password: secret,
    clean: true,
    keepalive: 30,
    connectTimeout: 30_000,
    reconnectPeriod: 0,
    will: { topic: topics.of(id, 'status'), payload: Buffer.from(JSON.stringify({ state: 'offline' })), qos: 1, retain: true },
  });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  // After the connect, an error ends the connection and shows in the hub's connected count, which the bench checks.
  client.on('error', () => undefined);
  await client.subscribeAsync(
    (['ack', 'cmd', 'pairing'] as const).map((kind) => topics.of(id, kind)),
    { qos: 1 },
  );
  const status = { state: 'online', version: 'bench', mono: Math.round(performance.now()), sentAt: Date.now(), outbox: { readings: 0, bytes: 0, oldestAgeMs: 0, dropped: 0 } };
  await client.publishAsync(topics.of(id, 'status'), Buffer.from(JSON.stringify(status)), { qos: 1, retain: true });
  return client;
}

async function inBatches<T>(items: readonly T[], size: number, each: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(each));
}

async function main(): Promise<void> {
  const work = tempDir('bench-hub-memory');
  const dataDir = join(work.dir, 'data');
  const log = pino({ level: 'silent' });

  // Registered the way `pulsebridge-hub agent add` registers, in the state database the hub then opens.
  const db = openStateDatabase(dataDir);
  const registry = new SqliteAgentRegistry({ db, log, flushIntervalMs: 0 });
  const ids = Array.from({ length: AGENTS + WARMUP }, (_, i) => `bench-${String(i).padStart(5, '0')}`);
  const secrets = new Map<string, string>();
  await inBatches(ids, 32, async (id, index = ids.indexOf(id)) => {
    secrets.set(id, (await registry.create(id, `gym-${index % GYMS}`)).secret);
  });
  await registry.stop();
  db.close();

  const httpPort = await freePort();
  const mqttPort = await freePort();
  const inspectPort = await freePort();
  const configFile = join(work.dir, 'hub.yaml');
  writeFileSync(
    configFile,
    toYaml({ hub: { dataDir }, http: { host: '127.0.0.1', port: httpPort }, mqtt: { host: '127.0.0.1', port: mqttPort }, log: { level: 'warn', pretty: false } }),
  );
  const hub = new Proc([`--inspect=127.0.0.1:${inspectPort}`, 'hub/src/main.ts', 'serve', '--config', configFile], join(work.dir, 'hub.log'));
  const clients: mqtt.MqttClient[] = [];
  let inspector: Inspector | undefined;
  const metrics = async (): Promise<string> => (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  const connected = async (): Promise<number> => metricValue(await metrics(), 'pb_hub_broker_connected_agents');
  const statuses = async (): Promise<number> => metricValue(await metrics(), 'pb_hub_ingest_messages_total', { kind: 'status', result: 'ok' });
  try {
    await hub.answering('the hub', `http://127.0.0.1:${httpPort}/readyz`);
    inspector = await Inspector.open(inspectPort);
    const pid = hub.child.pid ?? 0;

    const warm = ids.slice(AGENTS);
    const warmClients: mqtt.MqttClient[] = [];
    await inBatches(warm, CONNECT_CONCURRENCY, async (id) => void warmClients.push(await connectAgent(mqttPort, ids.indexOf(id), id, secrets.get(id) ?? '')));
    await until('the hub to handle the warm-up statuses', async () => (await statuses()) >= WARMUP, 60_000, 200);
    await Promise.all(warmClients.map((c) => c.endAsync()));
    await until('the warm-up agents to be gone', async () => (await connected()) === 0, 60_000, 200);
    const before = await hubMemory(inspector, pid);
    const compositionBefore = args.breakdown ? await inspector.heapComposition() : undefined;

    const started = Date.now();
    await inBatches(ids.slice(0, AGENTS), CONNECT_CONCURRENCY, async (id) => void clients.push(await connectAgent(mqttPort, ids.indexOf(id), id, secrets.get(id) ?? '')));
    const connectSeconds = (Date.now() - started) / 1000;
    await until(`the hub to count ${AGENTS} connected agents`, async () => (await connected()) === AGENTS, 60_000, 200);
    await until(`the hub to handle ${AGENTS} statuses`, async () => (await statuses()) >= WARMUP + AGENTS, 60_000, 200);
    const after = await hubMemory(inspector, pid);
    if (compositionBefore) {
      const compositionAfter = await inspector.heapComposition();
      console.error(`where the hub's heap grew, per agent (self sizes):\n${growthLines(compositionBefore, compositionAfter, AGENTS).join('\n')}`);
    }
    const stillConnected = await connected();

    const perAgent = (bytes: number): number => Math.round(bytes / AGENTS / 102.4) / 10;
    if (compositionBefore) {
      // The snapshots themselves grow the hub's resident set, so this run gives no figure.
      console.error(`no figure with --breakdown (the heap snapshots inflate the hub's resident set); heap grew ${perAgent(after.heapUsedBytes - before.heapUsedBytes)} kB/agent`);
      return;
    }
    printFigure('hub_memory_per_agent', perAgent(after.rssBytes - before.rssBytes), 'kB/agent', {
      target: TARGET_KB,
      heapPerAgentKb: perAgent(after.heapUsedBytes - before.heapUsedBytes),
      agents: AGENTS,
      stillConnected,
      rssBeforeMb: Math.round(before.rssBytes / 1048576),
      rssAfterMb: Math.round(after.rssBytes / 1048576),
      heapBeforeMb: Math.round(before.heapUsedBytes / 1048576),
      heapAfterMb: Math.round(after.heapUsedBytes / 1048576),
      connectSeconds,
      note: 'resident set of the hub process after forced GC, before and after the agents connected; embedded broker, SQLite stores',
    });
  } catch (err) {
    console.error(hub.log().split('\n').slice(-30).join('\n'));
    throw err;
  } finally {
    inspector?.close();
    await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
    await hub.stop();
    work.cleanup();
  }
}

await withTimeout(main(), BUDGET_MS, 'the hub memory benchmark');
