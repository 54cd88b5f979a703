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
import type { Reading, SensorInfo } from '@pulsebridge/protocol';
import { resolveSecret } from '@pulsebridge/runtime';
import type { Logger } from 'pino';
import { Admission } from '../admission.ts';
import type { SensorFacts } from '../measurement.ts';
import type { Source, SourceHealth, SourceSink, SourceState } from '../source.ts';
import { ANT_SEARCH_TIMEOUT_INFINITE } from './codec/commands.ts';
import { antSensorId, AntChannelEventCode, type AntChannelEvent, type AntChannelId, type AntDataMessage } from './codec/messages.ts';
import { ANT_USB_VENDOR_ID, AntConfigError, antSourceConfigProblems, parseAntSensorId, parseNetworkKey, type AntSourceConfig } from './config.ts';
import { antProfileFor, type AntProfile } from './profiles/index.ts';
import { AntStick, type AntStickStats } from './stick/driver.ts';
import { AntStickError } from './stick/errors.ts';
import { AntTransportError, errorMessage, type AntTransport } from './transport/transport.ts';
import { UartTransport } from './transport/uart.ts';
import { UsbTransport } from './transport/usb.ts';

export type AntSourceOptions = AntSourceConfig & {
  now: () => number;
  log: Logger;
  /** Replaces the configured transport (tests, or a transport this module does not know). */
  createTransport?: () => AntTransport;
};

export type AntMode = 'scan' | 'channels';

/** Counters beyond health, for metrics and tests. */
export interface AntSourceStats extends AntStickStats {
  readings: number;
  /** Pages a profile decoder refused. */
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

interface SensorEntry {
  id: string;
  channelId: AntChannelId;
  profile: AntProfile;
  state: unknown;
  lastSeen: number;
  metrics: Set<string>;
  facts: SensorFacts;
}

interface ChannelOwner {
  /** Set for a channel opened for one allowlisted sensor; undefined for a wildcard (pairing) channel. */
  sensorId?: string;
  channelId?: AntChannelId;
  deviceType: number;
}

const NETWORK = 0;
const INVENTORY_COALESCE_MS = 100;
const SEARCH_TIMEOUT_UNIT_S = 2.5;
const MAX_INVENTORY_METRICS = 64;
/**
 * Foreign sensors remembered only to log each once. A busy venue (or a noisy transmitter) must not grow
 * them without bound; past the cap, messages are still counted, only the log line is skipped.
 */
const MAX_REMEMBERED_FOREIGN_SENSORS = 4096;

export class AntSource implements Source {
  readonly name = 'ant';
  private readonly config: AntSourceConfig;
  private readonly now: () => number;
  private readonly log: Logger;
  private readonly createTransport: () => AntTransport;

  private sink: SourceSink | undefined;
  private stick: AntStick | undefined;
  private networkKey: Uint8Array | undefined;
  private state: SourceState = 'stopped';
  private detail: string | undefined;
  private stopped = true;
  /** Bumped for every stick session, so callbacks of a dead one are ignored. */
  private session = 0;
  private connecting = false;
  private everConnected = false;
  private backoffMs: number;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private inventoryTimer: NodeJS.Timeout | undefined;
  private readonly channelTimers = new Set<NodeJS.Timeout>();
  private mode: AntMode | undefined;
  private readonly channels = new Map<number, ChannelOwner>();

  private readonly admission: Admission;
  private readonly sensors = new Map<string, SensorEntry>();
  private readonly ignoredSensors = new Set<string>();
  private readonly unknownProfileSensors = new Set<string>();
  /** Reader counters of sticks already closed, so health keeps counting across replugs. */
  private readonly pastStick: AntStickStats = { frames: 0, badChecksums: 0, garbageBytes: 0, paddingBytes: 0, refusedMessages: 0 };
  private readonly counters = {
    readings: 0,
    refusedPages: 0,
    ignoredMessages: 0,
    unknownProfileMessages: 0,
    unattributedMessages: 0,
    searchTimeouts: 0,
    rxFails: 0,
    channelReopens: 0,
    stickLosses: 0,
    recoveries: 0,
  };

