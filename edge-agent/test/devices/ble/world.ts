/**
 * The simulated radio environment: adapters (hci0, hci1, ...) and the peripherals in range of each.
 * Start it and noble, loaded after install(), finds its adapters through the redirected HCI socket;
 * close it and every timer is gone, so the test process can exit.
 */
import { PulsebridgeError } from '@pulsebridge/runtime';
import { pino, type Logger } from 'pino';
import { encodeAdvertisingData, FLAGS_GENERAL_DISCOVERABLE, manufacturerData, type AdvertisingContent } from './advertising.ts';
import { FakeAdapter, type AdapterOptions, type Advertiser } from './controller.ts';
import { normalizeAddress, type AddressType, type AdvertisingPduType } from './hci.ts';
import type { Link } from './link.ts';
import type { SimulatedPeripheral } from './peripheral.ts';
import { SeededRandom } from './random.ts';
import { fakeBleRegistry, type AdapterDirectory } from './registry.ts';
import { TimerSet, type Cancelable } from './timers.ts';

export interface WorldOptions {
  /** Adapters by HCI device id; default one adapter, hci0. */
  adapters?: AdapterOptions[];
  seed?: number;
  logger?: Logger;
}

export interface Placement {
  /** Adapters that hear the peripheral (default: all). */
  adapters?: number[];
}

export type FakeBleWorldErrorCode = 'WORLD_ALREADY_ACTIVE' | 'UNKNOWN_ADAPTER' | 'DUPLICATE_ADDRESS' | 'WORLD_CLOSED';

export class FakeBleWorldError extends PulsebridgeError<FakeBleWorldErrorCode> {}

export interface FloodOptions {
  /** Adapters that hear the flood (default: all). */
  adapters?: number[];
  /** What the advertisers carry (default 'mixed'). None advertises a fitness service. */
  payload?: 'empty' | 'junk-manufacturer' | 'unwanted-services' | 'mixed';
  /** Random static (top bits 11), resolvable private (top bits 01), or both (default). */
  addressKind?: 'random-static' | 'resolvable-private' | 'mixed';
  /** Advertising events per tick; bounds the work done per event-loop turn (default 250). */
  eventsPerTick?: number;
  tickMs?: number;
  /** How many times each advertiser advertises (default 1; Infinity until stop()). */
  rounds?: number;
  rssi?: number;
  seed?: number;
}

interface Placed {
  peripheral: SimulatedPeripheral;
  adapters: Set<number>;
}

export class FakeBleWorld implements AdapterDirectory {
  private readonly adapterById = new Map<number, FakeAdapter>();
  private readonly placed = new Map<string, Placed>();
  private readonly floods = new Set<Flood>();
  private readonly timers = new TimerSet();
  private readonly logger: Logger;
  private readonly random: SeededRandom;
  private state: 'new' | 'started' | 'closed' = 'new';

  /** The world sockets currently bind to, if one is started. */
  static active(): FakeBleWorld | undefined {
    const world = fakeBleRegistry().activeWorld;
    return world instanceof FakeBleWorld ? world : undefined;
  }

  constructor(options: WorldOptions = {}) {
    this.logger = options.logger ?? pino({ level: 'silent' });
    this.random = new SeededRandom(options.seed ?? 1);
    for (const adapterOptions of options.adapters ?? [{ id: 0 }]) {
      if (this.adapterById.has(adapterOptions.id)) throw new RangeError(`adapter ${adapterOptions.id} defined twice`);
      this.adapterById.set(
        adapterOptions.id,
        new FakeAdapter(adapterOptions, {
          timers: this.timers,
          logger: this.logger.child({ component: `fake-ble/hci${adapterOptions.id}` }),
          findPeripheral: (adapterId, address, addressType) => this.findPeripheral(adapterId, address, addressType),
        }),
      );
    }
  }

  /** Makes this the world HCI sockets bind to and starts the peripherals' radios. */
  start(): this {
    if (this.state === 'closed') throw new FakeBleWorldError('WORLD_CLOSED', 'a closed world cannot be started again');
    if (this.state === 'started') return this;
    const registry = fakeBleRegistry();
    if (registry.activeWorld !== undefined && registry.activeWorld !== this) {
      throw new FakeBleWorldError('WORLD_ALREADY_ACTIVE', 'another fake BLE world is started; close it first');
    }
    registry.activeWorld = this;
    this.state = 'started';
    for (const { peripheral } of this.placed.values()) this.attach(peripheral);
    return this;
  }

