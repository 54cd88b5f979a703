/**
 * The ANT+ source: a USB stick or UART module, driven in continuous scan mode (one channel hears every
 * sensor) or, on sticks that cannot scan, with one channel per sensor. Received pages go through the
 * profile decoders of `profiles/`; admission (allowlist, permit-join window) decides whose pages count.
 *
 * The ANT+ network key is licensed and not shipped: ANT+ adopters get it from thisisant.com. Without it
 * the source reports itself unavailable and says so.
 *
 * Nothing thrown below the source escapes it: a lost stick is reopened with backoff, bad frames and pages
 * are counted and skipped.
 */
import { Backoff, LogRepeats, errorMessage } from '@pulsebridge/runtime';
import type { Logger } from 'pino';
import type { PairingState } from '../pairing-state.ts';
import { SensorBook, type SensorEntry } from '../sensor-book.ts';
import type { Source, SourceHealth, SourceSink, SourceState } from '../source.ts';
import { antSensorId, AntChannelEventCode, type AntChannelEvent, type AntChannelId, type AntDataMessage } from './codec/messages.ts';
import { ANT_USB_VENDOR_ID, resolveNetworkKey, type AntSourceConfig } from './config.ts';
import { AntChannels, ANT_NETWORK } from './channels.ts';
import { antProfileFor, type AntProfile } from './profiles/index.ts';
import { AntStick, type AntStickStats } from './stick/driver.ts';
import { AntStickError } from './stick/errors.ts';
import { AntTransportError, type AntTransport } from './transport/transport.ts';
import { UartTransport } from './transport/uart.ts';
import { UsbTransport } from './transport/usb.ts';

export type AntSourceOptions = AntSourceConfig & {
  now: () => number;
  log: Logger;
  /** The hub's pairing list and window, shared by the agent's radio sources. */
  pairing?: PairingState | undefined;
  /** Replaces the configured transport (tests, or a transport this module does not know). */
  createTransport?: () => AntTransport;
};

export type AntMode = 'scan' | 'channels';

/** Counters beyond health, for metrics and tests. */
export interface AntSourceStats extends AntStickStats {
  readings: number;
  /** Pages a profile decoder refused or failed on. */
  refusedPages: number;
  /** Messages from sensors that are neither allowed nor joined. */
  ignoredMessages: number;
  /** Distinct foreign sensors heard, up to MAX_REMEMBERED_FOREIGN_SENSORS. */
  ignoredSensors: number;
  /** Messages from admitted sensors of a device type no profile decodes. */
  unknownProfileMessages: number;
  /** Data that names no sender (no extended data and no known channel owner). */
  unattributedMessages: number;
  searchTimeouts: number;
  rxFails: number;
  channelReopens: number;
  stickLosses: number;
  recoveries: number;
  mode: AntMode | undefined;
}

/** What an ANT sensor is to the stick: its channel id and the profile that decodes its pages. */
interface AntDevice {
  channelId: AntChannelId;
  profile: AntProfile;
}

/** Device types heard that no profile decodes, remembered only to log each once. */
const MAX_REMEMBERED_UNKNOWN_TYPES = 4096;

export class AntSource implements Source {
  readonly name = 'ant';
  private readonly config: AntSourceConfig;
  private readonly now: () => number;
  private readonly log: Logger;
  /** Errors that come with the data (a decoder bug) repeat at its rate: logged once, then counted. */
  private readonly repeats: LogRepeats;
  private readonly createTransport: () => AntTransport;

  private stick: AntStick | undefined;
  private networkKey: Uint8Array | undefined;
  private state: SourceState = 'stopped';
  private detail: string | undefined;
  private stopped = true;
  /** Bumped for every stick session, so callbacks of a dead one are ignored. */
  private session = 0;
  private connecting = false;
  private everConnected = false;
  private readonly backoff: Backoff;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private readonly channelTimers = new Set<NodeJS.Timeout>();
  private mode: AntMode | undefined;
  private readonly channels: AntChannels;