  constructor(options: AntSourceOptions) {
    const { now, log, createTransport, ...config } = options;
    const problems = antSourceConfigProblems(config);
    if (problems.length > 0) throw new AntConfigError(problems);
    this.config = config;
    this.now = now;
    this.log = log;
    this.createTransport = createTransport ?? (() => this.configuredTransport());
    this.admission = new Admission({ allow: config.allow, now, log, radio: 'ANT' });
    this.backoffMs = config.reopenInitialMs;
  }

  async start(sink: SourceSink): Promise<void> {
    if (!this.stopped) return;
    this.stopped = false;
    this.sink = sink;
    this.state = 'starting';
    this.detail = undefined;
    const key = this.resolveNetworkKey();
    if (!key.ok) {
      this.setState('unavailable', key.reason);
      this.log.error({ reason: key.reason }, 'ANT source unavailable');
      return;
    }
    this.networkKey = key.key;
    if (this.config.permitJoinSeconds > 0) this.permitJoin(this.config.permitJoinSeconds);
    if (this.admission.allowed.size === 0 && this.config.permitJoinSeconds === 0) {
      this.log.warn('no ANT sensor is allowed and joining is closed: configure `allow` or call permitJoin() to admit sensors');
    }
    await this.connect();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.session++;
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.inventoryTimer);
    for (const timer of this.channelTimers) clearTimeout(timer);
    this.channelTimers.clear();
    await this.closeStick();
    this.state = 'stopped';
    this.log.info({ readings: this.counters.readings, sensors: this.sensors.size }, 'ANT source stopped');
  }

  health(): SourceHealth {
    const stick = this.stickStats();
    const health: SourceHealth = {
      state: this.state,
      sensors: this.sensors.size,
      readings: this.counters.readings,
      rejected: this.counters.refusedPages + stick.badChecksums + stick.refusedMessages,
    };
    if (this.detail !== undefined) health.detail = this.detail;
    return health;
  }

  stats(): AntSourceStats {
    return { ...this.stickStats(), ...this.counters, ignoredSensors: this.ignoredSensors.size, mode: this.mode };
  }

  /**
   * Admits every new sensor heard in the next `seconds` (0 closes the window). Joined sensors stay
   * admitted for the life of the process and show in the inventory, from which the hub learns them.
   */
  permitJoin(seconds: number): void {
    if (!this.admission.permitJoin(seconds)) return;
    if (seconds > 0 && this.mode === 'channels' && this.stick && !this.connecting) {
      const stick = this.stick;
      const session = this.session;
      void this.openPairingChannels(stick).catch((error: unknown) => {
        if (session === this.session) this.log.warn({ err: errorMessage(error) }, 'could not open ANT pairing channels');
      });
    }
  }

  get joinOpen(): boolean {
    return this.admission.joinOpen;
  }

  private configuredTransport(): AntTransport {
    if (this.config.transport === 'uart') {
      // The schema check in the constructor guarantees a path for uart.
      return new UartTransport({ path: this.config.path ?? '', baudRate: this.config.baudRate });
    }
    return new UsbTransport({ vendorId: ANT_USB_VENDOR_ID, productIds: this.config.usbProductIds });
  }

