/**
 * One Bluetooth adapter (HCI device) and the noble instance that drives it: power state, scanning, the
 * silence watchdog's escalation, and its connection slots (the source decides whom to connect; the adapter's
 * slots decide when).
 *
 * A reset throws the whole noble instance away and builds a new one, which is the only way to recover a
 * controller that stopped reporting anything: noble has no API to restart its stack in place.
 */
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { Backoff, TimeoutError, errorMessage, settlesWithin, withTimeout } from '@pulsebridge/runtime';
import type { GattLink } from './gatt-link.ts';
import { ConnectionSlots } from './connection-slots.ts';
import { disposeNoble, initNoble, noblePeripheralCount, type CreateNoble, type NobleLike, type NobleSession, type PeripheralLike } from './noble.ts';

/**
 * starting: waiting for noble to power on and scan; scanning: working; not_ready: powered off, resetting or
 * a failed scan (retried); unavailable: no such adapter or no permission (nothing to retry).
 */
export type BleAdapterState = 'starting' | 'scanning' | 'not_ready' | 'unavailable' | 'resetting' | 'stopped';

export interface BleAdapterOptions {
  /** Position in the configured list; one bit of a seen-device's adapter mask. */
  index: number;
  deviceId: number;
  createNoble: CreateNoble;
  log: Logger;
  /** Service UUIDs noble filters adverts by; empty for every advert. */
  scanServices: string[];
  startTimeoutMs: number;
  gattTimeoutMs: number;
  /** Concurrent GATT links this adapter holds at most. */
  maxConnections: number;
  rescanInitialMs: number;
  rescanMaxMs: number;
  onDiscover: (adapter: BleAdapter, peripheral: PeripheralLike) => void;
  /** Scanning (re)started: connections may be made. */
  onReady: (adapter: BleAdapter) => void;
  /** The adapter stopped working (powered off, reset, lost permission): its links are gone. */
  onDown: (adapter: BleAdapter, reason: string) => void;
}

export interface BleAdapterStats {
  resets: number;
  scanRestarts: number;
  scanFailures: number;
}

/** One adapter as the stats show it. */
export interface BleAdapterView extends BleAdapterStats {
  name: string;
  state: BleAdapterState;
  detail: string | null;
  links: number;
  queued: number;
  /** Devices this adapter's noble instance holds objects for (bounded by the seen-device memory). */
  noblePeripherals: number;
}

/** Silence that resets do not cure is probably an empty room: each one waits twice as long, up to this. */
const MAX_SILENCE_FACTOR = 16;

export class BleAdapter {
  readonly index: number;
  readonly deviceId: number;
  readonly name: string;
  state: BleAdapterState = 'stopped';
  detail: string | undefined;
  /** Its links, the sensors waiting for one, and its one attempt in flight. */
  readonly connections: ConnectionSlots<GattLink>;
  /** performance.now() of the last advert or notification heard through this adapter. */
  private lastActivityMono = 0;
  /** Grows with consecutive resets that brought nothing back (an empty gym at night is silent too). */
  private silenceFactor = 1;
  private readonly stats: BleAdapterStats = { resets: 0, scanRestarts: 0, scanFailures: 0 };

  private readonly options: BleAdapterOptions;
  private readonly log: Logger;
  private session: NobleSession | undefined;
  /** Bumped for every noble instance, so events of a disposed one are ignored. */
  private generation = 0;
  private rescanTimer: NodeJS.Timeout | undefined;
  private readonly rescanBackoff: Backoff;
  private settle: (() => void) | undefined;
  private scanStarting = false;

  constructor(options: BleAdapterOptions) {
    this.options = options;
    this.index = options.index;
    this.deviceId = options.deviceId;
    this.name = `hci${options.deviceId}`;
    this.log = options.log.child({ adapter: this.name });
    // No jitter: one adapter's rescans meet nobody else's.
    this.rescanBackoff = new Backoff({ initialMs: options.rescanInitialMs, maxMs: options.rescanMaxMs, jitter: 0 });
    this.connections = new ConnectionSlots(options.maxConnections);
  }

  get resets(): number {
    return this.stats.resets;
  }

  view(): BleAdapterView {
    return {
      name: this.name,
      state: this.state,
      detail: this.detail ?? null,
      links: this.connections.linkCount,
      queued: this.connections.queuedCount,
      ...this.stats,
      noblePeripherals: this.noble ? noblePeripheralCount(this.noble) : 0,
    };
  }

  get noble(): NobleLike | undefined {
    return this.session?.noble;
  }

  /** Resolves once the adapter scans or knows why it cannot, or after the start timeout (it keeps trying). */
  async start(): Promise<void> {
    await this.open();
  }

  stop(): void {
    this.connections.clear();
    this.generation++;
    clearTimeout(this.rescanTimer);
    this.rescanTimer = undefined;
    this.settle?.();
    const session = this.session;
    this.session = undefined;
    if (session) disposeNoble(session);
    this.state = 'stopped';
    this.detail = undefined;
  }

  /** Throws the noble instance away (after an HCI Reset) and starts a new one. */
  async reset(reason: string): Promise<void> {
    this.stats.resets++;
    this.generation++;
    clearTimeout(this.rescanTimer);
    const session = this.session;
    this.session = undefined;
    this.state = 'resetting';
    this.detail = reason;
    if (session) {
      try {
        session.noble.reset?.();
      } catch (error) {
        this.log.debug({ err: errorMessage(error) }, 'HCI reset failed');
      }
      disposeNoble(session);
    }
    await this.open();
  }

  isSilent(nowMono: number, silenceMs: number): boolean {
    return this.state === 'scanning' && nowMono - this.lastActivityMono > silenceMs * this.silenceFactor;
  }

