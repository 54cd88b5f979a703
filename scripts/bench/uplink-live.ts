/**
 * Wire bytes per reading of live data, with and without merging live chunks into one batch. JSON lines
 * (DESIGN §9). Moved here from the uplink's unit tests: it feeds real time (16 flushes, 250 ms apart, twice).
 *
 *   node --import tsx scripts/bench/uplink-live.ts
 *
 * A gym in live operation: 20 athletes on smart trainers (power, cadence and speed at 4 Hz) wearing heart-rate
 * straps (1 Hz), flushed every 250 ms: 260 readings a second, through a real (aedes) broker to a fake hub.
 * Fails (exit 1) when merging over 1 s does not save at least 20 % of the bytes per reading.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Value } from '@sinclair/typebox/value';
import type { Reading } from '@pulsebridge/protocol';
import { until } from '@pulsebridge/runtime';
import { Uplink, UplinkConfig } from '../../edge-agent/src/uplink/uplink.ts';
import { FakeClock, FakeHub, MemoryOutbox, TestBroker, silentLog } from '../../edge-agent/test/uplink/fixtures.ts';

const CHUNKS = 16;
const FLUSH_MS = 250;

function liveChunk(outbox: MemoryOutbox, tick: number): void {
  const readings: Reading[] = [];
  const baseTs = 1_700_000_000_000 + tick * FLUSH_MS;
  const second = Math.floor(tick / 4);
  for (let athlete = 0; athlete < 20; athlete++) {
    const ts = baseTs + athlete * 3;
    readings.push({ sensor: `ant:fec:${4000 + athlete}`, metric: 'power', ts, value: 180 + ((athlete * 13 + tick * 3) % 60) });
    readings.push({ sensor: `ant:fec:${4000 + athlete}`, metric: 'cadence', ts, value: 85 + ((athlete + tick) % 10) / 2 });
    readings.push({ sensor: `ant:fec:${4000 + athlete}`, metric: 'speed', ts, value: 9 + ((athlete + tick) % 20) / 100 });
    // A strap reports once a second; a quarter of them fall in each 250 ms flush.
    if ((athlete + tick) % 4 === 0) readings.push({ sensor: `ant:hr:${1000 + athlete}`, metric: 'heart_rate', ts, value: 120 + ((athlete * 7 + second) % 30) });
  }
  let i = 0;
  outbox.addChunk(readings.length, 0, () => readings[i++]!);
}

async function runLive(liveBatchDelayMs: number): Promise<{ batches: number; bytesPerReading: number }> {
  const broker = new TestBroker();
  await broker.start();
  const hub = new FakeHub(broker.url);
  await hub.start();
  const clock = new FakeClock();
  const outbox = new MemoryOutbox(clock);
  const uplink = new Uplink({
    ...(Value.Default(UplinkConfig, {}) as UplinkConfig),
    liveBatchDelayMs,
    agent: 'gym-bench',
    connection: { url: broker.url, password: 'unused', topicRoot: 'pb', protocolVersion: 4 },
    version: 'bench',
    outbox,
    clock,
    log: silentLog,
  });
  try {
    uplink.start();
    await until('the uplink to connect', () => uplink.state === 'connected', 5_000);
    for (let tick = 0; tick < CHUNKS; tick++) {
      liveChunk(outbox, tick);
      uplink.wake();
      // The source's flush interval: what is being measured is how batches form in real time.
      await sleep(FLUSH_MS);
    }
    await until('the outbox to drain', () => outbox.chunks.length === 0, 5_000);
    const bytes = hub.payloadBytes.reduce((a, b) => a + b, 0);
    return { batches: hub.batches.length, bytesPerReading: bytes / hub.sequences().length };
  } finally {
    await uplink.stop();
    await hub.stop();
    await broker.stop();
  }
}

const emit = (line: Record<string, unknown>): void => console.log(JSON.stringify(line));

const single = await runLive(0);
const merged = await runLive(1_000);
emit({ name: 'uplink.live_bytes_per_reading.batch_per_chunk', value: Number(single.bytesPerReading.toFixed(3)), unit: 'B/reading', batches: single.batches, chunks: CHUNKS, readingsPerSecond: 260 });
emit({
  name: 'uplink.live_bytes_per_reading.merged_1s',
  value: Number(merged.bytesPerReading.toFixed(3)),
  unit: 'B/reading',
  limit: Number((single.bytesPerReading * 0.8).toFixed(3)),
  ratio: Number((merged.bytesPerReading / single.bytesPerReading).toFixed(3)),
  batches: merged.batches,
  chunks: CHUNKS,
  readingsPerSecond: 260,
});
if (single.batches !== CHUNKS || merged.batches > Math.ceil(CHUNKS / 3) + 1 || merged.bytesPerReading >= single.bytesPerReading * 0.8) {
  console.error(`live batches did not merge as expected: ${JSON.stringify({ single, merged })}`);
  process.exitCode = 1;
}
