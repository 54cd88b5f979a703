/**
 * In-memory stand-ins for the hub's two stores, shared by the ingest and API tests: a SeriesStore keyed like
 * the real ones (agent, sensor, metric, ts) that can be made to fail or to hold its writes, and an
 * AgentRegistry in a Map that also records what it was told.
 */
import type { MetricId, SensorInfo, SeriesReadings, StatusMessage } from '@pulsebridge/protocol';
import { randomBytes } from 'node:crypto';
import type { AgentRecord, AgentRegistry, EnrollmentCode, IssueEnrollmentOptions } from '../src/registry/agent-registry.ts';
import { DEFAULT_ENROLLMENT_TTL_MS, newEnrollmentCode, normalizeEnrollmentCode } from '../src/registry/enrollment-code.ts';
import { RegistryError } from '../src/registry/sqlite-agent-registry.ts';
import { SeriesStoreError } from '../src/storage/series/errors.ts';
import { checkRange, compareSeries } from '../src/storage/series/series-query.ts';
import type {
  RawPoint,
  RollupPoint,
  SeriesFilter,
  SeriesInfo,
  SeriesPage,
  SeriesRange,
  SeriesSelector,
  SeriesStore,
  SeriesWrite,
  WriteResult,
} from '../src/storage/series/series-store.ts';
import {
  correctedTime,
  sortUnsyncedPoints,
  type UnsyncedBoot,
  type UnsyncedCorrection,
  type UnsyncedMove,
  type UnsyncedPoint,
  type UnsyncedSelector,
  type UnsyncedWrite,
} from '../src/storage/series/unsynced.ts';

export interface StoredPoint {
  gym: string;
  agent: string;
  sensor: string;
  metric: MetricId;
  ts: number;
  value: number;
}

export interface UnsyncedStoredPoint extends StoredPoint {
  boot: string;
}

export class MemorySeriesStore implements SeriesStore {
  private readonly byKey = new Map<string, StoredPoint>();
  /** Readings held apart, keyed like the real stores: (agent, boot, sensor, metric, ts as stamped). */
  readonly unsynced = new Map<string, UnsyncedStoredPoint>();
  /** Every writeUnsynced() call with the number of readings it carried. */
  readonly unsyncedWriteCalls: { batches: number; readings: number }[] = [];
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

