/**
 * A fake noble *bindings* object: what noble's `lib/noble.js` calls on its bindings, answering with the
 * events and argument lists the hci-socket bindings emit. Real `Noble` instances run on top of it
 * (`@abandonware/noble/with-bindings`), so the source under test goes through noble's own Peripheral,
 * Service and Characteristic objects and promise APIs.
 *
 * `FakeAir` is the room: the devices in it, and one bindings object per adapter (a new one each time the
 * source creates a noble instance, as after an adapter reset).
 */
import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import type { NobleLike } from '../../../src/sources/ble/noble.ts';

const require = createRequire(import.meta.url);
const withBindings = require('@abandonware/noble/with-bindings') as (bindings: EventEmitter) => NobleLike;

export interface FakeCharacteristic {
  uuid: string;
  properties: string[];
  value?: Buffer;
}

export interface FakeService {
  uuid: string;
  characteristics: FakeCharacteristic[];
}

export interface FakeDevice {
  address: string;
  addressType?: 'public' | 'random';
  rssi?: number;
  localName?: string;
  advertisedServices?: string[];
  manufacturerData?: Buffer;
  services?: FakeService[];
  /** ms until a connection completes, or never, or refused by the controller. */
  connect?: number | 'hang' | 'fail';
}

export function peripheralUuid(address: string): string {
  return address.split(':').join('').toLowerCase();
}

const HCI_REMOTE_USER_TERMINATED = 0x13;
const HCI_LOCAL_HOST_TERMINATED = 0x16;

export class FakeBindings extends EventEmitter {
  readonly deviceId: number;
  private readonly air: FakeAir;
  private readonly timers = new Set<NodeJS.Timeout>();
  private scanServices: string[] | undefined;
  readonly scanStarts: { services: string[]; allowDuplicates: boolean }[] = [];
  resets = 0;
  inFlightConnects = 0;
  maxInFlightConnects = 0;
  readonly connectCalls: string[] = [];
  readonly disconnectCalls: string[] = [];
  readonly connected = new Set<string>();
  maxConnected = 0;
  /** Subscribed characteristic UUIDs per connected peripheral. */
  readonly subscribed = new Map<string, Set<string>>();
  /** Reads per `<peripheral uuid>/<characteristic uuid>`. */
  readonly reads = new Map<string, number>();
  /** Connections the controller is attempting; no timer for one that never completes. */
  private readonly pendingConnects = new Map<string, NodeJS.Timeout | undefined>();
  /** Like the hci-socket GAP layer: every address heard, before any service filter. */
  readonly _gap = { _discoveries: {} as Record<string, { count: number }> };

  constructor(air: FakeAir, deviceId: number) {
    super();
    this.air = air;
    this.deviceId = deviceId;
  }

  // ---- what noble calls ----

  init(): void {
    const failure = this.air.initError?.(this.deviceId);
    if (failure) throw failure;
    this.later(() => this.emit('stateChange', this.air.initialState(this.deviceId)));
  }

  setScanParameters(): void {
    this.later(() => this.emit('scanParametersSet'));
  }

  startScanning(serviceUuids: string[] | undefined, allowDuplicates: boolean): void {
    this.scanServices = serviceUuids ?? [];
    this.scanStarts.push({ services: [...this.scanServices], allowDuplicates });
    this.later(() => this.emit('scanStart', !allowDuplicates));
  }

  stopScanning(): void {
    this.scanServices = undefined;
    this.later(() => this.emit('scanStop'));
  }

  reset(): void {
    this.resets++;
  }

  connect(uuid: string): void {
    this.connectCalls.push(uuid);
    this.inFlightConnects++;
    this.maxInFlightConnects = Math.max(this.maxInFlightConnects, this.inFlightConnects);
    const device = this.air.device(uuid);
    const behaviour = device?.connect ?? 5;
    if (behaviour === 'hang') {
      this.pendingConnects.set(uuid, undefined);
      return;
    }
    const timer = setTimeout(
      () => {
        this.timers.delete(timer);
        this.pendingConnects.delete(uuid);
        this.inFlightConnects--;
        if (behaviour === 'fail' || !device) {
          this.emit('connect', uuid, new Error('Connection Failed to be Established (0x3e)'));
          return;
        }
        this.connected.add(uuid);
        this.maxConnected = Math.max(this.maxConnected, this.connected.size);
        this.subscribed.set(uuid, new Set());
        this.emit('connect', uuid, null);
      },
      typeof behaviour === 'number' ? behaviour : 5,
    );
    this.timers.add(timer);
    this.pendingConnects.set(uuid, timer);
  }

