/**
 * The sensor book: what every source (BLE, ANT, serial, simulator) knows about its sensors, written once.
 * A source is a radio or port adapter that turns transport traffic into book calls; the book owns the
 * sensors, as one controller owns the devices behind zigbee-herdsman's adapters.
 *
 * What the book does:
 * - admission (admission.ts, the book's inner part): `admit(id)` asks the allowlist and the permit-join
 *   window (`permitJoin(seconds)`, `joinOpen`); a book without `admission` admits every sensor (serial ports and the simulator are
 *   configured one by one). Sensors refused are counted, and remembered up to a cap to log each once.
 * - the inventory: `add(id, { kind, name, rateHz, metrics, device })` enters a sensor, `remove(id)` takes
 *   it out (a serial port that is lost), `batch(fn)` makes several changes one. Changes of sensors, metrics or naming facts publish the inventory
 *   to the sink, coalesced over `coalesceMs` (0: at once) and only when it differs from the last one.
 *   Each sensor lists at most MAX_INVENTORY_METRICS metrics.
 * - facts: `mergeFacts(entry, facts)` (battery, manufacturer, contact); only `namingFacts` republish the
 *   inventory. `entry.factsRead` records the characteristics read once per sensor (device information
 *   survives reconnects).
 * - decoder state: `entry.decoderStates` per characteristic, page stream or channel, handed to and taken
 *   back from the decoder by `decoded(entry, result, key)`, which also counts the result's quirks;
 *   `resetDecoders(entry)` after a gap or a new link.
 * - emit: `emit(entry, measurements, receivedAt)` stamps the sensor id and the time on decoded measurements
 *   and hands the readings to the SourceSink; `deliver(reading)` for readings a source stamps itself (the
 *   simulator). Non-finite values are rejected, a throwing sink costs only that reading.
 * - counters per sensor (`readings`, `rejected`, `quirks`, `lastSeen`) and in total (`stats()`), and
 *   `health(state, detail)` in the SourceHealth shape, with `devices` (per-sensor link state and quirks)
 *   when the source keeps links and says how each stands through `linkOf` (BLE).
 *
 * What a source keeps to itself: its transport (stick, port, adapters, links), its retry policy and what
 * each sensor is to the radio (`entry.device`: an ANT channel id and profile; a BLE sensor's adverts, link
 * and backoff, ble/sensor-entry.ts).
 */
import type { MetricId, Reading, SensorInfo } from '@pulsebridge/protocol';
import { LogRepeats, errorMessage } from '@pulsebridge/runtime';
import type { Logger } from 'pino';
import { Admission, type AdmissionStats } from './admission.ts';
import type { PairingState } from './pairing-state.ts';
import type { Decoded, Measurement, SensorFacts } from './measurement.ts';
import type { SourceDeviceHealth, SourceHealth, SourceSink, SourceState } from './source.ts';

export const MAX_INVENTORY_METRICS = 64;
export const DEFAULT_INVENTORY_COALESCE_MS = 100;
/**
 * Foreign sensors remembered only to log each once. A busy venue (or a noisy transmitter) must not grow
 * them without bound; past the cap, messages are still counted, only the log line is skipped.
 */
export const MAX_REMEMBERED_FOREIGN_SENSORS = 4096;

/** A sensor's link as the health endpoint shows it, for sources that hold links (BLE); the source derives it from its own state. */
export interface SensorLink {
  /** e.g. advertising, connecting, connected, backoff, broadcast. */
  state: string;
  rssi?: number | undefined;
  adapter?: string | undefined;
  /** Why it is not working, e.g. the last connection failure. */
  detail?: string | undefined;
}

/** A sensor of a source that holds links, as health lists it. */
export interface LinkedDeviceHealth extends SourceDeviceHealth {
  /** Records decoded although they bent the spec (reserved flag bits, unannounced trailing bytes). */
  quirks: number;
}