  /** Stops every timer, drops every link, and detaches from the registry; sockets see their adapter gone. */
  close(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    for (const flood of this.floods) flood.stop();
    for (const adapter of this.adapterById.values()) adapter.close();
    for (const { peripheral } of this.placed.values()) peripheral.detach();
    this.timers.close();
    const registry = fakeBleRegistry();
    if (registry.activeWorld === this) registry.activeWorld = undefined;
  }

  adapters(): FakeAdapter[] {
    return [...this.adapterById.values()];
  }

  lookupAdapter(id: number): FakeAdapter | undefined {
    return this.adapterById.get(id);
  }

  adapter(id: number): FakeAdapter {
    const adapter = this.adapterById.get(id);
    if (adapter === undefined) throw new FakeBleWorldError('UNKNOWN_ADAPTER', `no adapter hci${id} in this world`);
    return adapter;
  }

  /** Puts a peripheral in range of some (default all) adapters. */
  add<P extends SimulatedPeripheral>(peripheral: P, placement: Placement = {}): P {
    if (this.placed.has(peripheral.address)) {
      throw new FakeBleWorldError('DUPLICATE_ADDRESS', `a peripheral with address ${peripheral.address} is already in the world`);
    }
    const adapters = new Set(placement.adapters ?? [...this.adapterById.keys()]);
    for (const id of adapters) this.adapter(id);
    this.placed.set(peripheral.address, { peripheral, adapters });
    if (this.state === 'started') this.attach(peripheral);
    return peripheral;
  }

  /** Takes a peripheral out of the world at once, as if its battery died: links time out on the central. */
  remove(peripheral: SimulatedPeripheral): void {
    if (this.placed.get(peripheral.address)?.peripheral !== peripheral) return;
    if (this.state === 'started') peripheral.dropLink({ detectAfterMs: 0 });
    peripheral.detach();
    this.placed.delete(peripheral.address);
  }

  peripherals(): SimulatedPeripheral[] {
    return [...this.placed.values()].map((entry) => entry.peripheral);
  }

  wedgeAdapter(id: number): void {
    this.adapter(id).wedge();
  }

  /**
   * Adds `count` advertisers nobody wants (phones, beacons, tags) and advertises them in time slices of
   * `eventsPerTick`, so thousands of them load the host without blocking its event loop.
   */
  flood(count: number, options: FloodOptions = {}): Flood {
    if (this.state === 'closed') throw new FakeBleWorldError('WORLD_CLOSED', 'the world is closed');
    const adapters = (options.adapters ?? [...this.adapterById.keys()]).map((id) => this.adapter(id));
    const random = new SeededRandom(options.seed ?? this.random.integer(1, 0xffff));
    const taken = new Set(this.placed.keys());
    // Advertisers are made as the first round reaches them, so even the set-up work is time-sliced.
    const make = (index: number): FloodAdvertiser => {
      for (;;) {
        const advertiser = floodAdvertiser(random, options, index);
        if (taken.has(advertiser.address)) continue;
        taken.add(advertiser.address);
        return advertiser;
      }
    };
    const flood = new Flood(count, make, adapters, this.timers, options, () => this.floods.delete(flood));
    this.floods.add(flood);
    flood.begin();
    return flood;
  }

  private attach(peripheral: SimulatedPeripheral): void {
    peripheral.attach({
      timers: this.timers,
      advertise: (advertiser) => {
        const entry = this.placed.get(advertiser.address);
        if (entry === undefined) return;
        for (const id of entry.adapters) this.adapterById.get(id)?.advertisingEvent(advertiser, advertiser);
      },
      remoteDisconnect: (link: Link, reason: number) => this.adapterOf(link)?.remoteDisconnect(link, reason),
      loseLink: (link: Link, detectAfterMs: number) => this.adapterOf(link)?.loseLink(link, detectAfterMs),
    });
  }

  private adapterOf(link: Link): FakeAdapter | undefined {
    return this.adapterById.get(link.adapterId);
  }

