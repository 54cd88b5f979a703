/**
 * The typed map from topic to payload, and the only place that builds or parses topic strings.
 *
 * Topics are `<root>/v1/<agentId>/<kind>`. The agent id in a topic is only a routing key: the hub checks it
 * against the credentials the client authenticated with and never takes a gym or identity from it.
 */
import type { TSchema } from '@sinclair/typebox';
import { AckMessage, CommandMessage, EventMessage, InventoryMessage, NearbyMessage, PairingMessage, StatusMessage, WireReadingBatch, AGENT_ID_PATTERN } from './schemas.ts';

export const PROTOCOL_VERSION = 'v1';

export interface MessageKindSpec {
  readonly direction: 'agent-to-hub' | 'hub-to-agent';
  readonly contentType: 'application/msgpack' | 'application/json';
  readonly retained: boolean;
  readonly schema: TSchema;
  readonly summary: string;
}

export const MESSAGE_KINDS = {
  readings: {
    direction: 'agent-to-hub',
    contentType: 'application/msgpack',
    retained: false,
    schema: WireReadingBatch,
    summary: 'A batch of readings with a sequence range; QoS 1; confirmed by an ack once stored',
  },
  status: { direction: 'agent-to-hub', contentType: 'application/json', retained: true, schema: StatusMessage, summary: 'Agent status and last will' },
  inventory: { direction: 'agent-to-hub', contentType: 'application/json', retained: true, schema: InventoryMessage, summary: 'Sensors the agent sees' },
  events: { direction: 'agent-to-hub', contentType: 'application/json', retained: false, schema: EventMessage, summary: 'Operational events' },
  ack: { direction: 'hub-to-agent', contentType: 'application/json', retained: false, schema: AckMessage, summary: 'Durable-storage confirmation of a readings batch' },
  cmd: { direction: 'hub-to-agent', contentType: 'application/json', retained: false, schema: CommandMessage, summary: 'Commands to the agent' },
  pairing: {
    direction: 'hub-to-agent',
    contentType: 'application/json',
    retained: true,
    schema: PairingMessage,
    summary: "The allowlist of the agent's gym (paired sensors), versioned; applied without a restart",
  },
  nearby: {
    direction: 'agent-to-hub',
    contentType: 'application/json',
    retained: false,
    schema: NearbyMessage,
    summary: 'Unpaired sensors heard during a discovery window (tap-to-pair)',
  },
} as const satisfies Record<string, MessageKindSpec>;

export type MessageKind = keyof typeof MESSAGE_KINDS;
export const MESSAGE_KIND_NAMES = Object.keys(MESSAGE_KINDS) as MessageKind[];

const agentIdRe = new RegExp(AGENT_ID_PATTERN);

export function isAgentId(value: string): boolean {
  return agentIdRe.test(value);
}

export interface ParsedTopic {
  agent: string;
  kind: MessageKind;
}

export class Topics {
  readonly root: string;

  constructor(root = 'pb') {
    if (!/^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/.test(root)) throw new Error(`invalid topic root "${root}"`);
    this.root = root;
  }

  /** The topic of one agent's messages of one kind. */
  of(agent: string, kind: MessageKind): string {
    if (!isAgentId(agent)) throw new Error(`invalid agent id "${agent}"`);
    return `${this.root}/${PROTOCOL_VERSION}/${agent}/${kind}`;
  }

  /** Everything under one agent's prefix: what its ACL allows. */
  agentPrefix(agent: string): string {
    return `${this.root}/${PROTOCOL_VERSION}/${agent}/`;
  }

  /** A subscription to one kind from every agent; `shareGroup` makes it an MQTT 5 shared subscription. */
  subscription(kind: MessageKind, shareGroup?: string): string {
    const filter = `${this.root}/${PROTOCOL_VERSION}/+/${kind}`;
    return shareGroup ? `$share/${shareGroup}/${filter}` : filter;
  }

  parse(topic: string): ParsedTopic | undefined {
    const prefix = `${this.root}/${PROTOCOL_VERSION}/`;
    if (!topic.startsWith(prefix)) return undefined;
    const rest = topic.slice(prefix.length).split('/');
    if (rest.length !== 2) return undefined;
    const [agent, kind] = rest as [string, string];
    if (!isAgentId(agent) || !Object.hasOwn(MESSAGE_KINDS, kind)) return undefined;
    return { agent, kind: kind as MessageKind };
  }
}
