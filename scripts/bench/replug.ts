/**
 * Time from a replug to the first reading, for the ANT source (a simulated stick) and the serial source (a
 * simulated CSAFE machine), each behind a socat pseudo-terminal that is torn down to unplug and recreated
 * to replug, as in the sources' tests. One JSON line per source (DESIGN §9):
 *   {"name": "ant_replug_to_reading_ms", "value": <median>, "unit": "ms", "max": ..., "afterDeviceUpMs": ..., "runs": 5}
 * `value` runs from recreating the pseudo-terminal; `afterDeviceUpMs` from the simulated device answering,
 * which leaves out the simulator's own process start (about a second of tsx), a cost real hardware does
 * not have.
 *
 *   node --import tsx scripts/bench/replug.ts [--runs 5]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import type { Reading, SensorInfo } from '@pulsebridge/protocol';
import { until } from '@pulsebridge/runtime';
import { AntSource } from '../../edge-agent/src/sources/ant/ant-source.ts';
import { antSourceConfig } from '../../edge-agent/src/sources/ant/config.ts';
import { SerialSource, serialSourceConfig } from '../../edge-agent/src/sources/serial/serial-source.ts';
import type { Source, SourceSink } from '../../edge-agent/src/sources/source.ts';
import { DeviceProcess, PtyPair, SOCAT_MISSING } from '../../edge-agent/test/devices/simulator-process.ts';
import { TEST_NETWORK_KEY } from '../../edge-agent/test/sources/ant/source/harness.ts';
import { median, printFigure } from './figures.ts';

const { values: args } = parseArgs({ options: { runs: { type: 'string', default: '5' } } });
const RUNS = Number(args.runs);
/** How long each unplug lasts: long enough for the reopen backoff (100 ms doubling to 400 ms) to reach its ceiling, as after a real unplug. */
const UNPLUGGED_MS = 800;
const log = pino({ level: 'silent' });

if (SOCAT_MISSING) {
  console.error(`replug benchmark needs socat: ${SOCAT_MISSING}`);
  process.exit(1);
}

/** When each reading arrived, on the monotonic clock. */
class ArrivalSink implements SourceSink {
  readonly arrivals: number[] = [];
  readonly sensors = new Set<string>();

  reading(reading: Reading): void {
    this.arrivals.push(performance.now());
    this.sensors.add(reading.sensor);
  }

  inventory(_sensors: SensorInfo[]): void {}
}

interface Device {
  script: string;
  args: string[];
}

/**
 * Starts `source` on a pseudo-terminal with `device` at the far end, waits until `warmedUp`, then unplugs
 * and replugs RUNS times, timing each first reading after the replug; prints one figure named `name`.
 */
async function measureReplugs(name: string, device: Device, source: (path: string) => Source, warmedUp: (sink: ArrivalSink) => boolean): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'pb-bench-replug-'));
  const pty = new PtyPair(dir);
  await pty.plug();
  let simulated = new DeviceProcess(device.script, pty.simulatorPath, device.args);
  const running = source(pty.devicePath);
  const sink = new ArrivalSink();
  const fromReplug: number[] = [];
  const fromDevice: number[] = [];
  try {
    await simulated.ready();
    await running.start(sink);
    await until('readings before the first unplug', () => warmedUp(sink), 10_000);
    for (let run = 0; run < RUNS; run++) {
      await simulated.kill();
      await pty.unplug();
      await until('the loss to show in health', () => running.health().state === 'degraded', 5_000);
      await sleep(UNPLUGGED_MS);
      const before = sink.arrivals.length;
      const replugAt = performance.now();
      await pty.plug();
      simulated = new DeviceProcess(device.script, pty.simulatorPath, device.args);
      await simulated.ready();
      const deviceUpAt = performance.now();
      await until('a reading after the replug', () => sink.arrivals.length > before, 15_000);
      const first = sink.arrivals[before] ?? Number.NaN;
      fromReplug.push(first - replugAt);
      fromDevice.push(first - deviceUpAt);
    }
  } finally {
    await running.stop();
    await simulated.kill();
    await pty.unplug();
    rmSync(dir, { recursive: true, force: true });
  }
  printFigure(name, Math.round(median(fromReplug)), 'ms', { max: Math.round(Math.max(...fromReplug)), afterDeviceUpMs: Math.round(median(fromDevice)), runs: fromReplug.length });
}

await measureReplugs(
  'ant_replug_to_reading_ms',
  { script: 'ant-stick.ts', args: ['--sensors', '6', '--key', TEST_NETWORK_KEY] },
  (path) =>
    new AntSource({
      ...antSourceConfig({ transport: 'uart', path, networkKey: TEST_NETWORK_KEY, permitJoinSeconds: 600, reopenInitialMs: 100, reopenMaxMs: 400 }),
      now: Date.now,
      log,
    }),
  (sink) => sink.sensors.size === 6,
);
await measureReplugs(
  'serial_csafe_replug_to_reading_ms',
  { script: 'csafe-machine.ts', args: [] },
  (path) =>
    new SerialSource({
      ...serialSourceConfig({
        ports: [{ path, protocol: 'csafe' }],
        csafe: { pollIntervalMs: 100, responseTimeoutMs: 300, concept2: true },
        reconnect: { initialDelayMs: 100, maxDelayMs: 400 },
      }),
      now: Date.now,
      log,
    }),
  (sink) => sink.arrivals.length > 0,
);