  async write(batches: readonly SeriesWrite[]): Promise<WriteResult> {
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
    return { refused: [] };
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

  async listSeries(filter: SeriesFilter, page: SeriesPage): Promise<SeriesInfo[]> {
    if (this.failReadsWith) throw this.failReadsWith;
    const series = new Map<string, SeriesInfo>();
    for (const p of this.matching(filter))
      series.set(`${p.gym}\u0000${p.agent}\u0000${p.sensor}\u0000${p.metric}`, { gym: p.gym, agent: p.agent, sensor: p.sensor, metric: p.metric });
    const after = page.after;
    return [...series.values()]
      .filter((s) => after === undefined || compareSeries(s, after) > 0)
      .sort(compareSeries)
      .slice(0, page.limit);
  }

  async count(filter: SeriesFilter): Promise<number> {
    return this.matching(filter).length;
  }

  async deleteRange(range: SeriesRange): Promise<number> {
    checkRange(range);
    if (this.failWritesWith) throw this.failWritesWith;
    let removed = 0;
    for (const [key, p] of this.byKey) {
      if (p.gym === range.gym && p.sensor === range.sensor && p.ts >= range.from && p.ts < range.to) {
        this.byKey.delete(key);
        removed++;
      }
    }
    return removed;
  }

  async writeUnsynced(batches: readonly UnsyncedWrite[]): Promise<void> {
    let readings = 0;
    for (const b of batches) for (const s of b.series) readings += s.ts.length;
    this.unsyncedWriteCalls.push({ batches: batches.length, readings });
    if (this.gate) await this.gate.promise;
    if (this.failWritesWith) throw this.failWritesWith;
    for (const { gym, agent, boot, series } of batches) {
      for (const s of series) {
        for (let i = 0; i < s.ts.length; i++) {
          const key = `${agent}\u0000${boot}\u0000${s.sensor}\u0000${s.metric}\u0000${s.ts[i]!}`;
          if (!this.unsynced.has(key)) this.unsynced.set(key, { gym, agent, boot, sensor: s.sensor, metric: s.metric, ts: s.ts[i]!, value: s.values[i]! });
        }
      }
    }
  }

  private unsyncedOf(agent: string, boot: string): UnsyncedStoredPoint[] {
    return [...this.unsynced.values()].filter((p) => p.agent === agent && p.boot === boot);
  }

  async listUnsynced(filter: { agent?: string }): Promise<UnsyncedBoot[]> {
    if (this.failReadsWith) throw this.failReadsWith;
    const boots = new Map<string, UnsyncedBoot>();
    for (const p of this.unsynced.values()) {
      if (filter.agent !== undefined && p.agent !== filter.agent) continue;
      const key = `${p.agent}\u0000${p.boot}`;
      const boot = boots.get(key) ?? { gym: p.gym, agent: p.agent, boot: p.boot, readings: 0, firstStamp: p.ts, lastStamp: p.ts, sensors: [] };
      boot.readings++;
      boot.firstStamp = Math.min(boot.firstStamp, p.ts);
      boot.lastStamp = Math.max(boot.lastStamp, p.ts);
      if (!boot.sensors.includes(p.sensor)) boot.sensors = [...boot.sensors, p.sensor].sort();
      boots.set(key, boot);
    }
    return [...boots.values()].sort((a, b) => a.agent.localeCompare(b.agent) || a.boot.localeCompare(b.boot));
  }

  async readUnsynced(selector: UnsyncedSelector, limit: number): Promise<UnsyncedPoint[]> {
    if (this.failReadsWith) throw this.failReadsWith;
    const points = this.unsyncedOf(selector.agent, selector.boot)
      .filter((p) => p.ts >= selector.from && (selector.sensor === undefined || p.sensor === selector.sensor) && (selector.metric === undefined || p.metric === selector.metric))
      .map(({ sensor, metric, ts, value }) => ({ sensor, metric, ts, value }));
    return sortUnsyncedPoints(points).slice(0, limit);
  }

  async correctUnsynced(correction: UnsyncedCorrection): Promise<UnsyncedMove> {
    if (this.failWritesWith) throw this.failWritesWith;
    let moved = 0;
    let refused = 0;
    for (const p of this.unsyncedOf(correction.agent, correction.boot)) {
      const ts = correctedTime(p.ts, correction);
      if (ts === undefined) refused++;
      else {
        this.add(p.gym, p.agent, [{ sensor: p.sensor, metric: p.metric, ts: [ts], values: [p.value] }]);
        moved++;
      }
    }
    await this.discardUnsynced(correction.agent, correction.boot);
    return { moved, refused };
  }

  async discardUnsynced(agent: string, boot: string): Promise<number> {
    const points = this.unsyncedOf(agent, boot);
    for (const p of points) this.unsynced.delete(`${p.agent}\u0000${p.boot}\u0000${p.sensor}\u0000${p.metric}\u0000${p.ts}`);
    return points.length;
  }
}

export class MemoryAgentRegistry implements AgentRegistry {
  readonly agents = new Map<string, AgentRecord>();
  readonly statuses: { id: string; status: StatusMessage; at: number }[] = [];
  readonly inventories: { id: string; sensors: SensorInfo[] }[] = [];
  readonly touches: { id: string; at: number }[] = [];
  /** When set, get() rejects with it. */
  getError: Error | undefined;
  /** Secrets in the clear, by agent: a test fake has nothing to protect. */
  readonly secrets = new Map<string, string>();
  /** Unused enrollment codes, normalized, with their agent and expiry. */
  readonly codes = new Map<string, { agent: string; expiresAt: number }>();
  /** The clock codes are issued by; redeemEnrollment is given its own. */
  now: () => number = Date.now;