export interface SensorEntry<Device = undefined> {
  readonly id: string;
  kind: string;
  /** Shown in the inventory unless the book's `nameOf` says otherwise. */
  name: string | undefined;
  rateHz: number | undefined;
  /** What the sensor is to its radio or port; the book never looks inside. */
  device: Device;
  /** Metrics in the order first seen (or declared), at most MAX_INVENTORY_METRICS. */
  readonly metrics: Set<MetricId>;
  readonly facts: SensorFacts;
  /** Characteristics (or pages) read once per sensor and already read. */
  readonly factsRead: Set<string>;
  /** Decoder state per characteristic, page stream or channel. */
  readonly decoderStates: Map<string, unknown>;
  /** UTC ms (the injected clock) of the last thing heard; undefined before anything was. */
  lastSeen: number | undefined;
  readings: number;
  rejected: number;
  /** Records decoded although they bent the spec (reserved flags, unannounced trailing bytes). */
  quirks: number;
}

export interface AddSensor<Device> {
  kind: string;
  device: Device;
  name?: string | undefined;
  rateHz?: number | undefined;
  /** Metrics known before any reading (a serial driver's or a simulated sensor's fixed set). */
  metrics?: readonly MetricId[] | undefined;
}

export interface SensorBookOptions<Device> {
  /** `source` of every SensorInfo: 'ble', 'ant', 'serial', 'simulator'. */
  source: string;
  now: () => number;
  log: Logger;
  /** Names the radio in log lines, e.g. 'ANT'; defaults to `source`. */
  radio?: string | undefined;
  /** Allowlist, the hub's pairing state and join cap; absent: every sensor is admitted. */
  admission?: { allow: Iterable<string>; pairing?: PairingState | undefined; maxJoined?: number | undefined } | undefined;
  coalesceMs?: number | undefined;
  /** The inventory name of a sensor from its facts; by default `entry.name`. */
  nameOf?: ((entry: SensorEntry<Device>) => string | undefined) | undefined;
  /** Facts that change the inventory (they name the sensor); absent: every fact does. */
  namingFacts?: ReadonlySet<string> | undefined;
  /** How a sensor's link stands; given, health lists `devices` (per-sensor link state and quirks). */
  linkOf?: ((entry: SensorEntry<Device>) => SensorLink) | undefined;
}

export interface SensorBookStats {
  sensors: number;
  readings: number;
  rejected: number;
  quirks: number;
  /** Readings the sink threw on: counted in `readings`, lost to the sink. */
  sinkErrors: number;
  /** Messages from sensors that are neither allowed nor joined. */
  ignoredMessages: number;
  /** Distinct sensors refused, up to MAX_REMEMBERED_FOREIGN_SENSORS. */
  ignoredSensors: number;
  admission: AdmissionStats;
}

export class SensorBook<Device = undefined> {
  private readonly source: string;
  private readonly now: () => number;
  private readonly log: Logger;
  /** A broken sink fails for every reading: logged once, then counted. */
  private readonly repeats: LogRepeats;
  private readonly radio: string;
  private readonly admission: Admission | undefined;
  private readonly pairing: PairingState | undefined;
  private readonly coalesceMs: number;
  private readonly nameOf: (entry: SensorEntry<Device>) => string | undefined;
  private readonly namingFacts: ReadonlySet<string> | undefined;
  private readonly linkOf: ((entry: SensorEntry<Device>) => SensorLink) | undefined;
  private readonly sensors = new Map<string, SensorEntry<Device>>();
  private readonly ignored = new Set<string>();
  private sink: SourceSink | undefined;
  private inventoryTimer: NodeJS.Timeout | undefined;
  private lastInventory: string | undefined;
  private batching = 0;
  private changedInBatch = false;
  private readonly totals = { readings: 0, rejected: 0, quirks: 0, sinkErrors: 0, ignoredMessages: 0 };

  constructor(options: SensorBookOptions<Device>) {
    this.source = options.source;
    this.now = options.now;
    this.log = options.log;
    this.repeats = new LogRepeats(options.log);
    this.radio = options.radio ?? options.source;
    this.coalesceMs = options.coalesceMs ?? DEFAULT_INVENTORY_COALESCE_MS;
    this.nameOf = options.nameOf ?? ((entry) => entry.name);
    this.namingFacts = options.namingFacts;
    this.linkOf = options.linkOf;
    if (options.admission) {
      const { allow, pairing, maxJoined } = options.admission;
      this.pairing = pairing;
      this.admission = new Admission({ allow, pairing, now: options.now, log: options.log, radio: this.radio, ...(maxJoined === undefined ? {} : { maxJoined }) });
    }
  }

