/**
 * The hub's HTTP API. The composition root mounts `app.callback()` on its node:http server; MQTT over
 * WebSocket shares that server on /mqtt, so nothing here touches upgrades.
 */
import Koa from 'koa';
import Router from '@koa/router';
import { Type } from '@sinclair/typebox';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { errorMessage, withTimeout } from '@pulsebridge/runtime';
import type { LiveBus, LiveFilter } from '../live/live-bus.ts';
import type { BrokerAccounts } from '../broker/broker-accounts.ts';
import type { AgentRegistry } from '../registry/agent-registry.ts';
import type { SeriesStore } from '../storage/series/series-store.ts';
import { agentsRoutes } from './agents-routes.ts';
import { agentAdminRoutes, type AgentSecurityEvent, type EnrollmentInfo } from './agent-admin-routes.ts';
import { accessGate, checkAgentGym, checkResourceGym, checkSelf, resolveRequestedGym, type TokenVerifier } from './auth.ts';
import type { ApiContext, ApiState } from './context.ts';
import { LiveStreams, type LiveStreamLimits } from './live.ts';
import { buildOpenApiDocument, renderDocsPage } from './openapi.ts';
import { OPERATIONS, type FeatureOperationName, type Operation, type OperationName } from './operations.ts';
import { readingsRoutes } from './readings-routes.ts';
import { compileQuery } from './query.ts';
import { compileBody, readUpload } from './body.ts';
import { invalidParameter } from './problem.ts';
import { unsyncedRoutes } from './unsynced-routes.ts';
import { UnsyncedTally } from '../unsynced/unsynced-tally.ts';
import { problemResponses, requestTracking } from './request-tracking.ts';
import { httpHardening, inlineStyleHashes, type CorsConfig } from './hardening.ts';
import { auditRoutes } from './audit-routes.ts';
import { appleAppSiteAssociation, assetLinks, type DeepLinksConfig } from './deep-links.ts';
import { ApiError } from './problem.ts';
import type { IdentityStore } from '../identity/identity-store.ts';
import { throttleByAddress, type SignInThrottle } from '../auth/rate-limits.ts';
import type { Mailer } from '../identity/one-time-links.ts';
import { DEFAULT_INVITE_TTL_MS, inviteRoutes } from './invites-routes.ts';
import type { ResourceKind } from './access.ts';
import type { Domain } from '../domain/domain.ts';
import type { Handler, Input, RouteModule } from './route-module.ts';
import { gymOfResource } from '../domain/resources.ts';
import { gymsRoutes } from './gyms-routes.ts';
import { sessionFilesRoutes } from './session-files-routes.ts';
import { webhooksRoutes } from './webhooks-routes.ts';
import { runsRoutes } from './runs-routes.ts';
import { accountRoutes } from './account-routes.ts';
import { profileRoutes } from './profile-routes.ts';
import { equipmentRoutes } from './equipment-routes.ts';
import { socialRoutes } from './social-routes.ts';
import { trainingsRoutes } from './trainings-routes.ts';
import { classesRoutes } from './classes-routes.ts';
import { pairingRoutes } from './pairing-routes.ts';
import { photosRoutes } from './photos-routes.ts';
import { sessionsRoutes } from './sessions-routes.ts';
import { boardRoutes, type BoardSettings } from './board-routes.ts';

