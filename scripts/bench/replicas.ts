/**
 * Readings stored per second by 1, 2 and 3 hub replicas sharing the load through Mosquitto's MQTT 5 shared
 * subscriptions, on InfluxDB, and the CPU time the replicas spend per 1 000 readings.
 *
 *   bash scripts/test-services.sh run node --import tsx scripts/bench/replicas.ts
 *
 * Each replica count is measured twice on the same cluster:
 * - saturated: every agent keeps WINDOW batches in flight, as fast as the acks come back. On this 2-core
 *   machine the rate flattens as replicas are added (they share the cores with the broker, InfluxDB and the
 *   load), and the same load split three ways makes each replica's store writes three times smaller.
 * - paced: the agents offer PACED_PER_REPLICA readings/s per replica, so every replica count gives each replica
 *   the same work. Readings/s stored then grows with the replicas, and the CPU per 1 000 readings of three
 *   replicas against one's is the figure that predicts a cluster where each replica has its own cores.
 *
 * The load is AGENTS MQTT connections, each an agent account on the broker, publishing pre-encoded readings
 * batches with at most WINDOW unacknowledged, as an agent's uplink does; a reading counts once the hub's ack
 * says it is stored. The first WARMUP_S seconds of each part are not measured. CPU time is read from
 * /proc/<pid>/stat. One JSON line per replica count and part (DESIGN §9), with the CPU the broker, InfluxDB and
 * this process (load and the test's InfluxDB v2 write proxy, scripts/test-services.sh runs InfluxDB 1.6) used
 * meanwhile, and a last line comparing the paced runs of three replicas and one.
 */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import mqtt, { type MqttClient } from 'mqtt';
import { Topics, encodeBatch } from '@pulsebridge/protocol';
import { Cluster, clusterServicesMissing, type ClusterAgent } from '../../test/scale-out-harness.ts';
import { metricValue, type HubRunner } from '../../test/harness.ts';
import { printFigure } from './figures.ts';

const AGENTS = 20;
const WINDOW = 4;
const READINGS_PER_BATCH = 250;
/** Well under what one replica stores saturated (about 240 000/s here), so three of them stay within the machine. */
const PACED_PER_REPLICA = 40_000;
const WARMUP_S = 5;
const MEASURE_S = 15;
const topics = new Topics('pb');

/** utime and stime of a process, in ms. */
function cpuOf(pid: number): { user: number; system: number } {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  // After the command: state is field 3, utime 14 and stime 15 (1-based), i.e. 11 and 12 here.
  return { user: (Number(fields[11]) * 1000) / 100, system: (Number(fields[12]) * 1000) / 100 };
}

const cpuMs = (pid: number): number => {
  const { user, system } = cpuOf(pid);
  return user + system;
};

/**
 * One agent's load: batches of consecutive readings, at most WINDOW in flight, counting what the hub
 * acknowledged stored. Unpaced, the next batch goes as soon as an ack frees the window; paced, only when
 * the rate allows, and a batch the window held up goes as soon as it frees.
 */
class LoadAgent {
  acked = 0;
  private next = 0;
  private inFlight = 0;
  private running = true;
  private pacing: { readingsPerSecond: number; since: number; sent: number; timer: NodeJS.Timeout } | undefined;
  private readonly t0 = Date.now() - 3_600_000;
  private client: MqttClient | undefined;

  constructor(
    private readonly agent: ClusterAgent,
    private readonly url: string,
  ) {}

  async start(): Promise<void> {
    const client = await mqtt.connectAsync(this.url, { clientId: `pb-agent-${this.agent.id}`, username: this.agent.id, password: this.agent.secret, protocolVersion: 5 });
    this.client = client;
    await client.subscribeAsync(topics.of(this.agent.id, 'ack'), { qos: 1 });
    client.on('message', (_topic, payload) => {
      const ack = JSON.parse(payload.toString()) as { first: number; last: number; result: string };
      if (ack.result === 'stored' || ack.result === 'duplicate') this.acked += ack.last - ack.first + 1;
      this.inFlight--;
      this.pump();
    });
    this.pump();
  }

