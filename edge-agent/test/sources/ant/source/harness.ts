/**
 * Runs the simulated ANT stick as a child process on the far end of a socat pseudo-terminal pair, and
 * collects what an AntSource hands its sink.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Reading, SensorInfo } from '@pulsebridge/protocol';
import type { SourceSink } from '../../../../src/sources/source.ts';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../../..');
const STICK_SCRIPT = join(REPO_ROOT, 'edge-agent/test/devices/ant-stick.ts');

export const SOCAT_MISSING = spawnSync('socat', ['-V'], { stdio: 'ignore' }).error ? 'socat is not installed (apt-get install socat)' : undefined;

export const TEST_NETWORK_KEY = '0123456789abcdef';

export async function until(what: string, condition: () => boolean, timeoutMs: number, stepMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((r) => child.once('exit', () => r()));
}

/** `socat` linking `<dir>/dev` (the source's end) with `<dir>/sim` (the simulated stick's end). */
export class PtyPair {
  readonly devicePath: string;
  readonly simulatorPath: string;
  private child: ChildProcess | undefined;

  constructor(dir: string) {
    this.devicePath = join(dir, 'dev');
    this.simulatorPath = join(dir, 'sim');
  }

  async start(): Promise<void> {
    this.child = spawn('socat', ['-d', '-d', `pty,raw,echo=0,link=${this.devicePath}`, `pty,raw,echo=0,link=${this.simulatorPath}`], { stdio: 'ignore' });
    await until('socat to create its pseudo-terminals', () => existsSync(this.devicePath) && existsSync(this.simulatorPath), 5_000);
  }

  async kill(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child?.pid) return;
    child.kill('SIGKILL');
    await exited(child);
  }
}

export interface StickEvent {
  event: string;
  [key: string]: unknown;
}

export class SimulatedStick {
  readonly events: StickEvent[] = [];
  private child: ChildProcess | undefined;
  private stderr = '';

  async start(port: string, args: string[]): Promise<void> {
    const child = spawn(process.execPath, ['--import', 'tsx', STICK_SCRIPT, '--port', port, ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    let buffered = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        try {
          this.events.push(JSON.parse(line) as StickEvent);
        } catch {
          this.events.push({ event: 'unparsed', line });
        }
      }
    });
    child.stderr?.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    await until(`the simulated stick to open ${port} (stderr: ${this.stderr})`, () => this.has('ready'), 15_000);
  }

  has(event: string, match: (e: StickEvent) => boolean = () => true): boolean {
    return this.events.some((e) => e.event === event && match(e));
  }

  async kill(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child?.pid) return;
    child.kill('SIGKILL');
    await exited(child);
  }
}

export class CollectingSink implements SourceSink {
  readonly readings: Reading[] = [];
  inventories: SensorInfo[][] = [];

  reading(reading: Reading): void {
    this.readings.push(reading);
  }

  inventory(sensors: SensorInfo[]): void {
    this.inventories.push(sensors);
  }

  get lastInventory(): SensorInfo[] {
    return this.inventories.at(-1) ?? [];
  }

  sensorsWithReadings(since = 0): Set<string> {
    return new Set(this.readings.filter((r) => r.ts >= since).map((r) => r.sensor));
  }
}
