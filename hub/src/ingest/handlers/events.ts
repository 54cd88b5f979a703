/** Agent events go to the log, rate-limited per agent and event type. */
import type { MessageHandler } from '../ingest-context.ts';

export const handleEvents: MessageHandler = (context, message) => {
  const event = context.decode('events', message);
  if (!event) return;
  // Per event type, so one agent repeating an event does not hide a different one.
  context.infoLimited(`${message.agent}\u0000event:${event.type}`, { agent: message.agent, event }, 'agent event');
};