  private readonly book: SensorBook<AntDevice>;
  private readonly unknownProfileSensors = new Set<string>();
  /** Reader counters of sticks already closed, so health keeps counting across replugs. */
  private readonly pastStick: AntStickStats = { frames: 0, badChecksums: 0, garbageBytes: 0, paddingBytes: 0, refusedMessages: 0 };
  private readonly counters = {
    unknownProfileMessages: 0,
    unattributedMessages: 0,
    searchTimeouts: 0,
    rxFails: 0,
    channelReopens: 0,
    stickLosses: 0,
    recoveries: 0,
  };

  /** `options` are trusted: the config loader ran antConfigProblems on them. */
  constructor(options: AntSourceOptions) {
    const { now, log, createTransport, pairing, ...config } = options;
    this.config = config;
    this.now = now;
    this.log = log;
    this.repeats = new LogRepeats(log);
    this.createTransport = createTransport ?? (() => this.configuredTransport());
    this.book = new SensorBook<AntDevice>({ source: 'ant', radio: 'ANT', now, log, admission: { allow: config.allow, pairing }, nameOf: sensorName });
    this.channels = new AntChannels(config, log);
    this.backoff = new Backoff({ initialMs: config.reopenInitialMs, maxMs: config.reopenMaxMs });
  }

  async start(sink: SourceSink): Promise<void> {
    if (!this.stopped) return;
    this.stopped = false;
    this.book.attach(sink);
    this.state = 'starting';
    this.detail = undefined;
    const key = resolveNetworkKey(this.config.networkKey);
    if (!key.ok) {
      this.setState('unavailable', key.reason);
      this.log.error({ reason: key.reason }, 'ANT source unavailable');
      return;
    }
    this.networkKey = key.key;
    if (this.config.permitJoinSeconds > 0) this.permitJoin(this.config.permitJoinSeconds);
    this.book.warnIfClosed(this.config.permitJoinSeconds);
    await this.connect();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.session++;
    clearTimeout(this.reconnectTimer);
    this.book.detach();
    for (const timer of this.channelTimers) clearTimeout(timer);
    this.channelTimers.clear();
    await this.closeStick();
    this.state = 'stopped';
    this.log.info({ readings: this.book.stats().readings, sensors: this.book.size }, 'ANT source stopped');
  }

  health(): SourceHealth {
    const stick = this.stickStats();
    return this.book.health(this.state, this.detail, stick.badChecksums + stick.refusedMessages);
  }

  stats(): AntSourceStats {
    const book = this.book.stats();
    return {
      ...this.stickStats(),
      ...this.counters,
      readings: book.readings,
      refusedPages: book.rejected,
      ignoredMessages: book.ignoredMessages,
      ignoredSensors: book.ignoredSensors,
      mode: this.mode,
    };
  }

  /**
   * Admits every new sensor heard in the next `seconds` (0 closes the window). Joined sensors stay
   * admitted for the life of the process and show in the inventory, from which the hub learns them.
   */
  permitJoin(seconds: number): void {
    if (!this.book.permitJoin(seconds)) return;
    if (seconds > 0 && this.mode === 'channels' && this.stick && !this.connecting) {
      const stick = this.stick;
      const session = this.session;
      void this.channels.openPairing(stick).catch((error: unknown) => {
        if (session === this.session) this.log.warn({ err: errorMessage(error) }, 'could not open ANT pairing channels');
      });
    }
  }

  get joinOpen(): boolean {
    return this.book.joinOpen;
  }

  private configuredTransport(): AntTransport {
    if (this.config.transport === 'uart') {
      // antConfigProblems guarantees a path for uart.
      return new UartTransport({ path: this.config.path ?? '', baudRate: this.config.baudRate });
    }
    return new UsbTransport({ vendorId: ANT_USB_VENDOR_ID, productIds: this.config.usbProductIds });
  }

  private setState(state: SourceState, detail?: string): void {
    this.state = state;
    this.detail = detail;
  }

  private stickStats(): AntStickStats {
    const current = this.stick?.stats();
    const total = { ...this.pastStick };
    if (current) for (const key of Object.keys(total) as (keyof AntStickStats)[]) total[key] += current[key];
    return total;
  }

