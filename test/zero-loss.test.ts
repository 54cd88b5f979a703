/**
 * The promise of the system: every reading an agent accepts is stored exactly once, whatever happens to
 * the processes and the network between them. Real hub and agent processes, real sockets. Every figure
 * comes from the agent's /healthz and the hub's store, and each fault is injected when the agent reports
 * the state the scenario needs, not after a fixed time.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { until } from '@pulsebridge/runtime';
import { AgentRunner, HubRunner, hubWithAgent, showLogsOnFailure, tempDir } from './harness.ts';

const GYM = 'gym-zero-loss';
const work = tempDir('zero-loss');
after(() => work.cleanup());

/** 40 athletes with every sensor at 4 Hz: about 750 readings a second. */
const busyClass = { athletes: 40, sensorRateHz: 4, seed: 7 };

/**
 * Runs `scenario` against a fresh hub and an agent `id` whose simulator plays `simulator`; prints the ends
 * of their logs when it fails, and stops both whatever happens.
 */
async function withHubAndAgent(id: string, simulator: Record<string, unknown>, scenario: (hub: HubRunner, agent: AgentRunner) => Promise<void>): Promise<void> {
  const { hub, agent } = await hubWithAgent({ dir: tempDir(`hub-${id}`).dir }, { dir: work.dir, id, simulator }, GYM);
  try {
    await showLogsOnFailure([hub, agent], () => scenario(hub, agent));
  } finally {
    await agent.stop();
    await hub.stop();
  }
}

/** The end of every bounded run: the agent accepted exactly `n` readings and the hub stores exactly `n`. */
async function everyReadingStored(hub: HubRunner, agent: AgentRunner, n: number, timeoutMs: number): Promise<void> {
  await agent.settled('simulator', timeoutMs);
  assert.equal(await agent.appended(), n);
  await agent.stop();
  assert.equal(await hub.storedCount(agent.id), n);
}

async function appendedAtLeast(agent: AgentRunner, readings: number, timeoutMs = 60_000): Promise<void> {
  await until(`the agent to accept ${readings} readings`, async () => (await agent.appended()) >= readings, timeoutMs, 100);
}

async function uplinkDown(agent: AgentRunner): Promise<void> {
  await until('the agent to see the hub gone', async () => (await agent.health()).uplink.state !== 'connected', 30_000, 100);
}

before(() => {
  process.on('unhandledRejection', (err) => console.error(err));
});

test('5 000 simulated readings: the agent accepts exactly 5 000 and the hub stores exactly 5 000', { timeout: 120_000 }, async () => {
  await withHubAndAgent('box-count', { ...busyClass, maxReadings: 5_000 }, async (hub, agent) => {
    await agent.start();
    await everyReadingStored(hub, agent, 5_000, 60_000);
    const agents = await hub.api<{ id: string; online: boolean }[]>('/api/v1/agents');
    assert.equal(agents.find((a) => a.id === 'box-count')?.id, 'box-count');
  });
});

test('the hub is SIGKILLed twice during a stream: the hub stores every accepted reading exactly once', { timeout: 180_000 }, async () => {
  await withHubAndAgent('box-kill', { ...busyClass, maxReadings: 20_000 }, async (hub, agent) => {
    await agent.start();
    for (const atReadings of [2_000, 6_000]) {
      await appendedAtLeast(agent, atReadings);
      await hub.stop('SIGKILL');
      await uplinkDown(agent);
      await hub.start();
    }
    await everyReadingStored(hub, agent, 20_000, 120_000);
  });
});

test('the agent gets SIGTERM mid-stream and restarts: the hub stores what both runs accepted', { timeout: 180_000 }, async () => {
  await withHubAndAgent('box-restart', busyClass, async (hub, agent) => {
    await agent.start();
    await appendedAtLeast(agent, 3_000);
    await agent.stop('SIGTERM');
    await agent.start({ simulator: { maxReadings: 3_000 } });
    await agent.settled('simulator', 60_000);
    // The first run was still producing when it stopped; its clean stop flushed its final count into the
    // outbox's lifetime total, which the second run reports on.
    const { appended: secondRun, acceptedTotal: bothRuns } = (await agent.health()).outbox;
    assert.equal(secondRun, 3_000);
    assert.ok(bothRuns - secondRun >= 3_000, `first run accepted ${bothRuns - secondRun} readings`);
    await agent.stop();
    assert.equal(await hub.storedCount('box-restart'), bothRuns);
  });
});

test('while the hub is down for 15 000 readings they wait in the outbox, and all drain once it is back', { timeout: 240_000 }, async () => {
  const PILED_UP = 15_000;
  await withHubAndAgent('box-outage', { ...busyClass, maxReadings: 30_000 }, async (hub, agent) => {
    await agent.start();
    await appendedAtLeast(agent, 2_000);
    await hub.stop('SIGTERM');
    await uplinkDown(agent);
    // The outbox holds more and more while the uplink keeps failing to reconnect (about 20 s).
    await until(`the outbox to hold ${PILED_UP} readings`, async () => (await agent.health()).outbox.readings >= PILED_UP, 90_000, 250);
    assert.notEqual((await agent.health()).uplink.state, 'connected');
    await hub.start();
    await everyReadingStored(hub, agent, 30_000, 120_000);
  });
});
