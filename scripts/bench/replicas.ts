/**
 * Readings stored per second by 1, 2 and 3 hub replicas sharing the load through Mosquitto's MQTT 5 shared
 * subscriptions, on InfluxDB, and the CPU time each replica spends per 1 000 readings: on a 2-core machine the
 * rate flattens as replicas are added (they share the cores with the broker, InfluxDB and the load), so the CPU
 * cost per reading is the figure that predicts a cluster where each replica has its own cores.
 *
 *   bash scripts/test-services.sh run node --import tsx scripts/bench/replicas.ts
 *
 * The load is AGENTS MQTT connections, each an agent account on the broker, publishing pre-encoded readings
 * batches with at most WINDOW unacknowledged, as an agent's uplink does; a reading counts once the hub's ack
 * says it is stored. The first WARMUP_S seconds are not measured. CPU time is read from /proc/<pid>/stat.
 * One JSON line per replica count (DESIGN §9), with the CPU the broker and this process (load and the test's
 * InfluxDB v2 write proxy, scripts/test-services.sh runs InfluxDB 1.6) used meanwhile: when the hubs are far from
 * a core each, the rate measures those, not the hubs.
 */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import mqtt, { type MqttClient } from 'mqtt';
import { Topics, encodeBatch } from '@pulsebridge/protocol';
import { Cluster, clusterServicesMissing, type ClusterAgent } from '../../test/scale-out-harness.ts';
import { metricValue } from '../../test/harness.ts';
import { printFigure } from './figures.ts';

const AGENTS = 20;
const WINDOW = 4;
const READINGS_PER_BATCH = 250;
const WARMUP_S = 5;
const MEASURE_S = 15;
const topics = new Topics('pb');

/** utime + stime of a process, in ms. */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  // After the command: state is field 3, utime 14 and stime 15 (1-based), i.e. 11 and 12 here.
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

/** One agent's load: batches of consecutive readings, WINDOW in flight, counting what the hub acknowledged stored. */
class LoadAgent {
  acked = 0;
  private next = 0;
  private running = true;
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
      if (this.running) this.send();
    });
    for (let i = 0; i < WINDOW; i++) this.send();
  }

  private send(): void {
    const first = this.next;
    this.next += READINGS_PER_BATCH;
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
    await this.client?.endAsync(true);
  }
}

const missing = clusterServicesMissing();
if (missing) {
  // Like a test's skip: `npm run bench` without the services prints the other figures and says why not these.
  console.error(`replicas bench skipped: ${missing}`);
  process.exit(0);
}

for (const replicas of [1, 2, 3]) {
  const cluster = new Cluster({ replicas, agents: AGENTS, gyms: ['gym-bench'], hubConfig: { log: { level: 'error', pretty: false } } });
  try {
    await cluster.prepare();
    await cluster.startHubs();
    const load = cluster.agents.map((agent) => new LoadAgent(agent, process.env['MOSQUITTO_URL']!));
    await Promise.all(load.map((agent) => agent.start()));
    await new Promise((resolve) => setTimeout(resolve, WARMUP_S * 1000));
    const pids = cluster.hubs.map((hub) => hub.proc!.child.pid!);
    const readingsOf = async (): Promise<number[]> => Promise.all(cluster.hubs.map(async (hub) => metricValue(await hub.metrics(), 'pb_hub_ingest_readings_total')));
    const acked0 = load.reduce((sum, a) => sum + a.acked, 0);
    const cpu0 = pids.map(cpuMs);
    const broker0 = cpuMs(Number(process.env['MOSQUITTO_PID']));
    const own0 = process.cpuUsage();
    const stored0 = await readingsOf();
    const started = performance.now();
    await new Promise((resolve) => setTimeout(resolve, MEASURE_S * 1000));
    const seconds = (performance.now() - started) / 1000;
    const acked = load.reduce((sum, a) => sum + a.acked, 0) - acked0;
    const cpu = pids.map((pid, i) => cpuMs(pid) - cpu0[i]!);
    const stored = (await readingsOf()).map((n, i) => n - stored0[i]!);
    const brokerMs = cpuMs(Number(process.env['MOSQUITTO_PID'])) - broker0;
    const own = process.cpuUsage(own0);
    await Promise.all(load.map((agent) => agent.stop()));
    const perReplica = cpu.map((ms, i) => ({
      readings: stored[i]!,
      cpuMs: Math.round(ms),
      cpuMsPer1000Readings: stored[i]! > 0 ? Number(((ms * 1000) / stored[i]!).toFixed(2)) : null,
    }));
    const totalCpu = cpu.reduce((a, b) => a + b, 0);
    printFigure(`replicas.${replicas}.readings_per_s`, Math.round(acked / seconds), 'readings/s', {
      replicas,
      store: 'influx',
      broker: 'mosquitto shared subscriptions',
      agents: AGENTS,
      window: WINDOW,
      readingsPerBatch: READINGS_PER_BATCH,
      seconds: Number(seconds.toFixed(1)),
      cpuMsPer1000Readings: Number(((totalCpu * 1000) / Math.max(1, acked)).toFixed(2)),
      hubCpuCores: Number((totalCpu / 1000 / seconds).toFixed(2)),
      // What else ran on the same cores: the broker, and this process (the load, and the InfluxDB v2 write proxy).
      mosquittoCpuCores: Number((brokerMs / 1000 / seconds).toFixed(2)),
      loadAndProxyCpuCores: Number(((own.user + own.system) / 1e6 / seconds).toFixed(2)),
      loadAverage1m: Number(loadavg()[0]!.toFixed(1)),
      perReplica,
    });
  } finally {
    await cluster.cleanup();
  }
}
