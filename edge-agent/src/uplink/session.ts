/**
 * The uplink's MQTT session: one connection to the broker at a time, with the agent's last will, TLS, the
 * MQTT 5 → 3.1.1 fallback and a jittered reconnect backoff. It knows nothing about batches or status; it
 * says when it is ready (connected and subscribed), when it went down, and what arrived.
 *
 * Every connection attempt uses a fresh mqtt.js client with its own reconnect disabled. That keeps mqtt.js
 * from replaying its own store of unacknowledged publishes on reconnect (the sender requeues them), and lets
 * the delay between attempts follow the backoff instead of mqtt.js's fixed period.
 */
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { ConnectionOptions } from 'node:tls';
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { Topics, type MessageKind } from '@pulsebridge/protocol';
import { Backoff, PulsebridgeError, errorMessage, withTimeout } from '@pulsebridge/runtime';
import type { ProtocolVersion, UplinkConfig, UplinkConnection } from './config.ts';
import { isCertificateRefusal, pinnedCaCheck } from './hub-certificate.ts';

export type UplinkState = 'idle' | 'connecting' | 'connected' | 'disconnected' | 'stopped';

/** A TLS file vanished between loading the configuration (which checked it) and starting. */
export class UplinkError extends PulsebridgeError<'tls_unreadable'> {}

export type SessionEvents = {
  /** Connected and subscribed: messages can be published and answers will arrive. */
  ready: [];
  /** The connection was lost (or never came up); a reconnect is scheduled. */
  down: [{ wasConnected: boolean }];
  /** A message for this agent on one of the subscribed topics. */
  message: [MessageKind, Buffer];
};

export type SessionOptions = Pick<UplinkConfig, 'reconnectMinMs' | 'reconnectMaxMs' | 'connectTimeoutMs' | 'keepaliveS'> & {
  agent: string;
  connection: UplinkConnection;
  /** What this agent subscribes to. */
  subscriptions: readonly MessageKind[];
  /** The retained status the broker publishes when the connection is lost without a goodbye. */
  will: Buffer;
  log: Logger;
  /** Wall clock, UTC ms, for `lastConnectedAt`. */
  now: () => number;
  random?: (() => number) | undefined;
};

// mqtt.js passes every option on to tls.connect for mqtts://, checkServerIdentity included, though its types omit it.
type TlsMaterial = Pick<IClientOptions, 'ca' | 'cert' | 'key' | 'rejectUnauthorized' | 'wsOptions'> & Pick<ConnectionOptions, 'checkServerIdentity'>;

/** A connection that stayed up this long resets the backoff; shorter ones are flapping and keep backing off. */
const STABLE_CONNECTION_MS = 10_000;
/** Versions the MQTT 5 "unsupported protocol version" refusal arrives as (0x84), or 1 from a 3.1.1 broker. */
const UNSUPPORTED_VERSION_CODES = new Set([1, 0x84]);

/**
 * The reconnect delays: the n-th is drawn anywhere between reconnectMinMs and a ceiling that doubles per
 * attempt up to reconnectMaxMs (full jitter), so a hub restart is not met by every gym's agent at once.
 */
export function reconnectBackoff(config: Pick<UplinkConfig, 'reconnectMinMs' | 'reconnectMaxMs'>, random?: () => number): Backoff {
  return new Backoff({ initialMs: config.reconnectMinMs, maxMs: config.reconnectMaxMs, jitter: 1, ...(random ? { random } : {}) });
}

export class MqttSession extends EventEmitter<SessionEvents> {
  private readonly options: SessionOptions;
  private readonly log: Logger;
  private readonly topics: Topics;
  private readonly backoff: Backoff;
  private tlsMaterial: TlsMaterial = {};
  private client: MqttClient | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private connectedAtMono = 0;
  /** Set when the broker refused MQTT 5: the next attempt, with 3.1.1, is not a failure to back off from. */
  private retryVersionNow = false;

  state: UplinkState = 'idle';
  protocolVersion: ProtocolVersion;
  connects = 0;
  lastConnectedAt: number | null = null;
  lastError: string | null = null;

