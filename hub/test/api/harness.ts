/**
 * In-test stand-ins for the API's dependencies and a running server on 127.0.0.1:0. The fakes implement the
 * ports faithfully (ordering, [from, to) bounds, rollup alignment) so the API's own logic is what is tested.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FormatRegistry } from '@sinclair/typebox';
import { pino, type Logger } from 'pino';
import { Registry } from 'prom-client';
import type { SensorInfo, SeriesReadings, StatusMessage } from '@pulsebridge/protocol';
import { createApi, type ApiDeps } from '../../src/api/app.ts';
import { LiveBus } from '../../src/live/live-bus.ts';
import type { AgentRecord, AgentRegistry } from '../../src/registry/agent-registry.ts';
import type {
  RawPoint,
  RollupPoint,
  SeriesFilter,
  SeriesInfo,
  SeriesSelector,
  SeriesStore,
  SeriesWrite,
} from '../../src/storage/series/series-store.ts';

export const TOKEN = 'test-admin-token-0123456789';
export const AUTH = { Authorization: `Bearer ${TOKEN}` } as const;

interface StoredPoint {
  gym: string;
  agent: string;
  sensor: string;
  metric: string;
  ts: number;
  value: number;
}

export class MemorySeriesStore implements SeriesStore {
  readonly points: StoredPoint[] = [];
  readonly rawCalls: { selector: SeriesSelector; limit: number }[] = [];
  readonly rollupCalls: { selector: SeriesSelector; stepMs: number }[] = [];
  /** Set to make every read fail, to test how the API reports store failures. */
  failWith: Error | undefined;

  async start(): Promise<void> {}
  async stop(): Promise<void> {}

  async write(batches: readonly SeriesWrite[]): Promise<void> {
    for (const batch of batches) this.add(batch.gym, batch.agent, batch.series);
  }

  add(gym: string, agent: string, series: readonly SeriesReadings[]): void {
    for (const s of series) {
      for (let i = 0; i < s.ts.length; i++) {
        const ts = s.ts[i]!;
        const exists = this.points.some((p) => p.agent === agent && p.sensor === s.sensor && p.metric === s.metric && p.ts === ts);
        if (!exists) this.points.push({ gym, agent, sensor: s.sensor, metric: s.metric, ts, value: s.values[i]! });
      }
    }
  }

  private select(selector: SeriesSelector): StoredPoint[] {
    if (this.failWith) throw this.failWith;
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
    const steps = new Map<number, RollupPoint>();
    for (const p of this.select(selector)) {
      const ts = Math.floor(p.ts / stepMs) * stepMs;
      const step = steps.get(ts);
      if (!step) steps.set(ts, { ts, min: p.value, max: p.value, mean: p.value, count: 1 });
      else {
        step.min = Math.min(step.min, p.value);
        step.max = Math.max(step.max, p.value);
        step.mean = (step.mean * step.count + p.value) / (step.count + 1);
        step.count++;
      }
    }
    return [...steps.values()].sort((a, b) => a.ts - b.ts);
  }

  async listSeries(filter: SeriesFilter): Promise<SeriesInfo[]> {
    if (this.failWith) throw this.failWith;
    const seen = new Map<string, SeriesInfo>();
    for (const p of this.points) {
      if (filter.gym !== undefined && p.gym !== filter.gym) continue;
      if (filter.agent !== undefined && p.agent !== filter.agent) continue;
      if (filter.sensor !== undefined && p.sensor !== filter.sensor) continue;
      seen.set(`${p.gym}\u0000${p.agent}\u0000${p.sensor}\u0000${p.metric}`, {
        gym: p.gym,
        agent: p.agent,
        sensor: p.sensor,
        metric: p.metric as SeriesInfo['metric'],
      });
    }
    return [...seen.values()];
  }

  async count(filter: SeriesFilter): Promise<number> {
    return this.points.filter(
      (p) =>
        (filter.gym === undefined || p.gym === filter.gym) &&
        (filter.agent === undefined || p.agent === filter.agent) &&
        (filter.sensor === undefined || p.sensor === filter.sensor),
    ).length;
  }
}

