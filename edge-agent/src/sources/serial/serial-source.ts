/**
 * The serial source: CSAFE machines, WaterRower monitors and NMEA GPS receivers on serial ports.
 *
 * One channel per configured port: it finds the device (by path, or by USB ids at every attempt, since a
 * replugged adapter may come back under another ttyACM number), opens it, hands it to the protocol's
 * driver and, when the port disappears, reports the loss and retries with a doubling delay. Readings are
 * stamped when received and nothing is replayed after a reconnect, so a replug cannot duplicate readings.
 */
import { Backoff, LogRepeats, errorMessage } from '@pulsebridge/runtime';
import type { Logger } from 'pino';
import type { Measurement } from '../measurement.ts';
import { SensorBook } from '../sensor-book.ts';
import type { Source, SourceHealth, SourceSink, SourceState } from '../source.ts';
import type { SerialPortConfig, SerialSourceConfig } from './config.ts';
import type { DriverContext, SensorRole, SerialDriver } from './drivers/driver.ts';
import { SerialPortError, findUsbPort, listSystemPorts, openSerialPort, type ListPorts, type OpenPort } from './port.ts';
import { SERIAL_PROTOCOLS } from './protocols.ts';

export { SerialSourceConfig, serialSourceConfig } from './config.ts';

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
  const key =
    raw
      .replace(/^\/dev\//, '')
      .replace(NOT_IN_KEY, '_')
      .replace(/^_+|_+$/g, '') || `port-${fnv1a(raw)}`;
  if (key.length <= maxLength) return key;
  return `${fnv1a(raw)}-${key.slice(key.length - (maxLength - 9))}`;
}

/** Room for the key in a 64-character id after the driver's prefix and, where it has that track, `~corrected`. */
export function serialKeyRoom(driver: Pick<SerialDriver, 'idPrefix' | 'correctedMetrics'>): number {
  return SENSOR_ID_MAX - driver.idPrefix.length - (driver.correctedMetrics ? CORRECTED_SUFFIX.length : 0);
}

/**
 * A port's sensor id: the driver's prefix and the key (`sensorKey`), `~corrected` after it for the corrected
 * track; lower case, the canonical form (protocol canonicalSensorId) the hub's documents name sensors by.
 */
export function serialSensorId(idPrefix: string, key: string, role: SensorRole = 'device'): string {
  const id = (idPrefix + key).toLowerCase();
  return role === 'corrected' ? id + CORRECTED_SUFFIX : id;
}

function describePort(config: SerialPortConfig): string {
  return config.usb ? `${config.protocol} usb ${config.usb.vendorId}:${config.usb.productId}` : `${config.protocol} ${config.path}`;
}

interface ChannelOptions {
  port: SerialPortConfig;
  config: SerialSourceConfig;
  book: SensorBook;
  listPorts: ListPorts;
  now: () => number;
  log: Logger;
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
  private readonly book: SensorBook;
  private readonly backoff: Backoff;
  private readonly log: Logger;
  /** Errors that come with the data (a decoder bug) repeat at its rate: logged once, then counted. */
  private readonly repeats: LogRepeats;
  private port: OpenPort | undefined;
  private path: string | undefined;
  private key: string | undefined;
  private problem: string | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private generation = 0;

  constructor(options: ChannelOptions) {
    this.options = options;
    this.driver = SERIAL_PROTOCOLS[options.port.protocol].createDriver(options.config);
    this.book = options.book;
    const { initialDelayMs, maxDelayMs } = options.config.reconnect;
    this.backoff = new Backoff({ initialMs: initialDelayMs, maxMs: maxDelayMs });
    this.label = describePort(options.port);
    this.log = options.log.child({ port: this.label });
    this.repeats = new LogRepeats(this.log);
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
    this.unlist();
    const port = this.port;
    this.port = undefined;
    await port?.close();
  }

  sensorId(role: SensorRole = 'device'): string | undefined {
    if (this.key === undefined) return undefined;
    return serialSensorId(this.driver.idPrefix, this.key, role);
  }

  /** Enters the port's sensors in the book: the device, and its corrected track where the driver has one. */
  private list(): void {
    const id = this.sensorId();
    if (id === undefined) return;
    const { port } = this.options;
    const base = { kind: port.kind ?? this.driver.kind, rateHz: this.driver.rateHz, device: undefined };
    this.book.batch(() => {
      this.book.add(id, { ...base, name: port.name, metrics: this.driver.metrics });
      if (this.driver.correctedMetrics) this.book.add(id + CORRECTED_SUFFIX, { ...base, name: `${port.name ?? id} (corrected track)`, metrics: this.driver.correctedMetrics });
    });
  }

