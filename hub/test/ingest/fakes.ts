/**
 * In-test stand-ins for the ports ingest talks to: a transport that records what the hub publishes, a
 * registry in a Map, and a SeriesStore in memory that can be made to fail or to hold its writes.
 */
import { Writable } from 'node:stream';
import { encodeBatch, type AckMessage, type CommandMessage, type MessageKind, type MetricId, type SensorInfo, type StatusMessage } from '@pulsebridge/protocol';
import { pino, type Logger } from 'pino';
import type { AgentMessageHandler, AgentPresenceHandler, HubTransport, TransportAddress } from '../../src/broker/transport.ts';
import type { AgentRecord, AgentRegistry } from '../../src/registry/agent-registry.ts';
import { SeriesStoreError } from '../../src/storage/series/errors.ts';
import type { RawPoint, RollupPoint, SeriesFilter, SeriesInfo, SeriesSelector, SeriesStore, SeriesWrite } from '../../src/storage/series/series-store.ts';

interface Published {
  agent: string;
  kind: 'ack' | 'cmd';
  message: unknown;
}

export class FakeTransport implements HubTransport {
  private handler: AgentMessageHandler | undefined;
  private presenceHandler: AgentPresenceHandler | undefined;
  readonly published: Published[] = [];
  /** When set, publish() rejects with it. */
  publishError: Error | undefined;

  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  stopAccepting(): void {}
  readiness(): string {
    return 'ok';
  }
  address(): TransportAddress | undefined {
    return undefined;
  }
  handleUpgrade(): boolean {
    return false;
  }

  onMessage(handler: AgentMessageHandler): void {
    this.handler = handler;
  }

  onPresence(handler: AgentPresenceHandler): void {
    this.presenceHandler = handler;
  }

  /** What the broker tells the hub when `agent` connects or disconnects. */
  connectionChanged(agent: string): void {
    this.presenceHandler?.(agent);
  }

  async publish(agent: string, kind: 'ack' | 'cmd', payload: Buffer): Promise<void> {
    if (this.publishError) throw this.publishError;
    this.published.push({ agent, kind, message: JSON.parse(payload.toString('utf8')) });
  }

  /** What the broker would hand the hub after authenticating `agent`. */
  deliver(agent: string, kind: MessageKind, payload: Buffer): void {
    if (!this.handler) throw new Error('no handler installed: start ingest first');
    this.handler({ agent, kind, payload });
  }

  acks(agent?: string): AckMessage[] {
    return this.published.filter((p) => p.kind === 'ack' && (agent === undefined || p.agent === agent)).map((p) => p.message as AckMessage);
  }

  commands(agent?: string): CommandMessage[] {
    return this.published.filter((p) => p.kind === 'cmd' && (agent === undefined || p.agent === agent)).map((p) => p.message as CommandMessage);
  }
}

export class FakeRegistry implements AgentRegistry {
  readonly agents = new Map<string, AgentRecord>();
  readonly statuses: { id: string; status: StatusMessage; at: number }[] = [];
  readonly inventories: { id: string; sensors: SensorInfo[] }[] = [];
  readonly touches: { id: string; at: number }[] = [];
  /** When set, get() rejects with it. */
  getError: Error | undefined;

  constructor(agents: Record<string, string> = {}) {
    for (const [id, gym] of Object.entries(agents)) this.agents.set(id, { id, gym, createdAt: 0, online: false });
  }

  async create(id: string, gym: string): Promise<{ agent: AgentRecord; secret: string }> {
    const agent = { id, gym, createdAt: 0, online: false };
    this.agents.set(id, agent);
    return { agent, secret: 'secret' };
  }
  async remove(id: string): Promise<boolean> {
    return this.agents.delete(id);
  }
  async get(id: string): Promise<AgentRecord | undefined> {
    if (this.getError) throw this.getError;
    return this.agents.get(id);
  }
  async list(): Promise<AgentRecord[]> {
    return [...this.agents.values()];
  }
  async authenticate(): Promise<AgentRecord | undefined> {
    return undefined;
  }
  async recordStatus(id: string, status: StatusMessage, at: number): Promise<void> {
    this.statuses.push({ id, status, at });
  }
  async recordInventory(id: string, sensors: SensorInfo[]): Promise<void> {
    this.inventories.push({ id, sensors });
  }
  touch(id: string, at: number): void {
    this.touches.push({ id, at });
  }
}

interface StoredPoint {
  gym: string;
  agent: string;
  sensor: string;
  metric: MetricId;
  ts: number;
  value: number;
}

/** A SeriesStore in a Map keyed like the real ones: (agent, sensor, metric, ts). */
export class MemorySeriesStore implements SeriesStore {
  readonly points = new Map<string, StoredPoint>();
  /** Every write() call with the number of readings it carried, failed ones included. */
  readonly writeCalls: { batches: number; readings: number; failed: boolean }[] = [];
  /** Readings offered to write(), duplicates included: shows whether anything was written twice. */
  readingsWritten = 0;
  /** When set, write() rejects with it. */
  failWith: Error | undefined;
  /** A write carrying this sensor is refused as invalid, the way real stores refuse ids they cannot keep. */
  refuseSensor: string | undefined;
  private gate: { promise: Promise<void>; open: () => void } | undefined;