  // ---- lifecycle ----

  /** Readings and inventories go to `sink` from now on; the next inventory is published even if unchanged. */
  attach(sink: SourceSink): void {
    this.sink = sink;
    this.lastInventory = undefined;
  }

  /** Nothing more reaches the sink; a pending inventory is dropped. */
  detach(): void {
    clearTimeout(this.inventoryTimer);
    this.inventoryTimer = undefined;
    this.sink = undefined;
  }

  // ---- admission ----

  /**
   * Allowed, joined, or joins now through an open window; refusals are counted and logged once per sensor.
   * `heard` (what the sensor is, how strong) puts a refused sensor in the hub's discovery window.
   */
  admit(id: string, heard?: { kind: string; rssi?: number | undefined }): boolean {
    if (!this.admission || this.admission.isAdmitted(id)) return true;
    if (heard) this.pairing?.heard(id, heard.kind, heard.rssi);
    this.totals.ignoredMessages++;
    if (!this.ignored.has(id) && this.ignored.size < MAX_REMEMBERED_FOREIGN_SENSORS) {
      this.ignored.add(id);
      this.log.debug({ sensor: id }, `${this.radio} sensor not admitted; ignoring it`);
    }
    return false;
  }

  /** Allowed or already joined; never joins. */
  knows(id: string): boolean {
    return !this.admission || this.admission.knows(id);
  }

  /** Admits every new sensor heard in the next `seconds` (0 closes the window); false for a bad value. */
  permitJoin(seconds: number): boolean {
    return this.admission?.permitJoin(seconds) ?? false;
  }

  get joinOpen(): boolean {
    return this.admission?.joinOpen ?? false;
  }

  /** The allowlist, for radios that open a channel per allowed sensor. */
  get allowed(): ReadonlySet<string> {
    return this.admission?.allowed ?? new Set();
  }

  /** Warns when nothing can ever be admitted: an empty allowlist and a closed join window. */
  warnIfClosed(permitJoinSeconds: number): void {
    if (this.admission && this.admission.allowed.size === 0 && permitJoinSeconds === 0) {
      this.log.warn(`no ${this.radio} sensor is allowed and joining is closed: configure \`allow\` or call permitJoin() to admit sensors`);
    }
  }

  // ---- the inventory ----

  get size(): number {
    return this.sensors.size;
  }

  get(id: string): SensorEntry<Device> | undefined {
    return this.sensors.get(id);
  }

  has(id: string): boolean {
    return this.sensors.has(id);
  }

  entries(): IterableIterator<SensorEntry<Device>> {
    return this.sensors.values();
  }

  add(id: string, sensor: AddSensor<Device>): SensorEntry<Device> {
    const existing = this.sensors.get(id);
    if (existing) return existing;
    const entry: SensorEntry<Device> = {
      id,
      kind: sensor.kind,
      name: sensor.name,
      rateHz: sensor.rateHz,
      device: sensor.device,
      metrics: new Set((sensor.metrics ?? []).slice(0, MAX_INVENTORY_METRICS)),
      facts: {},
      factsRead: new Set(),
      decoderStates: new Map(),
      lastSeen: undefined,
      readings: 0,
      rejected: 0,
      quirks: 0,
    };
    this.sensors.set(id, entry);
    this.changed();
    return entry;
  }

  remove(id: string): boolean {
    const removed = this.sensors.delete(id);
    if (removed) this.changed();
    return removed;
  }

  /** Sets what the inventory shows of a sensor; publishes when something changed. */
  update(entry: SensorEntry<Device>, change: { kind?: string; name?: string | undefined }): void {
    let changed = false;
    if (change.kind !== undefined && change.kind !== entry.kind) {
      entry.kind = change.kind;
      changed = true;
    }
    if ('name' in change && change.name !== entry.name) {
      entry.name = change.name;
      changed = true;
    }
    if (changed) this.changed();
  }

