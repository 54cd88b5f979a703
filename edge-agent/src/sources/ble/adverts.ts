/**
 * Adverts of every adapter: who is a candidate (offers a profile service or broadcasts heart rate, is strong
 * enough, is admitted), what a candidate is called and where it was heard, and the heart rate Polar straps
 * broadcast in their adverts, read without a connection. Candidates that want a link are handed to
 * `requestConnection`.
 */
import { performance } from 'node:perf_hooks';
import { Backoff } from '@pulsebridge/runtime';
import type { Logger } from 'pino';
import type { SensorBook } from '../sensor-book.ts';
import type { BleAdapter } from './adapter.ts';
import { bleSensorId, type BleSourceConfig } from './config.ts';
import { forgetPeripheral, type AdvertisementLike, type PeripheralLike } from './noble.ts';
import { BLE_SERVICE_KINDS, kindOfServices, shortUuid } from './profiles/index.ts';
import { NO_HEART_RATE_BLOCK, isPolarManufacturerData, parsePolarBroadcast } from './profiles/polar-broadcast.ts';
import { SeenDevices, type SeenDevice } from './seen-devices.ts';
import { newBleDevice, type BleDevice, type BleSensor, type BleSourceParts } from './sensor-entry.ts';

export interface AdvertCounters {
  adverts: number;
  /** Adverts below the RSSI floor. */
  weakAdverts: number;
  /** Adverts of devices offering none of the profile services and not broadcasting heart rate. */
  unsupportedAdverts: number;
  /** Adverts of devices offering a profile service that are neither allowed nor joined. */
  notAdmittedAdverts: number;
  /** Adverts whose device has no usable address or id. */
  unidentifiedAdverts: number;
  /** Distinct devices ignored (unsupported or not admitted), each counted once while remembered. */
  ignoredDevices: number;
  broadcastAdverts: number;
  /** Broadcast adverts repeating a heart rate already emitted. */
  broadcastRepeats: number;
}

export interface AdvertHandlerOptions extends BleSourceParts {
  requestConnection: (entry: BleSensor, mono: number) => void;
}

/** Older Polar straps do not advance the frame counter reliably: one reading a second at most. */
const OLD_STRAP_INTERVAL_MS = 1_000;
/** A strap unheard this long starts its frame counter comparison afresh. */
const BROADCAST_GAP_MS = 5_000;
/** RSSI 127 means "not available" in HCI advertising reports. */
const RSSI_UNAVAILABLE = 127;

export class AdvertHandler {
  readonly counters: AdvertCounters = {
    adverts: 0,
    weakAdverts: 0,
    unsupportedAdverts: 0,
    notAdmittedAdverts: 0,
    unidentifiedAdverts: 0,
    ignoredDevices: 0,
    broadcastAdverts: 0,
    broadcastRepeats: 0,
  };
  /** Every device heard lately, candidate or not, bounded: what noble may be told to forget. */
  readonly seen: SeenDevices;
  private readonly options: AdvertHandlerOptions;
  private readonly config: BleSourceConfig;
  private readonly book: SensorBook<BleDevice>;
  private readonly log: Logger;

  constructor(options: AdvertHandlerOptions) {
    this.options = options;
    this.config = options.config;
    this.book = options.book;
    this.log = options.log;
    this.seen = new SeenDevices(options.config.seenDevicesCapacity, (device) => this.forget(device));
  }

  onDiscover(adapter: BleAdapter, peripheral: PeripheralLike): void {
    try {
      this.handleAdvert(adapter, peripheral);
    } catch (error) {
      // A bug in handling one advert must not cost the next thousand.
      this.options.handlerFailed('BLE advert handling failed', error);
    }
  }

  private handleAdvert(adapter: BleAdapter, peripheral: PeripheralLike): void {
    this.counters.adverts++;
    const mono = performance.now();
    const id = bleSensorId(peripheral.address, peripheral.id);
    if (id === undefined) {
      this.counters.unidentifiedAdverts++;
      return;
    }
    const seen = this.seen.touch(id, peripheral.address, peripheral.id, adapter.index);
    const rssi = typeof peripheral.rssi === 'number' && peripheral.rssi !== RSSI_UNAVAILABLE ? peripheral.rssi : undefined;
    const weak = rssi !== undefined && rssi < this.config.rssiFloorDbm;
    const advertisement = peripheral.advertisement ?? {};
    let entry = this.book.get(id);

    if (!entry) {
      if (weak) {
        this.counters.weakAdverts++;
        return;
      }
      const offered = offeredServices(advertisement);
      const polar = this.config.polarBroadcast && isPolarManufacturerData(advertisement.manufacturerData) ? parsePolarBroadcast(advertisement.manufacturerData) : undefined;
      const broadcastHeartRate = polar !== undefined && !('ok' in polar);
      if (offered.length === 0 && !broadcastHeartRate) {
        this.counters.unsupportedAdverts++;
        this.markIgnored(seen, 'offers no profile service');
        return;
      }
      // A strap that broadcasts heart rate and offers nothing else is never connected to.
      const broadcast = broadcastHeartRate && offered.every((service) => service === '180d');
      const kind = broadcast ? 'heart_rate' : kindOfServices(offered);
      if (!this.book.admit(id, { kind, rssi })) {
        this.counters.notAdmittedAdverts++;
        this.markIgnored(seen, 'not admitted');
        return;
      }
      const backoff = new Backoff({ initialMs: this.config.reconnectInitialMs, maxMs: this.config.reconnectMaxMs });
      entry = this.book.add(id, { kind, device: newBleDevice(peripheral.address, broadcast, backoff) });
      this.log.info({ sensor: id, kind, broadcast }, 'BLE sensor found');
    }

    const device = entry.device;
    this.book.heard(entry, this.options.now());
    if (rssi !== undefined) device.rssi = rssi;
    const name = cleanName(advertisement.localName);
    if (name !== undefined) this.book.update(entry, { name });
    if (!device.broadcast && this.becomesBroadcast(entry, advertisement)) {
      device.broadcast = true;
      device.status = 'broadcast';
      this.log.info({ sensor: entry.id }, 'BLE strap broadcasts heart rate; reading its adverts instead of connecting');
    }
    if (device.broadcast) {
      // The heart rate is in the advert itself: a weak one is still the strap's own reading.
      const gapMs = mono - device.lastHeardMono;
      device.heardBy.set(adapter.index, { peripheral, rssi, atMono: mono });
      device.lastHeardMono = mono;
      if (gapMs > BROADCAST_GAP_MS) device.broadcastCounter = undefined;
      if (this.onBroadcastAdvert(entry, advertisement.manufacturerData, mono)) return;
    }
    if (weak) {
      this.counters.weakAdverts++;
      return;
    }
    device.heardBy.set(adapter.index, { peripheral, rssi, atMono: mono });
    device.lastHeardMono = mono;
    this.options.requestConnection(entry, mono);
  }

