/**
 * Serial tests without hardware: a socat pseudo-terminal pair, the agent's SerialSource on the near end
 * through the real `serialport`, and a device simulator as its own process on the far end. Unplugging is
 * killing socat and the simulator; replugging is starting both again on the same link paths.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import type { TestContext } from 'node:test';
import pino from 'pino';
import type { Reading, SensorInfo } from '@pulsebridge/protocol';
import type { SourceSink } from '../../../../src/sources/source.ts';
import { SerialSource, serialSourceConfig, type SerialSourceOptions } from '../../../../src/sources/serial/serial-source.ts';

const here = dirname(fileURLToPath(import.meta.url));
const DEVICES = resolve(here, '../../../devices');
const REPO = resolve(here, '../../../../..');

export const socatMissing: string | false = spawnSync('socat', ['-V'], { stdio: 'ignore' }).error ? 'socat not installed (scripts/test-services.sh installs it)' : false;

export async function waitUntil(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}

export class RecordingSink implements SourceSink {
  readonly readings: Reading[] = [];
  readonly inventories: SensorInfo[][] = [];
  /** performance.now() of each reading, for recovery timing. */
  readonly receivedAt: number[] = [];

  reading(reading: Reading): void {
    this.readings.push(reading);
    this.receivedAt.push(performance.now());
  }

  inventory(sensors: SensorInfo[]): void {
    this.inventories.push(sensors);
  }

  values(sensor: string, metric: string): number[] {
    return this.readings.filter((r) => r.sensor === sensor && r.metric === metric).map((r) => r.value);
  }

  /** Readings sharing sensor, metric and ts: what the hub would store once and the outbox would send twice. */
  duplicates(): Reading[] {
    const seen = new Set<string>();
    return this.readings.filter((r) => {
      const key = `${r.sensor}|${r.metric}|${r.ts}`;
      if (seen.has(key)) return true;
      seen.add(key);
      return false;
    });
  }
}

export interface DeviceEvent {
  event: string;
  [key: string]: unknown;
}

export class Device {
  readonly events: DeviceEvent[] = [];
  readonly process: ChildProcess;
  private stderr = '';
  private exited = false;

  constructor(script: string, port: string, args: string[]) {
    this.process = spawn(process.execPath, ['--import', 'tsx', join(DEVICES, script), '--port', port, ...args], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    let buffered = '';
    this.process.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        this.events.push(JSON.parse(buffered.slice(0, newline)) as DeviceEvent);
        buffered = buffered.slice(newline + 1);
      }
    });
    this.process.stderr?.on('data', (chunk: Buffer) => void (this.stderr += chunk.toString('utf8')));
    this.process.on('exit', () => void (this.exited = true));
  }

  of(event: string): DeviceEvent[] {
    return this.events.filter((e) => e.event === event);
  }

  async ready(timeoutMs = 15_000): Promise<void> {
    await waitUntil(() => this.of('ready').length > 0 || this.of('start').length > 0 || this.exited, timeoutMs, 'the device simulator to start');
    if (this.exited && this.events.length === 0) throw new Error(`device simulator exited: ${this.stderr}`);
  }

  async kill(): Promise<void> {
    if (this.exited) return;
    const exit = new Promise((resolveExit) => this.process.once('exit', resolveExit));
    this.process.kill('SIGTERM');
    await exit;
  }
}

export class PtyPair {
  readonly dev: string;
  readonly sim: string;
  private socat: ChildProcess | undefined;

  constructor(dir: string) {
    this.dev = join(dir, 'dev');
    this.sim = join(dir, 'sim');
  }

  async plug(): Promise<void> {
    const socat = spawn('socat', ['-d', '-d', `pty,raw,echo=0,link=${this.dev}`, `pty,raw,echo=0,link=${this.sim}`], { stdio: 'ignore' });
    this.socat = socat;
    await waitUntil(() => existsSync(this.dev) && existsSync(this.sim), 5_000, `socat to create ${this.dev} and ${this.sim}`);
  }

  async unplug(): Promise<void> {
    const socat = this.socat;
    this.socat = undefined;
    if (!socat || socat.exitCode !== null) return;
    const exit = new Promise((resolveExit) => socat.once('exit', resolveExit));
    socat.kill('SIGTERM');
    await exit;
  }
}

/** A temp dir, a pty pair and everything started in it, all torn down when the test ends. */
export function serialRig(t: TestContext): {
  dir: string;
  pty: PtyPair;
  device(script: string, args?: string[]): Device;
  source(options: Partial<Omit<SerialSourceOptions, 'now' | 'log'>> & Pick<SerialSourceOptions, 'ports'>): SerialSource;
} {
  const dir = mkdtempSync(join(tmpdir(), 'pb-serial-'));
  const pty = new PtyPair(dir);
  const devices: Device[] = [];
  const sources: SerialSource[] = [];
  t.after(async () => {
    for (const source of sources) await source.stop();
    for (const device of devices) await device.kill();
    await pty.unplug();
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    dir,
    pty,
    device(script, args = []) {
      const device = new Device(script, pty.sim, args);
      devices.push(device);
      return device;
    },
    source(options) {
      const { listPorts, ...config } = options;
      const source = new SerialSource({
        ...serialSourceConfig(config),
        now: () => Date.now(),
        log: pino({ level: process.env['LOG_LEVEL'] ?? 'silent' }),
        ...(listPorts ? { listPorts } : {}),
      });
      sources.push(source);
      return source;
    },
  };
}