  private findPeripheral(adapterId: number, address: string, addressType: AddressType): SimulatedPeripheral | undefined {
    const entry = this.placed.get(normalizeAddress(address));
    if (entry === undefined || !entry.adapters.has(adapterId) || entry.peripheral.addressType !== addressType) return undefined;
    return entry.peripheral;
  }
}

export interface FloodAdvertiser extends Advertiser {
  readonly payloadKind: 'empty' | 'junk-manufacturer' | 'unwanted-services';
}

export class Flood {
  /** Advertising events sent (each reaches every adapter in range). */
  advertisingEvents = 0;
  readonly finished: Promise<void>;
  private readonly made: FloodAdvertiser[] = [];
  private resolveFinished: () => void = () => undefined;
  private cursor = 0;
  private round = 0;
  private timer: Cancelable | undefined;
  private readonly eventsPerTick: number;
  private readonly tickMs: number;
  private readonly rounds: number;

  constructor(
    readonly count: number,
    private readonly make: (index: number) => FloodAdvertiser,
    private readonly adapters: FakeAdapter[],
    private readonly timers: TimerSet,
    options: FloodOptions,
    private readonly onDone: () => void,
  ) {
    this.eventsPerTick = Math.max(1, options.eventsPerTick ?? 250);
    this.tickMs = options.tickMs ?? 10;
    this.rounds = options.rounds ?? 1;
    this.finished = new Promise((resolve) => {
      this.resolveFinished = resolve;
    });
  }

  /** The advertisers that have advertised so far (all of them once the first round is done). */
  get advertisers(): readonly FloodAdvertiser[] {
    return this.made;
  }

  begin(): void {
    if (this.count === 0 || this.rounds <= 0) return this.stop();
    this.timer = this.timers.interval(() => this.tick(), this.tickMs);
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
    this.onDone();
    this.resolveFinished();
  }

  private tick(): void {
    for (let sent = 0; sent < this.eventsPerTick; sent++) {
      let advertiser = this.made[this.cursor];
      if (advertiser === undefined) {
        advertiser = this.make(this.cursor);
        this.made.push(advertiser);
      }
      for (const adapter of this.adapters) adapter.advertisingEvent(advertiser);
      this.advertisingEvents++;
      this.cursor++;
      if (this.cursor === this.count) {
        this.cursor = 0;
        this.round++;
        if (this.round >= this.rounds) return this.stop();
      }
    }
  }
}

const UNWANTED_SERVICES = ['fe9f', 'fd6f', 'feaa', 'fe2c', 'febe', 'fdf7'];

function floodAdvertiser(random: SeededRandom, options: FloodOptions, index: number): FloodAdvertiser {
  const kinds = ['empty', 'junk-manufacturer', 'unwanted-services'] as const;
  const payloadKind = options.payload === undefined || options.payload === 'mixed' ? (kinds[index % kinds.length] ?? 'empty') : options.payload;
  const addressKind = options.addressKind === undefined || options.addressKind === 'mixed' ? (index % 2 === 0 ? 'random-static' : 'resolvable-private') : options.addressKind;
  const bytes = random.bytes(6);
  const top = bytes[0] ?? 0;
  bytes[0] = addressKind === 'random-static' ? top | 0xc0 : (top & 0x3f) | 0x40;
  const address = [...bytes].map((byte) => byte.toString(16).padStart(2, '0')).join(':');
  const content: AdvertisingContent = { flags: payloadKind === 'empty' ? 0x1a : FLAGS_GENERAL_DISCOVERABLE };
  if (payloadKind === 'junk-manufacturer') {
    content.manufacturerData = manufacturerData(random.integer(0, 0xffff), random.bytes(random.integer(0, 22)));
  } else if (payloadKind === 'unwanted-services') {
    const uuid = UNWANTED_SERVICES[random.integer(0, UNWANTED_SERVICES.length - 1)] ?? 'fe9f';
    content.serviceUuids = [uuid];
    content.serviceData = [{ uuid, data: random.bytes(random.integer(0, 12)) }];
  }
  const data = encodeAdvertisingData(content);
  const rssi = options.rssi ?? -85;
  const pdu: AdvertisingPduType = 'ADV_NONCONN_IND';
  return {
    address,
    addressType: 'random',
    advertisingPdu: pdu,
    payloadKind,
    advertisingData: () => data,
    scanResponseData: () => undefined,
    rssiAt: () => rssi + random.integer(-3, 3),
  };
}
