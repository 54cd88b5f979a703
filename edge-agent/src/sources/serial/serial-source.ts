/**
 * The serial source: CSAFE machines, WaterRower monitors and NMEA GPS receivers on serial ports.
 *
 * One channel per configured port: it finds the device (by path, or by USB ids at every attempt, since a
 * replugged adapter may come back under another ttyACM number), opens it, hands it to the protocol's
 * driver and, when the port disappears, reports the loss and retries with a doubling delay. Readings are
 * stamped when received and nothing is replayed after a reconnect, so a replug cannot duplicate readings.
 */
import type { MetricId, Reading, SensorInfo } from '@pulsebridge/protocol';
import type { Logger } from 'pino';
import type { Measurement } from '../measurement.ts';
import type { Source, SourceHealth, SourceSink, SourceState } from '../source.ts';
import { SerialSourceError, serialSourceConfigProblems, type SerialPortConfig, type SerialSourceConfig } from './config.ts';
import { CsafeDriver } from './drivers/csafe-driver.ts';
import type { DriverContext, SensorRole, SerialDriver } from './drivers/driver.ts';
import { NmeaDriver } from './drivers/nmea-driver.ts';
import { WaterRowerDriver } from './drivers/waterrower-driver.ts';
import { SerialPortError, findUsbPort, listSystemPorts, openSerialPort, type ListPorts, type OpenPort } from './port.ts';

export { SerialSourceConfig, serialSourceConfig, SerialSourceError } from './config.ts';

export type SerialSourceOptions = SerialSourceConfig & {
  now: () => number;
  log: Logger;
  /** How USB ids are resolved to paths; `SerialPort.list()` unless a test or a platform supplies another. */
  listPorts?: ListPorts;
};

export type ChannelState = 'connecting' | 'open' | 'waiting' | 'stopped';

export interface SerialPortStatus {
  port: string;
  state: ChannelState;
  detail?: string;
  sensorId?: string;
  path?: string;
  /** Times the open port was lost. */
  losses: number;
  readings: number;
  rejected: number;
  driver: Readonly<Record<string, number>>;
}

const SENSOR_ID_MAX = 64;
const CORRECTED_SUFFIX = '~corrected';
/** `~` is kept out of keys so that `~corrected` can only be the suffix. */
const NOT_IN_KEY = /[^A-Za-z0-9:._-]+/g;
const RETRY_JITTER = 0.2;

function fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return hash.toString(16).padStart(8, '0');
}

/**
 * A device path or serial number as the last part of a sensor id: no `/`, only id characters, short enough
 * for the 64-character id with its prefix and `~corrected`. Long keys keep their tail (the distinctive
 * part of a /dev/serial/by-id name) behind a hash of the whole.
 */