  private async closeStick(): Promise<void> {
    const stick = this.stick;
    if (!stick) return;
    this.stick = undefined;
    const stats = stick.stats();
    for (const key of Object.keys(this.pastStick) as (keyof AntStickStats)[]) this.pastStick[key] += stats[key];
    await stick.stop().catch((error: unknown) => this.log.debug({ err: errorMessage(error) }, 'closing ANT stick failed'));
  }

  /** One attempt to open the stick and run the init sequence; on failure schedules the next. */
  private async connect(): Promise<void> {
    if (this.stopped || this.connecting) return;
    this.connecting = true;
    const session = ++this.session;
    this.channels.clear();
    this.mode = undefined;
    let stick: AntStick | undefined;
    try {
      stick = new AntStick({
        transport: this.createTransport(),
        log: this.log,
        responseTimeoutMs: this.config.responseTimeoutMs,
        onData: (message) => {
          if (session === this.session) this.onData(message);
        },
        onEvent: (event) => {
          if (session === this.session) this.onEvent(event);
        },
        onLost: (reason) => {
          if (session === this.session) this.onLost(reason);
        },
      });
      this.stick = stick;
      await stick.start();
      const startupReason = await stick.reset();
      const capabilities = await stick.requestCapabilities();
      await stick.setNetworkKey(ANT_NETWORK, this.networkKey ?? new Uint8Array(8));
      const mode: AntMode = this.config.mode === 'auto' ? (capabilities.scanMode ? 'scan' : 'channels') : this.config.mode;
      if (mode === 'scan') await stick.startScan(ANT_NETWORK);
      else await this.channels.openAll(stick, capabilities.maxChannels, this.book.allowed, () => this.joinOpen);
      if (session !== this.session) return;
      this.mode = mode;
      this.backoff.reset();
      this.setState('running');
      if (this.everConnected) this.counters.recoveries++;
      this.log.info(
        { stick: stick.description, mode, maxChannels: capabilities.maxChannels, scanMode: capabilities.scanMode, startupReason, recovered: this.everConnected },
        this.everConnected ? 'ANT stick recovered' : 'ANT stick ready',
      );
      this.everConnected = true;
    } catch (error) {
      if (session !== this.session) return;
      await this.closeStick();
      if (error instanceof AntTransportError && error.code === 'unavailable') {
        this.setState('unavailable', error.message);
        this.log.error({ err: error.message }, 'ANT source unavailable');
        return;
      }
      const reason = errorMessage(error);
      this.setState('degraded', `${this.everConnected ? 'stick lost' : 'no stick'}: ${reason}`);
      const delay = this.scheduleReconnect();
      this.log.warn({ err: reason, code: codeOf(error), retryInMs: delay }, 'ANT stick init failed');
    } finally {
      if (session === this.session) this.connecting = false;
    }
  }

  /** Returns the delay before the next attempt. */
  private scheduleReconnect(): number | undefined {
    if (this.stopped) return undefined;
    clearTimeout(this.reconnectTimer);
    const delay = this.backoff.next();
    this.reconnectTimer = setTimeout(() => {
      this.connecting = false;
      void this.connect();
    }, delay);
    return delay;
  }

  private onLost(reason: string): void {
    if (this.stopped) return;
    this.counters.stickLosses++;
    this.session++;
    this.connecting = false;
    this.mode = undefined;
    this.setState('degraded', `stick lost: ${reason}`);
    this.log.warn({ reason }, 'ANT stick lost; reopening');
    void this.closeStick().then(() => this.scheduleReconnect());
  }

  private onEvent(event: AntChannelEvent): void {
    switch (event.code) {
      case AntChannelEventCode.rxSearchTimeout:
        this.counters.searchTimeouts++;
        this.log.info({ channel: event.channel, sensor: this.channels.sensorOf(event.channel) }, 'ANT channel search timed out');
        return;
      case AntChannelEventCode.rxFail:
      case AntChannelEventCode.rxFailGoToSearch:
        this.counters.rxFails++;
        return;
      case AntChannelEventCode.channelClosed:
        this.reopenChannel(event.channel);
        return;
      default:
        this.log.debug({ channel: event.channel, event: event.name }, 'ANT channel event');
    }
  }

