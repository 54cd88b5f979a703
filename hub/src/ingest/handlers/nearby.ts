/** Unpaired sensors an agent hears during a discovery window: kept by the pairing channel for tap-to-pair. */
import type { MessageHandler } from '../ingest-context.ts';

export const handleNearby: MessageHandler = async (context, message) => {
  const nearby = context.decode('nearby', message);
  if (!nearby || !context.pairing) return;
  try {
    await context.pairing.recordNearby(message.agent, nearby.sensors);
  } catch (err) {
    context.logLimited(message.agent, 'nearby', { err }, 'could not record what the agent hears nearby');
  }
};
