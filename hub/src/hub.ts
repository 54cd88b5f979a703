/**
 * The hub's composition root: builds every component from the configuration and wires them together.
 *
 *   state (<dataDir>/hub.db, WAL; or PostgreSQL shared by replicas: `state`) ─▶ agent registry, ingest dedupe
 *   transport (embedded aedes or external broker) ─▶ ingest ─▶ series store, live bus ─▶ acks via transport
 *   one node:http server: the Koa API, and MQTT over WebSocket on mqtt.websocketPath (embedded broker)
 *
 * Stop order (shutdown-config.ts): readiness fails and no new work comes in (MQTT connections, the external
 * broker's shared subscription), HTTP answers for shutdown.endpointDelayMs more, then the listener closes and live
 * streams end; ingest drains (it still acks through the transport), the transport closes, requests in flight
 * finish within the grace period, then the stores close.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { setTimeout as delay } from 'node:timers/promises';
import { errorMessage, resolveSecret, settlesWithin } from '@pulsebridge/runtime';
import { createApi } from './api/app.ts';
import { httpHardening, inlineStyleHashes } from './api/hardening.ts';
import { AccessTokenVerifier } from './auth/access-tokens.ts';
import { SignInThrottle } from './auth/rate-limits.ts';
import type { IdentityStore } from './identity/identity-store.ts';
import { createIdentityStore } from './identity/index.ts';
import { FileMailer } from './identity/one-time-links.ts';
import { serviceRoles } from './oidc/config.ts';
import { signInPage } from './oidc/interactions.ts';
import { publishedJwks } from './oidc/keys.ts';
import { federationRoutes } from './oidc/federation.ts';
import { mountIdentity, type IdentityMount } from './oidc/mount.ts';
import { webApp } from './web/web-app.ts';
import { EmbeddedBroker } from './broker/embedded-broker.ts';
import { ExternalBroker } from './broker/external-broker.ts';
import { DynsecConnection } from './broker/dynsec-connection.ts';
import { dynamicSecurityUrl } from './broker/config.ts';
import type { HubTransport } from './broker/transport.ts';
import { defaultHubClientId, redisUsers, type HubConfig } from './config.ts';
import { enrollmentInfoOf } from './enrollment.ts';
import { Ingest } from './ingest/ingest.ts';
import { readingTimeProblem } from './ingest/time-window.ts';
import { createLiveBus } from './live/index.ts';
import { RedisConnection } from './redis/redis-connection.ts';
import type { AgentRegistry } from './registry/agent-registry.ts';
import { createStateStores, type StateStores } from './registry/state-stores.ts';
import { loadHubTls, type HubTls } from './tls/server-tls.ts';
import { createSeriesStore } from './storage/series/index.ts';
import type { SeriesStore } from './storage/series/series-store.ts';
import { UnsyncedTally } from './unsynced/unsynced-tally.ts';
import type { DocumentStore } from './documents/document-store.ts';
import { createDocumentStore } from './documents/index.ts';
import { DOMAIN_COLLECTIONS } from './domain/collections.ts';
import type { Domain } from './domain/domain.ts';
import { allowlistOf } from './domain/pairing/allowlist.ts';
import { AllowlistPublisher } from './pairing/allowlist-publisher.ts';
import { FolderImageStore } from './images/folder-image-store.ts';
import { sweepExpiredLoans } from './domain/pairing/bindings.ts';
import { announceAgentOffline } from './domain/agent-events.ts';
import { WebhookSender, type WebhookSenderOptions } from './webhooks/sender.ts';
import { createCache } from './cache/index.ts';
import { CachedAgentList } from './registry/cached-agent-list.ts';
import { SessionsWorker } from './domain/sessions/sessions-worker.ts';

export { loadHubConfig, type HubConfig } from './config.ts';

export { STATE_DATABASE_FILE, openStateDatabase } from './registry/state-stores.ts';
/** Expired sessions, codes and tokens are never found anyway; pruning only keeps the store small. */
const PRUNE_INTERVAL_MS = 10 * 60_000;
/** How late after its end a loaner strap's binding may end: its readings are attributed by time anyway. */
const LOAN_SWEEP_INTERVAL_MS = 30_000;
/** Of the shutdown grace period, what closing the stores may take after the last HTTP requests. */
const STORES_CLOSE_MS = 3_000;