  cancelConnect(uuid: string): void {
    if (!this.pendingConnects.has(uuid)) return;
    const timer = this.pendingConnects.get(uuid);
    if (timer) {
      clearTimeout(timer);
      this.timers.delete(timer);
    }
    this.pendingConnects.delete(uuid);
    this.inFlightConnects--;
  }

  disconnect(uuid: string): void {
    this.disconnectCalls.push(uuid);
    if (!this.connected.has(uuid)) return;
    this.later(() => this.endLink(uuid, HCI_LOCAL_HOST_TERMINATED));
  }

  updateRssi(uuid: string): void {
    this.later(() => this.emit('rssiUpdate', uuid, this.air.device(uuid)?.rssi ?? -60));
  }

  discoverServices(uuid: string, uuids: string[]): void {
    const services = (this.air.device(uuid)?.services ?? []).map((s) => s.uuid).filter((s) => uuids.length === 0 || uuids.includes(s));
    this.later(() => this.connected.has(uuid) && this.emit('servicesDiscover', uuid, services));
  }

  discoverIncludedServices(uuid: string, serviceUuid: string): void {
    this.later(() => this.emit('includedServicesDiscover', uuid, serviceUuid, []));
  }

  discoverCharacteristics(uuid: string, serviceUuid: string, characteristicUuids: string[]): void {
    const service = this.air.device(uuid)?.services?.find((s) => s.uuid === serviceUuid);
    const characteristics = (service?.characteristics ?? [])
      .filter((c) => characteristicUuids.length === 0 || characteristicUuids.includes(c.uuid))
      .map((c) => ({ uuid: c.uuid, properties: [...c.properties] }));
    this.later(() => this.connected.has(uuid) && this.emit('characteristicsDiscover', uuid, serviceUuid, characteristics));
  }

  read(uuid: string, serviceUuid: string, characteristicUuid: string): void {
    const key = `${uuid}/${characteristicUuid}`;
    this.reads.set(key, (this.reads.get(key) ?? 0) + 1);
    const value = this.characteristic(uuid, characteristicUuid)?.value ?? Buffer.alloc(0);
    this.later(() => this.connected.has(uuid) && this.emit('read', uuid, serviceUuid, characteristicUuid, value, false));
  }

  write(uuid: string, serviceUuid: string, characteristicUuid: string): void {
    this.later(() => this.emit('write', uuid, serviceUuid, characteristicUuid));
  }

  broadcast(uuid: string, serviceUuid: string, characteristicUuid: string, broadcast: boolean): void {
    this.later(() => this.emit('broadcast', uuid, serviceUuid, characteristicUuid, broadcast));
  }

  notify(uuid: string, serviceUuid: string, characteristicUuid: string, enable: boolean): void {
    const set = this.subscribed.get(uuid);
    if (set) {
      if (enable) set.add(characteristicUuid);
      else set.delete(characteristicUuid);
    }
    this.later(() => this.connected.has(uuid) && this.emit('notify', uuid, serviceUuid, characteristicUuid, enable));
  }

  discoverDescriptors(uuid: string, serviceUuid: string, characteristicUuid: string): void {
    this.later(() => this.emit('descriptorsDiscover', uuid, serviceUuid, characteristicUuid, []));
  }

  readValue(uuid: string, serviceUuid: string, characteristicUuid: string, descriptorUuid: string): void {
    this.later(() => this.emit('valueRead', uuid, serviceUuid, characteristicUuid, descriptorUuid, Buffer.alloc(0)));
  }

  writeValue(uuid: string, serviceUuid: string, characteristicUuid: string, descriptorUuid: string): void {
    this.later(() => this.emit('valueWrite', uuid, serviceUuid, characteristicUuid, descriptorUuid));
  }

  readHandle(uuid: string, handle: number): void {
    this.later(() => this.emit('handleRead', uuid, handle, Buffer.alloc(0)));
  }

  writeHandle(uuid: string, handle: number): void {
    this.later(() => this.emit('handleWrite', uuid, handle));
  }

  // ---- what tests do ----

