/**
 * The promise of the system: every reading an agent accepts is stored exactly once, whatever happens to
 * the processes and the network between them. Real hub and agent processes, real sockets.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { AgentRunner, HubRunner, sleep, tempDir, waitFor } from './harness.ts';

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

/** Waits until the simulator has stopped at its limit and the outbox holds nothing more. */
async function drained(agent: AgentRunner, timeoutMs: number): Promise<void> {
  await waitFor(
    'the agent to send everything and get it acknowledged',
    async () => {
      const h = await agent.health();
      return h.sources.simulator?.state === 'stopped' && h.outbox.readings === 0 && h.outbox.buffered === 0 ? true : undefined;
    },
    timeoutMs,
    250,
  );
}

async function showLogsOnFailure<T>(procs: { log(): string }[], body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (err) {
    for (const p of procs) console.error(p.log().split('\n').slice(-40).join('\n'));
    throw err;
  }
}

before(() => {
  process.on('unhandledRejection', (err) => console.error(err));
});

test('N simulated readings reach the store: exactly N, none twice', { timeout: 120_000 }, async () => {
  const N = 5_000;
  const { hub, agent } = await setup('box-count', { ...busyClass, maxReadings: N });
  await showLogsOnFailure([hub.proc!, agent], async () => {
    await agent.start();
    await drained(agent, 60_000);
    const appended = await agent.stop();
    assert.equal(appended, N);
    assert.equal(await hub.storedCount('box-count'), N);
    const agents = await hub.api<{ id: string; online: boolean }[]>('/api/v1/agents');
    assert.equal(agents.find((a) => a.id === 'box-count')?.id, 'box-count');
  });
  await hub.stop();
});

test('the hub is SIGKILLed twice during a stream: nothing lost, nothing twice', { timeout: 180_000 }, async () => {
  const N = 20_000;
  const { hub, agent } = await setup('box-kill', { ...busyClass, maxReadings: N });
  await showLogsOnFailure([hub.proc!, agent], async () => {
    await agent.start();
    for (const at of [3_000, 4_000]) {
      await sleep(at);
      await hub.stop('SIGKILL');
      await sleep(1_500);
      await hub.start();
    }
    await drained(agent, 120_000);
    const appended = await agent.stop();
    assert.equal(appended, N);
    assert.equal(await hub.storedCount('box-kill'), N);
  });
  await hub.stop();
});

test('the agent gets SIGTERM mid-stream and restarts: nothing lost', { timeout: 180_000 }, async () => {
  const { hub, agent } = await setup('box-restart', busyClass);
  await showLogsOnFailure([hub.proc!, agent], async () => {
    await agent.start();
    await sleep(4_000);
    const firstRun = await agent.stop('SIGTERM');
    assert.ok(firstRun > 500, `first run accepted ${firstRun} readings`);
    await agent.start({ simulator: { maxReadings: 3_000 } });
    await drained(agent, 60_000);
    const secondRun = await agent.stop();
    assert.equal(secondRun, 3_000);
    assert.equal(await hub.storedCount('box-restart'), firstRun + secondRun);
  });
  await hub.stop();
});

test('the hub is unreachable for 30 s: readings wait in the outbox and drain afterwards', { timeout: 240_000 }, async () => {
  const N = 30_000;
  const { hub, agent } = await setup('box-outage', { ...busyClass, maxReadings: N });
  await showLogsOnFailure([hub.proc!, agent], async () => {
    await agent.start();
    await sleep(3_000);
    await hub.stop('SIGTERM');
    await sleep(5_000);
    const early = await agent.health();
    await sleep(25_000);
    const late = await agent.health();
    assert.notEqual(late.uplink.state, 'connected');
    assert.ok(late.outbox.readings > early.outbox.readings && early.outbox.readings > 0, `outbox ${early.outbox.readings} -> ${late.outbox.readings}`);
    await hub.start();
    await drained(agent, 120_000);
    const appended = await agent.stop();
    assert.equal(appended, N);
    assert.equal(await hub.storedCount('box-outage'), N);
  });
  await hub.stop();
});
