/**
 * In-test stand-ins for the API's dependencies and a running server on 127.0.0.1:0. The fakes implement the
 * ports faithfully (ordering, [from, to) bounds, rollup alignment) so the API's own logic is what is tested.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FormatRegistry } from '@sinclair/typebox';
import { pino, type Logger } from 'pino';
import { Registry } from 'prom-client';
import { createApi, type ApiDeps } from '../../src/api/app.ts';
import { MemoryLiveBus, type LiveBus } from '../../src/live/live-bus.ts';
import { MemoryAgentRegistry, MemorySeriesStore } from '../memory-stores.ts';
import { FixedTokens, PLATFORM_ADMIN } from './principals.ts';
import { testDomain, type RecordingPairingChannel } from '../domain/test-domain.ts';

export { MemoryAgentRegistry, MemorySeriesStore };

/** A platform admin's token: every gym, every scope. */
export const TOKEN = 'test-admin-token-0123456789';
export const AUTH = { Authorization: `Bearer ${TOKEN}` } as const;

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
  /** The pairing channel of the test domain (absent when the test passed its own domain). */
  pairing: RecordingPairingChannel | undefined;
  get(path: string, headers?: Record<string, string>): Promise<Response>;
  close(): Promise<void>;
}

export const NOW = Date.UTC(2024, 4, 1, 12, 0, 0);

export async function startApi(overrides: Partial<ApiDeps> = {}): Promise<RunningApi> {
  const logs: LogLine[] = [];
  const log: Logger = pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line) as LogLine) });
  const store = new MemorySeriesStore();
  const registry = new MemoryAgentRegistry();
  const live = new MemoryLiveBus();
  const metrics = new Registry();
  const registryInUse = overrides.registry ?? registry;
  const own =
    overrides.domain === undefined ? await testDomain({ agents: registryInUse, now: () => NOW, log, ...(overrides.identity ? { identity: overrides.identity } : {}) }) : undefined;
  const deps: ApiDeps = {
    domain: own?.domain ?? overrides.domain!,
    registry,
    store,
    live,
    metrics,
    verifier: new FixedTokens({ [TOKEN]: PLATFORM_ADMIN }),
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
    pairing: own?.pairing,
    get: (path, headers = { ...AUTH }) => fetch(`${url}${path}`, { headers, signal: AbortSignal.timeout(5_000) }),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await own?.cleanup();
    },
  };
}

/** Live streams open, as /metrics reports them. */
export async function sseClients(api: RunningApi): Promise<number> {
  const { values } = await api.metrics.getSingleMetric('pb_hub_sse_clients')!.get();
  return values[0]?.value ?? 0;
}

/** Runs `use` against a fresh API and closes it afterwards, whatever happens. */
export async function withApi(...args: [use: (api: RunningApi) => Promise<void>] | [overrides: Partial<ApiDeps>, use: (api: RunningApi) => Promise<void>]): Promise<void> {
  const [overrides, use] = args.length === 1 ? [{}, args[0]] : args;
  const api = await startApi(overrides);
  try {
    await use(api);
  } finally {
    await api.close();
  }
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

// TypeBox refuses strings of a format it has no checker for; the API's responses use RFC 3339 date-times.
if (!FormatRegistry.Has('date-time')) {
  FormatRegistry.Set('date-time', (value) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(value) && !Number.isNaN(Date.parse(value)));
}