export interface HubDeps {
  log?: Logger;
  /** Defaults to a fresh registry with the process metrics. */
  metrics?: Registry;
  env?: NodeJS.ProcessEnv;
  /** The webhook sender's retry schedule and polling, for tests that cannot wait its minutes; default the sender's own. */
  webhookTiming?: Pick<WebhookSenderOptions, 'retry' | 'pollIntervalMs'>;
}

export interface HubAddress {
  host: string;
  port: number;
}

export interface HubAddresses {
  http: HubAddress | undefined;
  /** The embedded broker's TCP listener; undefined with an external broker or TCP turned off. */
  mqtt: HubAddress | undefined;
}

type ReadyResult = { ok: boolean; checks: Record<string, string> };

function hubVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

export class Hub {
  readonly config: HubConfig;
  readonly metrics: Registry;
  private readonly log: Logger;
  private readonly env: NodeJS.ProcessEnv;
  private state: StateStores | undefined;
  private store: SeriesStore | undefined;
  private identity: IdentityStore | undefined;
  private documents: DocumentStore | undefined;
  private gymDomain: Domain | undefined;
  private stopLoanSweep: (() => void) | undefined;
  private webhooks: WebhookSender | undefined;
  private readonly webhookTiming: Pick<WebhookSenderOptions, 'retry' | 'pollIntervalMs'>;
  private sessionsWorker: SessionsWorker | undefined;
  private throttle: SignInThrottle | undefined;
  /** The one Redis connection (live bus, cache, sign-in counters), when a section chooses Redis. */
  private redis: RedisConnection | undefined;
  private pruneTimer: NodeJS.Timeout | undefined;
  private transport: HubTransport | undefined;
  /** The external broker's agent accounts (mqtt.external.agentAccounts: dynamic-security). */
  private dynsec: DynsecConnection | undefined;
  private ingest: Ingest | undefined;
  private http: Server | HttpsServer | undefined;
  private serverTls: HubTls | undefined;
  private shutdown: AbortController | undefined;
  private starting: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;

  constructor(config: HubConfig, deps: HubDeps = {}) {
    this.config = config;
    this.log = deps.log ?? pino({ name: 'pulsebridge-hub', level: config.log.level });
    this.env = deps.env ?? process.env;
    this.webhookTiming = deps.webhookTiming ?? {};
    if (deps.metrics) {
      this.metrics = deps.metrics;
    } else {
      this.metrics = new Registry();
      collectDefaultMetrics({ register: this.metrics });
    }
  }

  /** The listeners' certificates and the CA agents trust (for enrollment); undefined before start. */
  get tls(): HubTls | undefined {
    return this.serverTls;
  }

  /** The gym domain's stores and agent channel; undefined before start. */
  get domain(): Domain | undefined {
    return this.gymDomain;
  }

  get addresses(): HubAddresses {
    const http = this.http?.address() as AddressInfo | null | undefined;
    return {
      http: http ? { host: http.address, port: http.port } : undefined,
      mqtt: this.transport?.address(),
    };
  }

  start(): Promise<void> {
    this.starting ??= this.startOnce();
    return this.starting;
  }

