/**
 * What the fake-HCI test files share: a world that closes with its test, GATT discovery through noble, and
 * child processes for the tests that need a process of their own.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Characteristic, Peripheral } from '@abandonware/noble';
import { withTimeout } from '@pulsebridge/runtime';
import { byAddress, createNoble, discover, poweredOn, type Noble } from './noble-harness.ts';
import type { SimulatedPeripheral } from './peripheral.ts';
import { FakeBleWorld } from './world.ts';

export const here = fileURLToPath(new URL('.', import.meta.url));
const repositoryRoot = fileURLToPath(new URL('../../../../', import.meta.url));

export function worldFor(t: { after: (fn: () => void) => void }, options: ConstructorParameters<typeof FakeBleWorld>[0] = {}): FakeBleWorld {
  const world = new FakeBleWorld(options);
  t.after(() => world.close());
  return world;
}

export async function connectAndDiscover(peripheral: Peripheral): Promise<Map<string, Characteristic>> {
  await withTimeout(peripheral.connectAsync(), 2000, `connection to ${peripheral.address}`);
  const { characteristics } = await withTimeout(peripheral.discoverAllServicesAndCharacteristicsAsync(), 3000, 'GATT discovery');
  return new Map(characteristics.map((characteristic) => [characteristic.uuid, characteristic]));
}

export function characteristic(characteristics: Map<string, Characteristic>, uuid: string): Characteristic {
  const found = characteristics.get(uuid);
  assert.ok(found, `characteristic ${uuid} discovered`);
  return found;
}

export function collect(characteristic: Characteristic): Buffer[] {
  const received: Buffer[] = [];
  characteristic.on('data', (data: Buffer, isNotification: boolean) => {
    if (isNotification) received.push(Buffer.from(data));
  });
  return received;
}

/** The cached services' characteristics, for a second look without rediscovering. */
export function cachedCharacteristics(peripheral: Peripheral): Map<string, Characteristic> {
  return new Map(peripheral.services.flatMap((service) => service.characteristics).map((c) => [c.uuid, c]));
}

export interface ChildResult {
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export function runChild(args: string[], env: Record<string, string>, timeoutMs: number): Promise<ChildResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: repositoryRoot, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, timedOut });
    });
  });
}

/** noble on `adapterId` connected to a strap and subscribed to its heart rate, with the notifications it gets. */
export async function subscribedToStrap(
  strap: SimulatedPeripheral,
  adapterId = 0,
): Promise<{ noble: Noble; peripheral: Peripheral; measurement: Characteristic; received: Buffer[] }> {
  const noble = createNoble(adapterId);
  await poweredOn(noble);
  const peripheral = await discover(noble, byAddress(strap.address), 'the heart-rate strap');
  const measurement = characteristic(await connectAndDiscover(peripheral), '2a37');
  const received = collect(measurement);
  await measurement.subscribeAsync();
  return { noble, peripheral, measurement, received };
}