  constructor(options: SessionOptions) {
    super();
    this.options = options;
    this.log = options.log;
    this.topics = new Topics(options.connection.topicRoot);
    // Validates the agent id early: every topic of this session is built from it.
    this.topics.of(options.agent, 'status');
    this.protocolVersion = options.connection.protocolVersion;
    this.backoff = reconnectBackoff(options, options.random);
  }

  get ready(): boolean {
    return this.state === 'connected' && this.client !== undefined;
  }

  /** Reads the TLS files and makes the first attempt. Throws UplinkError('tls_unreadable'). */
  start(): void {
    if (this.state !== 'idle') return;
    this.tlsMaterial = this.readTls();
    this.connect();
  }

  /**
   * Closes the connection. A connected session first publishes `goodbye` (retained, on the status topic),
   * because the last will only fires on an unexpected loss; each step gets half of `budgetMs`.
   */
  async stop(goodbye: Buffer, budgetMs: number): Promise<void> {
    if (this.state === 'stopped') return;
    const wasConnected = this.state === 'connected';
    this.state = 'stopped';
    clearTimeout(this.reconnectTimer);
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    if (!wasConnected) {
      client.end(true);
      return;
    }
    const published = await this.settled(
      client.publishAsync(this.topic('status'), goodbye, { qos: 1, retain: true }),
      budgetMs / 2,
      'the broker to acknowledge the offline status',
    );
    const ended = published && (await this.settled(client.endAsync(), budgetMs / 2, 'the MQTT connection to close'));
    if (!ended) client.end(true);
  }

  /** Publishes at QoS 1 while ready; `done` gets the local outcome (an error when the connection is closing). */
  publish(kind: MessageKind, payload: Buffer, retain: boolean, done?: (err: Error | undefined) => void): boolean {
    const client = this.client;
    if (!this.ready || !client) return false;
    client.publish(this.topic(kind), payload, { qos: 1, retain }, (err) => done?.(err));
    return true;
  }

  private topic(kind: MessageKind): string {
    return this.topics.of(this.options.agent, kind);
  }

  private readTls(): TlsMaterial {
    const tls = this.options.connection.tls;
    if (!tls) return {};
    const read = (what: string, path: string | undefined): Buffer | undefined => {
      if (path === undefined) return undefined;
      try {
        return readFileSync(path);
      } catch (err) {
        throw new UplinkError('tls_unreadable', `cannot read TLS ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? errorMessage(err)}`);
      }
    };
    const material: TlsMaterial = { rejectUnauthorized: tls.rejectUnauthorized };
    const ca = read('CA certificate', tls.ca);
    const cert = read('client certificate', tls.cert);
    const key = read('client key', tls.key);
    if (ca) material.ca = ca;
    if (cert) material.cert = cert;
    if (key) material.key = key;
    if (tls.caFingerprint !== undefined) {
      const check = pinnedCaCheck(tls.caFingerprint);
      material.checkServerIdentity = check;
      // mqtt.js hands only ca, cert, key and rejectUnauthorized on to the WebSocket, so wss:// needs the check in
      // wsOptions; ws passes it to tls.connect, which calls it with Node's signature (ws's type for it is older).
      material.wsOptions = { checkServerIdentity: check } as unknown as NonNullable<TlsMaterial['wsOptions']>;
    }
    return material;
  }

  private connect(): void {
    if (this.state === 'stopped') return;
    this.state = 'connecting';
    const { connection, agent } = this.options;
    const client = connect(connection.url, {
      protocolVersion: this.protocolVersion,
      // A stable id lets the broker drop a half-dead previous session of this agent when it reconnects.
      clientId: `pb-agent-${agent}`,
      username: agent,
      password: connection.password,
      clean: true,
      keepalive: this.options.keepaliveS,
      connectTimeout: this.options.connectTimeoutMs,
      reconnectPeriod: 0,
      will: { topic: this.topic('status'), payload: this.options.will, qos: 1, retain: true },
      ...this.tlsMaterial,
    });
    this.client = client;
    this.log.debug({ url: connection.url, protocolVersion: this.protocolVersion }, 'connecting');
    client.on('connect', () => this.guard('connect', () => this.onConnect(client)));
    client.on('message', (topic, payload) => this.guard('message', () => this.onMessage(topic, payload)));
    client.on('error', (err) => this.guard('error', () => this.onError(client, err)));
    client.on('close', () => this.guard('close', () => this.onClose(client)));
  }