export class MemoryAgentRegistry implements AgentRegistry {
  readonly agents = new Map<string, AgentRecord>();

  async create(id: string, gym: string): Promise<{ agent: AgentRecord; secret: string }> {
    const agent: AgentRecord = { id, gym, createdAt: 0, online: false };
    this.agents.set(id, agent);
    return { agent, secret: 'secret' };
  }

  async remove(id: string): Promise<boolean> {
    return this.agents.delete(id);
  }

  async get(id: string): Promise<AgentRecord | undefined> {
    return this.agents.get(id);
  }

  async list(): Promise<AgentRecord[]> {
    return [...this.agents.values()];
  }

  async authenticate(): Promise<AgentRecord | undefined> {
    return undefined;
  }

  async recordStatus(id: string, status: StatusMessage, at: number): Promise<void> {
    const agent = this.agents.get(id);
    if (!agent) return;
    agent.status = status;
    agent.online = status.state === 'online';
    agent.lastSeen = at;
  }

  async recordInventory(id: string, sensors: SensorInfo[]): Promise<void> {
    const agent = this.agents.get(id);
    if (agent) agent.inventory = sensors;
  }

  touch(id: string, at: number): void {
    const agent = this.agents.get(id);
    if (agent) agent.lastSeen = at;
  }
}

export interface LogLine {
  level: number;
  msg?: string;
  [key: string]: unknown;
}

export interface RunningApi {
  url: string;
  deps: ApiDeps;
  /** The in-memory fakes; the API uses them unless the test passed its own store or registry. */
  store: MemorySeriesStore;
  registry: MemoryAgentRegistry;
  live: LiveBus;
  metrics: Registry;
  logs: LogLine[];
  server: Server;
  get(path: string, headers?: Record<string, string>): Promise<Response>;
  close(): Promise<void>;
}

export const NOW = Date.UTC(2024, 4, 1, 12, 0, 0);

export async function startApi(overrides: Partial<ApiDeps> = {}): Promise<RunningApi> {
  const logs: LogLine[] = [];
  const log: Logger = pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line) as LogLine) });
  const store = new MemorySeriesStore();
  const registry = new MemoryAgentRegistry();
  const live = new LiveBus();
  const metrics = new Registry();
  const deps: ApiDeps = {
    registry,
    store,
    live,
    metrics,
    adminToken: TOKEN,
    log,
    ready: async () => ({ ok: true, checks: { series: 'ok' } }),
    now: () => NOW,
    ...overrides,
  };
  const app = createApi(deps);
  const server = createServer(app.callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    deps,
    store,
    registry,
    live: deps.live,
    metrics: deps.metrics,
    logs,
    server,
    get: (path, headers = { ...AUTH }) => fetch(`${url}${path}`, { headers, signal: AbortSignal.timeout(5_000) }),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface ProblemJson {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  requestId?: string;
  param?: string;
}

/** Reads a response that must be a problem document; fails the test otherwise. */
export async function readProblem(response: Response): Promise<ProblemJson> {
  const type = response.headers.get('content-type') ?? '';
  if (!type.startsWith('application/problem+json')) throw new Error(`expected problem+json, got ${type} (${response.status}): ${await response.text()}`);
  const body = (await response.json()) as ProblemJson;
  for (const field of ['type', 'title', 'detail', 'instance'] as const) {
    if (typeof body[field] !== 'string' || body[field] === '') throw new Error(`problem without ${field}: ${JSON.stringify(body)}`);
  }
  if (body.status !== response.status) throw new Error(`problem status ${body.status} differs from HTTP ${response.status}`);
  return body;
}

export async function waitFor(condition: () => boolean, what: string, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

// TypeBox refuses strings of a format it has no checker for; the API's responses use RFC 3339 date-times.
if (!FormatRegistry.Has('date-time')) {
  FormatRegistry.Set('date-time', (value) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(value) && !Number.isNaN(Date.parse(value)));
}
