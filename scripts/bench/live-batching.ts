/**
 * Bytes per reading on the wire in live operation, by how long the uplink lets live readings wait to share
 * a batch (`uplink.liveBatchDelayMs`): 0 sends one batch per outbox flush, longer delays merge flushes.
 * A real hub and a real agent whose simulator plays 20 athletes; the figures come from the agent's
 * /metrics over the measured window. JSON lines (DESIGN §9):
 *   {"name": "wire_bytes_per_reading_live_delay_1000ms", "value": ..., "unit": "bytes/reading", ...}
 *
 *   node --import tsx scripts/bench/live-batching.ts [--seconds 6] [--delays 0,1000,5000]
 *
 * Exits 1 when a longer delay does not save bytes, which is what the delay is for.
 */
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { until } from '@pulsebridge/runtime';
import { hubWithAgent, metricValue, tempDir } from '../../test/harness.ts';
import { printFigure } from './figures.ts';

const { values: args } = parseArgs({ options: { seconds: { type: 'string', default: '6' }, delays: { type: 'string', default: '0,1000,5000' } } });
const SECONDS = Math.max(1, Number(args.seconds));
const DELAYS = args.delays.split(',').map(Number).sort((a, b) => a - b);
const ATHLETES = 20;
const quiet = { log: { level: 'warn', pretty: false } };

interface Window {
  bytes: number;
  readings: number;
  batches: number;
}

function sent(metrics: string): Window {
  return {
    bytes: metricValue(metrics, 'pb_agent_uplink_sent_bytes_total'),
    readings: metricValue(metrics, 'pb_agent_uplink_readings_total', { outcome: 'sent' }),
    batches: metricValue(metrics, 'pb_agent_uplink_batches_total', { outcome: 'sent' }),
  };
}

async function oneRun(liveBatchDelayMs: number): Promise<Window> {
  const work = tempDir('bench-live-batching');
  const { hub, agent } = await hubWithAgent(
    { dir: join(work.dir, 'hub'), config: quiet },
    { dir: work.dir, id: 'bench-box', simulator: { athletes: ATHLETES }, config: { ...quiet, uplink: { liveBatchDelayMs, liveAgeMs: 10_000 } } },
  );
  try {
    await agent.start();
    await until('the agent to connect to the hub', async () => (await agent.health()).uplink.state === 'connected', 30_000, 100);
    const before = sent(await agent.metrics());
    // The measured window itself: the simulator and the uplink run on their own meanwhile.
    await sleep(SECONDS * 1000);
    const after = sent(await agent.metrics());
    return { bytes: after.bytes - before.bytes, readings: after.readings - before.readings, batches: after.batches - before.batches };
  } finally {
    await agent.stop();
    await hub.stop();
    work.cleanup();
  }
}

const perReading: number[] = [];
for (const delay of DELAYS) {
  const window = await oneRun(delay);
  const value = window.bytes / window.readings;
  perReading.push(value);
  printFigure(`wire_bytes_per_reading_live_delay_${delay}ms`, +value.toFixed(2), 'bytes/reading', {
    liveBatchDelayMs: delay,
    batches: window.batches,
    readings: window.readings,
    athletes: ATHLETES,
    seconds: SECONDS,
  });
}
if (perReading.some((value, i) => i > 0 && !(value < (perReading[i - 1] ?? 0)))) {
  console.error(`a longer liveBatchDelayMs did not save bytes: ${perReading.map((v) => v.toFixed(2)).join(', ')} bytes/reading for ${DELAYS.join(', ')} ms`);
  process.exitCode = 1;
}
