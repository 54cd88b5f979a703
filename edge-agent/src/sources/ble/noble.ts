/**
 * The part of noble the BLE source uses, how it is loaded, and how an instance is disposed of.
 *
 * noble is loaded lazily and under a guard: on Linux it opens an HCI socket when constructed, which throws
 * on a machine without Bluetooth (EAFNOSUPPORT) or without the adapter asked for. One instance per adapter:
 * `with-custom-binding` takes the HCI device id from its options.
 *
 * The types are written here rather than taken from noble's `index.d.ts`, which describes a module-level
 * singleton and an older API; these name exactly what the source relies on, so a fake bindings object in
 * tests and the real stack are held to the same contract.
 */
import { createRequire } from 'node:module';

export interface AdvertisementLike {
  localName?: string | undefined;
  serviceUuids?: string[] | undefined;
  serviceData?: { uuid: string; data: Buffer }[] | undefined;
  manufacturerData?: Buffer | undefined;
  txPowerLevel?: number | undefined;
}

export interface CharacteristicLike {
  readonly uuid: string;
  readonly properties: readonly string[];
  on(event: 'data', listener: (data: Buffer, isNotification: boolean) => void): unknown;
  removeListener(event: 'data', listener: (data: Buffer, isNotification: boolean) => void): unknown;
  subscribeAsync(): Promise<void>;
  readAsync(): Promise<Buffer>;
}

export interface PeripheralLike {
  readonly id: string;
  readonly address: string;
  readonly rssi: number;
  readonly connectable?: boolean;
  readonly advertisement: AdvertisementLike;
  /** 'disconnected' | 'connecting' | 'connected' | 'disconnecting' | 'error' */
  readonly state: string;
  connectAsync(): Promise<void>;
  cancelConnect(): void;
  disconnectAsync(): Promise<void>;
  /** HCI Read RSSI on the link; resolves with dBm. */
  updateRssiAsync(): Promise<number>;
  discoverSomeServicesAndCharacteristicsAsync(serviceUuids: string[], characteristicUuids: string[]): Promise<{ characteristics: CharacteristicLike[] }>;
  once(event: 'disconnect', listener: (reason?: unknown) => void): unknown;
  removeListener(event: 'disconnect', listener: (reason?: unknown) => void): unknown;
}

export interface NobleLike {
  /** Reading it initialises the bindings (and opens the HCI socket) when that has not happened yet. */
  readonly state: string;
  on(event: 'stateChange', listener: (state: string) => void): unknown;
  on(event: 'discover', listener: (peripheral: PeripheralLike) => void): unknown;
  on(event: 'scanStop', listener: () => void): unknown;
  on(event: 'warning', listener: (message: string) => void): unknown;
  removeAllListeners(): unknown;
  startScanningAsync(serviceUuids: string[], allowDuplicates: boolean): Promise<void>;
  stopScanning(): void;
  /** Sends HCI Reset to the controller (hci-socket bindings). */
  reset?(): void;
}

export type CreateNoble = (deviceId: number) => NobleLike;

const require = createRequire(import.meta.url);

/** A new noble instance on HCI device `deviceId`. Throws where there is no Bluetooth. */
export const loadNoble: CreateNoble = (deviceId) => {
  const withCustomBinding = require('@abandonware/noble/with-custom-binding') as (options: { deviceId: number }) => NobleLike;
  return withCustomBinding({ deviceId });
};

/** What `initNoble` learnt while initialising, needed to dispose of the instance cleanly. */
export interface NobleSession {
  noble: NobleLike;
  /** `exit` handlers the bindings installed (they disconnect links when the process ends). */
  exitListeners: ((...args: unknown[]) => void)[];
}

/**
 * Initialises the bindings now rather than on noble's next tick, so a failure surfaces here as an exception
 * with its reason. The hci-socket bindings install a SIGINT handler that calls `process.exit(1)` when it is
 * the last one registered: that would cut the agent's clean stop short, so it is removed (the agent owns
 * signals and stops the source itself). Their `exit` handler is kept until the instance is disposed of.
 */
export function initNoble(noble: NobleLike): NobleSession {
  const sigintBefore = new Set(process.listeners('SIGINT'));
  const exitBefore = new Set(process.listeners('exit'));
  try {
    void noble.state;
  } finally {
    for (const listener of process.listeners('SIGINT')) if (!sigintBefore.has(listener)) process.removeListener('SIGINT', listener);
  }
  const exitListeners = process.listeners('exit').filter((listener) => !exitBefore.has(listener)) as ((...args: unknown[]) => void)[];
  return { noble, exitListeners };
}

