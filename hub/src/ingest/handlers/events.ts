/** Agent events go to the log, rate-limited per agent and event type. */
import { decodeJsonMessage } from '@pulsebridge/protocol';
import type { MessageHandler } from '../ingest-context.ts';

export const handleEvents: MessageHandler = (context, { agent, payload }) => {
  let event;
  try {
    event = decodeJsonMessage('events', payload);
  } catch (err) {
    context.refuse(agent, 'events', err);
    return;
  }
  context.counts.message('events', 'ok');
  // Per event type, so one agent repeating an event does not hide a different one.
  context.infoLimited(`${agent}\u0000event:${event.type}`, { agent, event }, 'agent event');
};
