/** What the gym's webhook subscribers hear about its agents: agent.offline, when one stays away (ingest/agent-presence.ts). */
import type { Logger } from 'pino';
import type { AgentOffline } from '../ingest/agent-presence.ts';
import type { AgentRegistry } from '../registry/agent-registry.ts';
import type { DomainEvents } from './domain.ts';

/** Emits agent.offline for the agent's gym; an agent removed meanwhile has no gym to tell. Never throws. */
export async function announceAgentOffline(agents: AgentRegistry, events: DomainEvents | undefined, offline: AgentOffline, log: Logger): Promise<void> {
  if (events === undefined) return;
  try {
    const agent = await agents.get(offline.agent);
    if (agent === undefined) return;
    await events.emit(agent.gym, 'agent.offline', {
      agent: agent.id,
      lastSeenAt: new Date(offline.lastSeenAt).toISOString(),
      offlineSince: new Date(offline.offlineSince).toISOString(),
    });
  } catch (err) {
    log.warn({ err, agent: offline.agent }, 'could not announce that the agent is offline');
  }
}