  /** Agents to start with, id → gym. */
  constructor(agents: Record<string, string> = {}) {
    for (const [id, gym] of Object.entries(agents)) this.agents.set(id, { id, gym, createdAt: 0, online: false });
  }

  async create(id: string, gym: string): Promise<{ agent: AgentRecord; secret: string }> {
    const agent: AgentRecord = { id, gym, createdAt: 0, online: false };
    this.agents.set(id, agent);
    this.secrets.set(id, 'secret');
    return { agent, secret: 'secret' };
  }

  async createForEnrollment(id: string, gym: string, options: { ttlMs?: number } = {}): Promise<{ agent: AgentRecord; enrollment: EnrollmentCode }> {
    if (this.agents.has(id)) throw new RegistryError('exists', `agent "${id}" already exists`);
    const agent: AgentRecord = { id, gym, createdAt: this.now(), online: false, disabled: false, enrolled: false };
    this.agents.set(id, agent);
    return { agent, enrollment: this.storeCode(id, options.ttlMs) };
  }

  async issueEnrollment(id: string, options: IssueEnrollmentOptions = {}): Promise<EnrollmentCode | undefined> {
    const agent = this.agents.get(id);
    if (!agent) return undefined;
    for (const [code, entry] of this.codes) if (entry.agent === id) this.codes.delete(code);
    if (options.revokeSecret) {
      this.secrets.delete(id);
      agent.enrolled = false;
    }
    return this.storeCode(id, options.ttlMs);
  }

  async redeemEnrollment(code: string, now: number): Promise<{ agent: AgentRecord; secret: string } | undefined> {
    const normalized = normalizeEnrollmentCode(code);
    const entry = normalized === undefined ? undefined : this.codes.get(normalized);
    const agent = entry && this.agents.get(entry.agent);
    if (!entry || !agent || entry.expiresAt <= now || agent.disabled) return undefined;
    for (const [other, value] of this.codes) if (value.agent === agent.id) this.codes.delete(other);
    const secret = randomBytes(32).toString('base64url');
    this.secrets.set(agent.id, secret);
    agent.enrolled = true;
    return { agent, secret };
  }

  async disable(id: string): Promise<boolean> {
    const agent = this.agents.get(id);
    if (agent) agent.disabled = true;
    return agent !== undefined;
  }

  async enable(id: string): Promise<boolean> {
    const agent = this.agents.get(id);
    if (agent) agent.disabled = false;
    return agent !== undefined;
  }

  async rotateSecret(id: string): Promise<string | undefined> {
    if (!this.agents.has(id)) return undefined;
    const secret = randomBytes(32).toString('base64url');
    this.secrets.set(id, secret);
    return secret;
  }

  async remove(id: string): Promise<boolean> {
    for (const [code, entry] of this.codes) if (entry.agent === id) this.codes.delete(code);
    this.secrets.delete(id);
    return this.agents.delete(id);
  }

  private storeCode(agent: string, ttlMs = DEFAULT_ENROLLMENT_TTL_MS): EnrollmentCode {
    const code = newEnrollmentCode();
    const expiresAt = this.now() + ttlMs;
    this.codes.set(normalizeEnrollmentCode(code)!, { agent, expiresAt });
    return { code, expiresAt };
  }

  async get(id: string): Promise<AgentRecord | undefined> {
    if (this.getError) throw this.getError;
    return this.agents.get(id);
  }

  async list(): Promise<AgentRecord[]> {
    return [...this.agents.values()];
  }

  async authenticate(id: string, secret: string): Promise<AgentRecord | undefined> {
    const agent = this.agents.get(id);
    return agent && !agent.disabled && this.secrets.get(id) === secret ? agent : undefined;
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