export function sensorKey(raw: string, maxLength: number): string {
  const key = raw.replace(/^\/dev\//, '').replace(NOT_IN_KEY, '_').replace(/^_+|_+$/g, '') || `port-${fnv1a(raw)}`;
  if (key.length <= maxLength) return key;
  return `${fnv1a(raw)}-${key.slice(key.length - (maxLength - 9))}`;
}

function describePort(config: SerialPortConfig): string {
  return 'path' in config ? `${config.protocol} ${config.path}` : `${config.protocol} usb ${config.usb.vendorId}:${config.usb.productId}`;
}

function createDriver(config: SerialSourceConfig, protocol: SerialPortConfig['protocol']): SerialDriver {
  switch (protocol) {
    case 'csafe':
      return new CsafeDriver(config.csafe);
    case 'waterrower':
      return new WaterRowerDriver(config.waterrower);
    case 'nmea':
      return new NmeaDriver({ track: { maxSpeedMps: config.gps.maxSpeedMps } });
  }
}

interface ChannelOptions {
  port: SerialPortConfig;
  driver: SerialDriver;
  reconnect: SerialSourceConfig['reconnect'];
  listPorts: ListPorts;
  now: () => number;
  log: Logger;
  emit(reading: Reading): void;
  changed(): void;
}

class SerialChannel {
  readonly label: string;
  state: ChannelState = 'stopped';
  detail: string | undefined;
  /** Set when the failure is the box, not the device: serialport cannot load. */
  unavailable = false;
  losses = 0;
  readings = 0;
  rejected = 0;
  private readonly options: ChannelOptions;
  private readonly driver: SerialDriver;
  private readonly log: Logger;
  private port: OpenPort | undefined;
  private path: string | undefined;
  private key: string | undefined;
  private problem: string | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private attempt = 0;
  private generation = 0;

  constructor(options: ChannelOptions) {
    this.options = options;
    this.driver = options.driver;
    this.label = describePort(options.port);
    this.log = options.log.child({ port: this.label });
  }

  start(): Promise<void> {
    this.state = 'connecting';
    return this.connect();
  }

  async stop(): Promise<void> {
    this.state = 'stopped';
    this.generation++;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.driver.close();
    const port = this.port;
    this.port = undefined;
    await port?.close();
  }

  sensorId(role: SensorRole = 'device'): string | undefined {
    if (this.key === undefined) return undefined;
    const id = this.driver.idPrefix + this.key;
    return role === 'corrected' ? id + CORRECTED_SUFFIX : id;
  }

  sensors(): SensorInfo[] {
    if (this.state !== 'open') return [];
    const id = this.sensorId();
    if (id === undefined) return [];
    const { port } = this.options;
    const kind = port.kind ?? this.driver.kind;
    const base = { kind, source: 'serial', rateHz: this.driver.rateHz };
    const sensors: SensorInfo[] = [{ id, ...base, metrics: [...this.driver.metrics], ...(port.name ? { name: port.name } : {}) }];
    if (this.driver.correctedMetrics) {
      sensors.push({
        id: id + CORRECTED_SUFFIX,
        ...base,
        metrics: [...this.driver.correctedMetrics],
        name: `${port.name ?? id} (corrected track)`,
      });
    }
    return sensors;
  }

  /** Why this port does not deliver, or undefined when it does. */
  trouble(): string | undefined {
    if (this.state === 'open') return this.problem;
    return this.detail ?? this.state;
  }

  status(): SerialPortStatus {
    const status: SerialPortStatus = {
      port: this.label,
      state: this.state,
      losses: this.losses,
      readings: this.readings,
      rejected: this.rejected,
      driver: this.driver.counters(),
    };
    const trouble = this.trouble();
    if (trouble !== undefined) status.detail = trouble;
    const id = this.sensorId();
    if (id !== undefined) status.sensorId = id;
    if (this.path !== undefined) status.path = this.path;
    return status;
  }

  private async connect(): Promise<void> {
    const generation = ++this.generation;
    const { port: config } = this.options;
    let path: string | undefined;
    try {
      let serialNumber: string | undefined;
      if ('usb' in config) {
        const found = await findUsbPort(this.options.listPorts, config.usb);
        path = found.path;
        serialNumber = found.serialNumber;
      } else path = config.path;
      const openPath = path;
      const port = await openSerialPort(openPath, config.baudRate ?? this.driver.defaultBaudRate, {
        data: (chunk) => this.receive(generation, chunk),
        lost: (reason) => this.lost(generation, reason),
      });
      if (generation !== this.generation || this.state === 'stopped') {
        await port.close();
        return;
      }
      const keyRoom = SENSOR_ID_MAX - this.driver.idPrefix.length - (this.driver.correctedMetrics ? CORRECTED_SUFFIX.length : 0);
      this.port = port;
      this.path = openPath;
      this.key = sensorKey(serialNumber ?? openPath, keyRoom);
      this.state = 'open';
      this.detail = undefined;
      this.problem = undefined;
      this.unavailable = false;
      this.attempt = 0;
      this.log.info({ path: openPath, sensor: this.sensorId() }, 'serial port open');
      this.driver.open(this.context(generation, keyRoom));
      this.options.changed();
    } catch (error) {
      if (generation !== this.generation || this.state === 'stopped') return;
      const code = error instanceof SerialPortError ? error.code : 'open_failed';
      this.unavailable = code === 'binding_unavailable';
      this.retry((error as Error).message);
    }
  }

  private context(generation: number, keyRoom: number): DriverContext {
    const current = (): boolean => generation === this.generation && this.state === 'open';
    return {
      log: this.log,
      write: (bytes) => {
        if (current()) this.port?.write(bytes);
      },
      measurements: (measurements, role) => {
        if (current()) this.emit(measurements, role);
      },
      rejected: (reason) => {
        if (!current()) return;
        this.rejected++;
        this.log.debug({ reason }, 'serial frame rejected');
      },
      identified: (serialNumber) => {
        if (!current()) return;
        const key = sensorKey(serialNumber, keyRoom);
        if (key === this.key) return;
        this.key = key;
        this.log.info({ serialNumber, sensor: this.sensorId() }, 'device identified');
        this.options.changed();
      },
      problem: (detail) => {
        if (!current() || detail === this.problem) return;
        this.problem = detail;
        if (detail) this.log.warn({ detail }, 'serial device not delivering');
        else this.log.info('serial device delivering again');
      },
    };
  }

  private receive(generation: number, chunk: Uint8Array): void {
    if (generation !== this.generation || this.state !== 'open') return;
    try {
      this.driver.receive(chunk);
    } catch (error) {
      // Decoders refuse rather than throw; if one throws anyway, the chunk is lost, not the agent.
      this.rejected++;
      this.log.error({ err: error }, 'serial driver failed on received bytes');
    }
  }

  private emit(measurements: readonly Measurement[], role: SensorRole = 'device'): void {
    const sensor = this.sensorId(role);
    if (sensor === undefined) return;
    const receivedAt = Math.round(this.options.now());
    for (const m of measurements) {
      if (!Number.isFinite(m.value)) {
        this.rejected++;
        continue;
      }
      this.readings++;
      this.options.emit({ sensor, metric: m.metric as MetricId, ts: receivedAt + Math.round(m.offsetMs ?? 0), value: m.value });
    }
  }

  private lost(generation: number, reason: string): void {
    if (generation !== this.generation || this.state !== 'open') return;
    this.generation++;
    this.driver.close();
    this.port = undefined;
    this.losses++;
    this.log.warn({ reason }, 'serial port lost');
    this.retry(`lost: ${reason}`);
    this.options.changed();
  }

  private retry(reason: string): void {
    const { initialDelayMs, maxDelayMs } = this.options.reconnect;
    const base = Math.min(maxDelayMs, initialDelayMs * 2 ** Math.min(this.attempt, 20));
    // Jitter keeps several ports on one hub from retrying in lockstep.
    const delay = Math.round(base * (1 - RETRY_JITTER + Math.random() * 2 * RETRY_JITTER));
    this.attempt++;
    this.state = 'waiting';
    this.detail = `${reason}; retry ${this.attempt} in ${delay} ms`;
    this.log.debug({ reason, delay, attempt: this.attempt }, 'serial port retry scheduled');
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.state !== 'waiting') return;
      this.state = 'connecting';
      void this.connect();
    }, delay);
  }
}