  inventory(): SensorInfo[] {
    return [...this.sensors.values()].map((entry) => {
      const info: SensorInfo = { id: entry.id, kind: entry.kind, source: this.source, metrics: [...entry.metrics] };
      const name = this.nameOf(entry);
      if (name !== undefined) info.name = name.slice(0, 128);
      if (entry.rateHz !== undefined) info.rateHz = entry.rateHz;
      return info;
    });
  }

  /** Publishes the inventory now (when it differs from the last one published), cancelling a pending one. */
  publish(): void {
    clearTimeout(this.inventoryTimer);
    this.inventoryTimer = undefined;
    const sink = this.sink;
    if (!sink) return;
    const sensors = this.inventory();
    const serialized = JSON.stringify(sensors);
    if (serialized === this.lastInventory) return;
    this.lastInventory = serialized;
    try {
      sink.inventory(sensors);
    } catch (error) {
      this.log.error({ err: errorMessage(error) }, `${this.radio} inventory not delivered`);
    }
  }

  /** Makes the changes `change` makes one inventory change (a sensor renamed: removed and added). */
  batch(change: () => void): void {
    this.batching++;
    try {
      change();
    } finally {
      this.batching--;
    }
    if (this.batching === 0 && this.changedInBatch) {
      this.changedInBatch = false;
      this.changed();
    }
  }

  /** The inventory changed: publish it, coalescing bursts (a scan that hears 30 sensors at once). */
  changed(): void {
    if (!this.sink) return;
    if (this.batching > 0) {
      this.changedInBatch = true;
      return;
    }
    if (this.coalesceMs === 0) {
      this.publish();
      return;
    }
    this.inventoryTimer ??= setTimeout(() => this.publish(), this.coalesceMs);
  }

  // ---- facts and decoders ----

  mergeFacts(entry: SensorEntry<Device>, facts: SensorFacts): void {
    let changed = false;
    let renamed = false;
    for (const [key, value] of Object.entries(facts)) {
      if (entry.facts[key] === value) continue;
      entry.facts[key] = value;
      changed = true;
      if (!this.namingFacts || this.namingFacts.has(key)) renamed = true;
    }
    if (changed) this.log.debug({ sensor: entry.id, facts: entry.facts }, `${this.radio} sensor facts`);
    if (renamed) this.changed();
  }

  /** Forgets every decoder's previous sample: counters of an old link or a long gap must not meet new ones. */
  resetDecoders(entry: SensorEntry<Device>): void {
    entry.decoderStates.clear();
  }

  /**
   * Takes a decoder's result for `entry`: a refusal is counted as rejected; otherwise its quirks are
   * counted, the decoder state is kept under `key`, facts merged and measurements emitted. Returns whether
   * the result was usable.
   */
  decoded<State>(entry: SensorEntry<Device>, result: Decoded<State>, key = '', receivedAt = this.now()): boolean {
    if (!result.ok) {
      this.reject(entry, key === '' ? result.reason : `${key}: ${result.reason}`);
      return false;
    }
    if (result.quirks !== undefined && result.quirks.length > 0) this.quirk(entry, key, ...result.quirks);
    if (result.state !== undefined) entry.decoderStates.set(key, result.state);
    else entry.decoderStates.delete(key);
    if (result.facts) this.mergeFacts(entry, result.facts);
    this.emit(entry, result.measurements, receivedAt);
    return true;
  }

  // ---- emit and counters ----

  /** The sensor was heard (an advert, a page, a frame): its `lastSeen` moves. */
  heard(entry: SensorEntry<Device>, at = this.now()): void {
    entry.lastSeen = at;
  }

