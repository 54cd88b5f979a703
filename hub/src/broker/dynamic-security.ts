/**
 * A client of Mosquitto's dynamic security plugin (mosquitto_dynamic_security.so, Mosquitto 2.0): agent
 * accounts changed at run time through `$CONTROL/dynamic-security/v1`, as the broker's dynsec admin. This is
 * how an external broker learns what the hub's registry decides: an account when an agent enrolls, a new
 * password on rotation, disable (which also closes the agent's connection at once) and delete. Used by
 * the hub with `mqtt.external.agentAccounts: dynamic-security` (dynsec-connection.ts).
 */
import { randomUUID } from 'node:crypto';
import type { MqttClient } from 'mqtt';
import { PulsebridgeError, withTimeout } from '@pulsebridge/runtime';

export const DYNSEC_TOPIC = '$CONTROL/dynamic-security/v1';
export const DYNSEC_RESPONSE_TOPIC = `${DYNSEC_TOPIC}/response`;

/** One ACL entry of a dynamic security role. */
export interface DynsecAcl {
  acltype: 'publishClientSend' | 'publishClientReceive' | 'subscribeLiteral' | 'subscribePattern' | 'unsubscribeLiteral' | 'unsubscribePattern';
  topic: string;
  allow: boolean;
  priority?: number;
}

export class DynamicSecurityError extends PulsebridgeError<'dynsec_refused' | 'dynsec_timeout' | 'dynsec_unavailable'> {}

interface DynsecResponse {
  command?: string;
  error?: string;
  correlationData?: string;
}

export interface DynamicSecurityOptions {
  /** Connected as a client the dynsec admin role allows on `$CONTROL/dynamic-security/#`. */
  client: MqttClient;
  /** How long a command waits for the broker's answer. */
  timeoutMs?: number;
}

export class DynamicSecurity {
  private readonly client: MqttClient;
  private readonly timeoutMs: number;
  private readonly pending = new Map<string, (response: DynsecResponse) => void>();
  private subscribed: Promise<unknown> | undefined;

  constructor(options: DynamicSecurityOptions) {
    this.client = options.client;
    this.timeoutMs = options.timeoutMs ?? 5_000;
    // A new connection starts without the response subscription (clean session): the next command renews it.
    this.client.on('close', () => (this.subscribed = undefined));
    this.client.on('message', (topic, payload) => {
      if (topic !== DYNSEC_RESPONSE_TOPIC) return;
      let responses: DynsecResponse[] = [];
      try {
        responses = (JSON.parse(payload.toString('utf8')) as { responses?: DynsecResponse[] }).responses ?? [];
      } catch {
        return;
      }
      for (const response of responses) {
        const settle = response.correlationData === undefined ? undefined : this.pending.get(response.correlationData);
        settle?.(response);
      }
    });
  }

  /** An account for the agent; its ACL comes from the broker's default access and the roles given. */
  createClient(agent: string, password: string, roles: readonly string[] = []): Promise<void> {
    return this.command({ command: 'createClient', username: agent, password, roles: roles.map((rolename) => ({ rolename })) });
  }

  setClientPassword(agent: string, password: string): Promise<void> {
    return this.command({ command: 'setClientPassword', username: agent, password });
  }

  /** Refuses the agent's logins and closes its current connection. */
  disableClient(agent: string): Promise<void> {
    return this.command({ command: 'disableClient', username: agent });
  }

  enableClient(agent: string): Promise<void> {
    return this.command({ command: 'enableClient', username: agent });
  }

  /** Removes the account and closes the agent's current connection. */
  deleteClient(agent: string): Promise<void> {
    return this.command({ command: 'deleteClient', username: agent });
  }

  /** A role with these ACL entries; a client given it gets them. */
  createRole(role: string, acls: readonly DynsecAcl[]): Promise<void> {
    return this.command({ command: 'createRole', rolename: role, acls: acls.map((acl) => ({ ...acl })) });
  }

  deleteRole(role: string): Promise<void> {
    return this.command({ command: 'deleteRole', rolename: role });
  }

  private async command(command: Record<string, unknown>): Promise<void> {
    // mqtt.js would queue the command until a reconnect; the caller (an API request) is better told now.
    if (!this.client.connected) {
      throw new DynamicSecurityError('dynsec_unavailable', `cannot ${String(command['command'])}: not connected to the broker's dynamic security`);
    }
    this.subscribed ??= this.client.subscribeAsync(DYNSEC_RESPONSE_TOPIC, { qos: 1 }).catch((error: unknown) => {
      this.subscribed = undefined;
      throw error;
    });
    await this.subscribed;
    const correlationData = randomUUID();
    const answered = new Promise<DynsecResponse>((resolve) => this.pending.set(correlationData, resolve));
    try {
      await this.client.publishAsync(DYNSEC_TOPIC, JSON.stringify({ commands: [{ ...command, correlationData }] }), { qos: 1 });
      const response = await withTimeout(answered, this.timeoutMs, `the broker's answer to ${String(command['command'])}`, {
        error: (timeout) => new DynamicSecurityError('dynsec_timeout', timeout.message, { cause: timeout }),
      });
      const subject = String(command['username'] ?? command['rolename']);
      if (response.error) throw new DynamicSecurityError('dynsec_refused', `${String(command['command'])} for ${subject}: ${response.error}`);
    } finally {
      this.pending.delete(correlationData);
    }
  }
}
