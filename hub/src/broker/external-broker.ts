/**
 * HubTransport over an external MQTT broker (Mosquitto, EMQX): the hub is one client among the agents.
 *
 * Identity: the agent id is taken from the topic. That is safe only because the broker confines every agent
 * to its own topics (deploy/mosquitto/agents.acl); without such an ACL any agent could write as another.
 *
 * Several hub replicas subscribe with MQTT 5 shared subscriptions (`$share/<group>/...`), so each agent
 * message reaches one replica. The session is persistent (clean start off, session expiry), so the broker
 * queues QoS 1 messages while a replica reconnects. Reconnects follow a jittered exponential backoff.
 */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { MESSAGE_KINDS, Topics, isAgentId } from '@pulsebridge/protocol';
import { Backoff, LogRepeats, TimeoutError, errorMessage, registerScraped, settlesWithin, withTimeout } from '@pulsebridge/runtime';
import type { AgentMessageHandler, HubPublishKind, HubTransport, PresenceSource, TransportAddress } from './transport.ts';
import { TransportCounts } from './transport-counts.ts';
import { AGENT_TO_HUB_KINDS, isAgentToHubKind } from './agent-acl.ts';
import { TransportError } from './transport-error.ts';

export interface ExternalBrokerOptions {
  url: string;
  username?: string | undefined;
  password?: string | undefined;
  /** Stable per replica, so a reconnect resumes the same session. */
  clientId: string;
  topicRoot?: string;
  /** Subscribe through `$share/<shareGroup>/`; off for a broker without shared subscriptions (then every replica gets every message). */
  sharedSubscriptions?: boolean;
  shareGroup?: string;
  protocolVersion?: 4 | 5;
  /** MQTT 5: how long the broker keeps the session (and queues messages) after the hub disconnects. */
  sessionExpirySeconds?: number;
  keepaliveSeconds?: number;
  connectTimeoutMs?: number;
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  /** How long an ack or command waits for the broker's PUBACK. */
  publishTimeoutMs?: number;
  /** How long start() waits for a first connection before carrying on and retrying in the background. */
  startTimeoutMs?: number;
  /** How long stop() waits for in-flight publishes before closing the connection anyway. */
  stopTimeoutMs?: number;
  /** PEM of the CA that signed the broker's certificate (mqtts, wss). */
  ca?: string | Buffer | undefined;
  log: Logger;
  metrics: Registry;
  /** For tests of the backoff; Math.random otherwise. */
  random?: () => number;
}

/** CONNACK codes that mean the hub's own credentials are wrong (3.1.1: 4, 5; MQTT 5: 0x86, 0x87). */
const AUTH_REFUSALS = new Set([4, 5, 0x86, 0x87]);

interface FirstConnection {
  resolve: () => void;
  reject: (err: Error) => void;
}

export class ExternalBroker implements HubTransport {
  private readonly options: ExternalBrokerOptions;
  private readonly log: Logger;
  private readonly repeats: LogRepeats;
  private readonly topics: Topics;
  private readonly filters: string[];
  private readonly backoff: Backoff;
  private client: MqttClient | undefined;
  private handler: AgentMessageHandler | undefined;
  private stopping = false;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private first: FirstConnection | undefined;
  private isConnected = false;
  private subscribed = false;
  /** False once stopAccepting() has run: reconnects then leave the agent topics alone. */
  private accepting = true;

  private readonly counts = new TransportCounts();
  private invalidTopics = 0;
  private reconnects = 0;

  constructor(options: ExternalBrokerOptions) {
    this.options = options;
    this.log = options.log.child({ ns: 'broker/external' });
    this.repeats = new LogRepeats(this.log);
    this.topics = new Topics(options.topicRoot ?? 'pb');
    const shared = options.sharedSubscriptions ?? true;
    const group = shared ? (options.shareGroup ?? 'pulsebridge-hub') : undefined;
    this.filters = AGENT_TO_HUB_KINDS.map((kind) => this.topics.subscription(kind, group));
    // Jitter spreads the replicas (and their subscriptions) out after a broker restart.
    this.backoff = new Backoff({ initialMs: options.reconnectMinMs ?? 500, maxMs: options.reconnectMaxMs ?? 30_000, random: options.random });
    this.counts.register(options.metrics);
    registerScraped(options.metrics, [
      {
        name: 'pb_hub_broker_invalid_topic_total',
        help: 'Messages on topics that are not agent-to-hub topics of this protocol',
        kind: 'counter',
        read: () => this.invalidTopics,
      },
      { name: 'pb_hub_broker_reconnects_total', help: 'Connection attempts to the external broker after the first', kind: 'counter', read: () => this.reconnects },
      {
        name: 'pb_hub_broker_connected',
        help: '1 while connected to the external broker with every subscription granted',
        kind: 'gauge',
        read: () => (this.connected ? 1 : 0),
      },
    ]);
  }