  /** One advert, filtered by the scan's services as the hci-socket bindings filter them. */
  advertise(device: FakeDevice, overrides: Partial<FakeDevice> = {}): boolean {
    if (this.scanServices === undefined) return false;
    const d = { ...device, ...overrides };
    const address = d.address.toLowerCase();
    this._gap._discoveries[address] = { count: (this._gap._discoveries[address]?.count ?? 0) + 1 };
    const advertised = d.advertisedServices ?? [];
    if (this.scanServices.length > 0 && !advertised.some((s) => this.scanServices?.includes(s))) return false;
    const advertisement = {
      localName: d.localName,
      txPowerLevel: undefined,
      manufacturerData: d.manufacturerData,
      serviceData: [],
      serviceUuids: advertised,
      solicitationServiceUuids: [],
      serviceSolicitationUuids: [],
    };
    this.emit('discover', peripheralUuid(d.address), d.address.toLowerCase(), d.addressType ?? 'public', true, advertisement, d.rssi ?? -60, true);
    return true;
  }

  /** A notification from a connected device on a subscribed characteristic; false when it cannot be sent. */
  notifyValue(address: string, characteristicUuid: string, data: Buffer): boolean {
    const uuid = peripheralUuid(address);
    if (!this.connected.has(uuid) || !this.subscribed.get(uuid)?.has(characteristicUuid)) return false;
    const serviceUuid = this.air.device(uuid)?.services?.find((s) => s.characteristics.some((c) => c.uuid === characteristicUuid))?.uuid;
    if (serviceUuid === undefined) return false;
    this.emit('read', uuid, serviceUuid, characteristicUuid, data, true);
    return true;
  }

  /** The device ends the link (walked away, switched off). */
  dropLink(address: string, reason = HCI_REMOTE_USER_TERMINATED): void {
    const uuid = peripheralUuid(address);
    if (this.connected.has(uuid)) this.endLink(uuid, reason);
  }

  isConnected(address: string): boolean {
    return this.connected.has(peripheralUuid(address));
  }

  readsOf(address: string, characteristicUuid: string): number {
    return this.reads.get(`${peripheralUuid(address)}/${characteristicUuid}`) ?? 0;
  }

  connectsOf(address: string): number {
    const uuid = peripheralUuid(address);
    return this.connectCalls.filter((c) => c === uuid).length;
  }

  close(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const timer of this.pendingConnects.values()) clearTimeout(timer);
    this.pendingConnects.clear();
  }

  private endLink(uuid: string, reason: number): void {
    if (!this.connected.delete(uuid)) return;
    this.subscribed.delete(uuid);
    this.emit('disconnect', uuid, reason);
  }

  private characteristic(uuid: string, characteristicUuid: string): FakeCharacteristic | undefined {
    for (const service of this.air.device(uuid)?.services ?? []) {
      const found = service.characteristics.find((c) => c.uuid === characteristicUuid);
      if (found) return found;
    }
    return undefined;
  }

  private later(fn: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, 0);
    this.timers.add(timer);
  }
}

export class FakeAir {
  readonly devices = new Map<string, FakeDevice>();
  /** Every bindings object created, per HCI device id, oldest first. */
  readonly created = new Map<number, FakeBindings[]>();
  /** The noble instance made on each of them, in the same order. */
  readonly nobles = new Map<number, NobleLike[]>();
  initialState: (deviceId: number) => string = () => 'poweredOn';
  initError: ((deviceId: number) => Error | undefined) | undefined;

  readonly createNoble = (deviceId: number): NobleLike => {
    const bindings = new FakeBindings(this, deviceId);
    const list = this.created.get(deviceId) ?? [];
    list.push(bindings);
    this.created.set(deviceId, list);
    const noble = withBindings(bindings);
    this.nobles.set(deviceId, [...(this.nobles.get(deviceId) ?? []), noble]);
    return noble;
  };

  /** noble's own Peripheral object for an address on an adapter's newest instance, to count its listeners. */
  peripheral(address: string, deviceId = 0): EventEmitter | undefined {
    const nobles = this.nobles.get(deviceId);
    const noble = nobles?.[nobles.length - 1] as unknown as { _peripherals: Record<string, EventEmitter> } | undefined;
    return noble?._peripherals[peripheralUuid(address)];
  }

  add(...devices: FakeDevice[]): void {
    for (const device of devices) this.devices.set(peripheralUuid(device.address), device);
  }

  device(uuid: string): FakeDevice | undefined {
    return this.devices.get(uuid);
  }

