/**
 * Bytes per reading on the wire in live operation, by how long the uplink lets live readings wait to share
 * a batch (`uplink.liveBatchDelayMs`): 0 sends one batch per outbox flush, longer delays merge flushes.
 * A real hub and a real agent whose simulator plays 20 athletes; the figures come from the agent's
 * /metrics over the measured window. JSON lines (DESIGN §9):
 *   {"name": "wire_bytes_per_reading_live_delay_1000ms", "value": ..., "unit": "bytes/reading", ...}
 * Each delay after 0 also carries its ratio to the 0 ms figure and, as its limit, the most it may cost: 80 %
 * of the 0 ms bytes (merging a second of flushes must save at least 20 %).
 *
 *   node --import tsx scripts/bench/live-batching.ts [--seconds 6] [--delays 0,1000,5000]
 *
 * Exits 1 when a longer delay does not save bytes, which is what the delay is for, or when a delay of a
 * second or more saves less than 20 % against 0 ms.
 */
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { until } from '@pulsebridge/runtime';
import { hubWithAgent, metricValue, tempDir } from '../../test/harness.ts';
import { printFigure } from './figures.ts';

const { values: args } = parseArgs({ options: { seconds: { type: 'string', default: '6' }, delays: { type: 'string', default: '0,1000,5000' } } });
const SECONDS = Math.max(1, Number(args.seconds));
const DELAYS = args.delays
  .split(',')
  .map(Number)
  .sort((a, b) => a - b);
const ATHLETES = 20;
/** A delay of a second or more must bring the bytes per reading under this share of the 0 ms figure. */
const MERGED_MAX_SHARE = 0.8;
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
let unmerged: number | undefined;
const tooCostly: string[] = [];
for (const delay of DELAYS) {
  const window = await oneRun(delay);
  const value = window.bytes / window.readings;
  perReading.push(value);
  if (delay === 0) unmerged = value;
  const againstUnmerged = unmerged !== undefined && delay > 0 ? { limit: +(unmerged * MERGED_MAX_SHARE).toFixed(2), ratio: +(value / unmerged).toFixed(3) } : {};
  if (unmerged !== undefined && delay >= 1_000 && value >= unmerged * MERGED_MAX_SHARE) tooCostly.push(`${delay} ms: ${value.toFixed(2)}`);
  printFigure(`wire_bytes_per_reading_live_delay_${delay}ms`, +value.toFixed(2), 'bytes/reading', {
    ...againstUnmerged,
    liveBatchDelayMs: delay,
    batches: window.batches,
    batchesPerSecond: +(window.batches / SECONDS).toFixed(2),
    readingsPerBatch: +(window.readings / window.batches).toFixed(1),
    readings: window.readings,
    athletes: ATHLETES,
    seconds: SECONDS,
  });
}
if (perReading.some((value, i) => i > 0 && !(value < (perReading[i - 1] ?? 0)))) {
  console.error(`a longer liveBatchDelayMs did not save bytes: ${perReading.map((v) => v.toFixed(2)).join(', ')} bytes/reading for ${DELAYS.join(', ')} ms`);
  process.exitCode = 1;
}
if (tooCostly.length > 0) {
  console.error(`merging live flushes saved less than ${Math.round((1 - MERGED_MAX_SHARE) * 100)} % against 0 ms (${unmerged?.toFixed(2)} bytes/reading): ${tooCostly.join('; ')}`);
  process.exitCode = 1;
}