  /** How long the adapter has heard nothing, in ms. */
  silentFor(nowMono: number): number {
    return nowMono - this.lastActivityMono;
  }

  /**
   * The reset of the silence watchdog: like `reset`, and the next silence must last twice as long before
   * another, whatever was heard during this one.
   */
  async resetSilent(reason: string): Promise<void> {
    const factor = this.silenceFactor;
    try {
      await this.reset(reason);
    } finally {
      this.silenceFactor = Math.min(factor * 2, MAX_SILENCE_FACTOR);
    }
  }

  heard(nowMono: number): void {
    this.lastActivityMono = nowMono;
    this.silenceFactor = 1;
  }

  private async open(): Promise<void> {
    const generation = ++this.generation;
    this.scanStarting = false;
    this.state = 'starting';
    this.detail = undefined;
    let session: NobleSession;
    let created: NobleLike | undefined;
    try {
      created = this.options.createNoble(this.deviceId);
      session = initNoble(created);
    } catch (error) {
      // An instance that failed to initialise may still hold an open HCI socket.
      if (created) disposeNoble({ noble: created, exitListeners: [] });
      this.state = 'unavailable';
      this.detail = `Bluetooth unavailable on ${this.name}: ${errorMessage(error)}`;
      this.log.error({ err: errorMessage(error) }, 'Bluetooth adapter unavailable');
      return;
    }
    this.session = session;
    const noble = session.noble;
    const current = (): boolean => generation === this.generation;
    noble.on('warning', (message) => {
      if (current()) this.log.debug({ warning: message }, 'noble warning');
    });
    noble.on('stateChange', (state) => {
      if (current()) this.onState(state);
    });
    noble.on('discover', (peripheral) => {
      if (!current()) return;
      this.heard(performance.now());
      this.options.onDiscover(this, peripheral);
    });
    noble.on('scanStop', () => {
      if (!current() || this.state !== 'scanning') return;
      // Someone else (bluetoothd, another HCI user, a controller reset) stopped our scan.
      this.stats.scanRestarts++;
      this.log.warn('scan stopped by someone else; restarting it');
      this.state = 'starting';
      this.scheduleRescan(0);
    });
    const settled = new Promise<void>((resolve) => {
      this.settle = resolve;
    });
    this.onState(noble.state);
    const inTime = await settlesWithin(settled, this.options.startTimeoutMs);
    if (!inTime && current() && this.state === 'starting') {
      this.detail = new TimeoutError(`${this.name} to power on and scan (noble state ${noble.state})`, this.options.startTimeoutMs).message;
      this.log.warn(this.detail);
    }
  }

  private onState(state: string): void {
    this.log.debug({ state }, 'noble state');
    if (state === 'poweredOn') {
      if (this.state !== 'scanning' && !this.rescanTimer) void this.startScan();
      return;
    }
    const wasUp = this.state === 'scanning';
    clearTimeout(this.rescanTimer);
    this.rescanTimer = undefined;
    switch (state) {
      case 'unauthorized':
        this.state = 'unavailable';
        this.detail = `not permitted to use ${this.name}: the agent needs CAP_NET_RAW and CAP_NET_ADMIN (or root)`;
        break;
      case 'unsupported':
        this.state = 'unavailable';
        this.detail = `${this.name} does not support Bluetooth Low Energy`;
        break;
      case 'poweredOff':
        this.state = 'not_ready';
        this.detail = `${this.name} is powered off (rfkill, or the interface is down)`;
        break;
      default:
        // 'unknown' right after init is normal; 'resetting' passes.
        if (state === 'unknown' && !wasUp) return;
        this.state = 'not_ready';
        this.detail = `${this.name} is ${state}`;
    }
    this.log.warn({ state, detail: this.detail }, 'Bluetooth adapter not ready');
    if (state !== 'unknown') this.settle?.();
    if (wasUp) this.options.onDown(this, this.detail ?? state);
  }

  private async startScan(): Promise<void> {
    const noble = this.session?.noble;
    if (!noble || this.scanStarting) return;
    const generation = this.generation;
    this.scanStarting = true;
    try {
      // Duplicates on: RSSI updates and broadcast heart rate live in repeated adverts.
      const starting = noble.startScanningAsync(this.options.scanServices, true);
      // A start that loses to the timeout may still reject later; the timeout already said why.
      starting.catch(() => undefined);
      await withTimeout(starting, this.options.gattTimeoutMs, `scan start on ${this.name}`);
    } catch (error) {
      if (generation !== this.generation) return;
      this.stats.scanFailures++;
      this.state = 'not_ready';
      this.detail = `scan on ${this.name} failed: ${errorMessage(error)}`;
      const retryInMs = this.rescanBackoff.next();
      this.log.warn({ err: errorMessage(error), retryInMs }, 'scan start failed');
      this.settle?.();
      this.scheduleRescan(retryInMs);
      return;
    } finally {
      if (generation === this.generation) this.scanStarting = false;
    }
    if (generation !== this.generation) return;
    this.state = 'scanning';
    this.detail = undefined;
    this.rescanBackoff.reset();
    this.lastActivityMono = performance.now();
    this.log.info({ services: this.options.scanServices }, 'scanning');
    this.settle?.();
    this.options.onReady(this);
  }

  private scheduleRescan(delayMs: number): void {
    clearTimeout(this.rescanTimer);
    const generation = this.generation;
    this.rescanTimer = setTimeout(() => {
      this.rescanTimer = undefined;
      if (generation !== this.generation) return;
      const noble = this.session?.noble;
      if (noble && noble.state === 'poweredOn') void this.startScan();
    }, delayMs);
  }
}
