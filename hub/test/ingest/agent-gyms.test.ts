import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AgentGyms } from '../../src/ingest/agent-gyms.ts';
import type { AgentRecord } from '../../src/registry/agent-registry.ts';

function countingRegistry(agents: Map<string, string>): { get: (id: string) => Promise<AgentRecord | undefined>; calls: () => number } {
  let calls = 0;
  return {
    get: async (id) => {
      calls++;
      const gym = agents.get(id);
      return gym === undefined ? undefined : { id, gym, createdAt: 0, online: false };
    },
    calls: () => calls,
  };
}

test('an agent gym is asked of the registry once per ttl; an unknown agent is asked every time, so a new agent is found at once', async () => {
  let now = 0;
  const agents = new Map([['box-1', 'gym-a']]);
  const registry = countingRegistry(agents);
  const gyms = new AgentGyms(registry, 1_000, () => now);
  assert.equal(await gyms.gymOf('box-1'), 'gym-a');
  assert.equal(await gyms.gymOf('box-1'), 'gym-a');
  assert.equal(registry.calls(), 1);
  assert.equal(await gyms.gymOf('box-2'), undefined);
  agents.set('box-2', 'gym-b');
  assert.equal(await gyms.gymOf('box-2'), 'gym-b');
  assert.equal(registry.calls(), 3);
  now += 1_001;
  agents.delete('box-1');
  assert.equal(await gyms.gymOf('box-1'), undefined, 'a removed agent is unknown once its entry is older than the ttl');
});

test('a registry that fails is not hidden: the error reaches ingest, which then defers the batch', async () => {
  const gyms = new AgentGyms({ get: () => Promise.reject(new Error('registry down')) });
  await assert.rejects(gyms.gymOf('box-1'), /registry down/);
});
