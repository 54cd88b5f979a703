/**
 * The hub's own MQTT broker (aedes, MQTT 3.1.1), over TCP (optionally TLS) and over WebSocket on the hub's
 * HTTP server. Every client is an agent: it authenticates with its id and secret, and the hooks confine it to
 * its own topics (agent-acl.ts). Agent messages reach the hub through the `published` hook, which knows the
 * authenticated client, so the identity handed to ingest is never taken from the topic.
 */
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { EventEmitter } from 'node:events';
import { Aedes, type AedesOptions, type AuthenticateError, type Client } from 'aedes';
import { Value } from '@sinclair/typebox/value';
import { WebSocketServer, createWebSocketStream, type WebSocket } from 'ws';
import type { Registry } from 'prom-client';
import type { Logger } from 'pino';
import { MESSAGE_KINDS, Topics, isAgentId } from '@pulsebridge/protocol';
import { LabelledCounts, LogRepeats, errorMessage, registerScraped, settlesWithin } from '@pulsebridge/runtime';
import type { AgentRegistry } from '../registry/agent-registry.ts';
import type { AgentMessageHandler, AgentPresenceHandler, HubPublishKind, HubTransport, PresenceSource, TransportAddress } from './transport.ts';
import { TransportCounts } from './transport-counts.ts';
import { clientIdMatches, isAgentToHubKind, maySubscribe, publishableKind } from './agent-acl.ts';
import { PacketSizeGuard, type GuardRejection } from './packet-size-guard.ts';
import { TransportError } from './transport-error.ts';
import { LoginThrottleSection } from './config.ts';
import { LoginThrottle, addressKey, type LoginAttempt, type ThrottledBy } from './login-throttle.ts';

/** CONNACK return codes (MQTT 3.1.1, 3.2.2.3). aedes declares them as an ambient const enum, unusable here. */
const CONNACK = { IDENTIFIER_REJECTED: 2, SERVER_UNAVAILABLE: 3, BAD_USERNAME_OR_PASSWORD: 4, NOT_AUTHORIZED: 5 } as const;

export const DEFAULT_MAX_PACKET_BYTES = 1024 * 1024;

export interface EmbeddedBrokerTls {
  cert: string | Buffer;
  key: string | Buffer;
}

export interface EmbeddedBrokerOptions {
  registry: AgentRegistry;
  log: Logger;
  metrics: Registry;
  topicRoot?: string;
  /** The TCP listener; null for WebSocket only. Port 0 picks a free port (see address()). */
  listen: { host: string; port: number } | null;
  /** Serve MQTT over TLS on the TCP listener instead of plain TCP. */
  tls?: EmbeddedBrokerTls | undefined;
  /** Accept MQTT over WebSocket on the HTTP server (see handleUpgrade); default true. */
  websocket?: boolean;
  /** HTTP path that carries MQTT over WebSocket. */
  websocketPath?: string;
  /** Largest MQTT packet accepted, fixed header included; a client announcing a bigger one is disconnected. */
  maxPacketBytes?: number;
  /** How long a new connection may take to send CONNECT. */
  connectTimeoutMs?: number;
  /** How long stop() waits for connections to close before destroying them. */
  stopTimeoutMs?: number;
  /** aedes persistence (retained messages, sessions); aedes' in-memory one by default. */
  persistence?: unknown;
  /** Failed logins per address and agent id; the config defaults when left out. */
  loginThrottle?: LoginThrottleSection;
  /** The throttle's clock; for tests. */
  now?: () => number;
}

type Transport = 'tcp' | 'ws';

export class EmbeddedBroker implements HubTransport {
  readonly presenceSource: PresenceSource = 'connections';
  private readonly registry: AgentRegistry;
  private readonly log: Logger;
  /** Refusals a broken or hostile client repeats many times a second: logged once, then counted. */
  private readonly repeats: LogRepeats;
  private readonly topics: Topics;
  private readonly listenOn: { host: string; port: number } | null;
  private readonly tls: EmbeddedBrokerTls | undefined;
  private readonly websocket: boolean;
  private readonly websocketPath: string;
  private readonly maxPacketBytes: number;
  private readonly connectTimeoutMs: number;
  private readonly stopTimeoutMs: number;
  private readonly persistence: unknown;

