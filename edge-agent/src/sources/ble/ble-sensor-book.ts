/**
 * The BLE source's bookkeeping of its sensors, apart from their radio: the inventory records (kind, name,
 * metrics seen), their facts, the per-sensor and source counters of readings, refusals and quirks, and
 * emitting readings and coalesced inventories to the sink. Everything here is radio-independent, so it
 * can give way to the sources' shared sensor book.
 */
import type { MetricId, Reading, SensorInfo } from '@pulsebridge/protocol';
import { errorMessage } from '@pulsebridge/runtime';
import type { Logger } from 'pino';
import type { SensorFacts } from '../measurement.ts';
import type { SourceSink } from '../source.ts';

export interface BookedSensor {
  readonly id: string;
  readonly address: string;
  kind: string;
  localName: string | undefined;
  readonly metrics: Set<MetricId>;
  readonly facts: SensorFacts;
  /** Deviations from the spec its decoders stepped around; a machine that bends the spec does so every time. */
  quirks: number;
}

export interface BleBookCounters {
  readings: number;
  /** Notifications and broadcast adverts a decoder refused. */
  refused: number;
  /** Deviations from the spec a decoder stepped around (unannounced trailing bytes, reserved flag bits). */
  quirks: number;
  /** Decoder or sink exceptions, caught and counted. */
  handlerErrors: number;
}

const INVENTORY_COALESCE_MS = 100;
const MAX_INVENTORY_METRICS = 64;
/** Facts that name a sensor in the inventory; others (contact, battery) change too often to republish it. */
const NAMING_FACTS: ReadonlySet<string> = new Set(['manufacturer', 'model', 'serialNumber']);

export class BleSensorBook {
  readonly counters: BleBookCounters = { readings: 0, refused: 0, quirks: 0, handlerErrors: 0 };
  private readonly log: Logger;
  private readonly sensors = new Map<string, BookedSensor>();
  private sink: SourceSink | undefined;
  private inventoryTimer: NodeJS.Timeout | undefined;

  constructor(log: Logger) {
    this.log = log;
  }

  get size(): number {
    return this.sensors.size;
  }

  has(id: string): boolean {
    return this.sensors.has(id);
  }

  open(sink: SourceSink): void {
    this.sink = sink;
  }

  /** No more inventories; readings of links still closing are dropped by their callers. */
  close(): void {
    this.sink = undefined;
    clearTimeout(this.inventoryTimer);
    this.inventoryTimer = undefined;
  }

  add(id: string, address: string, kind: string, broadcast: boolean): BookedSensor {
    const sensor: BookedSensor = { id, address, kind, localName: undefined, metrics: new Set(), facts: {}, quirks: 0 };
    this.sensors.set(id, sensor);
    this.log.info({ sensor: id, kind, broadcast }, 'BLE sensor found');
    this.scheduleInventory();
    return sensor;
  }

  setKind(sensor: BookedSensor, kind: string): void {
    if (kind === sensor.kind) return;
    sensor.kind = kind;
    this.scheduleInventory();
  }

  setLocalName(sensor: BookedSensor, localName: string | undefined): void {
    if (localName === undefined || localName === sensor.localName) return;
    sensor.localName = localName;
    this.scheduleInventory();
  }

  emit(sensor: BookedSensor, metric: MetricId, value: number, ts: number): void {
    const reading: Reading = { sensor: sensor.id, metric, ts: Math.round(ts), value };
    this.counters.readings++;
    if (!sensor.metrics.has(metric) && sensor.metrics.size < MAX_INVENTORY_METRICS) {
      sensor.metrics.add(metric);
      this.scheduleInventory();
    }
    this.sink?.reading(reading);
  }

  mergeFacts(sensor: BookedSensor, facts: SensorFacts): void {
    let renamed = false;
    let changed = false;
    for (const [key, value] of Object.entries(facts)) {
      if (sensor.facts[key] === value) continue;
      sensor.facts[key] = value;
      changed = true;
      if (NAMING_FACTS.has(key)) renamed = true;
    }
    if (changed) this.log.debug({ sensor: sensor.id, facts: sensor.facts }, 'BLE sensor facts');
    if (renamed) this.scheduleInventory();
  }

  refused(sensor: BookedSensor, what: string, detail: Record<string, unknown>): void {
    this.counters.refused++;
    this.log.debug({ sensor: sensor.id, ...detail }, what);
  }

  quirks(sensor: BookedSensor, characteristic: string, quirks: readonly string[]): void {
    if (sensor.quirks === 0) this.log.info({ sensor: sensor.id, characteristic, quirks }, 'BLE sensor bends the spec; decoding what its flags announce');
    sensor.quirks += quirks.length;
    this.counters.quirks += quirks.length;
  }

  /** A decoder, sink or handler bug, caught so it costs one notification rather than the link. */
  handlerFailed(what: string, error: unknown, detail: Record<string, unknown> = {}): void {
    this.counters.handlerErrors++;
    this.log.error({ ...detail, err: errorMessage(error) }, what);
  }

  inventory(): SensorInfo[] {
    return [...this.sensors.values()].map((sensor) => ({
      id: sensor.id,
      kind: sensor.kind,
      source: 'ble',
      name: sensorName(sensor),
      metrics: [...sensor.metrics],
    }));
  }

  private scheduleInventory(): void {
    if (this.inventoryTimer || !this.sink) return;
    // A scan that hears 30 sensors at once would otherwise publish 30 inventories in a row.
    this.inventoryTimer = setTimeout(() => {
      this.inventoryTimer = undefined;
      if (!this.sink) return;
      try {
        this.sink.inventory(this.inventory());
      } catch (error) {
        this.handlerFailed('BLE inventory not delivered', error);
      }
    }, INVENTORY_COALESCE_MS);
  }
}

function sensorName(sensor: BookedSensor): string {
  const { manufacturer, model, serialNumber } = sensor.facts;
  const label = sensor.localName ?? `BLE ${sensor.kind.replace(/_/g, ' ')}`;
  const details: string[] = [];
  if (manufacturer !== undefined) details.push(String(manufacturer));
  if (model !== undefined) details.push(String(model));
  if (serialNumber !== undefined) details.push(`serial ${serialNumber}`);
  const text = `${label} ${sensor.address.toLowerCase()}${details.length > 0 ? ` (${details.join(', ')})` : ''}`;
  return text.slice(0, 128);
}
