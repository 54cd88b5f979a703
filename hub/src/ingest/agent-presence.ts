/**
 * The one place that records agent presence, with the hub's injected clock: when an agent was last seen (every
 * message it sends, and its connection opening or closing) and whether it is online now. Online follows the
 * transport's presence source: the agent's connection when the transport holds it (embedded broker), else its
 * retained status and last will (external broker). Nothing of it is persisted, so a restarted hub shows an
 * agent online only once it connects again.
 */
import type { Logger } from 'pino';
import type { StatusMessage } from '@pulsebridge/protocol';
import type { PresenceSource } from '../broker/transport.ts';
import type { AgentRegistry } from '../registry/agent-registry.ts';

export class AgentPresence {
  constructor(
    private readonly registry: AgentRegistry,
    private readonly now: () => number,
    private readonly log: Logger,
    private readonly source: PresenceSource,
  ) {}

  seen(agent: string): void {
    try {
      this.registry.touch(agent, this.now());
    } catch (err) {
      this.log.warn({ err, agent }, 'registry could not record that the agent was seen');
    }
  }

  /** The transport opened or closed a connection of the agent; `connected` while any is still open. */
  connection(agent: string, connected: boolean): void {
    this.seen(agent);
    if (this.source === 'connections') this.setOnline(agent, connected);
  }

  /**
   * The agent's status, or its last will. With the connection as the source it changes nothing: an agent saying
   * goodbye is online until its connection closes, and a will cannot make a disconnected agent look online.
   */
  status(agent: string, state: StatusMessage['state']): void {
    if (this.source === 'status') this.setOnline(agent, state === 'online');
  }

  private setOnline(agent: string, online: boolean): void {
    try {
      this.registry.setOnline(agent, online);
    } catch (err) {
      this.log.warn({ err, agent }, 'registry could not record whether the agent is online');
    }
  }
}
