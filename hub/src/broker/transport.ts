/**
 * How the hub exchanges messages with agents, whatever carries them: the embedded aedes broker
 * (broker/embedded-broker.ts) or an external MQTT broker the hub subscribes to (broker/external-broker.ts).
 */
import type { MessageKind } from '@pulsebridge/protocol';

export interface AgentMessage {
  /** The agent the transport authenticated (embedded) or the broker's ACL vouches for (external). */
  agent: string;
  kind: MessageKind;
  payload: Buffer;
}

export type AgentMessageHandler = (message: AgentMessage) => void;

export interface HubTransport {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** One handler; it must not throw. */
  onMessage(handler: AgentMessageHandler): void;
  /** Sends a hub-to-agent message (ack, cmd) with QoS 1. */
  publish(agent: string, kind: 'ack' | 'cmd', payload: Buffer): Promise<void>;
  /** Agents connected right now (embedded broker only; undefined when the hub cannot know). */
  connectedAgents(): number | undefined;
}