  private broker: Aedes | undefined;
  private server: NetServer | undefined;
  private wss: WebSocketServer | undefined;
  private running = false;
  private acceptingConnections = false;
  private handler: AgentMessageHandler | undefined;
  private presenceHandler: AgentPresenceHandler | undefined;
  /** The agent each client authenticated as: the only source of identity for its messages. */
  private readonly identities = new WeakMap<Client, string>();
  /** Will topics seen in CONNECT, checked once the username is authenticated. */
  private readonly willTopics = new WeakMap<Client, string>();
  private readonly connected = new Set<Client>();
  /**
   * Open connections per agent: a reconnecting agent may open its new connection before the broker closes the
   * old one, and it stays online through that.
   */
  private readonly connectionsByAgent = new Map<string, number>();
  private readonly sockets = new Set<Duplex>();
  /**
   * Authentication attempts are numbered as they start; disconnectAgent records the number it saw, so that a
   * login whose secret was checked before the revocation but whose session opens after it is closed too.
   */
  private authAttempts = 0;
  private readonly authStarted = new WeakMap<Client, number>();
  private readonly revokedBefore = new Map<string, number>();
  private onSocketsClosed: (() => void) | undefined;

  private readonly counts = new TransportCounts();
  private readonly authFailures: Record<string, number> = {};
  private readonly denied: Record<string, number> = {};
  private readonly rejectedPackets = new LabelledCounts(['reason', 'transport']);
  private readonly loginThrottleSettings: LoginThrottleSection;
  private readonly loginThrottle: LoginThrottle;
  private readonly throttled: Record<ThrottledBy, number> = { address: 0, agent: 0 };
  /** The remote address of each accepted connection, as aedes hands the same stream back with the client. */
  private readonly remotes = new WeakMap<object, string>();

  constructor(options: EmbeddedBrokerOptions) {
    this.registry = options.registry;
    this.log = options.log.child({ ns: 'broker/embedded' });
    this.repeats = new LogRepeats(this.log);
    this.topics = new Topics(options.topicRoot ?? 'pb');
    this.listenOn = options.listen;
    this.tls = options.tls;
    this.websocketPath = options.websocketPath ?? '/mqtt';
    this.maxPacketBytes = options.maxPacketBytes ?? DEFAULT_MAX_PACKET_BYTES;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
    this.stopTimeoutMs = options.stopTimeoutMs ?? 5_000;
    this.websocket = options.websocket ?? true;
    this.persistence = options.persistence;
    this.loginThrottleSettings = options.loginThrottle ?? (Value.Default(LoginThrottleSection, {}) as LoginThrottleSection);
    this.loginThrottle = new LoginThrottle(this.loginThrottleSettings, options.now);
    this.counts.register(options.metrics);
    registerScraped(options.metrics, [
      { name: 'pb_hub_broker_auth_failures_total', help: 'MQTT connections refused at authentication, by reason', kind: 'counter', label: 'reason', read: () => this.authFailures },
      {
        name: 'pb_hub_mqtt_login_throttled_total',
        help: 'MQTT logins refused without checking the secret, as their address or agent id failed too often',
        kind: 'counter',
        label: 'by',
        read: () => this.throttled,
      },
      { name: 'pb_hub_broker_denied_total', help: 'Publishes, subscriptions and wills refused by the agent ACL', kind: 'counter', label: 'action', read: () => this.denied },
      { name: 'pb_hub_broker_connected_agents', help: 'Agents connected to the embedded broker', kind: 'gauge', read: () => this.connected.size },
      {
        name: 'pb_hub_broker_rejected_packets_total',
        help: 'Connections closed because a packet was oversized or its header malformed',
        kind: 'counter',
        label: ['reason', 'transport'],
        read: () => this.rejectedPackets.samples(),
      },
    ]);
  }

  onMessage(handler: AgentMessageHandler): void {
    this.handler = handler;
  }

  onPresence(handler: AgentPresenceHandler): void {
    this.presenceHandler = handler;
  }

