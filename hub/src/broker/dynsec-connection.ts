/**
 * The hub's own connection to an external Mosquitto as its dynamic security admin, and the agent accounts the API
 * keeps through it (mqtt.external.agentAccounts: dynamic-security). It goes to the agents' listener: with
 * per_listener_settings true, the plugin, and so `$CONTROL/dynamic-security/v1`, exists only there.
 *
 * The connection reconnects with backoff for as long as the hub runs. While it is down, account changes fail at
 * once (DynamicSecurityError 'dynsec_unavailable'): /enroll answers 503, and a disable or rotate is refused in the
 * hub's registry and logged as not reaching the broker.
 */
import mqtt, { type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { Topics } from '@pulsebridge/protocol';
import { Backoff, registerScraped, settlesWithin } from '@pulsebridge/runtime';
import { DynsecAccounts, type BrokerAccounts } from './broker-accounts.ts';
import { DynamicSecurity } from './dynamic-security.ts';
import { TransportError } from './transport-error.ts';

export interface DynsecConnectionOptions {
  /** The broker listener the plugin runs on (the agents' one). */
  url: string;
  username: string;
  password: string;
  ca?: Buffer | undefined;
  topicRoot: string;
  commandTimeoutMs: number;
  connectTimeoutMs: number;
  reconnectMinMs: number;
  reconnectMaxMs: number;
  log: Logger;
  metrics: Registry;
  random?: () => number;
}

/** CONNACK codes that mean the admin credentials are wrong (3.1.1: 4, 5; MQTT 5: 0x86, 0x87). */
const AUTH_REFUSALS = new Set([4, 5, 0x86, 0x87]);

export class DynsecConnection {
  readonly accounts: BrokerAccounts;
  private readonly client: MqttClient;
  private readonly log: Logger;
  private readonly backoff: Backoff;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private stopping = false;
  private firstAnswer: ((refusal?: Error) => void) | undefined;

  constructor(private readonly options: DynsecConnectionOptions) {
    this.log = options.log.child({ ns: 'broker/dynsec' });
    this.backoff = new Backoff({ initialMs: options.reconnectMinMs, maxMs: options.reconnectMaxMs, random: options.random });
    this.client = mqtt.connect(options.url, {
      username: options.username,
      password: options.password,
      // The agents' listener replaces it with the username anyway (use_username_as_clientid).
      clientId: options.username,
      protocolVersion: 5,
      clean: true,
      connectTimeout: options.connectTimeoutMs,
      // Reconnects are scheduled below, with backoff; mqtt.js would retry at a fixed period.
      reconnectPeriod: 0,
      // DynamicSecurity subscribes again after a reconnect.
      resubscribe: false,
      manualConnect: true,
      ...(options.ca ? { ca: options.ca } : {}),
    });
    this.accounts = new DynsecAccounts(new DynamicSecurity({ client: this.client, timeoutMs: options.commandTimeoutMs }), new Topics(options.topicRoot));
    this.client.on('connect', () => {
      this.backoff.reset();
      this.log.info({ url: options.url, username: options.username }, 'connected to the broker as its dynamic security admin');
      this.settleFirst();
    });
    this.client.on('error', (err: Error & { code?: number | string }) => {
      if (typeof err.code === 'number' && AUTH_REFUSALS.has(err.code)) {
        this.log.error({ url: options.url, username: options.username, code: err.code }, "the broker refused the hub's dynamic security admin credentials");
        this.settleFirst(
          new TransportError('auth_failed', `${options.url} refused the dynamic security admin ${options.username} (code ${err.code}): ${err.message}`, { cause: err }),
        );
        return;
      }
      this.log.warn({ url: options.url, err: err.message }, 'dynamic security connection error');
    });
    this.client.on('close', () => {
      if (this.stopping) return;
      this.log.warn({ url: options.url }, 'not connected to the dynamic security plugin; agent account changes fail until reconnected');
      this.scheduleReconnect();
    });
    registerScraped(options.metrics, [
      {
        name: 'pb_hub_dynsec_connected',
        help: "1 while connected to the external broker's dynamic security plugin, which keeps the agents' accounts",
        kind: 'gauge',
        read: () => (this.client.connected ? 1 : 0),
      },
    ]);
  }

  get connected(): boolean {
    return this.client.connected;
  }

  /**
   * Resolves once connected, or after connectTimeoutMs with the broker unreachable (reconnects go on in the
   * background). Rejects when the broker refuses the admin credentials: retrying would not fix the configuration.
   */
  async start(): Promise<void> {
    const first = new Promise<void>((resolve, reject) => (this.firstAnswer = (refusal) => (refusal ? reject(refusal) : resolve())));
    this.client.connect();
    try {
      if (!(await settlesWithin(first, this.options.connectTimeoutMs))) {
        this.firstAnswer = undefined;
        this.log.warn({ url: this.options.url }, 'the dynamic security plugin is not reachable yet; retrying in the background');
      }
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    await this.client.endAsync(true);
  }

  private settleFirst(refusal?: Error): void {
    const answer = this.firstAnswer;
    this.firstAnswer = undefined;
    answer?.(refusal);
  }

  private scheduleReconnect(): void {
    if (this.reconnectTimer) return;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (!this.stopping) this.client.reconnect();
    }, this.backoff.next());
  }
}
