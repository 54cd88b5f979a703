/**
 * Small, bounded waits around noble's callback API for tests that drive noble against a FakeBleWorld.
 * Every wait names what it waited for when it times out.
 */
import type { EventEmitter } from 'node:events';
import { TimeoutError, until } from '@pulsebridge/runtime';
import { createRequire } from 'node:module';
import type { Peripheral } from '@abandonware/noble';

const requireCjs = createRequire(import.meta.url);

/**
 * A noble instance as `@abandonware/noble/with-custom-binding` returns it; its typings describe the module
 * functions but not the `state` and `address` properties every instance has.
 */
export type Noble = typeof import('@abandonware/noble') & EventEmitter & { readonly state: string; readonly address: string };

/**
 * A new noble instance on HCI device `deviceId`, through noble's own hci-socket bindings. install() must
 * have run first, or noble loads the real socket and fails with EAFNOSUPPORT.
 */
export function createNoble(deviceId: number, options: Record<string, unknown> = {}): Noble {
  const withCustomBinding = requireCjs('@abandonware/noble/with-custom-binding') as (options: object) => Noble;
  return withCustomBinding({ deviceId, ...options });
}

export function waitFor<Args extends unknown[]>(
  emitter: EventEmitter,
  event: string,
  what: string,
  timeoutMs: number,
  accept: (...args: Args) => boolean = () => true,
): Promise<Args> {
  return new Promise((resolve, reject) => {
    const listener = (...args: unknown[]): void => {
      if (!accept(...(args as Args))) return;
      clearTimeout(timer);
      emitter.removeListener(event, listener);
      resolve(args as Args);
    };
    const timer = setTimeout(() => {
      emitter.removeListener(event, listener);
      reject(new TimeoutError(what, timeoutMs));
    }, timeoutMs);
    emitter.on(event, listener);
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Waits until `count` stops growing for one polling step: what was already on its way (packets queued
 * before a wedge or a silence) has arrived. Bounded by `timeoutMs`, not a fixed delay.
 */
export function untilSettled(what: string, count: () => number, timeoutMs = 1_000): Promise<void> {
  let last = Number.NaN;
  return until(
    what,
    () => {
      const now = count();
      const settled = now === last;
      last = now;
      return settled;
    },
    timeoutMs,
    20,
  );
}

export async function poweredOn(noble: Noble, timeoutMs = 3000): Promise<void> {
  const waiting = waitFor<[string]>(noble, 'stateChange', 'noble to reach poweredOn', timeoutMs, (state) => state === 'poweredOn');
  // Reading `state` initialises the bindings if nothing did yet.
  if (noble.state === 'poweredOn') {
    waiting.catch(() => undefined);
    return;
  }
  await waiting;
}

export interface DiscoverOptions {
  serviceUuids?: string[];
  allowDuplicates?: boolean;
  timeoutMs?: number;
  /** Leave scanning on after the match (default false). */
  keepScanning?: boolean;
}

/** Scans until a peripheral matches, then stops scanning. */
export async function discover(noble: Noble, accept: (peripheral: Peripheral) => boolean, what: string, options: DiscoverOptions = {}): Promise<Peripheral> {
  const found = waitFor<[Peripheral]>(noble, 'discover', what, options.timeoutMs ?? 3000, accept);
  await noble.startScanningAsync(options.serviceUuids ?? [], options.allowDuplicates ?? false);
  const [peripheral] = await found;
  if (!options.keepScanning) await noble.stopScanningAsync();
  return peripheral;
}

export function byAddress(address: string): (peripheral: Peripheral) => boolean {
  return (peripheral) => peripheral.address === address;
}