  private async startOnce(): Promise<void> {
    const config = this.config;
    const log = this.log;
    try {
      const tls = await loadHubTls(config, log);
      this.serverTls = tls;
      const dataDir = config.hub.dataDir;
      const state = createStateStores(config.state, { dataDir, log, env: this.env });
      this.state = state;
      await state.start();
      const registry = state.registry;

      const identity = createIdentityStore(config.identity.store, { dataDir, env: this.env });
      this.identity = identity;
      await identity.start();
      this.redis = await RedisConnection.fromConfig(config.redis, redisUsers(config), { env: this.env, log, metrics: this.metrics });
      const redis = this.redis;
      this.throttle = await SignInThrottle.fromConfig(config.rateLimits, this.env, redis && { client: redis.commands, keyPrefix: redis.keyPrefix });
      this.pruneTimer = setInterval(() => {
        identity.pruneExpiredOidc().catch((err: unknown) => log.warn({ err: errorMessage(err) }, 'could not prune expired sessions and tokens'));
      }, PRUNE_INTERVAL_MS);
      this.pruneTimer.unref();

      const documents = createDocumentStore(config.documents, { dataDir, env: this.env });
      this.documents = documents;
      await documents.start(DOMAIN_COLLECTIONS);

      const store = createSeriesStore(config.series, { log, dataDir, env: this.env });
      this.store = store;
      await store.start();

      const unsynced = new UnsyncedTally({
        store,
        log,
        limits: { maxBootsPerAgent: config.ingest.maxUnsyncedBootsPerAgent, maxSensorsPerAgent: config.series.maxSeriesPerAgent },
      });
      unsynced.register(this.metrics);
      await unsynced.refresh();

      const live = createLiveBus(config.live, { redis, log, metrics: this.metrics });
      const transport = this.createTransport(registry);
      this.transport = transport;
      const pairing = new AllowlistPublisher({ transport, agents: registry, allowlistOf: (gym) => allowlistOf(documents, gym), now: Date.now, log });
      pairing.register(this.metrics);
      const ingest = new Ingest({
        transport,
        registry,
        pairing,
        store,
        live,
        dedupe: state.dedupe,
        log,
        metrics: this.metrics,
        onUnsyncedStored: () => void unsynced.refresh(),
        // Late readings of completed sessions make their results be computed again.
        onStored: (readings) => this.sessionsWorker?.noteStored(readings),
        onOffline: (offline) => void announceAgentOffline(registry, this.gymDomain?.events, offline, log),
        unsyncedBoots: unsynced,
        ...config.ingest,
      });
      this.ingest = ingest;
      ingest.start();
      await transport.start();
      // Retained lists of the embedded broker do not outlive it: every gym's goes out again. Not awaited: an
      // external broker still out of reach must not hold the hub's start.
      pairing.publishAll().catch((err: unknown) => log.warn({ err: errorMessage(err) }, 'could not publish the pairing lists at start'));
      this.dynsec = this.createDynsecConnection();
      await this.dynsec?.start();

      this.shutdown = new AbortController();
      const cors = config.http.cors;
      const { oidc, verifier, mailer } = await this.startIdentityServer(identity);
      const cache = createCache(config.cache, { redis, metrics: this.metrics });
      const domain: Domain = {
        documents,
        identity,
        images: new FolderImageStore({ dir: config.images.dir ?? join(dataDir, 'images') }),
        imageLimits: { maxUploadBytes: config.images.maxUploadBytes, maxPixels: config.images.maxPixels },
        pairing,
        agents: registry,
        series: store,
        live,
        cache,
        now: Date.now,
        log,
        webhookUrls: config.webhooks,
      };
      this.webhooks = new WebhookSender({ documents, urls: config.webhooks, log: log.child({ component: 'webhooks' }), ...this.webhookTiming });
      this.webhooks.register(this.metrics);
      domain.events = this.webhooks;
      this.gymDomain = domain;
      // A loaner strap's binding ends at the end of its class, whether or not anyone reads it then.
      this.stopLoanSweep = sweepExpiredLoans(domain, LOAN_SWEEP_INTERVAL_MS);
      this.sessionsWorker = new SessionsWorker(domain, config.sessions);
      this.sessionsWorker.register(this.metrics);
      const api = createApi({
        domain,
        // The admin pages poll the agent list: read through the cache, dropped on every change made through the API.
        registry: new CachedAgentList(registry, cache),
        store,
        live,
        metrics: this.metrics,
        verifier,
        identity,
        mailer,
        publicBaseUrl: config.identity.issuer,
        inviteTtlMs: config.identity.ttl.inviteSeconds * 1000,
        cors,
        deepLinks: config.deepLinks,
        log,
        ready: () => this.ready(),
        unsynced,
        // A corrected reading meets the window any reading meets at ingest, around the clock at correction time.
        acceptsReadingTime: (ts) => readingTimeProblem(ts, Date.now(), config.ingest) === undefined,
        shutdown: this.shutdown.signal,
        board: { tickMs: config.sessions.boardTickMs, quietAfterMs: config.sessions.quietAfterMs },
        version: hubVersion(),
        disconnectAgent: (id) => transport.disconnectAgent(id),
        ...(this.dynsec ? { brokerAccounts: this.dynsec.accounts } : {}),
        enrollmentInfo: () => {
          const anchor = tls.trustAnchor;
          const where = enrollmentInfoOf(config, { mqttPort: transport.address()?.port, httpPort: this.addresses.http?.port });
          return anchor === undefined ? where : { ...where, caPem: anchor.certificatePem, caFingerprint: anchor.fingerprint };
        },
        throttle: this.throttle,
        onSecurityEvent: ({ type, gym, actor, detail }) => {
          identity
            .appendAudit({ type, ...(gym === undefined ? {} : { gym }), detail: { ...detail, actor } })
            .catch((err: unknown) => log.error({ err: errorMessage(err), type }, 'could not write a security event to the audit log'));
        },
      });
      const listener = oidc.handler(webApp(config.web, log, api.callback()));
      const http = tls.http ? createHttpsServer(tls.http, listener) : createServer(listener);
      this.http = http;
      http.on('upgrade', (request, socket, head) => {
        if (transport.handleUpgrade(request, socket, head)) return;
        socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      });
      http.on('clientError', (_err, socket) => {
        if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      });
      await new Promise<void>((resolve, reject) => {
        http.once('error', reject);
        http.listen(config.http.port, config.http.host, () => {
          http.off('error', reject);
          resolve();
        });
      });
      http.on('error', (err) => log.error({ err }, 'HTTP server error'));
      // After the API: deliveries left pending by the previous run are made now.
      this.webhooks.start();
      this.sessionsWorker.start();
      log.info({ http: this.addresses.http, mqtt: this.addresses.mqtt, mode: config.mqtt.mode, series: config.series.kind, dataDir }, 'hub started');
    } catch (err) {
      log.error({ err }, 'hub failed to start');
      await this.stop();
      throw err;
    }
  }

