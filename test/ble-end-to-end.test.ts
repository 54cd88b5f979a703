/**
 * BLE from the air to the hub's store: a real agent process whose noble runs its unmodified Linux stack
 * against the fake HCI controller (preloaded, with simulated peripherals on two adapters), and a real hub.
 * When the run ends the peripherals fall silent and write down every notification that reached the
 * agent; replaying those through the agent's own profile decoders says exactly which readings the hub
 * must hold: every notification sent becomes exactly one stored reading per metric.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { bleSensorId } from '../edge-agent/src/sources/ble/config.ts';
import { BLE_PROFILES } from '../edge-agent/src/sources/ble/profiles/index.ts';
import { AgentRunner, HubRunner, tempDir, waitFor } from './harness.ts';

const AGENT = 'box-ble';
const NOTIFY_INTERVAL_MS = 100;
const AIR_TIME_MS = 8_000;

/** Ten sensors of the five simulated kinds, every one in range of both adapters. */
const PERIPHERALS = ['heart-rate-strap', 'power-meter', 'speed-cadence-sensor', 'treadmill', 'smart-bike'].flatMap((kind, k) =>
  [0, 1].map((n) => ({ kind, options: { seed: 100 + k * 10 + n, notifyIntervalMs: NOTIFY_INTERVAL_MS } })),
);

const work = tempDir('ble-e2e');
after(() => work.cleanup());

type Recorded = { address: string; kind: 'database'; uuids: string[] } | { address: string; kind: string; uuid: string; hex: string };

/**
 * `sensor metric` -> readings the agent's decoders make of the delivered notifications, in order, with
 * state; plus one battery reading for each sensor with a battery level, which the agent reads once.
 */
function expectedReadings(recordFile: string): { perSeries: Map<string, number>; notificationsPerSensor: Map<string, number> } {
  const states = new Map<string, unknown>();
  const perSeries = new Map<string, number>();
  const notificationsPerSensor = new Map<string, number>();
  for (const line of readFileSync(recordFile, 'utf8').split('\n')) {
    if (line === '') continue;
    const delivered = JSON.parse(line) as Recorded;
    if ('uuids' in delivered) {
      if (delivered.uuids.includes('2a19')) perSeries.set(`${bleSensorId(delivered.address, undefined)} battery`, 1);
      continue;
    }
    assert.ok(delivered.kind === 'notification' || delivered.kind === 'indication', `unexpected ${delivered.kind} record`);
    const sensor = bleSensorId(delivered.address, undefined);
    const profile = BLE_PROFILES.get(delivered.uuid);
    assert.ok(sensor && profile, `a notification no profile decodes: ${line}`);
    notificationsPerSensor.set(sensor, (notificationsPerSensor.get(sensor) ?? 0) + 1);
    const key = `${sensor} ${delivered.uuid}`;
    const result = profile.decode(Buffer.from(delivered.hex, 'hex'), { previous: states.get(key) });
    assert.ok(result.ok, `a simulated notification was refused: ${line}`);
    states.set(key, result.state);
    for (const m of result.measurements) perSeries.set(`${sensor} ${m.metric}`, (perSeries.get(`${sensor} ${m.metric}`) ?? 0) + 1);
  }
  return { perSeries, notificationsPerSensor };
}

test('10 BLE sensors over noble and a fake HCI controller, through the agent to the hub: every notification stored once', { timeout: 120_000 }, async (t) => {
  const hubDir = tempDir('ble-e2e-hub');
  const hub = new HubRunner({ dir: hubDir.dir });
  const agents: AgentRunner[] = [];
  t.after(async () => {
    for (const agent of agents) await agent.stop().catch(() => undefined);
    await hub.stop();
    hubDir.cleanup();
  });

  const secret = await hub.addAgent(AGENT, 'gym-ble');
  await hub.start();
  const scenarioFile = join(work.dir, 'scenario.json');
  const recordFile = join(work.dir, 'delivered.jsonl');
  writeFileSync(scenarioFile, JSON.stringify({ seed: 7, adapters: [{ id: 0 }, { id: 1 }], peripherals: PERIPHERALS }));

  const agent = new AgentRunner({
    dir: work.dir,
    id: AGENT,
    secret,
    mqttUrl: hub.mqttUrl,
    nodeArgs: ['--import', './edge-agent/test/devices/ble/preload.ts'],
    env: { PB_FAKE_BLE_SCENARIO: scenarioFile, PB_FAKE_BLE_RECORD: recordFile },
    config: {
      sources: {
        simulator: { enabled: false },
        // Five links per adapter: ten sensors need both. The watchdogs stay out of the way of the final silence.
        ble: { enabled: true, adapters: [0, 1], maxConnections: 5, permitJoinSeconds: 600, silenceTimeoutMs: 60_000, adapterSilenceMs: 600_000 },
      },
    },
  });
  agents.push(agent);
  try {
    await agent.start();
    await waitFor(
      'all ten sensors connected',
      async () => {
        const devices = (await agent.health()).sources.ble?.devices ?? [];
        return (devices.length === PERIPHERALS.length && devices.every((d) => d.state === 'connected')) || undefined;
      },
      30_000,
      250,
    );
    await new Promise((resolve) => setTimeout(resolve, AIR_TIME_MS));
    agent.proc?.child.kill('SIGUSR2');
    await waitFor('the peripherals to record what they delivered', () => readFileSafe(recordFile), 10_000, 100);

    await agent.settled('ble');

    const { perSeries: expected, notificationsPerSensor } = expectedReadings(recordFile);
    assert.equal(notificationsPerSensor.size, PERIPHERALS.length, 'every sensor delivered notifications');
    for (const [sensor, n] of notificationsPerSensor) assert.ok(n >= AIR_TIME_MS / NOTIFY_INTERVAL_MS / 2, `${sensor} delivered only ${n} notifications`);

    const expectedTotal = [...expected.values()].reduce((a, b) => a + b, 0);

    const stored = await hub.storedSeries(AGENT);
    assert.deepEqual(Object.fromEntries([...stored].sort()), Object.fromEntries([...expected].sort()));

    const health = await agent.health();
    assert.equal(health.sources.ble?.state, 'running');
    assert.equal(health.sources.ble?.rejected, 0);
    assert.equal(health.sources.ble?.readings, expectedTotal, 'readings the agent decoded');
    const notifications = [...notificationsPerSensor.values()].reduce((a, b) => a + b, 0);
    t.diagnostic(`${PERIPHERALS.length} sensors, ${notifications} notifications -> ${expectedTotal} readings in ${expected.size} series, all stored once`);

    const appended = await agent.stop();
    assert.equal(appended, expectedTotal);
  } catch (err) {
    console.error(agent.log().split('\n').slice(-40).join('\n'));
    throw err;
  }
});

function readFileSafe(file: string): string | undefined {
  try {
    const text = readFileSync(file, 'utf8');
    return text === '' ? undefined : text;
  } catch {
    return undefined;
  }
}
