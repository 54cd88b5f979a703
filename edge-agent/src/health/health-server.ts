/**
 * The agent's health endpoint: `GET /healthz` (JSON) for people and supervisors, `GET /metrics` for Prometheus.
 *
 * Both are read from the components' own health snapshots at request time, so they cannot drift from what
 * the components really see. The endpoint binds to loopback by default: it names sensors and the gym's agent.
 *
 * `/healthz` answers 200 whether the status is `ok` or `degraded` (500 only if the report itself fails): it
 * is a liveness answer. Every degraded reason (a full disk, a hub outage, a missing radio) is one a restart
 * does not fix, and the agent keeps every reading it can meanwhile, so a supervisor must not restart it for
 * them; monitoring reads `status` and `reasons` from the body, or the metrics.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { Type, type Static } from '@sinclair/typebox';
import type { Logger } from 'pino';
import { collectDefaultMetrics, type Registry } from 'prom-client';
import { PulsebridgeError, errorMessage, registerScraped, type ScrapedSample } from '@pulsebridge/runtime';
import { SourceState as SourceStateSchema } from '@pulsebridge/protocol';
import type { OutboxStats } from '../outbox/types.ts';
import type { SourceDeviceHealth, SourceHealth, SourceState } from '../sources/source.ts';

export const HealthConfig = Type.Object(
  {
    host: Type.String({ minLength: 1, default: '127.0.0.1', description: 'address to listen on; 0.0.0.0 exposes it to the network' }),
    port: Type.Integer({ minimum: 0, maximum: 65_535, default: 9_400, description: '0 picks a free port' }),
    degradedOutboxAgeMs: Type.Integer({
      minimum: 0,
      default: 120_000,
      description: 'status is degraded while the oldest unsent reading is older than this',
    }),
    degradedOutboxShare: Type.Number({
      exclusiveMinimum: 0,
      maximum: 1,
      default: 0.8,
      description:
        'status is degraded while the outbox is past this share of one of its bounds: outbox.maxBytes, outbox.maxAgeMs, or the readings it may keep in memory while it cannot write',
    }),
    degradedDropWindowMs: Type.Integer({
      minimum: 0,
      default: 300_000,
      description: 'status is degraded while readings were dropped within this window (0: never for drops)',
    }),
  },
  { additionalProperties: false, default: {} },
);
export type HealthConfig = Static<typeof HealthConfig>;

/** What the health endpoint needs from the outbox's statistics. */
export type OutboxHealthStats = Pick<OutboxStats, 'readings' | 'bytes' | 'oldestAgeMs' | 'buffered' | 'storage' | 'storageProblem' | 'limits'> & { dropped: object };

/** What the health endpoint needs from the uplink's health. */
export interface UplinkHealthView {
  state: string;
}

export type HealthServerOptions = HealthConfig & {
  agent: string;
  version: string;
  log: Logger;
  metrics: Registry;
  sources: () => Record<string, SourceHealth>;
  outbox: () => OutboxHealthStats;
  uplink: () => UplinkHealthView;
  /** Registers outbox depth and age gauges; off when the outbox registers its own on the same registry. */
  outboxMetrics?: boolean | undefined;
  /** Registers Node's process metrics (CPU, memory, event loop) on start. */
  defaultMetrics?: boolean | undefined;
  /** How many samples the readings rate is averaged over. */
  rateWindowSamples?: number | undefined;
  /** How often the sources' reading totals are sampled for the rate. */
  sampleIntervalMs?: number | undefined;
  /** Monotonic milliseconds the rate and the uptime are measured on; performance.now() unless a test moves time itself. */
  mono?: (() => number) | undefined;
};

export interface HealthReport {
  status: 'ok' | 'degraded';
  /** Why the status is degraded; empty when ok. */
  reasons: string[];
  agent: string;
  version: string;
  uptimeS: number;
  sources: Record<string, SourceReport>;
  readingsPerSecond: number;
  outbox: (OutboxHealthStats & { depth: number }) | { error: string };
  uplink: UplinkHealthView | { state: 'unknown'; error: string };
}