  /** From now on, READINGS_PER_BATCH readings every READINGS_PER_BATCH / readingsPerSecond seconds. */
  pace(readingsPerSecond: number): void {
    if (this.pacing) clearInterval(this.pacing.timer);
    // Each agent at its own phase, as real ones are: agents in step would make the load come in bursts.
    const phase = Math.random() * ((READINGS_PER_BATCH / readingsPerSecond) * 1000);
    this.pacing = { readingsPerSecond, since: performance.now() - phase, sent: 0, timer: setInterval(() => this.pump(), 10) };
  }

  private pump(): void {
    while (this.running && this.inFlight < WINDOW && this.due()) {
      this.send();
      if (this.pacing) this.pacing.sent++;
    }
  }

  private due(): boolean {
    if (!this.pacing) return true;
    const { readingsPerSecond, since, sent } = this.pacing;
    return sent < Math.floor((((performance.now() - since) / 1000) * readingsPerSecond) / READINGS_PER_BATCH);
  }

  private send(): void {
    const first = this.next;
    this.next += READINGS_PER_BATCH;
    this.inFlight++;
    const ts = Array.from({ length: READINGS_PER_BATCH }, (_, i) => this.t0 + (first + i) * 10);
    const values = ts.map((_, i) => 60 + ((first + i) % 120));
    const batch = encodeBatch({
      agent: this.agent.id,
      stream: 'bench',
      first,
      last: first + READINGS_PER_BATCH - 1,
      floor: 0,
      clockUnsynced: false,
      series: [{ sensor: 'ble:hr-1', metric: 'heart_rate', ts, values }],
    });
    this.client?.publish(topics.of(this.agent.id, 'readings'), batch, { qos: 1 });
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.pacing) clearInterval(this.pacing.timer);
    await this.client?.endAsync(true);
  }
}

interface HubCounts {
  readings: number;
  writes: number;
  writeSeconds: number;
}

async function countsOf(hubs: HubRunner[]): Promise<HubCounts[]> {
  return Promise.all(
    hubs.map(async (hub) => {
      const text = await hub.metrics();
      return {
        readings: metricValue(text, 'pb_hub_ingest_readings_total'),
        writes: metricValue(text, 'pb_hub_ingest_write_seconds_count'),
        writeSeconds: metricValue(text, 'pb_hub_ingest_write_seconds_sum'),
      };
    }),
  );
}

/** Readings acknowledged, and what each process spent, over MEASURE_S seconds. */
async function measure(cluster: Cluster, load: LoadAgent[]): Promise<Record<string, unknown> & { readingsPerSecond: number; cpuMsPer1000Readings: number }> {
  const pids = cluster.hubs.map((hub) => hub.proc!.child.pid!);
  const brokerPid = Number(process.env['MOSQUITTO_PID']);
  const influxPid = Number(process.env['INFLUX_PID'] ?? 0);
  const acked0 = load.reduce((sum, a) => sum + a.acked, 0);
  const cpu0 = pids.map(cpuOf);
  const broker0 = cpuMs(brokerPid);
  const influx0 = influxPid ? cpuMs(influxPid) : 0;
  const own0 = process.cpuUsage();
  const counts0 = await countsOf(cluster.hubs);
  const started = performance.now();
  await new Promise((resolve) => setTimeout(resolve, MEASURE_S * 1000));
  const seconds = (performance.now() - started) / 1000;
  const acked = load.reduce((sum, a) => sum + a.acked, 0) - acked0;
  const cpu = pids.map((pid, i) => {
    const now = cpuOf(pid);
    return { user: now.user - cpu0[i]!.user, system: now.system - cpu0[i]!.system };
  });
  const counts = (await countsOf(cluster.hubs)).map((c, i) => ({
    readings: c.readings - counts0[i]!.readings,
    writes: c.writes - counts0[i]!.writes,
    writeSeconds: c.writeSeconds - counts0[i]!.writeSeconds,
  }));
  const brokerMs = cpuMs(brokerPid) - broker0;
  const influxMs = influxPid ? cpuMs(influxPid) - influx0 : undefined;
  const own = process.cpuUsage(own0);
  const totalCpu = cpu.reduce((sum, c) => sum + c.user + c.system, 0);
  const cpuMsPer1000Readings = Number(((totalCpu * 1000) / Math.max(1, acked)).toFixed(2));
  return {
    readingsPerSecond: Math.round(acked / seconds),
    seconds: Number(seconds.toFixed(1)),
    cpuMsPer1000Readings,
    hubCpuCores: Number((totalCpu / 1000 / seconds).toFixed(2)),
    // What else ran on the same cores: the broker, InfluxDB, and this process (the load, and the InfluxDB v2 write proxy).
    mosquittoCpuCores: Number((brokerMs / 1000 / seconds).toFixed(2)),
    influxCpuCores: influxMs === undefined ? null : Number((influxMs / 1000 / seconds).toFixed(2)),
    loadAndProxyCpuCores: Number(((own.user + own.system) / 1e6 / seconds).toFixed(2)),
    loadAverage1m: Number(loadavg()[0]!.toFixed(1)),
    perReplica: cpu.map((c, i) => {
      const { readings, writes, writeSeconds } = counts[i]!;
      return {
        readings,
        userMs: Math.round(c.user),
        systemMs: Math.round(c.system),
        cpuMsPer1000Readings: readings > 0 ? Number((((c.user + c.system) * 1000) / readings).toFixed(2)) : null,
        // A replica groups the batches queued while it wrote into its next store write: a smaller share of the
        // load makes smaller writes, whose fixed cost (HTTP request, dedupe transaction) weighs more per reading.
        writes,
        readingsPerWrite: writes > 0 ? Math.round(readings / writes) : null,
        meanWriteMs: writes > 0 ? Number(((writeSeconds * 1000) / writes).toFixed(1)) : null,
      };
    }),
  };
}

