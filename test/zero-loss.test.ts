/**
 * The promise of the system: every reading an agent accepts is stored exactly once, whatever happens to
 * the processes and the network between them. Real hub and agent processes, real sockets. Every figure
 * comes from the agent's /healthz and the hub's store, and each fault is injected when the agent reports
 * the state the scenario needs, not after a fixed time.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { until } from '@pulsebridge/runtime';
import { AgentRunner, HubRunner, appendedByRun, showLogsOnFailure, tempDir } from './harness.ts';

const GYM = 'gym-zero-loss';
const work = tempDir('zero-loss');
after(() => work.cleanup());

/** 40 athletes with every sensor at 4 Hz: about 750 readings a second. */
const busyClass = { athletes: 40, sensorRateHz: 4, seed: 7 };

async function setup(id: string, simulator: Record<string, unknown>) {
  const hub = new HubRunner({ dir: tempDir(`hub-${id}`).dir });
  const secret = await hub.addAgent(id, GYM);
  await hub.start();
  const agent = new AgentRunner({ dir: work.dir, id, secret, mqttUrl: hub.mqttUrl, simulator });
  return { hub, agent };
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
  const N = 5_000;
  const { hub, agent } = await setup('box-count', { ...busyClass, maxReadings: N });
  await showLogsOnFailure([hub.proc!, agent], async () => {
    await agent.start();
    await agent.settled('simulator', 60_000);
    assert.equal(await agent.appended(), N);
    await agent.stop();
    assert.equal(await hub.storedCount('box-count'), N);
    const agents = await hub.api<{ id: string; online: boolean }[]>('/api/v1/agents');
    assert.equal(agents.find((a) => a.id === 'box-count')?.id, 'box-count');
  });
  await hub.stop();
});

test('the hub is SIGKILLed twice during a stream: the hub stores every accepted reading exactly once', { timeout: 180_000 }, async () => {
  const N = 20_000;
  const { hub, agent } = await setup('box-kill', { ...busyClass, maxReadings: N });
  await showLogsOnFailure([hub.proc!, agent], async () => {
    await agent.start();
    for (const atReadings of [2_000, 6_000]) {
      await appendedAtLeast(agent, atReadings);
      await hub.stop('SIGKILL');
      await uplinkDown(agent);
      await hub.start();
    }
    await agent.settled('simulator', 120_000);
    assert.equal(await agent.appended(), N);
    await agent.stop();
    assert.equal(await hub.storedCount('box-kill'), N);
  });
  await hub.stop();
});

test('the agent gets SIGTERM mid-stream and restarts: the hub stores what both runs accepted', { timeout: 180_000 }, async () => {
  const { hub, agent } = await setup('box-restart', busyClass);
  await showLogsOnFailure([hub.proc!, agent], async () => {
    await agent.start();
    await appendedAtLeast(agent, 3_000);
    await agent.stop('SIGTERM');
    // The run was still producing when it stopped: only its last log line knows its final count.
    const firstRun = appendedByRun(agent.log());
    assert.ok(firstRun >= 3_000, `first run accepted ${firstRun} readings`);
    await agent.start({ simulator: { maxReadings: 3_000 } });
    await agent.settled('simulator', 60_000);
    const secondRun = await agent.appended();
    assert.equal(secondRun, 3_000);
    await agent.stop();
    assert.equal(await hub.storedCount('box-restart'), firstRun + secondRun);
  });
  await hub.stop();
});

test('while the hub is down for 15 000 readings they wait in the outbox, and all drain once it is back', { timeout: 240_000 }, async () => {
  const N = 30_000;
  const PILED_UP = 15_000;
  const { hub, agent } = await setup('box-outage', { ...busyClass, maxReadings: N });
  await showLogsOnFailure([hub.proc!, agent], async () => {
    await agent.start();
    await appendedAtLeast(agent, 2_000);
    await hub.stop('SIGTERM');
    await uplinkDown(agent);
    // The outbox holds more and more while the uplink keeps failing to reconnect (about 20 s).
    await until(`the outbox to hold ${PILED_UP} readings`, async () => (await agent.health()).outbox.readings >= PILED_UP, 90_000, 250);
    const late = await agent.health();
    assert.notEqual(late.uplink.state, 'connected');
    await hub.start();
    await agent.settled('simulator', 120_000);
    assert.equal(await agent.appended(), N);
    await agent.stop();
    assert.equal(await hub.storedCount('box-outage'), N);
  });
  await hub.stop();
});
