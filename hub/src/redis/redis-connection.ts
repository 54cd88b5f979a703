/**
 * The one Redis connection of a hub replica: a client for commands (cache, sign-in counters, live publishes)
 * and, made on demand, a second one in subscriber mode for the live bus (a subscribed Redis connection takes
 * no other commands). Both are made in `connect()` below, the one place an ioredis client is constructed, so
 * that instrumentation (OpenTelemetry's ioredis spans) sees every command.
 *
 * A lost connection is retried forever with the runtime's backoff; losses and reconnects are counted for the
 * metrics and the state shows in readiness. Callers that must not wait for a reconnect (the cache, live
 * publishes, the throttle) check `available` first and fall back, instead of queueing behind a dead socket.
 */
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { Backoff, errorMessage, registerScraped, resolveSecret, withTimeout } from '@pulsebridge/runtime';
import { redisNeeded, type RedisConfig, type RedisUsers } from './config.ts';

export interface RedisConnectionOptions {
  url: string;
  /** Put before every key and channel name (config `redis.keyPrefix`). */
  keyPrefix: string;
  log: Logger;
  /** How long `open` waits for the first connection before the hub's start fails. */
  connectTimeoutMs?: number;
  /** A command without an answer for this long fails, so a hung server cannot hold a request. */
  commandTimeoutMs?: number;
  /** Retry delays after a lost connection. */
  reconnect?: { initialMs: number; maxMs: number };
}

const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
const DEFAULT_COMMAND_TIMEOUT_MS = 2_000;
const DEFAULT_RECONNECT = { initialMs: 100, maxMs: 5_000 };

type Role = 'commands' | 'subscriber';

interface Watched {
  client: Redis;
  /** Connections that were ready and went down. */
  losses: number;
  /** Connections made again after a loss. */
  reconnects: number;
  up: boolean;
}

/** `*`, `?`, `[`, `]` and `\` escaped, so a key prefix matches itself in SCAN MATCH and PSUBSCRIBE patterns. */
export function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

export class RedisConnection {
  readonly keyPrefix: string;
  private readonly log: Logger;
  private readonly options: Required<Pick<RedisConnectionOptions, 'commandTimeoutMs' | 'reconnect'>> & { url: string };
  private readonly watched = new Map<Role, Watched>();
  private closed = false;

  private constructor(options: RedisConnectionOptions) {
    this.keyPrefix = options.keyPrefix;
    this.log = options.log.child({ component: 'redis' });
    this.options = {
      url: options.url,
      commandTimeoutMs: options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
      reconnect: options.reconnect ?? DEFAULT_RECONNECT,
    };
  }

  /** Connects the command client; fails (and closes) when Redis does not answer within the connect timeout. */
  static async open(options: RedisConnectionOptions): Promise<RedisConnection> {
    const connection = new RedisConnection(options);
    const client = connection.connect('commands');
    try {
      await withTimeout(client.connect(), options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS, 'Redis to answer');
    } catch (error) {
      await connection.close();
      throw error;
    }
    return connection;
  }

  /**
   * The hub's connection when a section chose Redis (`users`: see config.ts redisUsers), with its metrics
   * registered; undefined otherwise. The config check has required and tried the URL.
   */
  static async fromConfig(config: RedisConfig, users: RedisUsers, deps: { env: NodeJS.ProcessEnv; log: Logger; metrics: Registry }): Promise<RedisConnection | undefined> {
    if (!redisNeeded(users) || config.url === undefined) return undefined;
    const connection = await RedisConnection.open({ url: resolveSecret(config.url, deps.env), keyPrefix: config.keyPrefix, log: deps.log });
    connection.register(deps.metrics);
    return connection;
  }

  /** For commands. Holds commands while reconnecting (briefly: see `available`). */
  get commands(): Redis {
    const watched = this.watched.get('commands');
    if (!watched) throw new Error('the Redis connection is closed');
    return watched.client;
  }

