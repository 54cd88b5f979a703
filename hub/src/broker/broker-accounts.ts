/**
 * Agent accounts kept by an external broker, mirrored from the hub's registry: the embedded broker asks the
 * registry at every CONNECT, an external one only knows what it is told. The API tells it here whenever an agent
 * gets, loses or may no longer use its credentials. With Mosquitto this is its dynamic security plugin.
 */
import type { Topics } from '@pulsebridge/protocol';
import { AGENT_TO_HUB_KINDS, HUB_TO_AGENT_KINDS } from './agent-acl.ts';
import { DynamicSecurity, DynamicSecurityError, type DynsecAcl } from './dynamic-security.ts';

export interface BrokerAccounts {
  /** The agent now holds this secret (just enrolled): the broker accepts it and no other. */
  setSecret(agent: string, secret: string): Promise<void>;
  /** Refuses the agent and closes its connection. */
  disable(agent: string): Promise<void>;
  enable(agent: string): Promise<void>;
  /** The agent holds no credentials any more (rotated until it enrolls again, or removed): refused and disconnected. */
  remove(agent: string): Promise<void>;
}

/** Mosquitto's answer when the client a command names does not exist. */
const NOT_FOUND = /not found/i;
const EXISTS = /already exists/i;

/** The role that confines one agent to its own topics. */
export function agentRoleName(agent: string): string {
  return `pulsebridge-agent-${agent}`;
}

/**
 * The rules of agent-acl.ts as dynamic security ACL entries for one agent: publish its agent-to-hub topics,
 * subscribe its hub-to-agent topics, nothing else (the broker's default access refuses the rest). One role per
 * agent, because the plugin of Mosquitto 2.0 does not substitute the username in ACL topics.
 */
export function agentAcls(topics: Topics, agent: string): DynsecAcl[] {
  return [
    ...AGENT_TO_HUB_KINDS.map((kind): DynsecAcl => ({ acltype: 'publishClientSend', topic: topics.of(agent, kind), allow: true })),
    ...HUB_TO_AGENT_KINDS.map((kind): DynsecAcl => ({ acltype: 'subscribeLiteral', topic: topics.of(agent, kind), allow: true })),
  ];
}

/** Agent accounts as dynamic security clients, each with its own role (agentAcls). */
export class DynsecAccounts implements BrokerAccounts {
  constructor(
    private readonly dynsec: DynamicSecurity,
    private readonly topics: Topics,
  ) {}

  async setSecret(agent: string, secret: string): Promise<void> {
    try {
      await this.dynsec.createRole(agentRoleName(agent), agentAcls(this.topics, agent));
    } catch (error) {
      if (!isRefusal(error, EXISTS)) throw error;
    }
    try {
      await this.dynsec.createClient(agent, secret, [agentRoleName(agent)]);
    } catch (error) {
      if (!isRefusal(error, EXISTS)) throw error;
      await this.dynsec.setClientPassword(agent, secret);
      await this.dynsec.enableClient(agent);
    }
  }

  async disable(agent: string): Promise<void> {
    await ignoreMissing(this.dynsec.disableClient(agent));
  }

  async enable(agent: string): Promise<void> {
    // An agent that never enrolled has no account yet; it gets one, enabled, when it does.
    await ignoreMissing(this.dynsec.enableClient(agent));
  }

  async remove(agent: string): Promise<void> {
    await ignoreMissing(this.dynsec.deleteClient(agent));
    await ignoreMissing(this.dynsec.deleteRole(agentRoleName(agent)));
  }
}

function isRefusal(error: unknown, pattern: RegExp): boolean {
  return error instanceof DynamicSecurityError && error.code === 'dynsec_refused' && pattern.test(error.message);
}

async function ignoreMissing(command: Promise<void>): Promise<void> {
  try {
    await command;
  } catch (error) {
    if (!isRefusal(error, NOT_FOUND)) throw error;
  }
}