export interface SourceReport {
  state: SourceState;
  detail: string | null;
  sensors: number;
  readings: number;
  rejected: number;
  /** Per-sensor state, for sources that report it (BLE: link state, last seen, RSSI). */
  devices?: SourceDeviceHealth[];
}

export type HealthServerErrorCode = 'listen_failed';

export class HealthServerError extends PulsebridgeError<HealthServerErrorCode> {}

const SOURCE_STATES: readonly SourceState[] = SourceStateSchema.anyOf.map((literal) => literal.const);

export class HealthServer {
  private readonly options: HealthServerOptions;
  private readonly log: Logger;
  private server: Server | undefined;
  private readonly mono: () => number;
  private startedAtMono: number;
  private sampler: NodeJS.Timeout | undefined;
  /** Total source readings sampled once a second (by default): the readings rate is the slope over the window. */
  private readonly samples: { atMono: number; total: number }[] = [];
  /**
   * The outbox's drop totals each time they changed, oldest first; the first one is the baseline at or before
   * the start of degradedDropWindowMs. Pruned as the window moves, so at most one per sample in the window.
   */
  private readonly dropMarks: { atMono: number; totals: Map<string, number> }[] = [];
  private defaultMetricsOn = false;

  constructor(options: HealthServerOptions) {
    this.options = options;
    this.log = options.log;
    this.mono = options.mono ?? (() => performance.now());
    this.startedAtMono = this.mono();
    // The outbox's counters start with the process: what it dropped before this (at open) is recent too.
    this.dropMarks.push({ atMono: this.startedAtMono, totals: new Map() });
    this.registerMetrics(options.metrics);
  }

  /** Host and port actually bound (the port differs from the configured one when that was 0). */
  address(): { host: string; port: number } | undefined {
    const address = this.server?.address();
    if (!address || typeof address === 'string') return undefined;
    return { host: (address as AddressInfo).address, port: (address as AddressInfo).port };
  }