export class SerialSource implements Source {
  readonly name = 'serial';
  private readonly channels: SerialChannel[];
  private readonly log: Logger;
  private sink: SourceSink | undefined;
  private started = false;
  private lastInventory = '';

  constructor(options: SerialSourceOptions) {
    const { now, log, listPorts, ...config } = options;
    const problems = serialSourceConfigProblems(config);
    if (problems.length > 0) throw new SerialSourceError('invalid_config', `invalid serial source configuration:\n  - ${problems.join('\n  - ')}`);
    this.log = log;
    this.channels = config.ports.map(
      (port) =>
        new SerialChannel({
          port,
          driver: createDriver(config, port.protocol),
          reconnect: config.reconnect,
          listPorts: listPorts ?? listSystemPorts,
          now,
          log,
          emit: (reading) => this.emit(reading),
          changed: () => this.publishInventory(),
        }),
    );
  }

  async start(sink: SourceSink): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.sink = sink;
    this.lastInventory = '';
    if (this.channels.length === 0) this.log.warn('serial source has no ports configured');
    await Promise.all(this.channels.map((channel) => channel.start()));
    this.publishInventory();
    this.log.info({ ports: this.ports().map(({ port, state, detail }) => ({ port, state, detail })) }, 'serial source started');
  }

  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    await Promise.all(this.channels.map((channel) => channel.stop()));
    this.sink = undefined;
    this.log.info('serial source stopped');
  }

  health(): SourceHealth {
    const readings = this.channels.reduce((sum, c) => sum + c.readings, 0);
    const rejected = this.channels.reduce((sum, c) => sum + c.rejected, 0);
    const sensors = this.channels.reduce((sum, c) => sum + c.sensors().length, 0);
    const counts = { sensors, readings, rejected };
    if (!this.started) return { state: 'stopped', ...counts };
    if (this.channels.length === 0) return { state: 'unavailable', detail: 'no serial ports configured', ...counts };
    const troubles = this.channels.flatMap((c) => {
      const trouble = c.trouble();
      return trouble === undefined ? [] : [`${c.label}: ${trouble}`];
    });
    if (troubles.length === 0) return { state: 'running', ...counts };
    const state: SourceState = this.channels.every((c) => c.unavailable) ? 'unavailable' : 'degraded';
    return { state, detail: troubles.join('; '), ...counts };
  }

  /** Per-port state and counters: what an operator (or a test) needs beyond the summary in health(). */
  ports(): SerialPortStatus[] {
    return this.channels.map((channel) => channel.status());
  }

  private emit(reading: Reading): void {
    try {
      this.sink?.reading(reading);
    } catch (error) {
      this.log.error({ err: error }, 'reading sink threw');
    }
  }

  private publishInventory(): void {
    if (!this.sink) return;
    const sensors = this.channels.flatMap((channel) => channel.sensors());
    const serialized = JSON.stringify(sensors);
    if (serialized === this.lastInventory) return;
    this.lastInventory = serialized;
    try {
      this.sink.inventory(sensors);
    } catch (error) {
      this.log.error({ err: error }, 'inventory sink threw');
    }
  }
}
