/**
 * Test-only HTTP proxy that lets the v2 write API reach InfluxDB 1.6 (what Debian ships), which has only
 * `/write` and `/query`: `POST /api/v2/write?org=..&bucket=db/rp&precision=ms` becomes
 * `POST /write?db=db&rp=rp&precision=ms`; everything else passes through. It also records requests and can
 * inject faults into writes, so tests can watch exactly what the store sends and when it is answered.
 */
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type WriteFault = { status: number; body: string } | 'hang' | { delayMs: number };

export interface ProxiedRequest {
  method: string;
  path: string;
  authorization: string | undefined;
  /** Body lines of a write. */
  lines: number;
  answeredAt?: number;
}

export interface InfluxV2Proxy {
  url: string;
  requests: ProxiedRequest[];
  /** Called for each write request (its index among the recorded writes); return a fault to inject one. */
  faultFor: (writeIndex: number) => WriteFault | undefined;
  close(): Promise<void>;
}

export async function startInfluxV2Proxy(upstreamUrl: string): Promise<InfluxV2Proxy> {
  const upstream = new URL(upstreamUrl);
  const sockets = new Set<Socket>();
  const proxy: InfluxV2Proxy = {
    url: '',
    requests: [],
    faultFor: () => undefined,
    close: () => closeServer(server, sockets),
  };

  const forward = (req: IncomingMessage, res: ServerResponse, path: string, body: Buffer, record: ProxiedRequest): void => {
    const headers = { ...req.headers };
    delete headers.host;
    delete headers.authorization;
    delete headers['content-length'];
    const out = httpRequest(
      { host: upstream.hostname, port: upstream.port, method: req.method, path, headers: { ...headers, 'content-length': String(body.length) } },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
        answer.on('end', () => {
          record.answeredAt = Date.now();
        });
      },
    );
    out.on('error', (err) => {
      res.writeHead(502, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: `proxy: ${err.message}` }));
    });
    out.end(body);
  };

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const url = new URL(req.url ?? '/', 'http://proxy');
      const record: ProxiedRequest = { method: req.method ?? '', path: url.pathname, authorization: req.headers.authorization, lines: 0 };
      proxy.requests.push(record);
      if (url.pathname !== '/api/v2/write') {
        forward(req, res, `${url.pathname}${url.search}`, body, record);
        return;
      }
      record.lines = body.length === 0 ? 0 : body.toString('utf8').split('\n').length;
      const fault = proxy.faultFor(proxy.requests.filter((r) => r.path === '/api/v2/write').length - 1);
      if (fault === 'hang') return;
      if (fault && 'status' in fault) {
        res.writeHead(fault.status, { 'content-type': 'application/json' });
        res.end(fault.body, () => {
          record.answeredAt = Date.now();
        });
        return;
      }
      const [db = '', rp] = (url.searchParams.get('bucket') ?? '').split('/', 2);
      const target = new URLSearchParams({ db, precision: url.searchParams.get('precision') ?? 'ns' });
      if (rp) target.set('rp', rp);
      const send = (): void => forward(req, res, `/write?${target}`, body, record);
      if (fault && 'delayMs' in fault) setTimeout(send, fault.delayMs);
      else send();
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return proxy;
}

async function closeServer(server: Server, sockets: Set<Socket>): Promise<void> {
  for (const socket of sockets) socket.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** Runs InfluxQL against a 1.x server directly (database setup and teardown in tests). */
export async function influxql(url: string, statement: string, db?: string): Promise<unknown> {
  const body = new URLSearchParams({ q: statement });
  if (db) body.set('db', db);
  const response = await fetch(`${url.replace(/\/+$/, '')}/query`, { method: 'POST', body, signal: AbortSignal.timeout(10_000) });
  const json = (await response.json()) as { results?: { error?: string }[]; error?: string };
  const error = json.error ?? json.results?.find((r) => r.error)?.error;
  if (!response.ok || error) throw new Error(`InfluxQL "${statement}" failed: HTTP ${response.status} ${error ?? ''}`);
  return json;
}
