/**
 * Test doubles around the uplink: a real aedes broker on 127.0.0.1, a tiny hub that decodes batches and
 * acknowledges them by a policy, an in-memory outbox with the real Outbox's interface, and a clock.
 */
import net from 'node:net';
import type { TestContext } from 'node:test';
import { Value } from '@sinclair/typebox/value';
import { Registry } from 'prom-client';
import { Aedes } from 'aedes';
import { connect, type MqttClient } from 'mqtt';
import pino, { type Logger } from 'pino';
import { Topics, decodeBatch, encodeReadingSet, groupReadings, type AckMessage, type Reading, type ReadingBatch } from '@pulsebridge/protocol';
import { withTimeout } from '@pulsebridge/runtime';
import { Uplink, UplinkConfig, type UplinkClock, type UplinkOptions, type UplinkOutbox } from '../../src/uplink/uplink.ts';
import type { PlannableChunk } from '../../src/uplink/batch-planner.ts';

export const silentLog: Logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

/** An aedes broker that can be taken down and brought back on the same port. */
export class TestBroker {
  port = 0;
  broker: Aedes | undefined;
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  private readonly clients = new Map<string, { destroy(): void }>();
  /** Connection attempts seen, with the protocol version each asked for. */
  readonly connects: { at: number; protocolVersion: number; username?: string | undefined }[] = [];
  readonly published: { topic: string; payload: Buffer; retain: boolean }[] = [];
  private readonly password: string | undefined;
  /** Answers agents' SUBSCRIBE with a refusal (0x80), as a broker ACL might. */
  refuseAgentSubscriptions = false;

  constructor(options: { password?: string } = {}) {
    this.password = options.password;
  }