  /** The subscriber-mode client, connected on first use; it subscribes again by itself after a reconnect. */
  get subscriber(): Redis {
    const existing = this.watched.get('subscriber');
    if (existing) return existing.client;
    if (this.closed) throw new Error('the Redis connection is closed');
    const client = this.connect('subscriber');
    client.connect().catch(() => {
      // Retried by the client itself; the error is logged by the watcher.
    });
    return client;
  }

  /** Whether the command client can answer now, rather than queue until a reconnect. */
  get available(): boolean {
    return this.watched.get('commands')?.client.status === 'ready';
  }

  /** 'ok', or what is wrong, for the hub's readiness. */
  readiness(): string {
    if (this.closed) return 'closed';
    const down = [...this.watched.entries()].filter(([, w]) => w.client.status !== 'ready').map(([role, w]) => `${role} connection ${w.client.status}`);
    return down.length === 0 ? 'ok' : down.join('; ');
  }

  /** Connection state and losses, per connection (commands, subscriber). */
  register(metrics: Registry): void {
    const per = (read: (w: Watched) => number) => () => Object.fromEntries([...this.watched.entries()].map(([role, w]) => [role, read(w)]));
    registerScraped(metrics, [
      { name: 'pb_hub_redis_connected', help: 'Whether the Redis connection is up (1) or down (0)', kind: 'gauge', label: 'connection', read: per((w) => (w.up ? 1 : 0)) },
      { name: 'pb_hub_redis_connection_losses_total', help: 'Redis connections that were up and were lost', kind: 'counter', label: 'connection', read: per((w) => w.losses) },
      { name: 'pb_hub_redis_reconnects_total', help: 'Redis connections made again after a loss', kind: 'counter', label: 'connection', read: per((w) => w.reconnects) },
    ]);
  }

  async close(): Promise<void> {
    this.closed = true;
    const clients = [...this.watched.values()].map((w) => w.client);
    this.watched.clear();
    await Promise.all(
      clients.map(async (client) => {
        // QUIT lets queued commands finish; a client that never connected has nothing to finish.
        if (client.status === 'ready') await withTimeout(client.quit(), this.options.commandTimeoutMs, 'Redis to close').catch(() => client.disconnect());
        else client.disconnect();
      }),
    );
  }

  /** The one place a Redis client is made. */
  private connect(role: Role): Redis {
    const backoff = new Backoff(this.options.reconnect);
    const options: RedisOptions = {
      lazyConnect: true,
      connectionName: `pulsebridge-hub-${role}`,
      commandTimeout: this.options.commandTimeoutMs,
      retryStrategy: () => backoff.next(),
      // Commands queued during an outage fail after two reconnect attempts instead of piling up; a subscription
      // is only a registration, so it waits for the connection however long that takes.
      maxRetriesPerRequest: role === 'subscriber' ? null : 2,
      // ioredis writes a SUBSCRIBE made while the connection is being set up (Redis flags SUBSCRIBE `loading`) ahead
      // of its ready check's INFO, which Redis then refuses in subscriber mode: the check fails and the connection
      // drops (seen in the live bus tests). The check only waits out a Redis loading its dataset, which pub/sub
      // does not need.
      enableReadyCheck: role !== 'subscriber',
    };
    const client = new Redis(this.options.url, options);
    const watched: Watched = { client, losses: 0, reconnects: 0, up: false };
    let everUp = false;
    let complainedAt = 0;
    client.on('ready', () => {
      if (everUp) {
        watched.reconnects++;
        this.log.info({ connection: role, attempts: backoff.attempts }, 'Redis connection made again');
      }
      everUp = true;
      watched.up = true;
      complainedAt = 0;
      backoff.reset();
    });
    client.on('close', () => {
      if (!watched.up) return;
      watched.up = false;
      watched.losses++;
      if (!this.closed) this.log.warn({ connection: role }, 'Redis connection lost; reconnecting');
    });
    client.on('error', (err: unknown) => {
      // Every failed attempt emits an error; one line per outage and then one a minute is enough.
      const now = Date.now();
      if (now - complainedAt < 60_000) return;
      complainedAt = now;
      this.log.warn({ connection: role, err: errorMessage(err) }, 'Redis connection error');
    });
    this.watched.set(role, watched);
    return client;
  }
}
