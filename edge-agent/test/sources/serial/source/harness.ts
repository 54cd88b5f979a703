/**
 * Serial tests without hardware: the agent's SerialSource on the near end of a socat pseudo-terminal pair,
 * through the real `serialport`, and a device simulator as its own process on the far end
 * (`devices/simulator-process.ts`).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import pino from 'pino';
import { SerialSource, serialSourceConfig, type SerialSourceOptions } from '../../../../src/sources/serial/serial-source.ts';
import { DeviceProcess, PtyPair } from '../../../devices/simulator-process.ts';
import { until } from '@pulsebridge/runtime';

export function waitUntil(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  return until(what, condition, timeoutMs);
}

export { RecordingSink } from '../../recording-sink.ts';

/** A temp dir, a pty pair and everything started in it, all torn down when the test ends. */
export function serialRig(t: TestContext): {
  dir: string;
  pty: PtyPair;
  device(script: string, args?: string[]): DeviceProcess;
  source(options: Partial<Omit<SerialSourceOptions, 'now' | 'log'>> & Pick<SerialSourceOptions, 'ports'>): SerialSource;
} {
  const dir = mkdtempSync(join(tmpdir(), 'pb-serial-'));
  const pty = new PtyPair(dir);
  const devices: DeviceProcess[] = [];
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
      const device = new DeviceProcess(script, pty.simulatorPath, args);
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
