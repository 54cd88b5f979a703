/**
 * In-memory stand-ins for the hub's two stores, shared by the ingest and API tests: a SeriesStore keyed like
 * the real ones (agent, sensor, metric, ts) that can be made to fail or to hold its writes, and an
 * AgentRegistry in a Map that also records what it was told.
 */
import type { MetricId, SensorInfo, SeriesReadings, StatusMessage } from '@pulsebridge/protocol';
import type { AgentRecord, AgentRegistry } from '../src/registry/agent-registry.ts';
import { SeriesStoreError } from '../src/storage/series/errors.ts';
import type { RawPoint, RollupPoint, SeriesFilter, SeriesInfo, SeriesSelector, SeriesStore, SeriesWrite } from '../src/storage/series/series-store.ts';

export interface StoredPoint {
  gym: string;
  agent: string;
  sensor: string;
  metric: MetricId;
  ts: number;
  value: number;
}

export class MemorySeriesStore implements SeriesStore {
  private readonly byKey = new Map<string, StoredPoint>();
  /** Every write() call with the number of readings it carried, failed ones included. */
  readonly writeCalls: { batches: number; readings: number; failed: boolean }[] = [];
  readonly rawCalls: { selector: SeriesSelector; limit: number }[] = [];
  readonly rollupCalls: { selector: SeriesSelector; stepMs: number }[] = [];
  /** Readings offered to write(), duplicates included: shows whether anything was written twice. */
  readingsWritten = 0;
  /** When set, write() rejects with it. */
  failWritesWith: Error | undefined;
  /** When set, every read rejects with it, to test how the API reports store failures. */
  failReadsWith: Error | undefined;
  /** A write carrying this sensor is refused as invalid, the way real stores refuse ids they cannot keep. */
  refuseSensor: string | undefined;
  private gate: { promise: Promise<void>; open: () => void } | undefined;

  /** Every stored point, oldest first per series. */
  get points(): StoredPoint[] {
    return [...this.byKey.values()];
  }

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
    if (this.failWritesWith) {
      call.failed = true;
      throw this.failWritesWith;
    }
    if (this.refuseSensor !== undefined && batches.some((b) => b.series.some((s) => s.sensor === this.refuseSensor))) {
      call.failed = true;
      throw new SeriesStoreError('invalid_write', `sensor "${this.refuseSensor}" cannot be stored`, { param: 'sensor' });
    }
    for (const b of batches) this.add(b.gym, b.agent, b.series);
    this.readingsWritten += readings;
  }

  /** Stores readings directly, as if ingest had written them. */
  add(gym: string, agent: string, series: readonly SeriesReadings[]): void {
    for (const s of series) {
      for (let i = 0; i < s.ts.length; i++) {
        const ts = s.ts[i]!;
        const key = `${agent}\u0000${s.sensor}\u0000${s.metric}\u0000${ts}`;
        if (!this.byKey.has(key)) this.byKey.set(key, { gym, agent, sensor: s.sensor, metric: s.metric, ts, value: s.values[i]! });
      }
    }
  }

  private select(selector: SeriesSelector): StoredPoint[] {
    if (this.failReadsWith) throw this.failReadsWith;
    return this.points
      .filter(
        (p) =>
          p.sensor === selector.sensor &&
          p.metric === selector.metric &&
          (selector.gym === undefined || p.gym === selector.gym) &&
          (selector.agent === undefined || p.agent === selector.agent) &&
          p.ts >= selector.from &&
          p.ts < selector.to,
      )
      .sort((a, b) => a.ts - b.ts || a.agent.localeCompare(b.agent));
  }

  async readRaw(selector: SeriesSelector, limit: number): Promise<RawPoint[]> {
    this.rawCalls.push({ selector, limit });
    return this.select(selector)
      .slice(0, limit)
      .map((p) => ({ ts: p.ts, value: p.value }));
  }

  async readRollup(selector: SeriesSelector, stepMs: number): Promise<RollupPoint[]> {
    this.rollupCalls.push({ selector, stepMs });
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
    return this.points.filter(
      (p) =>
        (filter.gym === undefined || p.gym === filter.gym) &&
        (filter.agent === undefined || p.agent === filter.agent) &&
        (filter.sensor === undefined || p.sensor === filter.sensor),
    );
  }

  async listSeries(filter: SeriesFilter): Promise<SeriesInfo[]> {
    if (this.failReadsWith) throw this.failReadsWith;
    const series = new Map<string, SeriesInfo>();
    for (const p of this.matching(filter))
      series.set(`${p.gym}\u0000${p.agent}\u0000${p.sensor}\u0000${p.metric}`, { gym: p.gym, agent: p.agent, sensor: p.sensor, metric: p.metric });
    return [...series.values()];
  }

  async count(filter: SeriesFilter): Promise<number> {
    return this.matching(filter).length;
  }
}

export class MemoryAgentRegistry implements AgentRegistry {
  readonly agents = new Map<string, AgentRecord>();
  readonly statuses: { id: string; status: StatusMessage; at: number }[] = [];
  readonly inventories: { id: string; sensors: SensorInfo[] }[] = [];
  readonly touches: { id: string; at: number }[] = [];
  /** When set, get() rejects with it. */
  getError: Error | undefined;

  /** Agents to start with, id → gym. */
  constructor(agents: Record<string, string> = {}) {
    for (const [id, gym] of Object.entries(agents)) this.agents.set(id, { id, gym, createdAt: 0, online: false });
  }

  async create(id: string, gym: string): Promise<{ agent: AgentRecord; secret: string }> {
    const agent: AgentRecord = { id, gym, createdAt: 0, online: false };
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
    const agent = this.agents.get(id);
    if (!agent) return;
    agent.status = status;
  }

  async recordInventory(id: string, sensors: SensorInfo[]): Promise<void> {
    this.inventories.push({ id, sensors });
    const agent = this.agents.get(id);
    if (agent) agent.inventory = sensors;
  }

  setOnline(id: string, online: boolean): void {
    const agent = this.agents.get(id);
    if (agent) agent.online = online;
  }

  touch(id: string, at: number): void {
    this.touches.push({ id, at });
    const agent = this.agents.get(id);
    if (agent && (agent.lastSeen === undefined || at > agent.lastSeen)) agent.lastSeen = at;
  }
}