  /** A channel the stick closed on its own (search timeout) is reopened: the sensor may come back. */
  private reopenChannel(channel: number): void {
    const stick = this.stick;
    const session = this.session;
    if (!stick || this.stopped) return;
    const timer = setTimeout(() => {
      this.channelTimers.delete(timer);
      if (session !== this.session || this.stopped) return;
      const reopen = this.mode === 'scan' && channel === 0 ? stick.resumeScan() : stick.openChannel(channel);
      reopen.then(
        () => {
          this.counters.channelReopens++;
          this.log.info({ channel }, 'ANT channel reopened');
        },
        (error: unknown) => {
          if (session === this.session && !(error instanceof AntStickError && error.code === 'closed')) {
            this.log.warn({ channel, err: errorMessage(error) }, 'could not reopen ANT channel');
          }
        },
      );
    }, this.config.channelReopenDelayMs);
    this.channelTimers.add(timer);
  }

  private onData(message: AntDataMessage): void {
    try {
      this.handleData(message);
    } catch (error) {
      // A decoder bug must not take the stick down with it: count the page and carry on.
      this.book.reject(undefined, `page handling failed: ${errorMessage(error)}`);
      this.repeats.error(`page\u0000${errorMessage(error)}`, { err: errorMessage(error) }, 'ANT page handling failed');
    }
  }

  private handleData(message: AntDataMessage): void {
    const channelId = message.channelId ?? this.channels.channelIdOf(message.channel);
    if (!channelId) {
      this.counters.unattributedMessages++;
      return;
    }
    const id = antSensorId(channelId);
    const kind = antProfileFor(channelId.deviceType)?.name;
    if (!this.book.admit(id, kind === undefined ? undefined : { kind, rssi: message.rssi?.dBm })) return;
    const now = this.now();
    let entry = this.book.get(id);
    if (!entry) {
      const profile = antProfileFor(channelId.deviceType);
      if (!profile) {
        this.counters.unknownProfileMessages++;
        if (!this.unknownProfileSensors.has(id) && this.unknownProfileSensors.size < MAX_REMEMBERED_UNKNOWN_TYPES) {
          this.unknownProfileSensors.add(id);
          this.log.info({ sensor: id, deviceType: channelId.deviceType }, 'ANT sensor of a device type no profile decodes');
        }
        return;
      }
      const rateHz = Math.round((32768 / profile.channelPeriod) * 100) / 100;
      entry = this.book.add(id, { kind: profile.name, rateHz, device: { channelId, profile } });
    } else if (entry.lastSeen !== undefined && now - entry.lastSeen > this.config.staleStateMs) {
      // After a long gap the counters may have wrapped more than once: start over rather than guess.
      this.book.resetDecoders(entry);
    }
    this.book.heard(entry, now);
    const { profile } = entry.device;
    const result = profile.decode(message.page, entry.decoderStates.get(profile.name), {
      deviceNumber: channelId.deviceNumber,
      wheelCircumferenceM: this.config.wheelCircumferenceM,
    });
    this.book.decoded(entry, result, profile.name, now);
  }
}

function sensorName(entry: SensorEntry<AntDevice>): string {
  const { manufacturerId, modelNumber, serialNumber } = entry.facts;
  const parts = [`ANT+ ${entry.device.profile.name.replace(/_/g, ' ')} ${entry.device.channelId.deviceNumber}`];
  const details: string[] = [];
  if (manufacturerId !== undefined) details.push(`manufacturer ${manufacturerId}`);
  if (modelNumber !== undefined) details.push(`model ${modelNumber}`);
  if (serialNumber !== undefined) details.push(`serial ${serialNumber}`);
  if (details.length > 0) parts.push(`(${details.join(', ')})`);
  return parts.join(' ').slice(0, 128);
}

function codeOf(error: unknown): string | undefined {
  return error instanceof AntStickError || error instanceof AntTransportError ? error.code : undefined;
}