  /** Connected, with every subscription granted. */
  private get connected(): boolean {
    return this.isConnected && this.subscribed;
  }

  readiness(): string {
    if (!this.accepting) return 'unsubscribed: stopping';
    return this.connected ? 'ok' : `not connected to ${this.options.url}`;
  }

  /** Agents connect to the external broker, not to the hub. */
  address(): TransportAddress | undefined {
    return undefined;
  }

  /** The external broker takes the agents' connections; the hub has none to refuse. */
  /**
   * The hub is only a client of an external broker and cannot close another client's connection itself: the
   * broker does when its own account for the agent is disabled or deleted, which the API does through
   * BrokerAccounts (broker-accounts.ts, Mosquitto's dynamic security) when the hub has one. Without it the agent
   * stays connected until its account leaves the broker's password file; logged, so that the operator knows.
   */
  async disconnectAgent(agent: string): Promise<void> {
    this.log.info({ agent }, "agent revoked: the external broker closes its connection when the broker's own account for it is disabled or removed");
  }

  /**
   * Unsubscribes from the agent topics, so that the broker gives each new batch to another member of the share
   * group instead of this replica, which is going away (a replica that merely dropped would keep being handed its
   * share for as long as its session lives: see docs/architecture.md, "Several hub replicas"). Resolves on the
   * broker's UNSUBACK: what it had sent before has arrived by then, since it sends in order on one connection.
   * Acks still go out; a reconnect does not subscribe again. Bounded by publishTimeoutMs.
   */
  async stopAccepting(): Promise<void> {
    this.accepting = false;
    const client = this.client;
    if (!client?.connected || !this.subscribed) return;
    this.subscribed = false;
    const timeoutMs = this.options.publishTimeoutMs ?? 10_000;
    try {
      await withTimeout(client.unsubscribeAsync(this.filters), timeoutMs, "the broker's UNSUBACK");
      this.log.info({ filters: this.filters }, 'unsubscribed from agent messages: new batches go to the other replicas');
    } catch (err) {
      this.log.warn({ err: errorMessage(err) }, 'could not unsubscribe before stopping; batches the broker still sends here are resent by their agents');
    }
  }

  handleUpgrade(): boolean {
    return false;
  }

  /** The external broker does not tell the hub when agents connect: their retained status and will do. */
  readonly presenceSource: PresenceSource = 'status';

  onPresence(): void {}

  onMessage(handler: AgentMessageHandler): void {
    this.handler = handler;
  }