  /** Holds every write() until release(). */
  hold(): void {
    let open!: () => void;
    const promise = new Promise<void>((resolve) => (open = resolve));
    this.gate = { promise, open };
  }

  release(): void {
    this.gate?.open();
    this.gate = undefined;
  }

  async start(): Promise<void> {}
  async stop(): Promise<void> {}

  async write(batches: readonly SeriesWrite[]): Promise<void> {
    let readings = 0;
    for (const b of batches) for (const s of b.series) readings += s.ts.length;
    const call = { batches: batches.length, readings, failed: false };
    this.writeCalls.push(call);
    if (this.gate) await this.gate.promise;
    if (this.failWith) {
      call.failed = true;
      throw this.failWith;
    }
    if (this.refuseSensor !== undefined && batches.some((b) => b.series.some((s) => s.sensor === this.refuseSensor))) {
      call.failed = true;
      throw new SeriesStoreError('invalid_write', `sensor "${this.refuseSensor}" cannot be stored`, { param: 'sensor' });
    }
    for (const b of batches) {
      for (const s of b.series) {
        for (let i = 0; i < s.ts.length; i++) {
          const ts = s.ts[i]!;
          this.points.set(`${b.agent}\u0000${s.sensor}\u0000${s.metric}\u0000${ts}`, { gym: b.gym, agent: b.agent, sensor: s.sensor, metric: s.metric, ts, value: s.values[i]! });
        }
      }
    }
    this.readingsWritten += readings;
  }

  private select(selector: SeriesSelector): StoredPoint[] {
    return [...this.points.values()]
      .filter(
        (p) =>
          p.sensor === selector.sensor &&
          p.metric === selector.metric &&
          (!selector.gym || p.gym === selector.gym) &&
          (!selector.agent || p.agent === selector.agent) &&
          p.ts >= selector.from &&
          p.ts < selector.to,
      )
      .sort((a, b) => a.ts - b.ts);
  }

  async readRaw(selector: SeriesSelector, limit: number): Promise<RawPoint[]> {
    return this.select(selector)
      .slice(0, limit)
      .map((p) => ({ ts: p.ts, value: p.value }));
  }

  async readRollup(selector: SeriesSelector, stepMs: number): Promise<RollupPoint[]> {
    const steps = new Map<number, RollupPoint & { sum: number }>();
    for (const p of this.select(selector)) {
      const ts = Math.floor(p.ts / stepMs) * stepMs;
      const step = steps.get(ts) ?? { ts, min: p.value, max: p.value, mean: 0, count: 0, sum: 0 };
      step.min = Math.min(step.min, p.value);
      step.max = Math.max(step.max, p.value);
      step.count++;
      step.sum += p.value;
      steps.set(ts, step);
    }
    return [...steps.values()].sort((a, b) => a.ts - b.ts).map(({ sum, ...step }) => ({ ...step, mean: sum / step.count }));
  }

  private matching(filter: SeriesFilter): StoredPoint[] {
    return [...this.points.values()].filter(
      (p) => (!filter.gym || p.gym === filter.gym) && (!filter.agent || p.agent === filter.agent) && (!filter.sensor || p.sensor === filter.sensor),
    );
  }

  async listSeries(filter: SeriesFilter): Promise<SeriesInfo[]> {
    const series = new Map<string, SeriesInfo>();
    for (const p of this.matching(filter)) series.set(`${p.gym}\u0000${p.agent}\u0000${p.sensor}\u0000${p.metric}`, { gym: p.gym, agent: p.agent, sensor: p.sensor, metric: p.metric });
    return [...series.values()];
  }

  async count(filter: SeriesFilter): Promise<number> {
    return this.matching(filter).length;
  }
}

export interface BatchSpec {
  agent: string;
  stream?: string;
  first: number;
  /** Number of readings, hence last = first + count - 1. */
  count: number;
  floor?: number;
  sensor?: string;
}

/** A valid encoded batch whose reading i has sequence first+i and a time derived from it, so resends collide. */
export function makeBatch(spec: BatchSpec): Buffer {
  const ts: number[] = [];
  const values: number[] = [];
  for (let i = 0; i < spec.count; i++) {
    ts.push(1_700_000_000_000 + (spec.first + i) * 1000);
    values.push(60 + ((spec.first + i) % 120));
  }
  return encodeBatch({
    agent: spec.agent,
    stream: spec.stream ?? 's1',
    first: spec.first,
    last: spec.first + spec.count - 1,
    floor: spec.floor ?? 0,
    clockUnsynced: false,
    series: [{ sensor: spec.sensor ?? 'ble:hr-1', metric: 'heart_rate', ts, values }],
  });
}

/** A logger whose JSON lines the test can read. */
export function captureLogger(): { log: Logger; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk.toString('utf8'));
      callback();
    },
  });
  const log = pino({ level: 'info' }, sink);
  return {
    log,
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter((l) => l.length > 0)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}
