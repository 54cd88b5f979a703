/**
 * Which gym each agent belongs to, as ingest needs it for every batch. An agent never changes gym, so the
 * answer is kept for a few seconds: with a shared registry (PostgreSQL) that saves one query per batch, which
 * on several replicas was the largest per-batch cost after the store write. Unknown agents are not kept, so a
 * newly created agent is found at once. A removed agent's batches may still be stored for `ttlMs`; its id can
 * only come back in another gym through a new enrollment, which takes longer than that.
 */
import type { AgentRegistry } from '../registry/agent-registry.ts';

export const AGENT_GYM_TTL_MS = 5_000;
/** Past this many agents the oldest entries go first; a hub sees far fewer agents than this. */
const MAX_AGENTS = 100_000;

export class AgentGyms {
  /** In insertion order, so the first entries are the oldest. */
  private readonly gyms = new Map<string, { gym: string; until: number }>();

  constructor(
    private readonly registry: Pick<AgentRegistry, 'get'>,
    private readonly ttlMs = AGENT_GYM_TTL_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** The agent's gym, or undefined when the registry does not know it; registry errors are thrown. */
  async gymOf(agent: string): Promise<string | undefined> {
    const known = this.gyms.get(agent);
    if (known !== undefined && known.until > this.now()) return known.gym;
    const record = await this.registry.get(agent);
    this.gyms.delete(agent);
    if (record) {
      if (this.gyms.size >= MAX_AGENTS) this.gyms.delete(this.gyms.keys().next().value!);
      this.gyms.set(agent, { gym: record.gym, until: this.now() + this.ttlMs });
    }
    return record?.gym;
  }
}