  private onConnect(client: MqttClient): void {
    if (client !== this.client || this.state === 'stopped') return;
    const topics = this.options.subscriptions.map((kind) => this.topic(kind));
    client.subscribe(topics, { qos: 1 }, (err, granted) =>
      this.guard('subscribe', () => {
        if (client !== this.client || this.state === 'stopped') return;
        const refused = granted?.find((g) => g.qos >= 0x80);
        if (err || refused) {
          // Without the ack subscription every batch would time out and be resent forever.
          this.lastError = `subscription refused: ${err ? err.message : `${refused?.topic} (code ${refused?.qos})`}`;
          this.log.error({ err: this.lastError }, 'cannot subscribe to acknowledgements; reconnecting');
          client.end(true);
          return;
        }
        this.state = 'connected';
        this.connectedAtMono = performance.now();
        this.lastConnectedAt = Math.max(0, Math.round(this.options.now()));
        this.lastError = null;
        this.connects++;
        this.log.info({ url: this.options.connection.url, protocolVersion: this.protocolVersion }, 'connected to hub');
        this.emit('ready');
      }),
    );
  }

  private onMessage(topic: string, payload: Buffer): void {
    const parsed = this.topics.parse(topic);
    if (!parsed || parsed.agent !== this.options.agent) return;
    this.emit('message', parsed.kind, payload);
  }

  private onError(client: MqttClient, err: Error & { code?: unknown }): void {
    if (client !== this.client) return;
    this.lastError = err.message;
    if (this.protocolVersion === 5 && typeof err.code === 'number' && UNSUPPORTED_VERSION_CODES.has(err.code)) {
      this.log.warn('broker refuses MQTT 5; using MQTT 3.1.1');
      this.protocolVersion = 4;
      this.retryVersionNow = true;
      return;
    }
    if (isCertificateRefusal(err.code)) {
      // Retrying will not help: the agent's trust settings or the hub's certificate must change.
      this.lastError = `the hub's certificate is not trusted: ${err.message}`;
      this.log.error(
        { err: err.message, code: err.code, url: this.options.connection.url, ca: this.options.connection.tls?.ca, caFingerprint: this.options.connection.tls?.caFingerprint },
        "refused the hub's TLS certificate: check hub.tls.ca (and hub.tls.caFingerprint) against the CA that issued the hub's certificate",
      );
      return;
    }
    this.log.warn({ err: err.message, code: err.code }, 'MQTT connection error');
  }

  private onClose(client: MqttClient): void {
    if (client !== this.client) return;
    this.client = undefined;
    client.end(true);
    if (this.state === 'stopped') return;
    const wasConnected = this.state === 'connected';
    this.state = 'disconnected';
    if (wasConnected) {
      const upMs = performance.now() - this.connectedAtMono;
      if (upMs >= STABLE_CONNECTION_MS) this.backoff.reset();
      this.log.warn({ upMs: Math.round(upMs) }, 'disconnected from hub');
    }
    this.emit('down', { wasConnected });
    const delay = this.retryVersionNow ? 0 : this.backoff.next();
    this.retryVersionNow = false;
    this.log.info({ delayMs: delay, attempt: this.backoff.attempts, lastError: this.lastError }, 'reconnect scheduled');
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.guard('reconnect', () => this.connect());
    }, delay);
  }

  /** True when `promise` settled in time; a stop logs and moves on rather than hang or throw. */
  private async settled(promise: Promise<unknown>, ms: number, what: string): Promise<boolean> {
    try {
      await withTimeout(promise, ms, what);
      return true;
    } catch (err) {
      this.log.warn({ err: errorMessage(err) }, `stopping without waiting for ${what}`);
      return false;
    }
  }

  /** Event handlers must never throw into mqtt.js or timers: a bug in one message must not stop the agent. */
  private guard(where: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.log.error({ err, where }, 'uplink handler failed');
    }
  }
}