const missing = clusterServicesMissing();
if (missing) {
  // Like a test's skip: `npm run bench` without the services prints the other figures and says why not these.
  console.error(`replicas bench skipped: ${missing}`);
  process.exit(0);
}

const paced = new Map<number, { readingsPerSecond: number; cpuMsPer1000Readings: number }>();
for (const replicas of [1, 2, 3]) {
  const cluster = new Cluster({ replicas, agents: AGENTS, gyms: ['gym-bench'], hubConfig: { log: { level: 'error', pretty: false } } });
  try {
    await cluster.prepare();
    await cluster.startHubs();
    const load = cluster.agents.map((agent) => new LoadAgent(agent, process.env['MOSQUITTO_URL']!));
    await Promise.all(load.map((agent) => agent.start()));
    const common = { replicas, store: 'influx', broker: 'mosquitto shared subscriptions', agents: AGENTS, window: WINDOW, readingsPerBatch: READINGS_PER_BATCH };

    await new Promise((resolve) => setTimeout(resolve, WARMUP_S * 1000));
    const saturated = await measure(cluster, load);
    printFigure(`replicas.${replicas}.readings_per_s`, saturated.readingsPerSecond, 'readings/s', { ...common, load: 'saturated', ...saturated });

    const offered = PACED_PER_REPLICA * replicas;
    for (const agent of load) agent.pace(offered / AGENTS);
    await new Promise((resolve) => setTimeout(resolve, WARMUP_S * 1000));
    const result = await measure(cluster, load);
    paced.set(replicas, result);
    printFigure(`replicas.${replicas}.paced_cpu_ms_per_1000_readings`, result.cpuMsPer1000Readings, 'ms', { ...common, load: 'paced', offeredPerSecond: offered, ...result });
    await Promise.all(load.map((agent) => agent.stop()));
  } finally {
    await cluster.cleanup();
  }
}

const one = paced.get(1)!;
const three = paced.get(3)!;
printFigure('replicas.3_vs_1.paced_readings_ratio', Number((three.readingsPerSecond / one.readingsPerSecond).toFixed(2)), 'x', {
  target: '>= 2.4 at equal CPU per reading',
  offeredPerReplica: PACED_PER_REPLICA,
  cpuMsPer1000Readings: { one: one.cpuMsPer1000Readings, three: three.cpuMsPer1000Readings },
  cpuPerReadingRatio: Number((three.cpuMsPer1000Readings / one.cpuMsPer1000Readings).toFixed(2)),
});
