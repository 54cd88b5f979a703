/**
 * An agent's status: recorded for the API, and with an external broker it is what says whether the agent is
 * online (agent-presence.ts). An online status that carries the agent's monotonic clock is answered at once with a
 * `time` command, so the agent can correct its clock; an online agent not yet served its gym's allowlist gets it.
 */
import type { MessageHandler } from '../ingest-context.ts';

export const handleStatus: MessageHandler = async (context, message) => {
  const status = context.decode('status', message);
  if (!status) return;
  const { agent } = message;
  const now = context.now();
  // Answer first: every millisecond spent here widens the agent's uncertainty about the hub's time.
  if (status.state === 'online' && status.mono !== undefined) {
    context.command(agent, { type: 'time', hubTime: Math.max(0, Math.floor(now)), echo: status.mono });
  }
  context.presence.status(agent, status.state);
  // An agent this run of the hub has not sent its gym's allowlist yet (new, or just enrolled) gets it now.
  if (status.state === 'online' && context.pairing) {
    context.pairing.agentOnline(agent).catch((err: unknown) => context.logLimited(agent, 'pairing', { err }, 'could not send the agent its pairing list'));
  }
  try {
    await context.registry.recordStatus(agent, status, now);
  } catch (err) {
    context.logLimited(agent, 'registry', { err }, 'registry could not record the agent status');
  }
};
