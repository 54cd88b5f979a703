import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import pino from 'pino';
import { decodeJsonMessage, type CommandMessage, type PairingMessage } from '@pulsebridge/protocol';
import { AllowlistPublisher, MAX_NEARBY_TOTAL } from '../../src/pairing/allowlist-publisher.ts';
import type { HubPublishKind } from '../../src/broker/transport.ts';
import type { AgentRecord } from '../../src/registry/agent-registry.ts';

const T0 = Date.UTC(2026, 0, 6, 18, 0, 0);
const silent = pino({ level: 'silent' });

class FakeTransport {
  readonly sent: { agent: string; kind: HubPublishKind; payload: Buffer }[] = [];
  failFor = new Set<string>();
  async publish(agent: string, kind: HubPublishKind, payload: Buffer): Promise<void> {
    await Promise.resolve();
    if (this.failFor.has(agent)) throw new Error('broker going down');
    this.sent.push({ agent, kind, payload });
  }
  pairings(agent?: string): PairingMessage[] {
    return this.sent.filter((m) => m.kind === 'pairing' && (agent === undefined || m.agent === agent)).map((m) => decodeJsonMessage('pairing', m.payload));
  }
}

function rig(lists: Record<string, string[]> = { 'gym-a': ['ble:aa-bb-cc-dd-ee-01'], 'gym-b': ['ant:120:7:1'] }) {
  const clock = { now: T0 };
  const agents: AgentRecord[] = [
    { id: 'a1', gym: 'gym-a', createdAt: 0, online: true },
    { id: 'a2', gym: 'gym-a', createdAt: 0, online: true },
    { id: 'b1', gym: 'gym-b', createdAt: 0, online: true },
  ];
  const reads: string[] = [];
  const transport = new FakeTransport();
  const publisher = new AllowlistPublisher({
    transport,
    agents: { list: async () => agents.map((a) => ({ ...a })), get: async (id) => agents.find((a) => a.id === id) },
    allowlistOf: async (gym) => {
      reads.push(gym);
      return [...(lists[gym] ?? [])];
    },
    now: () => clock.now,
    log: silent,
  });
  return { clock, agents, reads, transport, publisher, lists };
}

test("gymChanged publishes the gym's list to each agent of that gym only, with a version that increases per gym", async () => {
  const { clock, transport, publisher, lists } = rig();
  await publisher.gymChanged('gym-a');
  assert.deepEqual(transport.sent.map((m) => m.agent).sort(), ['a1', 'a2']);
  const [first] = transport.pairings('a1');
  assert.deepEqual(first, { version: T0, allow: ['ble:aa-bb-cc-dd-ee-01'], updatedAt: T0 });
  lists['gym-a'] = [];
  await publisher.gymChanged('gym-a');
  const second = transport.pairings('a1')[1]!;
  assert.deepEqual(second.allow, []);
  assert.ok(second.version > first!.version, 'a second list in the same millisecond still has a higher version');
  clock.now = T0 - 60_000;
  await publisher.gymChanged('gym-a');
  assert.ok(transport.pairings('a1')[2]!.version > second.version, 'a clock stepping back does not lower the version');
});

test('a burst of changes is coalesced: calls while one publish is queued share it, and the last call sees the last change', async () => {
  const { reads, transport, publisher, lists } = rig();
  const calls: Promise<void>[] = [];
  for (let i = 0; i < 20; i++) {
    lists['gym-a'] = [`ble:aa-bb-cc-dd-ee-${String(i).padStart(2, '0')}`];
    calls.push(publisher.gymChanged('gym-a'));
  }
  await Promise.all(calls);
  assert.ok(reads.length <= 2, `read ${reads.length} times`);
  assert.deepEqual(transport.pairings('a1').at(-1)!.allow, ['ble:aa-bb-cc-dd-ee-19']);
});

test('publishAll publishes every gym; an agent not served yet gets its list when it comes online, once', async () => {
  const { agents, transport, publisher } = rig();
  await publisher.publishAll();
  assert.deepEqual(transport.sent.map((m) => m.agent).sort(), ['a1', 'a2', 'b1']);
  agents.push({ id: 'b2', gym: 'gym-b', createdAt: 0, online: false });
  await publisher.agentOnline('b2');
  assert.equal(transport.pairings('b2').length, 1);
  await publisher.agentOnline('b2');
  await publisher.agentOnline('a1');
  assert.equal(transport.pairings('b2').length, 1);
  assert.equal(transport.pairings('a1').length, 1);
  await publisher.agentOnline('unknown');
});

test("one agent's failed publish is logged and does not keep the others from theirs; it is served again when it comes online", async () => {
  const { transport, publisher } = rig();
  transport.failFor.add('a1');
  await publisher.gymChanged('gym-a');
  assert.equal(transport.pairings('a2').length, 1);
  assert.equal(publisher.counts.publishFailures, 1);
  transport.failFor.clear();
  await publisher.agentOnline('a1');
  assert.equal(transport.pairings('a1').length, 1);
});

