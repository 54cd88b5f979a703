/**
 * In-test stand-ins for what ingest talks to: a transport that records what the hub publishes (the stores
 * are in ../memory-stores.ts), valid encoded batches, and a logger the test can read.
 */
import { Writable } from 'node:stream';
import { encodeBatch, type AckMessage, type CommandMessage, type MessageKind } from '@pulsebridge/protocol';
import { pino, type Logger } from 'pino';
import type { AgentMessageHandler, AgentPresenceHandler, HubTransport, PresenceSource, TransportAddress } from '../../src/broker/transport.ts';

interface Published {
  agent: string;
  kind: 'ack' | 'cmd';
  message: unknown;
}

export class FakeTransport implements HubTransport {
  /** Like the embedded broker unless a test sets 'status' (an external broker) before ingest is built. */
  presenceSource: PresenceSource = 'connections';
  private handler: AgentMessageHandler | undefined;
  private presenceHandler: AgentPresenceHandler | undefined;
  readonly published: Published[] = [];
  /** When set, publish() rejects with it. */
  publishError: Error | undefined;

  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  /** Agents disconnectAgent() was asked to disconnect, in order. */
  readonly disconnected: string[] = [];
  async disconnectAgent(agent: string): Promise<void> {
    this.disconnected.push(agent);
  }
  stopAccepting(): void {}
  readiness(): string {
    return 'ok';
  }
  address(): TransportAddress | undefined {
    return undefined;
  }
  handleUpgrade(): boolean {
    return false;
  }

  onMessage(handler: AgentMessageHandler): void {
    this.handler = handler;
  }

  onPresence(handler: AgentPresenceHandler): void {
    this.presenceHandler = handler;
  }

  /** What the broker tells the hub when `agent` connects or disconnects (`connected`: a connection is still open). */
  connectionChanged(agent: string, connected = true): void {
    this.presenceHandler?.(agent, connected);
  }

  async publish(agent: string, kind: 'ack' | 'cmd', payload: Buffer): Promise<void> {
    if (this.publishError) throw this.publishError;
    this.published.push({ agent, kind, message: JSON.parse(payload.toString('utf8')) });
  }

  /** What the broker would hand the hub after authenticating `agent`. */
  deliver(agent: string, kind: MessageKind, payload: Buffer): void {
    if (!this.handler) throw new Error('no handler installed: start ingest first');
    this.handler({ agent, kind, payload });
  }

  /** A valid readings batch from `spec.agent` (see makeBatch), delivered as the broker would. */
  deliverReadings(spec: BatchSpec): void {
    this.deliver(spec.agent, 'readings', makeBatch(spec));
  }

  acks(agent?: string): AckMessage[] {
    return this.published.filter((p) => p.kind === 'ack' && (agent === undefined || p.agent === agent)).map((p) => p.message as AckMessage);
  }

  commands(agent?: string): CommandMessage[] {
    return this.published.filter((p) => p.kind === 'cmd' && (agent === undefined || p.agent === agent)).map((p) => p.message as CommandMessage);
  }
}

export interface BatchSpec {
  agent: string;
  stream?: string;
  first: number;
  /** Number of readings, hence last = first + count - 1. */
  count: number;
  floor?: number;
  sensor?: string;
}

/** A valid encoded batch whose reading i has sequence first+i and a time derived from it, so resends collide. */
export function makeBatch(spec: BatchSpec): Buffer {
  const ts: number[] = [];
  const values: number[] = [];
  for (let i = 0; i < spec.count; i++) {
    ts.push(1_700_000_000_000 + (spec.first + i) * 1000);
    values.push(60 + ((spec.first + i) % 120));
  }
  return encodeBatch({
    agent: spec.agent,
    stream: spec.stream ?? 's1',
    first: spec.first,
    last: spec.first + spec.count - 1,
    floor: spec.floor ?? 0,
    clockUnsynced: false,
    series: [{ sensor: spec.sensor ?? 'ble:hr-1', metric: 'heart_rate', ts, values }],
  });
}

/** A logger whose JSON lines the test can read. */
export function captureLogger(): { log: Logger; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk.toString('utf8'));
      callback();
    },
  });
  const log = pino({ level: 'info' }, sink);
  return {
    log,
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter((l) => l.length > 0)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}
