/**
 * What an authenticated agent may do on the broker: write its own agent-to-hub topics, read its own ack and
 * cmd topics, nothing else. The embedded broker applies it in its hooks; deploy/mosquitto/acl expresses
 * the same rules for an external broker.
 */
import { MESSAGE_KINDS, type MessageKind, type Topics } from '@pulsebridge/protocol';

export type AgentToHubKind = { [K in MessageKind]: (typeof MESSAGE_KINDS)[K]['direction'] extends 'agent-to-hub' ? K : never }[MessageKind];
export type HubToAgentKind = Exclude<MessageKind, AgentToHubKind>;

export const AGENT_TO_HUB_KINDS = (Object.keys(MESSAGE_KINDS) as MessageKind[]).filter((kind): kind is AgentToHubKind => MESSAGE_KINDS[kind].direction === 'agent-to-hub');
export const HUB_TO_AGENT_KINDS = (Object.keys(MESSAGE_KINDS) as MessageKind[]).filter((kind): kind is HubToAgentKind => MESSAGE_KINDS[kind].direction === 'hub-to-agent');

export function isAgentToHubKind(kind: MessageKind): kind is AgentToHubKind {
  return MESSAGE_KINDS[kind].direction === 'agent-to-hub';
}

/** The kind the agent may publish on this topic, or undefined when the topic is not one of its own. */
export function publishableKind(topics: Topics, agent: string, topic: string): AgentToHubKind | undefined {
  const parsed = topics.parse(topic);
  if (!parsed || parsed.agent !== agent || !isAgentToHubKind(parsed.kind)) return undefined;
  return parsed.kind;
}

/** Agents subscribe to exact topics only: a wildcard could widen with a future message kind. */
export function maySubscribe(topics: Topics, agent: string, filter: string): boolean {
  const parsed = topics.parse(filter);
  return parsed !== undefined && parsed.agent === agent && !isAgentToHubKind(parsed.kind);
}

/** The edge agent's uplink names its MQTT client `pb-agent-<agent id>`. */
export const AGENT_CLIENT_ID_PREFIX = 'pb-agent-';

/**
 * The MQTT client id must be the agent id or `pb-agent-<agent id>`: a second connection with the same
 * credentials then takes over the first session instead of living beside it, and no agent can take over
 * (or pose as) another agent's session.
 */
export function clientIdMatches(clientId: string, agent: string): boolean {
  return clientId === agent || clientId === `${AGENT_CLIENT_ID_PREFIX}${agent}`;
}