  /**
   * Resolves once connected and subscribed, or after startTimeoutMs with the broker still unreachable (the
   * transport keeps retrying; readiness says so). Rejects when the broker refuses the hub's credentials or a
   * subscription: configuration errors that retrying will not fix.
   */
  async start(): Promise<void> {
    if (this.client) return;
    this.stopping = false;
    this.accepting = true;
    const o = this.options;
    const protocolVersion = o.protocolVersion ?? 5;
    const clientOptions: IClientOptions = {
      clientId: o.clientId,
      username: o.username,
      password: o.password,
      protocolVersion,
      clean: false,
      keepalive: o.keepaliveSeconds ?? 30,
      connectTimeout: o.connectTimeoutMs ?? 10_000,
      // Reconnects are scheduled here, with backoff; mqtt.js would retry at a fixed period.
      reconnectPeriod: 0,
      // Subscriptions are renewed on every connect below, whatever the broker kept.
      resubscribe: false,
      ...(protocolVersion === 5 ? { properties: { sessionExpiryInterval: o.sessionExpirySeconds ?? 3_600 } } : {}),
      ...(o.ca ? { ca: o.ca } : {}),
    };
    const client = mqtt.connect(o.url, clientOptions);
    this.client = client;
    client.on('connect', (connack) => this.onConnect(client, connack.sessionPresent));
    client.on('message', (topic, payload) => this.deliver(topic, payload));
    client.on('error', (err: Error & { code?: number | string }) => {
      if (typeof err.code === 'number' && AUTH_REFUSALS.has(err.code)) {
        const refused = new TransportError('auth_failed', `${o.url} refused the hub's credentials (code ${err.code}): ${err.message}`, { cause: err });
        this.log.error({ url: o.url, username: o.username, code: err.code }, 'the broker refused the hub credentials');
        this.settleFirst(refused);
        return;
      }
      this.log.warn({ url: o.url, err: err.message }, 'broker connection error');
    });
    client.on('close', () => {
      const was = this.isConnected;
      this.isConnected = false;
      this.subscribed = false;
      if (was) this.log.warn({ url: o.url }, 'disconnected from the broker');
      if (!this.stopping) this.scheduleReconnect();
    });

    const startTimeoutMs = o.startTimeoutMs ?? o.connectTimeoutMs ?? 10_000;
    const first = new Promise<void>((resolve, reject) => (this.first = { resolve, reject }));
    try {
      if (!(await settlesWithin(first, startTimeoutMs))) {
        this.first = undefined;
        this.log.warn({ url: o.url }, `not connected to the broker after ${startTimeoutMs} ms; starting anyway and retrying in the background`);
      }
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  async publish(agent: string, kind: HubPublishKind, payload: Buffer): Promise<void> {
    const client = this.client;
    if (!client || this.stopping) throw new TransportError('not_running', `cannot send ${kind} to ${agent}: not connected to an external broker`);
    if (!isAgentId(agent)) throw new TransportError('invalid_agent', `cannot send ${kind}: invalid agent id "${agent}"`);
    const topic = this.topics.of(agent, kind);
    const timeoutMs = this.options.publishTimeoutMs ?? 10_000;
    const acknowledged = new Promise<void>((resolve, reject) => {
      client.publish(topic, payload, { qos: 1, retain: MESSAGE_KINDS[kind].retained }, (err) => {
        if (err) reject(new TransportError('publish_failed', `${kind} to ${agent}: ${err.message}`, { cause: err }));
        else resolve();
      });
    });
    // mqtt.js queues the publish while disconnected and sends it after reconnecting; the timeout bounds the wait.
    await withTimeout(acknowledged, timeoutMs, `the broker's PUBACK of ${kind} to ${agent}`, {
      error: (timeout: TimeoutError) => new TransportError('timeout', timeout.message, { cause: timeout }),
    });
    this.counts.hubPublish(kind);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    this.settleFirst(new TransportError('not_running', 'stopped before the first connection'));
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    const stopTimeoutMs = this.options.stopTimeoutMs ?? 3_000;
    const clean = client.connected && (await settlesWithin(client.endAsync(false), stopTimeoutMs));
    if (!clean) await client.endAsync(true);
    this.isConnected = false;
    this.subscribed = false;
    this.repeats.flush();
    this.log.info('disconnected from the external broker');
  }

  private onConnect(client: MqttClient, sessionPresent: boolean): void {
    this.backoff.reset();
    this.isConnected = true;
    this.log.info({ url: this.options.url, clientId: this.options.clientId, sessionPresent }, 'connected to the broker');
    if (!this.accepting) return;
    client.subscribe(this.filters, { qos: 1 }, (err, granted) => {
      if (client !== this.client) return;
      if (!this.accepting) {
        // stopAccepting() ran while this subscription was on its way: take it back.
        client.unsubscribe(this.filters);
        return;
      }
      const refusedFilters = (granted ?? []).filter((g) => g.qos >= 128).map((g) => g.topic);
      if (err || refusedFilters.length > 0) {
        const refused = new TransportError(
          'subscribe_refused',
          `${this.options.url} refused ${refusedFilters.length > 0 ? refusedFilters.join(', ') : 'the subscriptions'}: check the broker ACL for the hub user` +
            ' and, with sharedSubscriptions on, that the broker supports $share',
          { cause: err ?? undefined },
        );
        this.log.error({ err: refused.message }, 'subscription refused');
        this.settleFirst(refused);
        return;
      }
      this.subscribed = true;
      this.log.info({ filters: this.filters }, 'subscribed to agent messages');
      this.settleFirst();
    });
  }

  private scheduleReconnect(): void {
    const client = this.client;
    if (!client || this.reconnectTimer) return;
    const delay = this.backoff.next();
    this.log.debug({ delayMs: delay, attempt: this.backoff.attempts }, 'reconnecting to the broker');
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (this.stopping || client !== this.client) return;
      this.reconnects++;
      // Keeping the stores keeps unacknowledged acks and commands, which mqtt.js sends again on reconnect.
      client.reconnect({ incomingStore: client.incomingStore, outgoingStore: client.outgoingStore });
    }, delay);
  }

  private settleFirst(err?: Error): void {
    const first = this.first;
    if (!first) return;
    this.first = undefined;
    if (err) first.reject(err);
    else first.resolve();
  }

  private deliver(topic: string, payload: Buffer): void {
    const parsed = this.topics.parse(topic);
    if (!parsed || !isAgentToHubKind(parsed.kind)) {
      this.invalidTopics++;
      this.log.debug({ topic }, 'message on an unexpected topic ignored');
      return;
    }
    this.counts.message(parsed.kind);
    const handler = this.handler;
    if (!handler) return;
    try {
      handler({ agent: parsed.agent, kind: parsed.kind, payload });
    } catch (err) {
      this.counts.handlerErrors++;
      this.repeats.error(`handler:${parsed.agent}:${parsed.kind}`, { err, agent: parsed.agent, kind: parsed.kind }, 'agent message handler threw');
    }
  }
}