  private resolveNetworkKey(): { ok: true; key: Uint8Array } | { ok: false; reason: string } {
    const ref = this.config.networkKey;
    if (ref === undefined) {
      return { ok: false, reason: 'no ANT+ network key configured (networkKey); ANT+ adopters obtain it from thisisant.com' };
    }
    let text: string;
    try {
      text = resolveSecret(ref);
    } catch (error) {
      return { ok: false, reason: `ANT+ network key: ${errorMessage(error).replace(/^invalid configuration:\s*-?\s*/, '')}` };
    }
    return parseNetworkKey(text);
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
      await stick.setNetworkKey(NETWORK, this.networkKey ?? new Uint8Array(8));
      const mode: AntMode = this.config.mode === 'auto' ? (capabilities.scanMode ? 'scan' : 'channels') : this.config.mode;
      if (mode === 'scan') await stick.startScan(NETWORK);
      else await this.openChannels(stick, capabilities.maxChannels);
      if (session !== this.session) return;
      this.mode = mode;
      this.backoffMs = this.config.reopenInitialMs;
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
      this.log.warn({ err: reason, code: codeOf(error), retryInMs: this.backoffMs }, 'ANT stick init failed');
      this.scheduleReconnect();
    } finally {
      if (session === this.session) this.connecting = false;
    }
  }

  private scheduleReconnect(): void {
    if (this.stopped) return;
    clearTimeout(this.reconnectTimer);
    // Jitter so that several agents restarted by one power cut do not retry in step.
    const delay = Math.round(this.backoffMs * (0.8 + Math.random() * 0.4));
    this.backoffMs = Math.min(this.backoffMs * 2, this.config.reopenMaxMs);
    this.reconnectTimer = setTimeout(() => {
      this.connecting = false;
      void this.connect();
    }, delay);
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

  private searchTimeoutUnits(): number {
    const seconds = this.config.channelSearchTimeoutSeconds;
    if (seconds === 0) return ANT_SEARCH_TIMEOUT_INFINITE;
    return Math.min(ANT_SEARCH_TIMEOUT_INFINITE - 1, Math.max(1, Math.ceil(seconds / SEARCH_TIMEOUT_UNIT_S)));
  }

  private async openChannels(stick: AntStick, maxChannels: number): Promise<void> {
    // Extended data lets wildcard channels name whom they found; channels for known sensors work without.
    await stick.enableExtendedData().catch((error: unknown) => this.log.warn({ err: errorMessage(error) }, 'stick has no extended data; wildcard pairing cannot name sensors'));
    let channel = 0;
    const skipped: string[] = [];
    for (const id of this.admission.allowed) {
      const channelId = parseAntSensorId(id);
      const profile = channelId && antProfileFor(channelId.deviceType);
      if (!channelId || !profile) continue;
      if (channel >= maxChannels) {
        skipped.push(id);
        continue;
      }
      await stick.startChannel({
        channel,
        network: NETWORK,
        id: { deviceNumber: channelId.deviceNumber & 0xffff, deviceType: channelId.deviceType, transmissionType: channelId.transmissionType },
        period: profile.channelPeriod,
        searchTimeout: this.searchTimeoutUnits(),
      });
      this.channels.set(channel, { sensorId: id, channelId: { ...channelId, pairing: false }, deviceType: channelId.deviceType });
      channel++;
    }
    if (skipped.length > 0) this.log.warn({ maxChannels, skipped }, 'stick has fewer channels than allowed sensors; some are not listened to');
    if (this.joinOpen) await this.openPairingChannels(stick, maxChannels);
  }

  /** Wildcard channels on the free channel numbers, one device type each, while joining is permitted. */
  private async openPairingChannels(stick: AntStick, maxChannels = stick.capabilities?.maxChannels ?? 0): Promise<void> {
    const types = this.config.pairingDeviceTypes.filter((t) => antProfileFor(t));
    if (types.length === 0) return;
    let next = 0;
    for (let channel = 0; channel < maxChannels; channel++) {
      if (this.channels.has(channel)) continue;
      const deviceType = types[next++ % types.length] ?? 0;
      const profile = antProfileFor(deviceType);
      if (!profile) continue;
      this.channels.set(channel, { deviceType });
      await stick.startChannel({
        channel,
        network: NETWORK,
        id: { deviceNumber: 0, deviceType, transmissionType: 0 },
        period: profile.channelPeriod,
        searchTimeout: this.searchTimeoutUnits(),
      });
    }
  }

  private onEvent(event: AntChannelEvent): void {
    switch (event.code) {
      case AntChannelEventCode.rxSearchTimeout:
        this.counters.searchTimeouts++;
        this.log.info({ channel: event.channel, sensor: this.channels.get(event.channel)?.sensorId }, 'ANT channel search timed out');
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
      // A decoder or sink bug must not take the stick down with it: count the page and carry on.
      this.counters.refusedPages++;
      this.log.error({ err: errorMessage(error) }, 'ANT page handling failed');
    }
  }

  private handleData(message: AntDataMessage): void {
    const owner = this.channels.get(message.channel);
    const channelId = message.channelId ?? owner?.channelId;
    if (!channelId) {
      this.counters.unattributedMessages++;
      return;
    }
    const id = antSensorId(channelId);
    if (!this.admission.isAdmitted(id)) {
      this.counters.ignoredMessages++;
      if (!this.ignoredSensors.has(id) && this.ignoredSensors.size < MAX_REMEMBERED_FOREIGN_SENSORS) {
        this.ignoredSensors.add(id);
        this.log.debug({ sensor: id }, 'ANT sensor not admitted; ignoring it');
      }
      return;
    }
    const now = this.now();
    let entry = this.sensors.get(id);
    if (!entry) {
      const profile = antProfileFor(channelId.deviceType);
      if (!profile) {
        this.counters.unknownProfileMessages++;
        if (!this.unknownProfileSensors.has(id) && this.unknownProfileSensors.size < MAX_REMEMBERED_FOREIGN_SENSORS) {
          this.unknownProfileSensors.add(id);
          this.log.info({ sensor: id, deviceType: channelId.deviceType }, 'ANT sensor of a device type no profile decodes');
        }
        return;
      }
      entry = { id, channelId, profile, state: undefined, lastSeen: now, metrics: new Set(), facts: {} };
      this.sensors.set(id, entry);
      this.scheduleInventory();
    } else if (now - entry.lastSeen > this.config.staleStateMs) {
      // After a long gap the counters may have wrapped more than once: start over rather than guess.
      entry.state = undefined;
    }
    entry.lastSeen = now;

    const result = entry.profile.decode(message.page, entry.state, { deviceNumber: channelId.deviceNumber, wheelCircumferenceM: this.config.wheelCircumferenceM });
    if (!result.ok) {
      this.counters.refusedPages++;
      this.log.debug({ sensor: id, reason: result.reason }, 'ANT page refused');
      return;
    }
    entry.state = result.state;
    if (result.facts) this.mergeFacts(entry, result.facts);
    const sink = this.sink;
    for (const m of result.measurements) {
      const reading: Reading = { sensor: id, metric: m.metric, ts: Math.round(now + (m.offsetMs ?? 0)), value: m.value };
      this.counters.readings++;
      if (!entry.metrics.has(m.metric) && entry.metrics.size < MAX_INVENTORY_METRICS) {
        entry.metrics.add(m.metric);
        this.scheduleInventory();
      }
      sink?.reading(reading);
    }
  }

  private mergeFacts(entry: SensorEntry, facts: SensorFacts): void {
    let changed = false;
    for (const [key, value] of Object.entries(facts)) {
      if (entry.facts[key] === value) continue;
      entry.facts[key] = value;
      changed = true;
    }
    if (!changed) return;
    this.log.info({ sensor: entry.id, facts: entry.facts }, 'ANT sensor facts');
    this.scheduleInventory();
  }

  private scheduleInventory(): void {
    if (this.inventoryTimer || this.stopped) return;
    // A scan that hears 30 sensors at once would otherwise publish 30 inventories in a row.
    this.inventoryTimer = setTimeout(() => {
      this.inventoryTimer = undefined;
      if (!this.stopped) this.sink?.inventory(this.inventory());
    }, INVENTORY_COALESCE_MS);
  }

  inventory(): SensorInfo[] {
    return [...this.sensors.values()].map((entry) => {
      const info: SensorInfo = {
        id: entry.id,
        kind: entry.profile.name,
        source: 'ant',
        name: sensorName(entry),
        metrics: [...entry.metrics],
        rateHz: Math.round((32768 / entry.profile.channelPeriod) * 100) / 100,
      };
      return info;
    });
  }
}

function sensorName(entry: SensorEntry): string {
  const { manufacturerId, modelNumber, serialNumber } = entry.facts;
  const parts = [`ANT+ ${entry.profile.name.replace(/_/g, ' ')} ${entry.channelId.deviceNumber}`];
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