  private unlist(): void {
    const id = this.sensorId();
    if (id === undefined) return;
    this.book.batch(() => {
      this.book.remove(id);
      this.book.remove(id + CORRECTED_SUFFIX);
    });
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
      if (config.usb) {
        const found = await findUsbPort(this.options.listPorts, config.usb);
        path = found.path;
        serialNumber = found.serialNumber;
        // serialConfigProblems guarantees a path where there are no USB ids.
      } else path = config.path ?? '';
      const openPath = path;
      const port = await openSerialPort(openPath, config.baudRate ?? SERIAL_PROTOCOLS[config.protocol].baudRate, {
        data: (chunk) => this.receive(generation, chunk),
        lost: (reason) => this.lost(generation, reason),
      });
      if (generation !== this.generation || this.state === 'stopped') {
        await port.close();
        return;
      }
      const keyRoom = serialKeyRoom(this.driver);
      this.port = port;
      this.path = openPath;
      this.key = sensorKey(serialNumber ?? openPath, keyRoom);
      this.state = 'open';
      this.detail = undefined;
      this.problem = undefined;
      this.unavailable = false;
      this.backoff.reset();
      this.log.info({ path: openPath, sensor: this.sensorId() }, 'serial port open');
      this.driver.open(this.context(generation, keyRoom));
      this.list();
    } catch (error) {
      if (generation !== this.generation || this.state === 'stopped') return;
      const code = error instanceof SerialPortError ? error.code : 'open_failed';
      this.unavailable = code === 'binding_unavailable';
      this.retry(errorMessage(error));
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
        if (current()) this.reject(reason);
      },
      identified: (serialNumber) => {
        if (!current()) return;
        const key = sensorKey(serialNumber, keyRoom);
        if (key === this.key) return;
        this.book.batch(() => {
          this.unlist();
          this.key = key;
          this.list();
        });
        this.log.info({ serialNumber, sensor: this.sensorId() }, 'device identified');
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
      this.reject(`driver failed on received bytes: ${errorMessage(error)}`);
      this.repeats.error(`driver\u0000${errorMessage(error)}`, { err: error }, 'serial driver failed on received bytes');
    }
  }

  private reject(reason: string): void {
    this.rejected++;
    this.book.reject(this.entry('device'), reason);
  }

  private entry(role: SensorRole): ReturnType<SensorBook['get']> {
    const id = this.sensorId(role);
    return id === undefined ? undefined : this.book.get(id);
  }

  private emit(measurements: readonly Measurement[], role: SensorRole = 'device'): void {
    const entry = this.entry(role);
    if (!entry) return;
    const emitted = this.book.emit(entry, measurements, Math.round(this.options.now()));
    this.readings += emitted;
    this.rejected += measurements.length - emitted;
  }

  private lost(generation: number, reason: string): void {
    if (generation !== this.generation || this.state !== 'open') return;
    this.generation++;
    this.driver.close();
    this.port = undefined;
    this.losses++;
    this.log.warn({ reason }, 'serial port lost');
    this.unlist();
    this.retry(`lost: ${reason}`);
  }

  private retry(reason: string): void {
    // Jittered, so several ports on one hub do not retry in lockstep.
    const delay = this.backoff.next();
    const attempt = this.backoff.attempts;
    this.state = 'waiting';
    this.detail = `${reason}; retry ${attempt} in ${delay} ms`;
    this.log.debug({ reason, delay, attempt }, 'serial port retry scheduled');
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
  private readonly book: SensorBook;
  private readonly log: Logger;
  private started = false;

  /** `options` are trusted: the config loader ran serialConfigProblems on them. */
  constructor(options: SerialSourceOptions) {
    const { now, log, listPorts, ...config } = options;
    this.log = log;
    // Serial sensors come and go with their ports, one at a time: nothing to coalesce.
    this.book = new SensorBook({ source: 'serial', radio: 'serial', now, log, coalesceMs: 0 });
    this.channels = config.ports.map((port) => new SerialChannel({ port, config, book: this.book, listPorts: listPorts ?? listSystemPorts, now, log }));
  }

  async start(sink: SourceSink): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.book.attach(sink);
    if (this.channels.length === 0) this.log.warn('serial source has no ports configured');
    await Promise.all(this.channels.map((channel) => channel.start()));
    this.book.publish();
    this.log.info({ ports: this.ports().map(({ port, state, detail }) => ({ port, state, detail })) }, 'serial source started');
  }

  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    await Promise.all(this.channels.map((channel) => channel.stop()));
    this.book.detach();
    this.log.info('serial source stopped');
  }

  health(): SourceHealth {
    if (!this.started) return this.book.health('stopped');
    if (this.channels.length === 0) return this.book.health('unavailable', 'no serial ports configured');
    const troubles = this.channels.flatMap((c) => {
      const trouble = c.trouble();
      return trouble === undefined ? [] : [`${c.label}: ${trouble}`];
    });
    if (troubles.length === 0) return this.book.health('running');
    const state: SourceState = this.channels.every((c) => c.unavailable) ? 'unavailable' : 'degraded';
    return this.book.health(state, troubles.join('; '));
  }

  /** Per-port state and counters: what an operator (or a test) needs beyond the summary in health(). */
  ports(): SerialPortStatus[] {
    return this.channels.map((channel) => channel.status());
  }
}
