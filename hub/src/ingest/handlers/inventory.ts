/** The sensors an agent reports: kept in the registry for the API. */
import type { MessageHandler } from '../ingest-context.ts';

export const handleInventory: MessageHandler = async (context, message) => {
  const inventory = context.decode('inventory', message);
  if (!inventory) return;
  try {
    await context.registry.recordInventory(message.agent, inventory.sensors);
  } catch (err) {
    context.logLimited(message.agent, 'registry', { err }, 'registry could not record the agent inventory');
  }
};
