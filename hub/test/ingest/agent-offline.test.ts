/** agent.offline: an agent away longer than the grace period is reported once; reconnects, flapping and the hub's stop are not outages. */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, mock, test } from 'node:test';
import { pino } from 'pino';
import { announceAgentOffline } from '../../src/domain/agent-events.ts';
import { AgentPresence, type AgentOffline } from '../../src/ingest/agent-presence.ts';
import type { PresenceSource } from '../../src/broker/transport.ts';
import { MemoryAgentRegistry } from '../memory-stores.ts';
import { GOOD, setupIngest } from './ingest-harness.ts';

const GRACE = 60_000;
const T0 = Date.UTC(2026, 0, 5, 10, 0, 0);
const log = pino({ level: 'silent' });

beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'Date'], now: T0 }));
afterEach(() => mock.timers.reset());

function presence(source: PresenceSource = 'connections'): { presence: AgentPresence; reports: AgentOffline[]; registry: MemoryAgentRegistry } {
  const registry = new MemoryAgentRegistry({ 'agent-1': 'gym-a', 'agent-2': 'gym-b' });
  const reports: AgentOffline[] = [];
  const tracker = new AgentPresence(registry, Date.now, log, source, { graceMs: GRACE, onOffline: (offline) => reports.push(offline) });
  return { presence: tracker, reports, registry };
}

test('an agent whose connection stays closed for the grace period is reported once, with when it was last seen and since when it is offline', () => {
  const { presence: p, reports } = presence();
  p.connection('agent-1', true);
  mock.timers.tick(5_000);
  p.seen('agent-1');
  mock.timers.tick(1_000);
  p.connection('agent-1', false);
  mock.timers.tick(GRACE - 1);
  assert.deepEqual(reports, [], 'not before the grace period is over');
  mock.timers.tick(1);
  assert.deepEqual(reports, [{ agent: 'agent-1', lastSeenAt: T0 + 6_000, offlineSince: T0 + 6_000 }]);
  mock.timers.tick(10 * GRACE);
  p.connection('agent-1', false);
  mock.timers.tick(10 * GRACE);
  assert.equal(reports.length, 1, 'still offline is no new report');
});

test('a reconnect within the grace period cancels the report', () => {
  const { presence: p, reports } = presence();
  p.connection('agent-1', true);
  p.connection('agent-1', false);
  mock.timers.tick(GRACE - 1_000);
  p.connection('agent-1', true);
  mock.timers.tick(10 * GRACE);
  assert.deepEqual(reports, []);
});

test('an agent that flaps is reported once; after a whole grace period back online, a new outage is reported again', () => {
  const { presence: p, reports } = presence();
  p.connection('agent-1', true);
  for (let i = 0; i < 5; i++) {
    p.connection('agent-1', false);
    mock.timers.tick(2 * GRACE);
    p.connection('agent-1', true);
    mock.timers.tick(2_000);
  }
  assert.equal(reports.length, 1, 'back for seconds, gone for minutes: one report');
  mock.timers.tick(GRACE);
  p.connection('agent-1', false);
  mock.timers.tick(GRACE);
  assert.equal(reports.length, 2, 'online for a whole grace period, then gone: a new outage');
});

test('an agent never seen online is not reported: a hub that starts knows nothing of earlier outages', () => {
  const { presence: p, reports } = presence('status');
  p.status('agent-1', 'offline');
  mock.timers.tick(10 * GRACE);
  assert.deepEqual(reports, []);
});

test('with an external broker the last will starts the grace period; agents are followed one by one', () => {
  const { presence: p, reports } = presence('status');
  p.status('agent-1', 'online');
  p.status('agent-2', 'online');
  p.status('agent-1', 'offline');
  mock.timers.tick(GRACE / 2);
  p.status('agent-2', 'offline');
  mock.timers.tick(GRACE / 2);
  assert.deepEqual(
    reports.map((r) => r.agent),
    ['agent-1'],
  );
  mock.timers.tick(GRACE / 2);
  assert.deepEqual(
    reports.map((r) => [r.agent, r.offlineSince]),
    [
      ['agent-1', T0],
      ['agent-2', T0 + GRACE / 2],
    ],
  );
});

test('stop() cancels every pending report, and the drops of the hub’s own stop start none', () => {
  const { presence: p, reports } = presence();
  p.connection('agent-1', true);
  p.connection('agent-2', true);
  p.connection('agent-1', false);
  p.stop();
  p.connection('agent-2', false);
  mock.timers.tick(10 * GRACE);
  assert.deepEqual(reports, []);
});

test('ingest reports an agent offline through onOffline after ingest.agentOfflineGraceMs, and not after its stop', async () => {
  const reports: AgentOffline[] = [];
  const s = setupIngest({ agentOfflineGraceMs: 5_000, onOffline: (offline) => reports.push(offline) });
  s.transport.connectionChanged(GOOD, true);
  s.transport.connectionChanged(GOOD, false);
  mock.timers.tick(5_000);
  assert.deepEqual(
    reports.map((r) => r.agent),
    [GOOD],
  );
  s.transport.connectionChanged(GOOD, true);
  s.transport.connectionChanged(GOOD, false);
  await s.ingest.stop();
  mock.timers.tick(50_000);
  assert.equal(reports.length, 1);
  await s.close();
});

test('agent.offline goes to the agent’s gym with ISO times; an agent removed meanwhile is announced to nobody', async () => {
  const registry = new MemoryAgentRegistry({ 'agent-1': 'gym-a' });
  const emitted: unknown[] = [];
  const events = { emit: async (gym: string, event: string, payload: Record<string, unknown>) => void emitted.push({ gym, event, payload }) };
  await announceAgentOffline(registry, events, { agent: 'agent-1', lastSeenAt: T0, offlineSince: T0 + 1_000 }, log);
  await announceAgentOffline(registry, events, { agent: 'gone', lastSeenAt: T0, offlineSince: T0 }, log);
  assert.deepEqual(emitted, [
    { gym: 'gym-a', event: 'agent.offline', payload: { agent: 'agent-1', lastSeenAt: new Date(T0).toISOString(), offlineSince: new Date(T0 + 1_000).toISOString() } },
  ]);
  registry.getError = new Error('registry down');
  await announceAgentOffline(registry, events, { agent: 'agent-1', lastSeenAt: T0, offlineSince: T0 }, log);
  assert.equal(emitted.length, 1, 'a failed lookup is logged, not thrown');
});
