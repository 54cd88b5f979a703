/** What the readings write queue and the message handlers share: the registry, the counts, replies and logs. */
import { ProtocolError, decodeJsonMessage, encodeJsonMessage, type AckMessage, type CommandMessage, type JsonMessage, type NearbySensorReport } from '@pulsebridge/protocol';
import type { Logger } from 'pino';
import { endWithError, errorMessage, type LogRepeats, type Span } from '@pulsebridge/runtime';
import type { AgentMessage, HubTransport } from '../broker/transport.ts';
import type { AgentRegistry } from '../registry/agent-registry.ts';
import type { AgentPresence } from './agent-presence.ts';
import type { IngestCounts } from './ingest-counts.ts';
import type { Tasks } from './tasks.ts';

/** What ingest tells the pairing channel (pairing/allowlist-publisher.ts): agents coming online, and what they hear nearby. */
export interface PairingIngest {
  agentOnline(agent: string): Promise<void>;
  recordNearby(agent: string, sensors: readonly NearbySensorReport[]): Promise<void>;
}

export class IngestContext {
  constructor(
    readonly registry: AgentRegistry,
    readonly counts: IngestCounts,
    readonly log: Logger,
    /** Wall clock, UTC ms: status times, presence and the hub time sent to agents. */
    readonly now: () => number,
    private readonly transport: HubTransport,
    private readonly repeats: LogRepeats,
    private readonly tasks: Tasks,
    readonly presence: AgentPresence,
    readonly pairing: PairingIngest | undefined = undefined,
  ) {}

  /** `span`, when the hub traces, is the ack's publish: ended when the broker took the ack or failed to. */
  ack(agent: string, ack: AckMessage, span?: Span): void {
    span?.setAttribute('pulsebridge.ack.result', ack.result);
    this.send(agent, 'ack', encodeJsonMessage('ack', ack), span);
  }

  command(agent: string, command: CommandMessage): void {
    this.send(agent, 'cmd', encodeJsonMessage('cmd', command));
  }

  /** Warns at once the first time per agent and `what`, then once per interval with how often it repeated. */
  logLimited(agent: string, what: string, fields: Record<string, unknown>, message: string): void {
    this.repeats.warn(`${agent}\u0000${what}`, { agent, ...fields }, message);
  }

  /** Like logLimited, at error level: for failures that are the hub's own (a stack trace helps, once). */
  errorLimited(agent: string, what: string, fields: Record<string, unknown>, message: string): void {
    this.repeats.error(`${agent}\u0000${what}`, { agent, ...fields }, message);
  }

  /** Like logLimited, at info level, with the caller's own key. */
  infoLimited(key: string, fields: Record<string, unknown>, message: string): void {
    this.repeats.info(key, fields, message);
  }

  /** Writes the repeat counts not yet logged: at stop, so the last interval's are not lost. */
  flushLogs(): void {
    this.repeats.flush();
  }

  /**
   * Decodes a status, inventory, event or nearby message and counts it as ok; one that does not decode is counted by
   * its reason, logged, and comes back undefined.
   */
  decode<K extends 'status' | 'inventory' | 'events' | 'nearby'>(kind: K, { agent, payload }: AgentMessage): JsonMessage<K> | undefined {
    try {
      const message = decodeJsonMessage(kind, payload);
      this.counts.message(kind, 'ok');
      return message;
    } catch (err) {
      const reason = err instanceof ProtocolError ? err.code : 'decode_failure';
      this.counts.message(kind, reason);
      this.logLimited(agent, `${kind}:${reason}`, { kind, reason, detail: errorMessage(err) }, 'agent message refused');
      return undefined;
    }
  }

  private send(agent: string, kind: 'ack' | 'cmd', payload: Buffer, span?: Span): void {
    let sending: Promise<void>;
    try {
      sending = this.transport.publish(agent, kind, payload);
    } catch (err) {
      sending = Promise.reject(err);
    }
    // A lost ack costs a resend, which dedupe answers: log, do not retry.
    this.tasks.track(
      sending.then(
        () => span?.end(),
        (err: unknown) => {
          if (span) endWithError(span, err);
          this.logLimited(agent, `publish:${kind}`, { err, kind }, 'could not publish to the agent');
        },
      ),
    );
  }
}

/** One handler per kind of agent message, in the way aedes has one per packet type. */
export type MessageHandler = (context: IngestContext, message: AgentMessage) => Promise<void> | void;