export interface ApiDeps {
  registry: AgentRegistry;
  store: SeriesStore;
  live: LiveBus;
  metrics: Registry;
  /** Turns access tokens into principals (hub/src/auth/access-tokens.ts). */
  verifier: TokenVerifier;
  log: Logger;
  ready: () => Promise<{ ok: boolean; checks: Record<string, string> }>;
  now?: () => number;
  /** Bounds of live streams; defaults suit production (15 s heartbeat, 1 MiB per client, 1000 clients). */
  liveStreams?: LiveStreamLimits;
  /** Abort when the hub stops: live streams end so that the HTTP server can close. */
  shutdown?: AbortSignal;
  /** How long /readyz waits for `ready()` before calling the hub not ready. */
  readyTimeoutMs?: number;
  version?: string;
  /**
   * Counts of readings held apart per agent. Default: one of the API's own, registered in `metrics`; the hub
   * passes the one ingest also refreshes.
   */
  unsynced?: UnsyncedTally;
  /** The check ingest applies to the time of any reading; readings corrected through the API pass it too. Default: any time. */
  acceptsReadingTime?: (ts: number) => boolean;
  /** Web origins allowed to call the API from a browser (`http.cors`). Default: none. */
  cors?: CorsConfig;
  /** The audit log's store; without it GET /api/v1/audit answers 503. */
  identity?: IdentityStore;
  /** The apps' deep-link files (`deepLinks`); each answers 404 while its platform is not configured. */
  deepLinks?: DeepLinksConfig;
  /**
   * Closes an agent's broker connections at once (HubTransport.disconnectAgent), after the API disabled, rotated
   * or removed it. Default: nothing to close.
   */
  disconnectAgent?: (id: string) => Promise<void>;
  /** What /enroll tells an agent besides its secret. Without it, /enroll answers 503. */
  enrollmentInfo?: () => EnrollmentInfo;
  /** Told of every agent creation, enrollment (refused ones too), revocation and removal: for the audit log. */
  onSecurityEvent?: (event: AgentSecurityEvent) => void;
  /** Counts refused enrollment codes per address and answers 429 past the limit; none: no limit. */
  throttle?: SignInThrottle;
  /** An external broker's agent accounts (broker/broker-accounts.ts, DynsecAccounts for Mosquitto), kept in step. */
  brokerAccounts?: BrokerAccounts;
  /** Sends invite mails; without it POST /api/v1/invites only returns the link. */
  mailer?: Mailer;
  /** The hub's public base URL (identity.issuer), for invite links; without it (or `identity`) invites answer 503. */
  publicBaseUrl?: string;
  /** How long an invite link works; default 7 days. */
  inviteTtlMs?: number;
  /** Live class boards: tick and quiet time (config `sessions`), stream bounds; defaults: 1 s, 5 s, as /live. */
  board?: BoardSettings;
  /** The gym domain's stores and agent channel (domain/domain.ts), behind every gym, profile, class and pairing route. */
  domain: Domain;
}

type Handlers = { [K in OperationName]: Handler<(typeof OPERATIONS)[K]> };

const NO_PARAMETERS = Type.Object({}, { additionalProperties: false });
const DEFAULT_READY_TIMEOUT_MS = 2_000;

/** The gym of an agent the registry knows, else of a removed agent whose readings are still held apart. */
type GymOfAgent = (agent: string) => Promise<string | undefined>;
type GymOf = (kind: ResourceKind, id: string) => Promise<string | undefined>;

/**
 * Validates path, query and body, then settles the gym the request may touch (operations.ts, Access), before
 * a handler sees them: handlers only get typed, checked input within the caller's gyms.
 */
function mount(router: Router<ApiState>, operation: Operation, handler: Handler<Operation>, gymOfAgent: GymOfAgent, gymOf: GymOf): void {
  const access = operation.access.public ? undefined : operation.access;
  // Public operations (probes, docs) ignore their query: monitoring tools add cache busters.
  const query = access ? compileQuery(operation.query ?? NO_PARAMETERS) : undefined;
  const params = operation.params ? compileQuery(operation.params) : undefined;
  const body = operation.body ? compileBody(operation.body, operation.bodyLimitBytes) : undefined;
  const upload = operation.upload;
  const gymSource = access?.gym;
  const settleGym = async (ctx: ApiContext, input: Input<Operation>): Promise<void> => {
    if (access?.gym === 'body') {
      const body = input.body as unknown as { gym?: string };
      const gym = resolveRequestedGym(ctx, body.gym);
      if (gym === undefined) throw invalidParameter('gym', 'is required');
      input.body = { ...body, gym } as unknown as Input<Operation>['body'];
    } else if (access?.gym === 'query') {
      const query: { gym?: string } = { ...input.query };
      const gym = resolveRequestedGym(ctx, query.gym);
      if (gym === undefined) delete query.gym;
      else query.gym = gym;
      input.query = query as Input<Operation>['query'];
    } else if (access?.gym === 'path') {
      const path = input.params as unknown as { gym: string };
      resolveRequestedGym(ctx, path.gym);
    } else if (access?.gym === 'agent') {
      const agent = (input.params as unknown as { id: string }).id;
      checkAgentGym(ctx, agent, await gymOfAgent(agent));
    } else if (access?.gym === 'self') {
      checkSelf(ctx);
    } else if (typeof gymSource === 'object') {
      const id = (input.params as unknown as { id: string }).id;
      ctx.state.gym = checkResourceGym(ctx, `${gymSource.resource.replaceAll('_', ' ')} with id ${id}`, await gymOf(gymSource.resource, id));
    }
  };
  router[operation.method ?? 'get'](operation.operationId, operation.path, async (ctx) => {
    let raw = ctx.query;
    if (access?.tokenInQuery && 'access_token' in raw) {
      raw = { ...raw };
      delete raw['access_token'];
    }
    const input = {
      query: query ? query.parse(raw) : {},
      params: params ? params.parse(ctx.params) : {},
      body: {},
      upload: undefined,
    } as Input<Operation>;
    // The gym is settled before a body is read, except where the body names it: a caller with no access to the
    // gym learns so without the hub reading (up to 10 MiB of) what it sent.
    if (access?.gym !== 'body') await settleGym(ctx, input);
    if (body) input.body = (await body.parse(ctx)) as Input<Operation>['body'];
    if (upload) input.upload = (await readUpload(ctx, upload)) as unknown as Input<Operation>['upload'];
    if (access?.gym === 'body') await settleGym(ctx, input);
    await handler(ctx, input);
  });
}