  async start(): Promise<void> {
    if (this.server) return;
    this.startedAtMono = this.mono();
    if (this.options.defaultMetrics !== false && !this.defaultMetricsOn) {
      collectDefaultMetrics({ register: this.options.metrics });
      this.defaultMetricsOn = true;
    }
    this.sample();
    this.sampler = setInterval(() => this.sample(), this.options.sampleIntervalMs ?? 1_000);
    this.sampler.unref();
    const server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => this.fail(res, err));
    });
    // Supervisors poll often; idle keep-alive sockets must not hold the agent open at shutdown.
    server.keepAliveTimeout = 5_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) =>
        reject(new HealthServerError('listen_failed', `health endpoint cannot listen on ${this.options.host}:${this.options.port}: ${err.code ?? err.message}`)),
      );
      server.listen(this.options.port, this.options.host, () => resolve());
    });
    server.on('error', (err) => this.log.error({ err }, 'health endpoint error'));
    this.server = server;
    this.log.info(this.address(), 'health endpoint listening');
  }

  async stop(): Promise<void> {
    clearInterval(this.sampler);
    this.sampler = undefined;
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  report(): HealthReport {
    const reasons: string[] = [];
    const sources: HealthReport['sources'] = {};
    const sourceHealth = this.sourceHealth();
    for (const [name, h] of Object.entries(sourceHealth)) {
      const report: SourceReport = { state: h.state, detail: h.detail ?? null, sensors: h.sensors, readings: h.readings, rejected: h.rejected };
      if (h.devices !== undefined) report.devices = h.devices;
      sources[name] = report;
      if (h.state !== 'running') reasons.push(`source ${name} is ${h.state}${h.detail ? `: ${h.detail}` : ''}`);
    }
    if (Object.keys(sources).length === 0) reasons.push('no source is configured');

    let outbox: HealthReport['outbox'];
    try {
      const stats = this.options.outbox();
      outbox = { ...stats, depth: stats.readings };
      if (stats.oldestAgeMs > this.options.degradedOutboxAgeMs) {
        reasons.push(`oldest unsent reading is ${Math.round(stats.oldestAgeMs / 1_000)} s old`);
      }
      reasons.push(...this.outboxReasons(stats));
    } catch (err) {
      outbox = { error: errorMessage(err) };
      reasons.push(`outbox: ${errorMessage(err)}`);
    }

    let uplink: HealthReport['uplink'];
    try {
      uplink = this.options.uplink();
      if (uplink.state !== 'connected') reasons.push(`uplink is ${uplink.state}`);
    } catch (err) {
      uplink = { state: 'unknown', error: errorMessage(err) };
      reasons.push(`uplink: ${errorMessage(err)}`);
    }

    return {
      status: reasons.length === 0 ? 'ok' : 'degraded',
      reasons,
      agent: this.options.agent,
      version: this.options.version,
      uptimeS: Math.round((this.mono() - this.startedAtMono) / 1_000),
      sources,
      readingsPerSecond: this.readingsPerSecond(),
      outbox,
      uplink,
    };
  }

  /** Readings per second from all sources, averaged over the last few seconds. */
  readingsPerSecond(): number {
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    if (!first || !last || last.atMono <= first.atMono) return 0;
    const rate = ((last.total - first.total) * 1_000) / (last.atMono - first.atMono);
    return Math.round(Math.max(0, rate) * 10) / 10;
  }

  private sample(): void {
    let total = 0;
    for (const h of Object.values(this.sourceHealth())) total += h.readings;
    this.samples.push({ atMono: this.mono(), total });
    const keep = (this.options.rateWindowSamples ?? 10) + 1;
    while (this.samples.length > keep) this.samples.shift();
    try {
      this.observeDrops(this.options.outbox().dropped);
    } catch {
      // The report says why the outbox cannot answer; a sample has no one to tell.
    }
  }

  /** Why the outbox makes the agent degraded: it cannot write, it is close to a bound, or it dropped readings lately. */
  private outboxReasons(stats: OutboxHealthStats): string[] {
    const reasons: string[] = [];
    const { limits } = stats;
    if (stats.storage !== 'ok') {
      const state = stats.storage === 'unopened' ? 'cannot open its file' : 'cannot write';
      reasons.push(`outbox ${state}: ${stats.storageProblem ?? 'unknown'}; ${stats.buffered} readings wait in memory (at most ${limits.maxBuffered})`);
    }
    const share = this.options.degradedOutboxShare;
    const percent = (part: number, whole: number): number => Math.round((part / whole) * 100);
    if (stats.bytes > share * limits.maxBytes) {
      reasons.push(`outbox holds ${percent(stats.bytes, limits.maxBytes)} % of maxBytes: past it the oldest readings are dropped`);
    }
    if (stats.oldestAgeMs > share * limits.maxAgeMs) {
      reasons.push(`oldest unsent reading is at ${percent(stats.oldestAgeMs, limits.maxAgeMs)} % of maxAgeMs: past it readings expire`);
    }
    if (stats.buffered > share * limits.maxBuffered) {
      reasons.push(`readings waiting in memory are at ${percent(stats.buffered, limits.maxBuffered)} % of their bound: past it the oldest are dropped`);
    }
    const dropped = this.observeDrops(stats.dropped);
    if (dropped.total > 0) {
      const by = [...dropped.byReason].map(([why, n]) => `${why} ${n}`).join(', ');
      reasons.push(`${dropped.total} readings dropped in the last ${Math.round(this.options.degradedDropWindowMs / 1_000)} s (${by})`);
    }
    return reasons;
  }

  /** Records the outbox's drop totals; returns what was dropped within degradedDropWindowMs, by reason. */
  private observeDrops(dropped: object): { total: number; byReason: Map<string, number> } {
    const now = this.mono();
    const totals = new Map<string, number>();
    for (const [why, n] of Object.entries(dropped)) if (typeof n === 'number') totals.set(why, n);
    const last = this.dropMarks.at(-1)!;
    if ([...totals].some(([why, n]) => n !== (last.totals.get(why) ?? 0))) this.dropMarks.push({ atMono: now, totals });
    const windowStart = now - this.options.degradedDropWindowMs;
    while (this.dropMarks.length > 1 && this.dropMarks[1]!.atMono <= windowStart) this.dropMarks.shift();
    const byReason = new Map<string, number>();
    let total = 0;
    if (this.options.degradedDropWindowMs === 0) return { total, byReason };
    const baseline = this.dropMarks[0]!.totals;
    for (const [why, n] of totals) {
      const recent = n - (baseline.get(why) ?? 0);
      if (recent <= 0) continue;
      byReason.set(why, recent);
      total += recent;
    }
    return { total, byReason };
  }

  /** A source whose health() throws is reported as unavailable rather than breaking the whole report. */
  private sourceHealth(): Record<string, SourceHealth> {
    try {
      return this.options.sources();
    } catch (err) {
      this.log.error({ err }, 'reading source health failed');
      return {};
    }
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://agent').pathname;
    const known = path === '/healthz' || path === '/metrics';
    if (known && req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      this.json(res, 405, { error: 'method_not_allowed', message: `${req.method} is not allowed on ${path}` });
      return;
    }
    if (path === '/healthz') {
      this.json(res, 200, this.report());
      return;
    }
    if (path === '/metrics') {
      const text = await this.options.metrics.metrics();
      res.writeHead(200, { 'Content-Type': this.options.metrics.contentType, 'Cache-Control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : text);
      return;
    }
    this.json(res, 404, { error: 'not_found', message: `no such path ${path}; try /healthz or /metrics` });
  }

  private json(res: ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  }

  private fail(res: ServerResponse, err: unknown): void {
    this.log.error({ err }, 'health request failed');
    if (res.headersSent) {
      res.destroy();
      return;
    }
    this.json(res, 500, { error: 'internal', message: errorMessage(err) });
  }

  private registerMetrics(registry: Registry): void {
    const perSource = (value: (h: SourceHealth) => number) => (): Record<string, number> => {
      const out: Record<string, number> = {};
      for (const [name, h] of Object.entries(this.sourceHealth())) out[name] = value(h);
      return out;
    };
    const sourceStates = function* (sources: Record<string, SourceHealth>): Generator<ScrapedSample> {
      for (const [source, h] of Object.entries(sources)) for (const state of SOURCE_STATES) yield [{ source, state }, h.state === state ? 1 : 0];
    };
    registerScraped(registry, [
      {
        name: 'pb_agent_source_state',
        help: 'State of each source: 1 for its current state, 0 for the others',
        kind: 'gauge',
        label: ['source', 'state'],
        read: () => sourceStates(this.sourceHealth()),
      },
      { name: 'pb_agent_source_sensors', help: 'Sensors each source currently sees', kind: 'gauge', label: 'source', read: perSource((h) => h.sensors) },
      { name: 'pb_agent_source_readings_total', help: 'Readings decoded by each source', kind: 'counter', label: 'source', read: perSource((h) => h.readings) },
      { name: 'pb_agent_source_rejected_total', help: 'Frames or payloads each source could not decode', kind: 'counter', label: 'source', read: perSource((h) => h.rejected) },
      { name: 'pb_agent_readings_per_second', help: 'Readings per second from all sources, averaged over the last seconds', kind: 'gauge', read: () => this.readingsPerSecond() },
    ]);
    if (this.options.outboxMetrics === false) return;
    // An outbox that cannot say keeps its last known figures rather than failing the whole scrape.
    let lastOutbox: Pick<OutboxHealthStats, 'readings' | 'oldestAgeMs'> = { readings: 0, oldestAgeMs: 0 };
    const outbox = (): Pick<OutboxHealthStats, 'readings' | 'oldestAgeMs'> => {
      try {
        lastOutbox = this.options.outbox();
      } catch {
        // keep lastOutbox
      }
      return lastOutbox;
    };
    registerScraped(registry, [
      { name: 'pb_agent_outbox_readings', help: 'Readings waiting in the outbox (its depth)', kind: 'gauge', read: () => outbox().readings },
      { name: 'pb_agent_outbox_oldest_age_seconds', help: 'Age of the oldest reading waiting in the outbox', kind: 'gauge', read: () => outbox().oldestAgeMs / 1_000 },
    ]);
  }
}
