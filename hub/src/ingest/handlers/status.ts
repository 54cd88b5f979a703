/**
 * An agent's status: recorded for the API, and with an external broker it is what says whether the agent is
 * online (agent-presence.ts). An online status that carries the agent's monotonic clock is answered at once with a
 * `time` command, so the agent can correct its clock.
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
  try {
    await context.registry.recordStatus(agent, status, now);
  } catch (err) {
    context.logLimited(agent, 'registry', { err }, 'registry could not record the agent status');
  }
};
