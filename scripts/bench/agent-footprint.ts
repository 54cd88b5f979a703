/**
 * The edge agent's footprint in live operation, as a Raspberry Pi would run it: 100 simulated sensors at
 * 4 Hz (50 athletes: a strap and a machine each) sending to a hub on this machine. JSON lines (DESIGN §9).
 *
 *   npm run build && node --import tsx scripts/bench/agent-footprint.ts [--seconds 60] [--athletes 50] [--rate 4|native]
 *
 * `--athletes 20 --rate native` is the demo's class, each sensor at its own rate (straps 1 Hz).
 *
 * - RSS: VmRSS of the agent process sampled every second after a 10 s warm-up (median and peak).
 * - Disk bytes written per reading: /proc/<pid>/io write_bytes over the measured window divided by the
 *   readings the outbox accepted in it.
 * - Wire bytes per reading: MQTT payload bytes the uplink sent divided by the readings it sent, with the
 *   default live batching (chunks merged over up to 1 s).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { AgentRunner, HubRunner, metricValue, tempDir } from '../../test/harness.ts';

const { values: args } = parseArgs({
  options: { seconds: { type: 'string', default: '60' }, athletes: { type: 'string', default: '50' }, rate: { type: 'string', default: '4' } },
});
const SECONDS = Number(args.seconds);
const WARMUP_S = 10;
/** Keep in step with deploy/systemd/pulsebridge-agent.service. */
const PRODUCTION_NODE_ARGS = ['--lite-mode', '--no-expose-wasm', '--max-semi-space-size=1'];

function procStatus(pid: number, field: string): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${field}:`));
  return Number(line?.split(/\s+/)[1] ?? 0) * 1024;
}

function writeBytes(pid: number): number {
  const line = readFileSync(`/proc/${pid}/io`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('write_bytes:'));
  return Number(line?.split(/\s+/)[1] ?? 0);
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

const work = tempDir('bench-footprint');
const hub = new HubRunner({ dir: join(work.dir, 'hub'), config: { log: { level: 'warn', pretty: false } } });
const secret = await hub.addAgent('pi-box', 'bench-gym');
await hub.start();
const agent = new AgentRunner({
  dir: work.dir,
  id: 'pi-box',
  secret,
  mqttUrl: hub.mqttUrl,
  simulator: {
    athletes: Number(args.athletes),
    ...(args.rate === 'native' ? {} : { sensorRateHz: Number(args.rate) }),
    seed: 5,
    equipment: { bike: 0.5, treadmill: 0.2, rower: 0.2, outdoor: 0.1 },
  },
  config: { log: { level: 'warn', pretty: false } },
  // What a box runs in production (deploy/systemd/pulsebridge-agent.service): the bundle, no TypeScript
  // loader, and V8 sized for a small device.
  entry: 'edge-agent/dist/main.mjs',
  nodeArgs: PRODUCTION_NODE_ARGS,
});
try {
  await agent.start();
  const pid = agent.proc!.child.pid!;
  const metrics = async () => (await fetch(`http://127.0.0.1:${agent.healthPort}/metrics`)).text();
  await sleep(WARMUP_S * 1000);
  const startText = await metrics();
  const startWrites = writeBytes(pid);
  const rss: number[] = [];
  for (let i = 0; i < SECONDS; i++) {
    await sleep(1000);
    rss.push(procStatus(pid, 'VmRSS'));
  }
  const endText = await metrics();
  const endWrites = writeBytes(pid);
  const appended = metricValue(endText, 'pb_agent_outbox_appended_total') - metricValue(startText, 'pb_agent_outbox_appended_total');
  const sentBytes = metricValue(endText, 'pb_agent_uplink_sent_bytes_total') - metricValue(startText, 'pb_agent_uplink_sent_bytes_total');
  // Only readings the agent sent: the counter's other outcomes (acked, rejected) would count a reading twice.
  const SENT = { outcome: 'sent' };
  const sentReadings = metricValue(endText, 'pb_agent_uplink_readings_total', SENT) - metricValue(startText, 'pb_agent_uplink_readings_total', SENT);
  const sensors = metricValue(endText, 'pb_agent_source_sensors');
  const cpuSeconds =
    readFileSync(`/proc/${pid}/stat`, 'utf8')
      .split(') ')[1]!
      .split(' ')
      .slice(11, 13)
      .reduce((a, b) => a + Number(b), 0) / 100;
  const note = { sensors, readingsPerSecond: Math.round(appended / SECONDS), seconds: SECONDS, nodeArgs: PRODUCTION_NODE_ARGS.join(' ') };
  console.log(
    JSON.stringify({
      name: 'agent_rss_median',
      value: +(median(rss) / 1e6).toFixed(1),
      unit: 'MB',
      target: 80,
      peak: +(Math.max(...rss) / 1e6).toFixed(1),
      hwm: +(procStatus(pid, 'VmHWM') / 1e6).toFixed(1),
      ...note,
    }),
  );
  console.log(JSON.stringify({ name: 'agent_cpu_share', value: +((100 * cpuSeconds) / (WARMUP_S + SECONDS)).toFixed(1), unit: '% of one core', ...note }));
  console.log(JSON.stringify({ name: 'agent_disk_bytes_per_reading', value: +((endWrites - startWrites) / appended).toFixed(1), unit: 'bytes/reading', target: 64, ...note }));
  console.log(JSON.stringify({ name: 'wire_bytes_per_reading_live', value: +(sentBytes / sentReadings).toFixed(2), unit: 'bytes/reading', target: 12, ...note }));
} finally {
  await agent.stop().catch(() => 0);
  await hub.stop();
  work.cleanup();
}