  async start(): Promise<void> {
    if (this.running) return;
    const options: AedesOptions = {
      connectTimeout: this.connectTimeoutMs,
      // A stalled agent must not block delivery of acks to every other agent.
      drainTimeout: 30_000,
      ...(this.persistence === undefined ? {} : { persistence: this.persistence }),
      preConnect: (client, packet, callback) => {
        // MQTT 3.1.1 lets a clean-session client leave the id empty; it then gets its agent id, not a random one.
        if (!packet.clientId && packet.username) packet.clientId = packet.username;
        if (packet.will) this.willTopics.set(client, packet.will.topic);
        callback(null, true);
      },
      authenticate: (client, username, password, done) => this.authenticate(client, username, password, done),
      authorizePublish: (client, packet, callback) => {
        const agent = client ? this.identities.get(client) : undefined;
        // A null client is a will left behind by another broker instance: nobody vouches for it.
        const kind = agent === undefined ? undefined : publishableKind(this.topics, agent, packet.topic);
        if (agent === undefined || kind === undefined) {
          this.deny('publish');
          this.repeats.warn(`publish:${agent}`, { agent, clientId: client?.id, topic: packet.topic }, 'publish denied');
          callback(new Error(`not authorized to publish to ${packet.topic}`));
          return;
        }
        // A retained readings batch would sit in broker memory forever; only status and inventory are meant to be.
        if (packet.retain && !MESSAGE_KINDS[kind].retained) packet.retain = false;
        callback(null);
      },
      authorizeSubscribe: (client, subscription, callback) => {
        const agent = this.identities.get(client);
        if (agent !== undefined && maySubscribe(this.topics, agent, subscription.topic)) {
          callback(null, subscription);
          return;
        }
        this.deny('subscribe');
        this.repeats.warn(`subscribe:${agent}`, { agent, clientId: client.id, topic: subscription.topic }, 'subscription denied');
        // A null subscription answers SUBACK 0x80 and keeps the connection.
        callback(null, null);
      },
      published: (packet, client, done) => {
        done();
        if (client) this.deliver(client, packet.topic, packet.payload);
      },
    };
    this.broker = await Aedes.createBroker(options);
    // 'client' fires once the client is registered, before its CONNACK is written; 'clientReady' only after.
    this.broker.on('client', (client) => {
      const agent = this.identities.get(client);
      if (agent === undefined) return;
      if ((this.authStarted.get(client) ?? 0) <= (this.revokedBefore.get(agent) ?? 0)) {
        this.log.info({ agent }, 'agent disconnected: its credentials were revoked while it logged in');
        client.close();
        return;
      }
      this.connected.add(client);
      this.connectionsByAgent.set(agent, (this.connectionsByAgent.get(agent) ?? 0) + 1);
      this.presenceHandler?.(agent, true);
      this.log.info({ agent, remote: (client.conn as Partial<Socket>).remoteAddress }, 'agent connected');
    });
    this.broker.on('clientDisconnect', (client) => {
      if (!this.connected.delete(client)) return;
      const agent = this.identities.get(client);
      if (agent !== undefined) {
        const open = (this.connectionsByAgent.get(agent) ?? 1) - 1;
        if (open > 0) this.connectionsByAgent.set(agent, open);
        else this.connectionsByAgent.delete(agent);
        this.presenceHandler?.(agent, open > 0);
      }
      this.log.info({ agent }, 'agent disconnected');
    });
    this.broker.on('clientError', (client, err) => {
      this.log.debug({ agent: this.identities.get(client), clientId: client.id, err: err.message }, 'client error');
    });
    this.broker.on('connectionError', (client, err) => {
      this.log.debug({ clientId: client.id, err: err.message }, 'connection error before CONNECT completed');
    });
    // aedes emits 'error' for persistence failures, though its typings leave the event out.
    (this.broker as EventEmitter).on('error', (err: Error) => this.repeats.error(`broker:${err.message}`, { err }, 'broker error'));

    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: this.maxPacketBytes,
      perMessageDeflate: false,
      handleProtocols: (protocols) => (protocols.has('mqtt') ? 'mqtt' : protocols.has('mqttv3.1') ? 'mqttv3.1' : false),
    });
    this.running = true;
    this.acceptingConnections = true;

    if (this.listenOn) {
      const listenOn = this.listenOn;
      const server = this.tls
        ? createTlsServer({ cert: this.tls.cert, key: this.tls.key }, (socket) => this.accept(socket, 'tcp'))
        : createNetServer({ noDelay: true }, (socket) => this.accept(socket, 'tcp'));
      this.server = server;
      try {
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(listenOn.port, listenOn.host, () => {
            server.off('error', reject);
            resolve();
          });
        });
      } catch (err) {
        this.server = undefined;
        await this.stop();
        throw new TransportError('listen_failed', `MQTT listener on ${listenOn.host}:${listenOn.port}: ${errorMessage(err)}`, { cause: err });
      }
      server.on('error', (err) => this.log.error({ err }, 'MQTT listener error'));
      this.log.info({ address: this.address(), tls: Boolean(this.tls), maxPacketBytes: this.maxPacketBytes }, 'MQTT broker listening');
    }
  }

  readiness(): string {
    return this.running && this.acceptingConnections ? 'ok' : 'not accepting connections';
  }

  address(): TransportAddress | undefined {
    const address = this.server?.address() as AddressInfo | null | undefined;
    return address ? { host: address.address, port: address.port } : undefined;
  }

  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    if (!this.websocket) return false;
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    if (path !== this.websocketPath) return false;
    const wss = this.wss;
    if (!this.acceptingConnections || !wss) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return true;
    }
    wss.handleUpgrade(request, socket, head, (ws: WebSocket) => {
      const guard = this.accept(createWebSocketStream(ws), 'ws', request);
      // ws refuses a single frame above maxPayload before the guard sees it; count that connection once.
      ws.on('error', (err: Error & { code?: string }) => {
        if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' && guard && !guard.rejected) {
          this.countRejected({ reason: 'oversized', bytes: Number.NaN }, 'ws', request.socket.remoteAddress);
        }
      });
    });
    return true;
  }

  async publish(agent: string, kind: HubPublishKind, payload: Buffer): Promise<void> {
    const broker = this.broker;
    if (!this.running || !broker) throw new TransportError('not_running', `cannot send ${kind} to ${agent}: the embedded broker is not running`);
    if (!isAgentId(agent)) throw new TransportError('invalid_agent', `cannot send ${kind}: invalid agent id "${agent}"`);
    const topic = this.topics.of(agent, kind);
    await new Promise<void>((resolve, reject) => {
      broker.publish({ cmd: 'publish', topic, payload, qos: 1, retain: MESSAGE_KINDS[kind].retained, dup: false }, (err) => {
        if (err) reject(new TransportError('publish_failed', `${kind} to ${agent}: ${err.message}`, { cause: err }));
        else resolve();
      });
    });
    this.counts.hubPublish(kind);
  }

  async disconnectAgent(agent: string): Promise<void> {
    this.revokedBefore.set(agent, this.authAttempts);
    const clients = [...this.connected].filter((client) => this.identities.get(client) === agent);
    await Promise.all(clients.map((client) => new Promise<void>((resolve) => client.close(() => resolve()))));
    if (clients.length > 0) this.log.info({ agent, connections: clients.length }, 'agent disconnected: its credentials were revoked');
  }

  stopAccepting(): void {
    this.acceptingConnections = false;
    const server = this.server;
    if (server?.listening) server.close();
  }

  async stop(): Promise<void> {
    if (!this.broker && !this.server) return;
    this.running = false;
    const server = this.server;
    const broker = this.broker;
    const wss = this.wss;
    this.server = undefined;
    this.broker = undefined;
    this.wss = undefined;
    this.acceptingConnections = false;
    if (server?.listening) server.close();
    if (wss) {
      for (const ws of wss.clients) ws.terminate();
      wss.close();
    }
    // Closing the clients publishes the wills of agents that did not say goodbye, which ingest records.
    if (broker) await new Promise<void>((resolve) => broker.close(() => resolve()));
    const drained = await settlesWithin(this.socketsClosed(), this.stopTimeoutMs);
    this.onSocketsClosed = undefined;
    if (!drained) this.log.warn({ open: this.sockets.size }, `MQTT connections still open after ${this.stopTimeoutMs} ms of stopping; destroying them`);
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    this.connected.clear();
    this.repeats.flush();
    this.connectionsByAgent.clear();
    this.log.info('MQTT broker stopped');
  }

  private socketsClosed(): Promise<void> {
    if (this.sockets.size === 0) return Promise.resolve();
    return new Promise((resolve) => (this.onSocketsClosed = resolve));
  }

  private accept(stream: Duplex, transport: Transport, request?: IncomingMessage): PacketSizeGuard | undefined {
    const broker = this.broker;
    if (!this.acceptingConnections || !broker) {
      stream.destroy();
      return undefined;
    }
    this.sockets.add(stream);
    stream.once('close', () => {
      this.sockets.delete(stream);
      if (this.sockets.size === 0) this.onSocketsClosed?.();
    });
    stream.on('error', (err) => this.log.debug({ err: err.message, transport }, 'connection error'));
    const remote = (stream as Partial<Socket>).remoteAddress ?? request?.socket.remoteAddress;
    if (remote !== undefined) this.remotes.set(stream, remote);
    const guard = new PacketSizeGuard(stream, {
      maxPacketBytes: this.maxPacketBytes,
      onReject: (rejection) => this.countRejected(rejection, transport, remote),
    });
    broker.handle(stream, request);
    guard.watch();
    return guard;
  }

  private countRejected(rejection: GuardRejection, transport: Transport, remote: string | undefined): void {
    this.rejectedPackets.inc({ reason: rejection.reason, transport });
    this.repeats.warn(`packet:${rejection.reason}:${transport}`, { transport, remote, ...rejection, maxPacketBytes: this.maxPacketBytes }, 'connection closed: packet refused');
  }

  private authenticate(client: Client, username: string | undefined, password: Buffer | undefined, done: (error: AuthenticateError | null, success: boolean | null) => void): void {
    const refuse = (reason: string, returnCode: number, message: string): void => {
      this.authFailures[reason] = (this.authFailures[reason] ?? 0) + 1;
      // Keyed by reason only: a client guessing many usernames must not get a line per name.
      this.repeats.warn(`refused:${reason}`, { clientId: client.id, username, reason }, 'MQTT connection refused');
      done(Object.assign(new Error(message), { returnCode }) as AuthenticateError, null);
    };
    this.authStarted.set(client, ++this.authAttempts);
    if (!username || !password || password.length === 0) {
      refuse('missing_credentials', CONNACK.BAD_USERNAME_OR_PASSWORD, 'username and password are required');
      return;
    }
    if (!clientIdMatches(client.id, username)) {
      refuse('client_id_mismatch', CONNACK.IDENTIFIER_REJECTED, 'the client id must be the agent id');
      return;
    }
    const remote = this.remotes.get(client.conn);
    // A username that is no agent id costs no scrypt run; one key for all of them keeps the map's entries small.
    const attempt: LoginAttempt = { address: addressKey(remote), agent: isAgentId(username) ? username : '(not an agent id)' };
    const throttledBy = this.loginThrottle.admit(attempt);
    if (throttledBy !== undefined) {
      // Refused before scrypt runs; counted, and logged only where a block starts, so a guessing loop floods neither CPU nor log.
      this.throttled[throttledBy]++;
      this.authFailures['throttled'] = (this.authFailures['throttled'] ?? 0) + 1;
      this.log.debug({ clientId: client.id, username, remote, by: throttledBy }, 'MQTT login throttled');
      done(Object.assign(new Error('too many failed logins; try again later'), { returnCode: CONNACK.SERVER_UNAVAILABLE }) as AuthenticateError, null);
      return;
    }
    this.registry.authenticate(username, password.toString('utf8')).then(
      (agent) => {
        if (!agent) {
          for (const by of this.loginThrottle.failed(attempt)) {
            const key = by === 'address' ? attempt.address : attempt.agent;
            this.log.warn({ by, key, remote, blockMs: this.loginThrottleSettings.blockMs }, `MQTT logins for this ${by} refused unchecked for a while: too many failures`);
          }
          refuse('bad_credentials', CONNACK.BAD_USERNAME_OR_PASSWORD, 'unknown agent or wrong secret');
          return;
        }
        this.loginThrottle.succeeded(attempt);
        const willTopic = this.willTopics.get(client);
        if (willTopic !== undefined && publishableKind(this.topics, agent.id, willTopic) === undefined) {
          this.deny('will');
          refuse('will_denied', CONNACK.NOT_AUTHORIZED, `not authorized to leave a will on ${willTopic}`);
          return;
        }
        this.identities.set(client, agent.id);
        done(null, true);
      },
      (err: unknown) => {
        this.loginThrottle.abandoned(attempt);
        this.repeats.error('registry', { err, username }, 'agent registry failed during authentication');
        refuse('registry_error', CONNACK.SERVER_UNAVAILABLE, 'agent registry unavailable');
      },
    );
  }

  private deliver(client: Client, topic: string, payload: Buffer | string): void {
    const agent = this.identities.get(client);
    if (agent === undefined) return;
    const parsed = this.topics.parse(topic);
    // authorizePublish already confined the agent to its own topics; this guards against a future hook change.
    if (!parsed || parsed.agent !== agent || !isAgentToHubKind(parsed.kind)) return;
    this.counts.message(parsed.kind);
    const handler = this.handler;
    if (!handler) return;
    try {
      handler({ agent, kind: parsed.kind, payload: typeof payload === 'string' ? Buffer.from(payload) : payload });
    } catch (err) {
      this.counts.handlerErrors++;
      this.repeats.error(`handler:${agent}:${parsed.kind}`, { err, agent, kind: parsed.kind }, 'agent message handler threw');
    }
  }

  private deny(action: 'publish' | 'subscribe' | 'will'): void {
    this.denied[action] = (this.denied[action] ?? 0) + 1;
  }
}