  async start(): Promise<void> {
    const broker = await Aedes.createBroker({
      preConnect: (_client, packet, callback) => {
        this.connects.push({ at: Date.now(), protocolVersion: packet.protocolVersion ?? 0, username: packet.username });
        callback(null, true);
      },
      authorizeSubscribe: (client, subscription, callback) => {
        callback(null, this.refuseAgentSubscriptions && client?.id.startsWith('pb-agent-') ? null : subscription);
      },
      authenticate: (_client, username, password, callback) => {
        if (this.password === undefined || username === 'hub' || password?.toString() === this.password) callback(null, true);
        else callback(Object.assign(new Error('bad user name or password'), { returnCode: 4 as const }), false);
      },
    });
    broker.on('clientReady', (client) => this.clients.set(client.id, client.conn));
    broker.on('clientDisconnect', (client) => {
      if (this.clients.get(client.id) === client.conn) this.clients.delete(client.id);
    });
    broker.on('publish', (packet, client) => {
      if (client) this.published.push({ topic: packet.topic, payload: Buffer.from(packet.payload), retain: packet.retain });
    });
    const server = net.createServer((socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      broker.handle(socket);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as net.AddressInfo).port;
    this.broker = broker;
    this.server = server;
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  /** Drops every connection without a DISCONNECT, as a crash or a cut cable would. */
  dropConnections(): void {
    for (const socket of this.sockets) socket.destroy();
  }

  /** Cuts one client's connection without a DISCONNECT, so the broker publishes its last will. */
  dropClient(clientId: string): boolean {
    const conn = this.clients.get(clientId);
    conn?.destroy();
    return conn !== undefined;
  }

  async stop(): Promise<void> {
    const server = this.server;
    const broker = this.broker;
    this.server = undefined;
    this.broker = undefined;
    this.dropConnections();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    if (broker) await new Promise<void>((resolve) => broker.close(() => resolve()));
  }

  /** The retained message on a topic, as a new subscriber gets it; fails when none arrives within 5 s. */
  async retained(topic: string): Promise<Buffer> {
    const client = connect(this.url, { username: 'hub', password: 'hub', reconnectPeriod: 0, protocolVersion: 4 });
    client.on('error', () => undefined);
    try {
      await new Promise<void>((resolve) => client.once('connect', () => resolve()));
      const message = new Promise<Buffer>((resolve) => {
        client.on('message', (t, payload, packet) => {
          if (t === topic && packet.retain) resolve(payload);
        });
      });
      await client.subscribeAsync(topic, { qos: 1 });
      return await withTimeout(message, 5_000, `a retained message on ${topic}`);
    } finally {
      await client.endAsync(true);
    }
  }
}

export type AckPolicy = (batch: ReadingBatch, index: number) => AckMessage['result'] | 'no-ack' | { result: 'rejected'; reason: string };

/** Subscribes to every agent's readings, decodes them and acknowledges according to a policy. */
export class FakeHub {
  readonly batches: ReadingBatch[] = [];
  readonly payloadBytes: number[] = [];
  readonly decodeErrors: string[] = [];
  readonly statuses: { agent: string; message: Record<string, unknown>; retain: boolean }[] = [];
  readonly inventories: { agent: string; message: Record<string, unknown> }[] = [];
  readonly events: { agent: string; message: Record<string, unknown> }[] = [];
  policy: AckPolicy = () => 'stored';
  ackDelayMs = 0;
  /** Answer every online status with a time command after this many ms, as the hub does; undefined: never. */
  timeAnswerDelayMs: number | undefined;
  /** The hub's clock for those answers. */
  hubNow: () => number = Date.now;
  readonly topics: Topics;
  private client: MqttClient | undefined;
  private readonly url: string;

  constructor(url: string, topicRoot = 'pb') {
    this.url = url;
    this.topics = new Topics(topicRoot);
  }

  async start(): Promise<void> {
    const client = connect(this.url, {
      clientId: `hub-${process.pid}-${Math.random().toString(16).slice(2)}`,
      username: 'hub',
      password: 'hub',
      reconnectPeriod: 100,
      protocolVersion: 4,
    });
    this.client = client;
    client.on('error', () => undefined);
    client.on('message', (topic, payload, packet) => this.onMessage(topic, payload, packet.retain));
    await new Promise<void>((resolve) => client.once('connect', () => resolve()));
    await client.subscribeAsync(
      [this.topics.subscription('readings'), this.topics.subscription('status'), this.topics.subscription('inventory'), this.topics.subscription('events')],
      { qos: 1 },
    );
  }

  get connected(): boolean {
    return this.client?.connected ?? false;
  }

  async send(agent: string, kind: 'ack' | 'cmd' | 'pairing', payload: Buffer | string): Promise<void> {
    await this.client!.publishAsync(this.topics.of(agent, kind), payload, { qos: 1 });
  }

  /** Every sequence number received, in arrival order (duplicates included). */
  sequences(): number[] {
    const out: number[] = [];
    for (const b of this.batches) for (let s = b.first; s <= b.last; s++) out.push(s);
    return out;
  }

  private onMessage(topic: string, payload: Buffer, retain: boolean): void {
    const parsed = this.topics.parse(topic);
    if (!parsed) return;
    if (parsed.kind === 'status') {
      const message = JSON.parse(payload.toString()) as Record<string, unknown>;
      this.statuses.push({ agent: parsed.agent, message, retain });
      if (this.timeAnswerDelayMs !== undefined && typeof message.mono === 'number') this.answerTime(parsed.agent, message.mono);
    }
    if (parsed.kind === 'inventory') this.inventories.push({ agent: parsed.agent, message: JSON.parse(payload.toString()) as Record<string, unknown> });
    if (parsed.kind === 'events') this.events.push({ agent: parsed.agent, message: JSON.parse(payload.toString()) as Record<string, unknown> });
    if (parsed.kind !== 'readings') return;
    let batch: ReadingBatch;
    try {
      batch = decodeBatch(payload);
    } catch (err) {
      this.decodeErrors.push((err as Error).message);
      return;
    }
    const index = this.batches.length;
    this.batches.push(batch);
    this.payloadBytes.push(payload.byteLength);
    const decision = this.policy(batch, index);
    if (decision === 'no-ack') return;
    const ack: AckMessage =
      typeof decision === 'string'
        ? { stream: batch.stream, first: batch.first, last: batch.last, result: decision }
        : { stream: batch.stream, first: batch.first, last: batch.last, result: 'rejected', reason: decision.reason };
    const send = (): void => void this.send(batch.agent, 'ack', JSON.stringify(ack)).catch(() => undefined);
    if (this.ackDelayMs > 0) setTimeout(send, this.ackDelayMs);
    else send();
  }

  private answerTime(agent: string, echo: number): void {
    const command = JSON.stringify({ type: 'time', hubTime: Math.floor(this.hubNow()), echo });
    setTimeout(() => void this.send(agent, 'cmd', command).catch(() => undefined), this.timeAnswerDelayMs);
  }

  async stop(): Promise<void> {
    await this.client?.endAsync(true);
  }
}

export class FakeClock implements UplinkClock {
  offset = 0;
  synced = false;
  readonly syncs: { hubTime: number; echoMono: number }[] = [];
  /** What applying a time answer does besides recording it, e.g. letting an outbox correct its chunks. */
  onSync: ((hubTime: number, echoMono: number) => void) | undefined;
  now(): number {
    return Date.now() + this.offset;
  }
  mono(): number {
    return performance.now();
  }
  syncFromHub(hubTime: number, echoMono: number): void {
    this.syncs.push({ hubTime, echoMono });
    this.onSync?.(hubTime, echoMono);
  }
}

interface StoredChunk extends PlannableChunk {
  readings: Reading[];
  /** The boot whose wall clock stamped the readings; absent: they are in true time already. */
  boot?: string;
}

export interface MemoryLoaded {
  series: ReturnType<typeof groupReadings>;
  clockUnsynced: boolean;
  boot?: string;
  chunks: PlannableChunk[];
}

/** The Outbox's interface over memory: chunks of readings with contiguous sequence numbers. */
export class MemoryOutbox implements UplinkOutbox {
  readonly stream = 's1';
  readonly chunks: StoredChunk[] = [];
  private nextSeq = 1;
  private nextId = 1;
  readonly dropped = { overflow: 0, expired: 0, rejected: 0, invalid: 0 };
  readonly rejections: { first: number; last: number; reason: string }[] = [];
  acknowledged = 0;
  /** boot → what to add to its chunks' stamps, once that boot's true time is known. */
  readonly corrections = new Map<string, number>();
  private readonly clock: { now(): number };

  constructor(clock: { now(): number }) {
    this.clock = clock;
  }

  /** A chunk of `count` heart-rate readings (one sensor per 4 readings, 4 Hz), committed `ageMs` ago. */
  addChunk(count: number, ageMs = 0, makeReading?: (i: number, seq: number) => Reading): StoredChunk {
    const first = this.nextSeq;
    const createdAt = this.clock.now() - ageMs;
    const readings: Reading[] = [];
    for (let i = 0; i < count; i++) {
      const seq = first + i;
      readings.push(makeReading ? makeReading(i, seq) : { sensor: `hr-${seq % 4}`, metric: 'heart_rate', ts: 1_700_000_000_000 + seq * 250, value: 100 + (seq % 40) });
    }
    this.nextSeq += count;
    let bytes: number;
    try {
      bytes = encodeReadingSet(groupReadings(readings)).byteLength;
    } catch {
      // Readings the codec refuses (tests of unencodable data): any plausible size will do.
      bytes = count * 8;
    }
    const chunk: StoredChunk = { id: this.nextId++, first, last: first + count - 1, createdAt, bytes, readings };
    this.chunks.push(chunk);
    return chunk;
  }

  /** Marks a chunk as stamped by `boot`'s wall clock: flagged until `corrections` knows that boot. */
  stampedBy(chunk: StoredChunk, boot: string): StoredChunk {
    chunk.boot = boot;
    return chunk;
  }

  private plannable(c: StoredChunk): PlannableChunk {
    const chunk: PlannableChunk = { id: c.id, first: c.first, last: c.last, createdAt: c.createdAt, bytes: c.bytes };
    if (c.boot !== undefined && !this.corrections.has(c.boot)) chunk.unsyncedBoot = c.boot;
    return chunk;
  }

  pending(limit: number, order: 'oldest' | 'newest', exclude?: ReadonlySet<number>): PlannableChunk[] {
    const list = this.chunks.filter((c) => !exclude?.has(c.id));
    if (order === 'newest') list.reverse();
    return list.slice(0, limit).map((c) => this.plannable(c));
  }

  /** Like the real outbox: corrected where the boot's time is known, and never mixing clock states. */
  load(ids: readonly number[]): MemoryLoaded {
    const wanted = new Set(ids);
    const loaded: StoredChunk[] = [];
    const chunks: PlannableChunk[] = [];
    for (const c of this.chunks) {
      if (!wanted.has(c.id)) continue;
      const chunk = this.plannable(c);
      if (chunks.length > 0 && chunk.unsyncedBoot !== chunks[0]!.unsyncedBoot) break;
      loaded.push(c);
      chunks.push(chunk);
    }
    const correct = (c: StoredChunk): Reading[] => {
      const by = c.boot === undefined ? 0 : (this.corrections.get(c.boot) ?? 0);
      return by === 0 ? c.readings : c.readings.map((r) => ({ ...r, ts: r.ts + by }));
    };
    const result: MemoryLoaded = { series: groupReadings(loaded.flatMap(correct)), clockUnsynced: false, chunks };
    const unsyncedBoot = chunks[0]?.unsyncedBoot;
    if (unsyncedBoot !== undefined) Object.assign(result, { clockUnsynced: true, boot: unsyncedBoot });
    return result;
  }

  floor(): number {
    return this.chunks[0]?.first ?? this.nextSeq;
  }

  private remove(first: number, last: number): number {
    let removed = 0;
    for (let i = this.chunks.length - 1; i >= 0; i--) {
      const c = this.chunks[i]!;
      if (c.first >= first && c.last <= last) {
        removed += c.readings.length;
        this.chunks.splice(i, 1);
      }
    }
    return removed;
  }

  acknowledge(first: number, last: number): number {
    const n = this.remove(first, last);
    this.acknowledged += n;
    return n;
  }

  reject(first: number, last: number, reason: string): number {
    this.rejections.push({ first, last, reason });
    const n = this.remove(first, last);
    this.dropped.rejected += n;
    return n;
  }

  stats(): { readings: number; bytes: number; oldestAgeMs: number; dropped: MemoryOutbox['dropped'] } {
    let readings = 0;
    let bytes = 0;
    for (const c of this.chunks) {
      readings += c.readings.length;
      bytes += c.bytes;
    }
    const oldest = this.chunks[0];
    return { readings, bytes, oldestAgeMs: oldest ? Math.max(0, this.clock.now() - oldest.createdAt) : 0, dropped: { ...this.dropped } };
  }
}

export const AGENT = 'gym-1';

export interface Rig {
  broker: TestBroker;
  hub: FakeHub;
  outbox: MemoryOutbox;
  clock: FakeClock;
  metrics: Registry;
  uplink: (overrides?: Partial<UplinkOptions>) => Uplink;
}

/** A broker, a fake hub on it, a fake clock and an in-memory outbox; uplinks made through it stop with the test. */
export async function rig(t: TestContext): Promise<Rig> {
  const broker = new TestBroker({ password: 'secret' });
  await broker.start();
  const hub = new FakeHub(broker.url);
  await hub.start();
  const clock = new FakeClock();
  const outbox = new MemoryOutbox(clock);
  const metrics = new Registry();
  const uplinks: Uplink[] = [];
  t.after(async () => {
    for (const u of uplinks) await u.stop();
    await hub.stop();
    await broker.stop();
  });
  return {
    broker,
    hub,
    outbox,
    clock,
    metrics,
    uplink: (overrides = {}) => {
      const uplink = new Uplink({
        ...(Value.Default(UplinkConfig, {}) as UplinkConfig),
        ackTimeoutMs: 2_000,
        reconnectMinMs: 100,
        reconnectMaxMs: 400,
        stopTimeoutMs: 1_000,
        inventoryDebounceMs: 50,
        agent: AGENT,
        connection: { url: broker.url, password: 'secret', topicRoot: 'pb', protocolVersion: 4 },
        version: '0.0.0-test',
        outbox,
        clock,
        log: silentLog,
        metrics,
        ...overrides,
      } as UplinkOptions);
      uplinks.push(uplink);
      return uplink;
    },
  };
}

/** A broker and a fake hub on it, both stopped when the test ends. */
export async function hubRig(t: TestContext): Promise<{ broker: TestBroker; hub: FakeHub }> {
  const broker = new TestBroker({ password: 'secret' });
  await broker.start();
  const hub = new FakeHub(broker.url);
  await hub.start();
  t.after(async () => {
    await hub.stop();
    await broker.stop();
  });
  return { broker, hub };
}