  /**
   * The OpenID provider with its pages (federated sign-in, TOTP, invites, password reset), and the verifier the
   * API checks access tokens with: the hub's own, against the keys in the identity store, and trusted issuers'.
   */
  private async startIdentityServer(identity: IdentityStore): Promise<{ oidc: IdentityMount; verifier: AccessTokenVerifier; mailer: FileMailer }> {
    const { config, log } = this;
    // The demo's mail: each mail a file, the log says which file (never what is in it: reset and invite links).
    const mailer = new FileMailer(config.identity.mail.dir ?? join(config.hub.dataDir, 'mail'), log);
    const federation = federationRoutes({ publicBaseUrl: config.identity.issuer, trustedIssuers: config.identity.trustedIssuers, store: identity, log, env: this.env });
    const oidc = await mountIdentity({
      config: config.identity,
      store: identity,
      log,
      env: this.env,
      federation: federation.buttons,
      routes: federation.routes,
      ...(this.throttle === undefined ? {} : { throttle: this.throttle }),
      mailer,
      webApp: config.web.enabled,
      // The pages share one inline stylesheet; its hash is all the CSP lets in.
      hardening: httpHardening({ cors: config.http.cors, styleHashes: inlineStyleHashes(signInPage({ uid: 'x', clientName: 'x' })) }),
    });
    const verifier = new AccessTokenVerifier({
      identityIssuer: config.identity.issuer,
      localJwks: () => publishedJwks(identity, { retentionMs: oidc.keyRetentionMs }),
      trustedIssuers: config.identity.trustedIssuers,
      store: identity,
      serviceRoles: serviceRoles(config.identity),
    });
    return { oidc, verifier, mailer };
  }

  stop(): Promise<void> {
    this.stopping ??= this.stopOnce();
    return this.stopping;
  }

  private async stopOnce(): Promise<void> {
    const started = Date.now();
    const step = async (what: string, action: () => unknown): Promise<void> => {
      try {
        await action();
      } catch (err) {
        this.log.error({ err }, `stopping: ${what} failed`);
      }
    };
    const http = this.http;
    const transport = this.transport;
    const { endpointDelayMs, gracePeriodMs } = this.config.shutdown;
    // Time kept for closing the stores once the requests in flight had their chance.
    const requestsDeadline = started + gracePeriodMs - STORES_CLOSE_MS;
    // 1. No new work. Readiness fails from now on (this.stopping); agents get no new connections here, and the
    //    external broker hands new batches to the other replicas. Current MQTT connections stay for the acks.
    if (transport) await step('transport: stop accepting', () => transport.stopAccepting());
    // 2. HTTP answers a while longer, until load balancers have seen the readiness fail; then the listener closes
    //    and live streams end, so their clients reconnect to another replica.
    if (http?.listening && endpointDelayMs > 0) await delay(endpointDelayMs);
    const httpClosed = http?.listening ? new Promise<void>((resolve) => http.close(() => resolve())) : Promise.resolve();
    http?.closeIdleConnections();
    this.shutdown?.abort();
    // 3. Write and acknowledge what is queued (bounded by ingest.drainTimeoutMs).
    if (this.ingest) await step('ingest', () => this.ingest?.stop());
    // 4. Disconnect agents (bounded by the transport's own stop timeout); requests being answered finish, within
    //    the grace period, then whatever HTTP is left is closed.
    if (transport) await step('transport', () => transport.stop());
    if (this.dynsec) await step('dynamic security connection', () => this.dynsec?.stop());
    http?.closeIdleConnections();
    if (!(await settlesWithin(httpClosed, Math.max(0, requestsDeadline - Date.now())))) this.log.warn('requests still open at the end of the grace period were cut');
    http?.closeAllConnections();
    await httpClosed;
    // 5. Stores last: nothing writes to them any more.
    if (this.store) await step('series store', () => this.store?.stop());
    clearInterval(this.pruneTimer);
    if (this.throttle) await step('sign-in throttle', () => this.throttle?.close());
    this.stopLoanSweep?.();
    if (this.sessionsWorker) await step('sessions worker', () => this.sessionsWorker?.stop());
    if (this.webhooks) await step('webhook sender', () => this.webhooks?.stop());
    if (this.redis) await step('redis', () => this.redis?.close());
    if (this.documents) await step('document store', () => this.documents?.stop());
    if (this.identity) await step('identity store', () => this.identity?.stop());
    if (this.state) await step('agent registry and dedupe state', () => this.state!.stop());
    this.log.info({ tookMs: Date.now() - started }, 'hub stopped');
  }