function ownUnsyncedTally(deps: ApiDeps, log: Logger): UnsyncedTally {
  const tally = new UnsyncedTally({ store: deps.store, log });
  tally.register(deps.metrics);
  void tally.refresh();
  return tally;
}

export function createApi(deps: ApiDeps): Koa<ApiState> {
  const now = deps.now ?? Date.now;
  const log = deps.log.child({ ns: 'api' });
  const readyTimeoutMs = deps.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
  const operations: Readonly<Record<OperationName, Operation>> = OPERATIONS;
  const operationByRoute = new Map(Object.values(operations).map((o) => [`${(o.method ?? 'get').toUpperCase()} ${o.path}`, o]));
  const operationOf = (path: string, methods: readonly string[]): Operation | undefined => {
    for (const method of methods) {
      const operation = operationByRoute.get(`${method} ${path}`);
      if (operation) return operation;
    }
    return undefined;
  };

  const authenticate = accessGate({ verifier: deps.verifier, log });
  const gymOfAgent: GymOfAgent = async (agent) => (await deps.registry.get(agent))?.gym ?? (await deps.store.listUnsynced({ agent }))[0]?.gym;
  const liveStreams = new LiveStreams({ bus: deps.live, log, metrics: deps.metrics, shutdown: deps.shutdown, ...deps.liveStreams });
  const tally = deps.unsynced ?? ownUnsyncedTally(deps, log);
  const agents = agentsRoutes({ registry: deps.registry, unsyncedOf: (agent) => tally.of(agent) });
  const agentAdmin = agentAdminRoutes({
    registry: deps.registry,
    log,
    disconnectAgent: deps.disconnectAgent ?? (async () => {}),
    enrollmentInfo: deps.enrollmentInfo,
    onSecurityEvent: deps.onSecurityEvent,
    brokerAccounts: deps.brokerAccounts,
    now,
  });
  const readings = readingsRoutes({ store: deps.store, now });
  const unsynced = unsyncedRoutes({ store: deps.store, registry: deps.registry, tally, acceptsReadingTime: deps.acceptsReadingTime ?? (() => true), log });
  const openApi = buildOpenApiDocument(operations, {
    title: 'Pulsebridge hub API',
    version: deps.version ?? '1',
    description: 'Edge agents, stored readings and live readings of a Pulsebridge hub.',
  });
  const openApiText = JSON.stringify(openApi);
  const docsPage = renderDocsPage(openApi);
  const audit = auditRoutes(deps.identity);
  const invites = inviteRoutes({
    identity: deps.identity,
    mailer: deps.mailer,
    publicBaseUrl: deps.publicBaseUrl,
    ttlMs: deps.inviteTtlMs ?? DEFAULT_INVITE_TTL_MS,
    now,
    log,
  });
  const deepLinkFiles = {
    android: deps.deepLinks ? assetLinks(deps.deepLinks) : undefined,
    apple: deps.deepLinks ? appleAppSiteAssociation(deps.deepLinks) : undefined,
  };
  const serveDeepLinks = (file: unknown, what: string) => async (ctx: ApiContext) => {
    if (file === undefined) throw new ApiError('not_found', `no ${what} app is configured (deepLinks)`);
    // Fetched by the phones' operating systems, which follow no redirect and cache it themselves.
    ctx.set('Cache-Control', 'public, max-age=3600');
    ctx.type = 'application/json';
    ctx.body = JSON.stringify(file);
  };

  const features: RouteModule<Record<string, Operation>>[] = [
    gymsRoutes(deps.domain),
    profileRoutes(deps.domain),
    equipmentRoutes(deps.domain),
    socialRoutes(deps.domain),
    trainingsRoutes(deps.domain),
    classesRoutes(deps.domain),
    pairingRoutes(deps.domain),
    photosRoutes(deps.domain),
    webhooksRoutes(deps.domain),
    runsRoutes(deps.domain),
    sessionFilesRoutes(deps.domain),
    sessionsRoutes(deps.domain),
    boardRoutes(deps.domain, { metrics: deps.metrics, ...(deps.shutdown ? { shutdown: deps.shutdown } : {}), ...deps.board }),
    accountRoutes(deps.domain, { verifier: deps.verifier, ...(deps.mailer === undefined ? {} : { mailer: deps.mailer }) }),
  ] as unknown as RouteModule<Record<string, Operation>>[];
  const gymOf: GymOf = (kind, id) => gymOfResource(deps.domain.documents, kind, id);
  const featureHandlers = Object.assign({}, ...features.map((feature) => feature.handlers)) as Pick<Handlers, FeatureOperationName>;

  const handlers: Handlers = {
    ...featureHandlers,
    healthz: async (ctx) => {
      ctx.body = { status: 'ok' };
    },
    readyz: async (ctx) => {
      let result: { ok: boolean; checks: Record<string, string> };
      try {
        result = await withTimeout(deps.ready(), readyTimeoutMs, 'the readiness checks');
      } catch (error) {
        result = { ok: false, checks: { readiness: errorMessage(error) } };
      }
      ctx.status = result.ok ? 200 : 503;
      ctx.body = { status: result.ok ? 'ready' : 'not_ready', checks: result.checks };
    },
    metrics: async (ctx) => {
      const text = await deps.metrics.metrics();
      ctx.type = deps.metrics.contentType;
      ctx.body = text;
    },
    listAgents: agents.listAgents,
    getAgent: agents.getAgent,
    createAgent: agentAdmin.createAgent,
    issueEnrollment: agentAdmin.issueEnrollment,
    disableAgent: agentAdmin.disableAgent,
    enableAgent: agentAdmin.enableAgent,
    rotateAgent: agentAdmin.rotateAgent,
    removeAgent: agentAdmin.removeAgent,
    enroll: agentAdmin.enroll,
    listSeries: readings.listSeries,
    readings: readings.readings,
    rollups: readings.rollups,
    listUnsynced: unsynced.listUnsynced,
    readUnsynced: unsynced.readUnsynced,
    correctUnsynced: unsynced.correctUnsynced,
    discardUnsynced: unsynced.discardUnsynced,
    live: async (ctx, input) => {
      const filter: LiveFilter = { ...input.query };
      await liveStreams.serve(ctx, filter);
    },
    listAudit: audit.listAudit,
    createInvite: invites.createInvite,
    assetLinks: serveDeepLinks(deepLinkFiles.android, 'Android'),
    appleAppSiteAssociation: serveDeepLinks(deepLinkFiles.apple, 'Apple'),
    openapi: async (ctx) => {
      ctx.type = 'application/json';
      ctx.body = openApiText;
    },
    docs: async (ctx) => {
      ctx.type = 'text/html; charset=utf-8';
      ctx.body = docsPage;
    },
  };

  // Strict and case-sensitive: one spelling per route, so what the auth gate matched is what the router runs.
  const router = new Router<ApiState>({ strict: true, sensitive: true });
  for (const name of Object.keys(operations) as OperationName[]) {
    // Each handler is typed against its own operation in `Handlers`; the loop only loses that correlation.
    mount(router, operations[name], handlers[name] as unknown as Handler<Operation>, gymOfAgent, gymOf);
  }

  const app = new Koa<ApiState>();
  // Errors are logged by problemResponses with their request id; Koa's own stderr printing would duplicate them.
  app.silent = true;
  app.on('error', (error: unknown) => log.warn({ err: error }, 'error after the response started'));
  app.use(requestTracking({ log, metrics: deps.metrics, untimedRoutes: new Set([OPERATIONS.live.path, OPERATIONS.streamClassBoard.path]) }));
  // Inside request tracking, so that preflights are counted and carry a request id; outside everything else,
  // so that problem responses carry the headers too.
  app.use(httpHardening({ cors: deps.cors ?? { origins: [] }, styleHashes: inlineStyleHashes(docsPage) }));
  app.use(problemResponses(log));
  app.use(async (ctx, next) => {
    // Resolved here, before auth, so that refused requests are still counted under their route.
    const layer = router.match(ctx.path, ctx.method).pathAndMethod.find((l) => operationOf(String(l.path), l.methods) !== undefined);
    const operation = layer ? operationOf(String(layer.path), layer.methods) : undefined;
    if (operation) {
      ctx.state.operation = operation;
      ctx.state.route = operation.path;
    }
    // What the router would not serve still needs credentials under /api, so unknown paths reveal nothing.
    const needsAuth = operation ? !operation.access.public : ctx.path.toLowerCase().startsWith('/api');
    if (needsAuth) {
      // Readings and agent state are private and change by the second: no shared or browser cache keeps them.
      ctx.set('Cache-Control', 'no-store');
      await authenticate(ctx, operation && !operation.access.public ? operation.access : undefined);
    }
    await next();
  });
  if (deps.throttle !== undefined) {
    // The enrollment code is the only credential of POST /enroll: guessing is bounded per address.
    const byAddress = throttleByAddress({ throttle: deps.throttle });
    app.use((ctx, next) => (ctx.state.operation === OPERATIONS.enroll ? byAddress(ctx, next) : next()));
  }
  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}
