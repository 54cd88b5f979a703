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
import { parseArgs } from 'node:util';
import type { TestContext } from 'node:test';
import { pino } from 'pino';
import { AntSource } from '../../edge-agent/src/sources/ant/ant-source.ts';
import { antSourceConfig } from '../../edge-agent/src/sources/ant/config.ts';
import { DeviceProcess, PtyPair, SOCAT_MISSING } from '../../edge-agent/test/devices/simulator-process.ts';
import { TEST_NETWORK_KEY, until } from '../../edge-agent/test/sources/ant/source/harness.ts';
import { RecordingSink, serialRig } from '../../edge-agent/test/sources/serial/source/harness.ts';

const { values: args } = parseArgs({ options: { runs: { type: 'string', default: '5' } } });
const RUNS = Number(args.runs);
const log = pino({ level: 'silent' });

if (SOCAT_MISSING) {
  console.error(`replug benchmark needs socat: ${SOCAT_MISSING}`);
  process.exit(1);
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const print = (name: string, fromReplug: number[], fromDevice: number[]): void =>
  console.log(JSON.stringify({ name, value: Math.round(median(fromReplug)), unit: 'ms', max: Math.round(Math.max(...fromReplug)), afterDeviceUpMs: Math.round(median(fromDevice)), runs: fromReplug.length }));

async function antReplug(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'pb-bench-ant-'));
  const pty = new PtyPair(dir);
  const stickArgs = ['--sensors', '6', '--key', TEST_NETWORK_KEY];
  await pty.plug();
  let stick = new DeviceProcess('ant-stick.ts', pty.simulatorPath, stickArgs);
  await stick.ready();
  const source = new AntSource({ ...antSourceConfig({ transport: 'uart', path: pty.devicePath, networkKey: TEST_NETWORK_KEY, permitJoinSeconds: 600, reopenInitialMs: 100, reopenMaxMs: 400 }), now: Date.now, log });
  const sink = new RecordingSink();
  const fromReplug: number[] = [];
  const fromDevice: number[] = [];
  try {
    await source.start(sink);
    await until('readings from all 6 sensors', () => sink.sensorsWithReadings().size === 6, 10_000);
    for (let run = 0; run < RUNS; run++) {
      await stick.kill();
      await pty.unplug();
      await until('the loss to show in health', () => source.health().state === 'degraded', 5_000);
      // Let the reopen backoff reach its ceiling, as after a real unplug that lasts a while.
      await new Promise((resolve) => setTimeout(resolve, 800));
      const replugAt = Date.now();
      await pty.plug();
      stick = new DeviceProcess('ant-stick.ts', pty.simulatorPath, stickArgs);
      await stick.ready();
      const deviceUpAt = Date.now();
      await until('a reading after the replug', () => sink.readings.some((r) => r.ts >= replugAt), 15_000);
      const first = Math.min(...sink.readings.filter((r) => r.ts >= replugAt).map((r) => r.ts));
      fromReplug.push(first - replugAt);
      fromDevice.push(first - deviceUpAt);
    }
  } finally {
    await source.stop();
    await stick.kill();
    await pty.unplug();
    rmSync(dir, { recursive: true, force: true });
  }
  print('ant_replug_to_reading_ms', fromReplug, fromDevice);
}

async function serialReplug(): Promise<void> {
  const cleanups: (() => Promise<void> | void)[] = [];
  // The rig registers its cleanup with a test context; here a list run at the end stands in for it.
  const context = { after: (fn: () => Promise<void> | void) => cleanups.push(fn) } as unknown as TestContext;
  const rig = serialRig(context);
  const fromReplug: number[] = [];
  const fromDevice: number[] = [];
  try {
    await rig.pty.plug();
    let machine = rig.device('csafe-machine.ts');
    await machine.ready();
    const source = rig.source({ ports: [{ path: rig.pty.devicePath, protocol: 'csafe' }], csafe: { pollIntervalMs: 100, responseTimeoutMs: 300, concept2: true }, reconnect: { initialDelayMs: 100, maxDelayMs: 400 } });
    const sink = new RecordingSink();
    await source.start(sink);
    await until('readings before the first unplug', () => sink.readings.length > 0, 10_000);
    for (let run = 0; run < RUNS; run++) {
      await machine.kill();
      await rig.pty.unplug();
      await until('the loss to show in health', () => source.health().state === 'degraded', 5_000);
      await new Promise((resolve) => setTimeout(resolve, 800));
      const before = sink.readings.length;
      const replugAt = performance.now();
      await rig.pty.plug();
      machine = rig.device('csafe-machine.ts');
      await machine.ready();
      const deviceUpAt = performance.now();
      await until('a reading after the replug', () => sink.readings.length > before, 15_000);
      const first = sink.receivedAt[before] ?? Number.NaN;
      fromReplug.push(first - replugAt);
      fromDevice.push(first - deviceUpAt);
    }
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup();
  }
  print('serial_csafe_replug_to_reading_ms', fromReplug, fromDevice);
}

await antReplug();
await serialReplug();
