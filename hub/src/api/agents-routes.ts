/** The edge agents the hub knows and what they last reported. */
import type { Static } from '@sinclair/typebox';
import type { AgentRecord, AgentRegistry } from '../registry/agent-registry.ts';
import type { ApiContext } from './context.ts';
import { ApiError } from './problem.ts';
import type { Agent, AgentPathParams, AgentSensor, AgentsQuery } from './schemas.ts';

/** The inventory's sensors, each with the signal the agent's latest status carries for it, if any. */
function sensorsView(record: AgentRecord): AgentSensor[] {
  const signals = new Map((record.status?.signal ?? []).map((signal) => [signal.id, signal]));
  return (record.inventory ?? []).map((sensor) => {
    const signal = signals.get(sensor.id);
    return signal ? { ...sensor, signalDbm: signal.rssi, signalAt: new Date(signal.at).toISOString() } : sensor;
  });
}

/** `unsyncedReadings`: readings of the agent held apart because their boot's clock was never confirmed. */
export function agentView(record: AgentRecord, unsyncedReadings = 0): Agent {
  const status = record.status;
  return {
    id: record.id,
    gym: record.gym,
    online: record.online,
    // Records from before enrollment codes have a secret and no flag: they are enrolled.
    enrolled: record.enrolled ?? true,
    disabled: record.disabled ?? false,
    lastSeen: record.lastSeen !== undefined ? new Date(record.lastSeen).toISOString() : null,
    version: status?.version ?? null,
    outbox: status?.outbox ? { ...status.outbox } : null,
    sources: status?.sources ?? {},
    sensors: sensorsView(record),
    unsyncedReadings,
  };
}

export function agentsRoutes(options: { registry: AgentRegistry; unsyncedOf?: (agent: string) => number }) {
  const { registry } = options;
  const unsyncedOf = options.unsyncedOf ?? (() => 0);
  return {
    async listAgents(ctx: ApiContext, input: { query: Static<typeof AgentsQuery> }): Promise<void> {
      const { gym } = input.query;
      const agents = await registry.list();
      ctx.body = agents.filter((a) => gym === undefined || a.gym === gym).map((a) => agentView(a, unsyncedOf(a.id)));
    },

    async getAgent(ctx: ApiContext, input: { params: Static<typeof AgentPathParams> }): Promise<void> {
      const record = await registry.get(input.params.id);
      if (!record) throw new ApiError('not_found', `no agent with id ${input.params.id}`);
      ctx.body = agentView(record, unsyncedOf(record.id));
    },
  };
}
