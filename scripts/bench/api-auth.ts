/**
 * The API's throughput with token verification on, against the static admin token it replaced: GET
 * /api/v1/agents on createApi, served by a child process (the hub's side, one core), loaded from this process
 * over loopback keep-alive connections (`--concurrency` requests in flight). Three verifiers, measured in turn:
 *   - `static`: a TokenVerifier that compares one fixed token, as the removed admin token did: the `limit`;
 *   - `jwt`: the real AccessTokenVerifier with the hub's own key set, and one RS256 access token signed with the
 *     identity store's signing key (the client sends the same token with every request, as an app does);
 *   - `fresh`: the same verifier, every request with a token it has never seen (the worst case: a signature
 *     check per request).
 * One JSON line per JWT case (DESIGN §9) with `limit` the static token's requests/s and `ratio` (target ≥ 0.8,
 * TARGETS.md). `cpuValue`/`cpuLimit`: requests per second of the serving process's CPU time, the fairer
 * comparison when other work shares the cores (the wall-clock rates then move with that work).
 *
 *   node --import tsx scripts/bench/api-auth.ts [--seconds 3] [--runs 4] [--concurrency 32] [--fresh 3000]
 *
 * `--fresh` tokens are signed for each run of the fresh case (each used once), which bounds it by count, not time.
 */
import { spawn } from 'node:child_process';
import { timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Agent, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { SignJWT, importJWK } from 'jose';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { createApi } from '../../hub/src/api/app.ts';
import type { TokenVerifier } from '../../hub/src/api/auth.ts';
import { AccessTokenVerifier, TokenRefused, hubApiAudience, hubTokenIssuer } from '../../hub/src/auth/access-tokens.ts';
import type { Principal } from '../../hub/src/auth/principal.ts';
import { ALL_GYMS } from '../../hub/src/identity/identity-store.ts';
import { SqliteIdentityStore } from '../../hub/src/identity/sqlite-identity-store.ts';
import { SIGNING_ALG, loadSigningKeys, publishedJwks } from '../../hub/src/oidc/keys.ts';
import { MemoryLiveBus } from '../../hub/src/live/live-bus.ts';
import { MemoryAgentRegistry, MemorySeriesStore } from '../../hub/test/memory-stores.ts';
import { testDomain } from '../../hub/test/domain/test-domain.ts';
import { median, printFigure, withTempDir } from './figures.ts';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '3' },
    runs: { type: 'string', default: '4' },
    concurrency: { type: 'string', default: '32' },
    fresh: { type: 'string', default: '3000' },
    // Internal: run as the serving process on this identity database.
    serve: { type: 'string' },
  },
});
const SECONDS = Math.max(0.5, Number(args.seconds));
const RUNS = Math.max(1, Number(args.runs));
const CONCURRENCY = Math.max(1, Number(args.concurrency));
const FRESH = Math.max(100, Number(args.fresh));

const ISSUER = 'https://hub.example.com';
const ROUTE = '/api/v1/agents';
const STATIC_TOKEN = 'static-admin-token-0123456789abcdef0123456789';
const RETENTION_MS = 24 * 3600_000;
const AGENTS = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`box-${i}`, `gym-${i % 3}`]));

/** What the removed `api.adminToken` did: one fixed token, compared in constant time, is a platform admin. */
class StaticTokenVerifier implements TokenVerifier {
  private readonly expected: Buffer;

  constructor(
    token: string,
    private readonly admin: Principal,
  ) {
    this.expected = Buffer.from(token);
  }

  async verify(token: string): Promise<Principal> {
    const given = Buffer.from(token);
    if (given.length !== this.expected.length || !timingSafeEqual(given, this.expected)) throw new TokenRefused('bad_signature', 'not the admin token');
    return this.admin;
  }
}

// ---- the serving process ----

async function serve(identityDb: string): Promise<void> {
  const store = new SqliteIdentityStore({ path: identityDb });
  await store.start();
  const log = pino({ level: 'warn' });
  const admin: Principal = {
    kind: 'user',
    subject: 'admin',
    issuer: 'static',
    clientId: undefined,
    scopes: new Set(['agents:read']),
    roles: [{ gym: ALL_GYMS, role: 'platform_admin' }],
    tokenId: undefined,
  };
  const verifiers: Record<string, TokenVerifier> = {
    static: new StaticTokenVerifier(STATIC_TOKEN, admin),
    // As hub.ts builds it, defaults included (60 s memory of verified tokens, 10 s account cache).
    jwt: new AccessTokenVerifier({ identityIssuer: ISSUER, localJwks: () => publishedJwks(store, { retentionMs: RETENTION_MS }), trustedIssuers: [], store }),
  };
  const ports: Record<string, number> = {};
  const { domain } = await testDomain({ identity: store, log });
  for (const [name, verifier] of Object.entries(verifiers)) {
    const app = createApi({
      domain,
      registry: new MemoryAgentRegistry(AGENTS),
      store: new MemorySeriesStore(),
      live: new MemoryLiveBus(),
      metrics: new Registry(),
      verifier,
      log,
      ready: async () => ({ ok: true, checks: {} }),
    });
    const server = createServer(app.callback());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    ports[name] = (server.address() as AddressInfo).port;
  }
  process.stdout.write(`${JSON.stringify(ports)}\n`);
  // Until the parent closes stdin.
  process.stdin.resume();
  await new Promise((resolve) => process.stdin.on('end', resolve));
  process.exit(0);
}