test('its counts are metrics, read at scrape time', async () => {
  const { transport, publisher } = rig();
  const registry = new Registry();
  publisher.register(registry);
  transport.failFor.add('a1');
  await publisher.gymChanged('gym-a');
  await publisher.openWindow('gym-b', { seconds: 30, permitJoin: true });
  const text = await registry.metrics();
  assert.match(text, /^pb_hub_pairing_lists_published_total 1$/m);
  assert.match(text, /^pb_hub_pairing_publish_failures_total 1$/m);
  assert.match(text, /^pb_hub_pairing_windows_total 1$/m);
});

test('openWindow sends a discovery window command to every agent of the gym', async () => {
  const { transport, publisher } = rig();
  await publisher.openWindow('gym-a', { seconds: 30, permitJoin: true });
  const commands = transport.sent.filter((m) => m.kind === 'cmd');
  assert.deepEqual(commands.map((m) => m.agent).sort(), ['a1', 'a2']);
  const command = decodeJsonMessage('cmd', commands[0]!.payload) as CommandMessage;
  assert.deepEqual(command, { type: 'window', until: T0 + 30_000, permitJoin: true, discover: true });
});

test("nearby answers the gym's latest reports since a time, strongest first, each sensor once with its best signal", async () => {
  const { clock, publisher } = rig();
  await publisher.recordNearby('a1', [
    { id: 'ble:01', kind: 'heart_rate', rssi: -70 },
    { id: 'ble:02', kind: 'heart_rate', rssi: -50 },
  ]);
  clock.now = T0 + 1_000;
  await publisher.recordNearby('a2', [
    { id: 'ble:01', kind: 'heart_rate', rssi: -40 },
    { id: 'ble:03', kind: 'heart_rate' },
  ]);
  await publisher.recordNearby('b1', [{ id: 'ble:09', kind: 'heart_rate', rssi: -30 }]);
  await publisher.recordNearby('stranger', [{ id: 'ble:66', kind: 'heart_rate', rssi: -10 }]);
  assert.deepEqual(publisher.nearby('gym-a', T0), [
    { sensor: 'ble:01', kind: 'heart_rate', rssi: -40, agent: 'a2', seenAt: T0 + 1_000 },
    { sensor: 'ble:02', kind: 'heart_rate', rssi: -50, agent: 'a1', seenAt: T0 },
    { sensor: 'ble:03', kind: 'heart_rate', rssi: undefined, agent: 'a2', seenAt: T0 + 1_000 },
  ]);
  assert.deepEqual(
    publisher.nearby('gym-a', T0 + 1).map((s) => s.sensor),
    ['ble:01', 'ble:03'],
    'reports older than since are left out',
  );
  await publisher.recordNearby('a2', []);
  assert.deepEqual(
    publisher.nearby('gym-a', T0).map((s) => s.sensor),
    ['ble:02', 'ble:01'],
    "an agent's new report replaces its previous one",
  );
});

test('nearby reports are bounded per agent and in total', async () => {
  const { agents, publisher } = rig();
  for (let i = 0; i < 100; i++) agents.push({ id: `x${i}`, gym: 'gym-x', createdAt: 0, online: true });
  const many = (agent: string) => Array.from({ length: 200 }, (_, i) => ({ id: `ble:${agent}-${i}`, kind: 'heart_rate', rssi: -60 }));
  for (let i = 0; i < 100; i++) await publisher.recordNearby(`x${i}`, many(`x${i}`));
  const kept = publisher.nearby('gym-x', 0);
  assert.ok(kept.length <= MAX_NEARBY_TOTAL, `${kept.length} kept`);
  assert.equal(kept.filter((s) => s.agent === 'x99').length, 64);
  assert.equal(
    kept.some((s) => s.agent === 'x0'),
    false,
    'the oldest reports go first',
  );
});

test('the published list holds canonical ids, each once, leaves out what is not a sensor id, and stays within what agents accept', async () => {
  const { transport, publisher, lists } = rig();
  lists['gym-a'] = ['BLE:AA:BB:CC:DD:EE:01', 'ble:aa-bb-cc-dd-ee-01', 'ant:017:00042:05', 'not a sensor'];
  await publisher.gymChanged('gym-a');
  assert.deepEqual(transport.pairings('a1')[0]!.allow, ['ant:17:42:5', 'ble:aa-bb-cc-dd-ee-01']);
  lists['gym-a'] = Array.from({ length: 5_000 }, (_, i) => `ant:120:${i}:1`);
  await publisher.gymChanged('gym-a');
  const long = transport.sent.filter((m) => m.agent === 'a1' && m.kind === 'pairing').at(-1)!;
  assert.equal(decodeJsonMessage('pairing', long.payload).allow.length, 4_096, 'agents decode it');
});