/**
 * noble's internals this module touches. noble keeps a Peripheral object, and maps of its services,
 * characteristics and descriptors, for every address it ever reported, and the hci-socket bindings keep
 * per-address maps of their own; none is ever pruned. Under a flood of random addresses they grow without
 * bound, so the source forgets devices it has stopped remembering itself (see `forgetPeripheral`).
 * Checked against @abandonware/noble 1.9.2-26; every access tolerates the field being absent.
 */
interface NobleInternals {
  _peripherals?: Record<string, unknown>;
  _services?: Record<string, unknown>;
  _characteristics?: Record<string, unknown>;
  _descriptors?: Record<string, unknown>;
  _discoveredPeripheralUUids?: Record<string, unknown>;
  _bindings?: BindingsInternals;
}

interface BindingsInternals {
  removeAllListeners?: () => unknown;
  _addresses?: Record<string, unknown>;
  _addresseTypes?: Record<string, unknown>;
  _connectable?: Record<string, unknown>;
  scannable?: Record<string, unknown>;
  _gap?: { _discoveries?: Record<string, unknown> };
  _hci?: { _socket?: { stop?: () => void }; pollIsDevUp?: () => void };
}

function internalsOf(noble: NobleLike): NobleInternals {
  return noble as unknown as NobleInternals;
}

/** Drops every trace noble keeps of a device that is not connected. The next advert recreates it. */
export function forgetPeripheral(noble: NobleLike, peripheralId: string, address: string): void {
  const internals = internalsOf(noble);
  delete internals._peripherals?.[peripheralId];
  delete internals._services?.[peripheralId];
  delete internals._characteristics?.[peripheralId];
  delete internals._descriptors?.[peripheralId];
  delete internals._discoveredPeripheralUUids?.[peripheralId];
  const bindings = internals._bindings;
  if (!bindings) return;
  delete bindings._addresses?.[peripheralId];
  delete bindings._addresseTypes?.[peripheralId];
  delete bindings._connectable?.[peripheralId];
  delete bindings.scannable?.[peripheralId];
  delete bindings._gap?._discoveries?.[address];
}

/**
 * The hci-socket GAP layer remembers every address it ever heard, including those it filters out before
 * noble sees them, so `forgetPeripheral` cannot reach them one by one. Past `maxEntries` everything but the
 * addresses to keep is dropped: the cost is only that a forgotten device's next advert is not merged with
 * its last scan response. Returns how many were dropped.
 */
export function pruneAdvertisingMemory(noble: NobleLike, maxEntries: number, keep: (address: string) => boolean): number {
  const discoveries = internalsOf(noble)._bindings?._gap?._discoveries;
  if (!discoveries) return 0;
  const addresses = Object.keys(discoveries);
  if (addresses.length <= maxEntries) return 0;
  let dropped = 0;
  for (const address of addresses) {
    if (keep(address)) continue;
    delete discoveries[address];
    dropped++;
  }
  return dropped;
}

/** How many devices noble itself holds objects for. */
export function noblePeripheralCount(noble: NobleLike): number {
  const peripherals = internalsOf(noble)._peripherals;
  return peripherals ? Object.keys(peripherals).length : 0;
}

/**
 * Lets go of an instance: no event of it reaches anyone any more, and it keeps nothing running. The
 * hci-socket bindings poll the adapter with a timer they never cancel and keep the socket reading; both are
 * stopped here, or every adapter reset would leave one more of each behind.
 */
export function disposeNoble(session: NobleSession): void {
  const { noble } = session;
  const internals = internalsOf(noble);
  try {
    noble.stopScanning();
  } catch {
    // Stopping a scan on a dead stack may throw; the instance is being dropped either way.
  }
  noble.removeAllListeners();
  const bindings = internals._bindings;
  bindings?.removeAllListeners?.();
  const hci = bindings?._hci;
  if (hci) {
    hci.pollIsDevUp = () => undefined;
    try {
      hci._socket?.stop?.();
    } catch {
      // Same as above: best effort on a stack that may already be gone.
    }
  }
  for (const listener of session.exitListeners) process.removeListener('exit', listener);
  session.exitListeners = [];
}