// ---- the load ----

const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });

function get(port: number, token: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: ROUTE, agent, headers: { authorization: `Bearer ${token}` } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

/** User and system CPU seconds of a process so far, from /proc (Linux). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

interface Measure {
  wall: number;
  cpu: number;
}

/**
 * Requests per second with CONCURRENCY in flight, until `seconds` pass or `tokens` run out (each of them used
 * once; a single token is sent with every request). Anything but 200 stops the benchmark.
 */
async function load(port: number, serverPid: number, tokens: readonly string[], seconds: number): Promise<Measure> {
  const deadline = performance.now() + seconds * 1000;
  let sent = 0;
  let done = 0;
  const cpu0 = cpuSeconds(serverPid);
  const started = performance.now();
  const worker = async (): Promise<void> => {
    while (performance.now() < deadline && (tokens.length === 1 || sent < tokens.length)) {
      const token = tokens.length === 1 ? tokens[0]! : tokens[sent]!;
      sent++;
      const status = await get(port, token);
      if (status !== 200) throw new Error(`GET ${ROUTE} answered ${status}`);
      done++;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const elapsed = (performance.now() - started) / 1000;
  const cpu = cpuSeconds(serverPid) - cpu0;
  return { wall: done / elapsed, cpu: cpu > 0 ? done / cpu : Number.NaN };
}

async function main(): Promise<void> {
  if (args.serve !== undefined) return serve(args.serve);
  await withTempDir('api-auth', async (dir) => {
    const identityDb = join(dir, 'identity.db');
    const store = new SqliteIdentityStore({ path: identityDb });
    await store.start();
    let signToken: (jti: string) => Promise<string>;
    try {
      const user = await store.createUser({ email: 'admin@example.com', displayName: 'Admin' });
      await store.addMembership({ userId: user.id, gym: ALL_GYMS, role: 'platform_admin' });
      // The hub's signing key, made and kept by the identity store as the hub's provider does at start.
      const { keys, signingKid } = await loadSigningKeys(store, { retentionMs: RETENTION_MS });
      const privateKey = await importJWK(keys[0]!, SIGNING_ALG);
      const now = Math.floor(Date.now() / 1000);
      // The claims of the provider's RFC 9068 access tokens for the mobile app.
      signToken = (jti) =>
        new SignJWT({ client_id: 'pulsebridge-mobile', scope: 'openid agents:read readings:read', jti })
          .setProtectedHeader({ alg: SIGNING_ALG, kid: signingKid, typ: 'at+jwt' })
          .setIssuer(hubTokenIssuer(ISSUER))
          .setAudience(hubApiAudience(ISSUER))
          .setSubject(user.id)
          .setIssuedAt(now)
          .setExpirationTime(now + 3600)
          .sign(privateKey);
    } finally {
      await store.stop();
    }

    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--serve', identityDb], { stdio: ['pipe', 'pipe', 'inherit'] });
    const exited = new Promise((resolve) => child.on('exit', resolve));
    try {
      const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
      const first = await lines.next();
      if (first.done === true) throw new Error('the serving process ended before listening');
      const ports = JSON.parse(first.value) as { static: number; jwt: number };
      const token = await signToken('same');
      if ((await get(ports.jwt, 'not-a-token')) !== 401 || (await get(ports.static, 'not-a-token')) !== 401) throw new Error('a wrong token was let in');
      // Warm-up: connections, JIT, the key set and the account cache.
      await load(ports.static, child.pid!, [STATIC_TOKEN], 1);
      await load(ports.jwt, child.pid!, [token], 1);

      const measured: Record<'static' | 'jwt' | 'fresh', Measure[]> = { static: [], jwt: [], fresh: [] };
      for (let run = 0; run < RUNS; run++) {
        const fresh = await Promise.all(Array.from({ length: FRESH }, (_, i) => signToken(`fresh-${run}-${i}`)));
        const cases: [keyof typeof measured, () => Promise<Measure>][] = [
          ['static', () => load(ports.static, child.pid!, [STATIC_TOKEN], SECONDS)],
          ['jwt', () => load(ports.jwt, child.pid!, [token], SECONDS)],
          ['fresh', () => load(ports.jwt, child.pid!, fresh, SECONDS)],
        ];
        // Every other run in reverse order: on a shared machine, a load that comes and goes weighs on each case alike.
        if (run % 2 === 1) cases.reverse();
        for (const [which, measure] of cases) measured[which].push(await measure());
      }
      const limit = median(measured.static.map((m) => m.wall));
      const cpuLimit = median(measured.static.map((m) => m.cpu));
      const details = { route: `GET ${ROUTE}`, alg: SIGNING_ALG, target: 0.8, concurrency: CONCURRENCY, seconds: SECONDS, runs: RUNS };
      for (const [name, which, extra] of [
        ['api_auth_requests_per_s', 'jwt', {}],
        ['api_auth_fresh_token_requests_per_s', 'fresh', { tokensPerRun: FRESH }],
      ] as const) {
        const value = median(measured[which].map((m) => m.wall));
        printFigure(name, Math.round(value), 'requests/s', {
          limit: Math.round(limit),
          ratio: +(value / limit).toFixed(3),
          cpuValue: Math.round(median(measured[which].map((m) => m.cpu))),
          cpuLimit: Math.round(cpuLimit),
          ...details,
          ...extra,
        });
      }
    } finally {
      agent.destroy();
      child.stdin!.end();
      await exited;
    }
  });
}

await main();
