/**
 * The test side of the device simulators in this folder: a socat pseudo-terminal pair whose near end the
 * agent's real `serialport` opens, and a simulator running as its own process on the far end, reporting
 * what it did as one JSON object per line. Unplugging is killing both; replugging is starting both again on
 * the same link paths.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { until } from '@pulsebridge/runtime';

const DEVICES = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(DEVICES, '../../..');

/** Why pseudo-terminal tests cannot run here, or false when they can. */
export const SOCAT_MISSING: string | false = spawnSync('socat', ['-V'], { stdio: 'ignore' }).error ? 'socat is not installed (scripts/test-services.sh installs it)' : false;

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((r) => child.once('exit', () => r()));
}

/** `socat` linking `<dir>/dev` (the agent's end) with `<dir>/sim` (the simulator's end). */
export class PtyPair {
  readonly devicePath: string;
  readonly simulatorPath: string;
  private socat: ChildProcess | undefined;

  constructor(dir: string) {
    this.devicePath = join(dir, 'dev');
    this.simulatorPath = join(dir, 'sim');
  }

  async plug(): Promise<void> {
    this.socat = spawn('socat', ['-d', '-d', `pty,raw,echo=0,link=${this.devicePath}`, `pty,raw,echo=0,link=${this.simulatorPath}`], { stdio: 'ignore' });
    await until(`socat to create ${this.devicePath} and ${this.simulatorPath}`, () => existsSync(this.devicePath) && existsSync(this.simulatorPath), 5_000);
  }

  async unplug(): Promise<void> {
    const socat = this.socat;
    this.socat = undefined;
    if (!socat?.pid) return;
    socat.kill('SIGTERM');
    await exited(socat);
  }
}

export interface DeviceEvent {
  event: string;
  [key: string]: unknown;
}

/** One simulator script of this folder (e.g. 'ant-stick.ts'), started on `port` at construction. */
export class DeviceProcess {
  readonly events: DeviceEvent[] = [];
  private readonly child: ChildProcess;
  private stderr = '';

  constructor(script: string, port: string, args: string[] = []) {
    this.child = spawn(process.execPath, ['--import', 'tsx', join(DEVICES, script), '--port', port, ...args], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    let buffered = '';
    this.child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        try {
          this.events.push(JSON.parse(line) as DeviceEvent);
        } catch {
          this.events.push({ event: 'unparsed', line });
        }
      }
    });
    this.child.stderr?.on('data', (chunk: Buffer) => void (this.stderr += chunk.toString('utf8')));
  }

  of(event: string): DeviceEvent[] {
    return this.events.filter((e) => e.event === event);
  }

  has(event: string, match: (e: DeviceEvent) => boolean = () => true): boolean {
    return this.events.some((e) => e.event === event && match(e));
  }

  /** Resolves once the simulator has opened its port ('ready', or 'start' for the GPS receiver). */
  async ready(timeoutMs = 15_000): Promise<void> {
    const gone = (): boolean => this.child.exitCode !== null || this.child.signalCode !== null;
    await until('the device simulator to start', () => this.has('ready') || this.has('start') || gone(), timeoutMs);
    if (gone() && this.events.length === 0) throw new Error(`device simulator exited: ${this.stderr}`);
  }

  async kill(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    await exited(this.child);
  }
}
