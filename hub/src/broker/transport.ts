/**
 * How the hub exchanges messages with agents, whatever carries them: the embedded aedes broker
 * (broker/embedded-broker.ts) or an external MQTT broker the hub subscribes to (broker/external-broker.ts).
 * The hub sees only this interface: it never asks which kind it holds.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { MessageKind } from '@pulsebridge/protocol';

export interface AgentMessage {
  /** The agent the transport authenticated (embedded) or the broker's ACL vouches for (external). */
  agent: string;
  kind: MessageKind;
  payload: Buffer;
}

/** What the hub sends agents: acknowledgements, commands and the gym's retained allowlist. */
export type HubPublishKind = 'ack' | 'cmd' | 'pairing';

export type AgentMessageHandler = (message: AgentMessage) => void;

/** An agent's connection opened or closed; `connected` says whether the agent still has a connection open. */
export type AgentPresenceHandler = (agent: string, connected: boolean) => void;

/**
 * What says an agent is online: its connection to the transport ('connections': the embedded broker holds them
 * and reports them through onPresence), or only its retained status and last will ('status': an external broker).
 */
export type PresenceSource = 'connections' | 'status';

export interface TransportAddress {
  host: string;
  port: number;
}

export interface HubTransport {
  readonly presenceSource: PresenceSource;
  start(): Promise<void>;
  /** Disconnects everyone; bounded by the transport's own stop timeout. */
  stop(): Promise<void>;
  /** One handler; it must not throw. */
  onMessage(handler: AgentMessageHandler): void;
  /** One handler, told when an agent connects or disconnects; a transport that cannot know never calls it. */
  onPresence(handler: AgentPresenceHandler): void;
  /** Sends a hub-to-agent message with QoS 1, retained for the kinds the protocol retains (pairing). */
  publish(agent: string, kind: HubPublishKind, payload: Buffer): Promise<void>;
  /**
   * Takes no new work and keeps what is needed for the acks of what ingest drains before stop(): the embedded
   * broker refuses new agent connections and keeps the current ones; the external broker drops its shared
   * subscription (resolving once the broker confirmed), so the broker hands new batches to the other replicas.
   */
  stopAccepting(): void | Promise<void>;
  /**
   * Closes every connection of this agent now, after its credentials were revoked (disabled, rotated, removed),
   * so it cannot go on publishing on a session opened before. Its reconnects are refused by authentication.
   * Resolves once the connections are closed, or at once when the transport cannot close them (see its docs).
   */
  disconnectAgent(agent: string): Promise<void>;
  /** 'ok' when agent messages can flow, else why not: what readiness reports. */
  readiness(): string;
  /** The MQTT TCP listener agents connect to, once started; undefined when the hub has none. */
  address(): TransportAddress | undefined;
  /**
   * For the HTTP server's 'upgrade' event: takes requests for MQTT over WebSocket and returns true, leaves
   * every other request to the caller and returns false.
   */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): boolean;
}
