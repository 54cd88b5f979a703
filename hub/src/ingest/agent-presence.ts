/**
 * The one place that records that an agent was seen: on every message it sends and when its connection
 * opens or closes, with the hub's injected clock. (Online or offline is what the agent's status says.)
 */
import type { Logger } from 'pino';
import type { AgentRegistry } from '../registry/agent-registry.ts';

export class AgentPresence {
  constructor(
    private readonly registry: AgentRegistry,
    private readonly now: () => number,
    private readonly log: Logger,
  ) {}

  seen(agent: string): void {
    try {
      this.registry.touch(agent, this.now());
    } catch (err) {
      this.log.warn({ err, agent }, 'registry could not record that the agent was seen');
    }
  }
}
