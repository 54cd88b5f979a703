/** The sensors an agent reports: kept in the registry for the API. */
import { decodeJsonMessage } from '@pulsebridge/protocol';
import type { MessageHandler } from '../ingest-context.ts';

export const handleInventory: MessageHandler = async (context, { agent, payload }) => {
  let inventory;
  try {
    inventory = decodeJsonMessage('inventory', payload);
  } catch (err) {
    context.refuse(agent, 'inventory', err);
    return;
  }
  context.counts.message('inventory', 'ok');
  try {
    await context.registry.recordInventory(agent, inventory.sensors);
  } catch (err) {
    context.logLimited(agent, 'registry', { err }, 'registry could not record the agent inventory');
  }
};