  /**
   * Stamps each measurement with the sensor id and `receivedAt` plus its offset, counts it and hands it to
   * the sink. Non-finite values are rejected. Returns the number of readings handed on.
   */
  emit(entry: SensorEntry<Device>, measurements: readonly Measurement[], receivedAt = this.now()): number {
    let emitted = 0;
    for (const m of measurements) {
      if (!Number.isFinite(m.value)) {
        this.reject(entry, `${m.metric}: not a finite number`);
        continue;
      }
      if (this.deliverTo(entry, { sensor: entry.id, metric: m.metric, ts: Math.round(receivedAt + (m.offsetMs ?? 0)), value: m.value })) emitted++;
    }
    if (emitted > 0) entry.lastSeen = receivedAt;
    return emitted;
  }

  /** A reading the source stamped itself; false when its sensor is not in the book. */
  deliver(reading: Reading): boolean {
    const entry = this.sensors.get(reading.sensor);
    if (!entry) return false;
    entry.lastSeen = reading.ts;
    this.deliverTo(entry, reading);
    return true;
  }

  /** Something from (or for) the sensor that could not be used; `entry` undefined when no sensor is known. */
  reject(entry: SensorEntry<Device> | undefined, reason: string): void {
    this.totals.rejected++;
    if (entry) entry.rejected++;
    this.log.debug({ sensor: entry?.id, reason }, `${this.radio} data rejected`);
  }

  /**
   * A record of `key` (a characteristic, a page stream) decoded although it bent the spec, one count per
   * deviation. Logged once per sensor: a machine that bends the spec does so every time.
   */
  quirk(entry: SensorEntry<Device>, key: string, ...quirks: string[]): void {
    if (entry.quirks === 0) this.log.info({ sensor: entry.id, key, quirks }, `${this.radio} sensor bends the spec; decoding what it announces`);
    this.totals.quirks += quirks.length;
    entry.quirks += quirks.length;
  }

  stats(): SensorBookStats {
    return {
      sensors: this.sensors.size,
      ...this.totals,
      ignoredSensors: this.ignored.size,
      admission: this.admission?.stats() ?? { allowed: 0, joined: 0, joinRefused: 0 },
    };
  }

  /** The source's health: its state and detail, the book's counts; `rejectedElsewhere` adds transport refusals. */
  health(state: SourceState, detail?: string, rejectedElsewhere = 0): SourceHealth {
    const health: SourceHealth = { state, sensors: this.sensors.size, readings: this.totals.readings, rejected: this.totals.rejected + rejectedElsewhere };
    if (detail !== undefined) health.detail = detail;
    if (this.linkOf) health.devices = this.devices();
    return health;
  }

  /** Every sensor's link and quirks, as health lists them; empty for a source without `linkOf`. */
  devices(): LinkedDeviceHealth[] {
    const linkOf = this.linkOf;
    return linkOf ? [...this.sensors.values()].map((entry) => deviceHealth(entry, linkOf(entry))) : [];
  }

  /** False when the sensor is no longer admitted. */
  private deliverTo(entry: SensorEntry<Device>, reading: Reading): boolean {
    // A sensor the hub unpaired stops at once, whatever link or channel the source still holds to it.
    if (this.admission && !this.admission.isAdmitted(entry.id)) {
      this.totals.ignoredMessages++;
      return false;
    }
    this.totals.readings++;
    entry.readings++;
    if (!entry.metrics.has(reading.metric) && entry.metrics.size < MAX_INVENTORY_METRICS) {
      entry.metrics.add(reading.metric);
      this.changed();
    }
    try {
      this.sink?.reading(reading);
    } catch (error) {
      // The sink must not throw; if it does, only this reading is lost and the count stays exact.
      this.totals.sinkErrors++;
      this.repeats.error(`sink\u0000${errorMessage(error)}`, { err: errorMessage(error), failed: this.totals.sinkErrors }, `${this.radio} sink threw on readings`);
    }
    return true;
  }
}

function deviceHealth(entry: SensorEntry<unknown>, link: SensorLink): LinkedDeviceHealth {
  return {
    id: entry.id,
    state: link.state,
    lastSeen: entry.lastSeen ?? null,
    rssi: link.rssi ?? null,
    adapter: link.adapter ?? null,
    detail: link.detail ?? null,
    quirks: entry.quirks,
  };
}