  /** A heart-rate sensor not linked yet whose adverts turn out to carry Polar broadcast heart rate. */
  private becomesBroadcast(entry: BleSensor, advertisement: AdvertisementLike): boolean {
    if (!this.config.polarBroadcast || entry.kind !== 'heart_rate' || entry.device.link !== undefined || entry.device.adapter !== undefined) return false;
    if (!isPolarManufacturerData(advertisement.manufacturerData)) return false;
    if ('ok' in parsePolarBroadcast(advertisement.manufacturerData)) return false;
    return offeredServices(advertisement).every((service) => service === '180d');
  }

  private markIgnored(seen: SeenDevice, why: string): void {
    if (seen.ignored) return;
    seen.ignored = true;
    this.counters.ignoredDevices++;
    this.log.debug({ sensor: seen.id, why }, 'BLE device ignored');
  }

  /** The seen-device memory let go of a device: so does noble, unless the device is one of our sensors. */
  private forget(device: SeenDevice): void {
    if (this.book.has(device.id)) return;
    for (const adapter of this.options.adapters) {
      if ((device.adapters & (1 << adapter.index)) === 0) continue;
      const noble = adapter.noble;
      if (noble) forgetPeripheral(noble, device.peripheralId, device.address);
    }
  }

  /** Handles a broadcast strap's advert; false when the strap no longer broadcasts and should be connected. */
  private onBroadcastAdvert(entry: BleSensor, manufacturerData: Buffer | undefined, mono: number): boolean {
    if (!isPolarManufacturerData(manufacturerData)) return true;
    const device = entry.device;
    const parsed = parsePolarBroadcast(manufacturerData);
    if ('ok' in parsed) {
      if (parsed.reason === NO_HEART_RATE_BLOCK) {
        // Broadcasting can be switched off on the strap; its heart rate service still works.
        device.broadcast = false;
        device.status = 'advertising';
        this.log.info({ sensor: entry.id }, 'BLE strap stopped broadcasting heart rate; connecting to it instead');
        return false;
      }
      this.book.reject(entry, `broadcast heart rate: ${parsed.reason}`);
      return true;
    }
    this.counters.broadcastAdverts++;
    const repeat =
      parsed.blockLength === 4
        ? parsed.frameCounter === device.broadcastCounter
        : device.broadcastEmitMono !== undefined && mono - device.broadcastEmitMono < OLD_STRAP_INTERVAL_MS;
    if (repeat) {
      this.counters.broadcastRepeats++;
      return true;
    }
    device.broadcastCounter = parsed.frameCounter;
    device.broadcastEmitMono = mono;
    this.book.mergeFacts(entry, { sensorContact: parsed.sensorContact ? 'detected' : 'not_detected' });
    // 0 bpm is a strap still searching for a pulse, never a heart rate.
    if (parsed.heartRateBpm > 0) this.book.emit(entry, [{ metric: 'heart_rate', value: parsed.heartRateBpm }], this.options.now());
    return true;
  }
}

function offeredServices(advertisement: AdvertisementLike): string[] {
  const offered: string[] = [];
  const consider = (uuid: string): void => {
    const short = shortUuid(uuid);
    if (short !== undefined && BLE_SERVICE_KINDS.has(short) && !offered.includes(short)) offered.push(short);
  };
  for (const uuid of advertisement.serviceUuids ?? []) consider(uuid);
  for (const data of advertisement.serviceData ?? []) consider(data.uuid);
  return offered;
}

// eslint-disable-next-line no-control-regex -- control characters are exactly what is being removed
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f\uFFFD]/g;

/** Advert names are whatever a device says: printable characters only, bounded. */
function cleanName(name: string | undefined): string | undefined {
  if (typeof name !== 'string') return undefined;
  const clean = name.replace(CONTROL_CHARACTERS, '').trim().slice(0, 64);
  return clean.length > 0 ? clean : undefined;
}