  /** The current bindings of an adapter (the newest noble instance). */
  bindings(deviceId = 0): FakeBindings {
    const list = this.created.get(deviceId);
    const last = list?.[list.length - 1];
    if (!last) throw new Error(`no noble instance was created for hci${deviceId}`);
    return last;
  }

  /** Adverts from these devices (all known ones by default) on the current bindings of these adapters. */
  advertise(addresses?: string[], adapters: number[] = [0], overrides: Partial<FakeDevice> = {}): void {
    const devices = addresses ? addresses.map((a) => this.devices.get(peripheralUuid(a))) : [...this.devices.values()];
    for (const deviceId of adapters) {
      if (!this.created.has(deviceId)) continue;
      for (const device of devices) if (device) this.bindings(deviceId).advertise(device, overrides);
    }
  }

  close(): void {
    for (const list of this.created.values()) for (const bindings of list) bindings.close();
  }
}

// ---- devices ----

export function heartRateStrap(address: string, extra: Partial<FakeDevice> = {}): FakeDevice {
  return {
    address,
    localName: 'HRM Pro',
    advertisedServices: ['180d'],
    services: [
      {
        uuid: '180d',
        characteristics: [
          { uuid: '2a37', properties: ['notify'] },
          { uuid: '2a38', properties: ['read'], value: Buffer.from([1]) },
        ],
      },
      { uuid: '180f', characteristics: [{ uuid: '2a19', properties: ['read', 'notify'], value: Buffer.from([87]) }] },
      {
        uuid: '180a',
        characteristics: [
          { uuid: '2a29', properties: ['read'], value: Buffer.from('Acme Sports\0\0') },
          { uuid: '2a24', properties: ['read'], value: Buffer.from('HR-9') },
        ],
      },
    ],
    ...extra,
  };
}

export function speedCadenceSensor(address: string, extra: Partial<FakeDevice> = {}): FakeDevice {
  return {
    address,
    localName: 'CSC',
    advertisedServices: ['1816'],
    services: [
      {
        uuid: '1816',
        characteristics: [
          { uuid: '2a5b', properties: ['notify'] },
          { uuid: '2a5c', properties: ['read'], value: Buffer.from([3, 0]) },
        ],
      },
    ],
    ...extra,
  };
}

/** Polar manufacturer data with one HR block (4 bytes, or 3 for older straps). */
export function polarData(heartRate: number, counter: number, { oldStrap = false, contact = true } = {}): Buffer {
  const flags = ((counter & 7) << 2) | (contact ? 0x02 : 0);
  return Buffer.from(oldStrap ? [0x6b, 0x00, flags, 0x00, heartRate] : [0x6b, 0x00, flags, 0x00, heartRate + 2, heartRate]);
}

export function polarStrap(address: string, heartRate = 70, counter = 0, extra: Partial<FakeDevice> = {}): FakeDevice {
  return {
    address,
    localName: 'Polar H10 1A2B3C4D',
    advertisedServices: ['180d'],
    manufacturerData: polarData(heartRate, counter),
    services: [{ uuid: '180d', characteristics: [{ uuid: '2a37', properties: ['notify'] }] }],
    ...extra,
  };
}

/** A stair climber: Stair Climber Data and Training Status notified; feature and supported ranges read. */
export function stairClimber(address: string, extra: Partial<FakeDevice> = {}): FakeDevice {
  return {
    address,
    localName: 'STAIRS',
    advertisedServices: ['1826'],
    services: [
      {
        uuid: '1826',
        characteristics: [
          { uuid: '2acc', properties: ['read'], value: Buffer.from([0x10, 0x71, 0x00, 0x00, 0x0c, 0x00, 0x00, 0x00]) },
          { uuid: '2ad0', properties: ['notify'] },
          { uuid: '2ad3', properties: ['read', 'notify'], value: Buffer.from([0x00, 0x01]) },
          // Resistance 1.0..20.0 in steps of 0.5; power 25..400 W in steps of 5 W.
          { uuid: '2ad6', properties: ['read'], value: Buffer.from([0x0a, 0x00, 0xc8, 0x00, 0x05, 0x00]) },
          { uuid: '2ad8', properties: ['read'], value: Buffer.from([0x19, 0x00, 0x90, 0x01, 0x05, 0x00]) },
          { uuid: '2ada', properties: ['notify'] },
        ],
      },
    ],
    ...extra,
  };
}