  private createTransport(registry: AgentRegistry): HubTransport {
    const { mqtt, topicRoot } = this.config;
    if (mqtt.mode === 'external') {
      const external = mqtt.external;
      return new ExternalBroker({
        url: external.url,
        username: external.username,
        password: external.password === undefined ? undefined : resolveSecret(external.password, this.env),
        clientId: external.clientId ?? defaultHubClientId(),
        topicRoot,
        sharedSubscriptions: external.sharedSubscriptions,
        shareGroup: external.shareGroup,
        protocolVersion: external.protocolVersion,
        sessionExpirySeconds: external.sessionExpirySeconds,
        keepaliveSeconds: external.keepaliveSeconds,
        connectTimeoutMs: external.connectTimeoutMs,
        reconnectMinMs: external.reconnectMinMs,
        reconnectMaxMs: external.reconnectMaxMs,
        publishTimeoutMs: external.publishTimeoutMs,
        ca: external.caFile === undefined ? undefined : readFileSync(external.caFile),
        log: this.log,
        metrics: this.metrics,
      });
    }
    return new EmbeddedBroker({
      registry,
      log: this.log,
      metrics: this.metrics,
      topicRoot,
      listen: mqtt.tcp ? { host: mqtt.host, port: mqtt.port } : null,
      tls: this.serverTls?.mqtt,
      websocket: mqtt.websocket,
      websocketPath: mqtt.websocketPath,
      maxPacketBytes: mqtt.maxPacketBytes,
      loginThrottle: mqtt.loginThrottle,
    });
  }

  private createDynsecConnection(): DynsecConnection | undefined {
    const { mqtt, topicRoot } = this.config;
    const external = mqtt.external;
    const dynsec = external.dynamicSecurity;
    const url = dynamicSecurityUrl(mqtt);
    // The config check requires username, password and a URL with dynamic-security.
    if (mqtt.mode !== 'external' || external.agentAccounts !== 'dynamic-security' || !dynsec.username || !dynsec.password || !url) return undefined;
    const caFile = dynsec.caFile ?? external.caFile;
    return new DynsecConnection({
      url,
      username: dynsec.username,
      password: resolveSecret(dynsec.password, this.env),
      ca: caFile === undefined ? undefined : readFileSync(caFile),
      topicRoot,
      commandTimeoutMs: dynsec.commandTimeoutMs,
      connectTimeoutMs: external.connectTimeoutMs,
      reconnectMinMs: external.reconnectMinMs,
      reconnectMaxMs: external.reconnectMaxMs,
      log: this.log,
      metrics: this.metrics,
    });
  }

  private async ready(): Promise<ReadyResult> {
    const checks: Record<string, string> = {};
    checks['stateDatabase'] = (await this.state?.readiness()) ?? 'closed';
    try {
      await this.documents?.ping();
      checks['documents'] = this.documents ? 'ok' : 'not started';
    } catch (err) {
      checks['documents'] = errorMessage(err);
    }
    checks['broker'] = this.transport?.readiness() ?? 'not started';
    checks['ingest'] = this.ingest?.running ? 'ok' : 'stopped';
    if (this.redis) checks['redis'] = this.redis.readiness();
    if (this.stopping) checks['hub'] = 'stopping';
    return { ok: Object.values(checks).every((c) => c === 'ok'), checks };
  }
}
