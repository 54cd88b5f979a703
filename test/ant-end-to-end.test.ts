/**
 * ANT+ from the air to the hub's store: a simulated stick on a socat pseudo-terminal, a real agent process
 * reading it through its UART transport, a real hub. The stick sends a bounded number of pages per sensor
 * and logs each one; replaying that log through the agent's own profile decoders says exactly which
 * readings the hub must hold.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { DEFAULT_WHEEL_CIRCUMFERENCE_M } from '../edge-agent/src/sources/ant/profiles/page.ts';
import { antProfileFor } from '../edge-agent/src/sources/ant/profiles/index.ts';
import { parseAntSensorId } from '../edge-agent/src/sources/ant/config.ts';
import { expectedSensorIds } from '../edge-agent/test/devices/ant-stick-sensors.ts';
import { DeviceProcess, PtyPair, SOCAT_MISSING } from '../edge-agent/test/devices/simulator-process.ts';
import { TEST_NETWORK_KEY } from '../edge-agent/test/sources/ant/source/harness.ts';
import { AgentRunner, HubRunner, tempDir, waitFor } from './harness.ts';

const SENSORS = 30;
/** About 17 s of air time at 4 Hz: long enough for every profile's occasional pages (up to every 65th) to appear. */
const PAGES_PER_SENSOR = 70;
const AGENT = 'box-ant';

const work = tempDir('ant-e2e');
after(() => work.cleanup());

/** `sensor metric` -> readings the agent's decoders make of the logged pages, fed per sensor in order with state. */
function expectedReadings(pageLogFile: string): { perSeries: Map<string, number>; pagesPerSensor: Map<string, number> } {
  const states = new Map<string, unknown>();
  const perSeries = new Map<string, number>();
  const pagesPerSensor = new Map<string, number>();
  for (const line of readFileSync(pageLogFile, 'utf8').split('\n')) {
    if (line === '') continue;
    const { sensor, page } = JSON.parse(line) as { sensor: string; page: string };
    const channelId = parseAntSensorId(sensor);
    const profile = channelId && antProfileFor(channelId.deviceType);
    assert.ok(channelId && profile, `the stick logged a sensor no profile decodes: ${sensor}`);
    pagesPerSensor.set(sensor, (pagesPerSensor.get(sensor) ?? 0) + 1);
    const result = profile.decode(Buffer.from(page, 'hex'), states.get(sensor), { deviceNumber: channelId.deviceNumber, wheelCircumferenceM: DEFAULT_WHEEL_CIRCUMFERENCE_M });
    if (!result.ok) continue;
    states.set(sensor, result.state);
    for (const m of result.measurements) {
      const key = `${sensor} ${m.metric}`;
      perSeries.set(key, (perSeries.get(key) ?? 0) + 1);
    }
  }
  return { perSeries, pagesPerSensor };
}

test('30 ANT+ sensors through a simulated stick, the agent and the hub: every decoded reading stored once', { skip: SOCAT_MISSING, timeout: 120_000 }, async (t) => {
  const hubDir = tempDir('ant-e2e-hub');
  const hub = new HubRunner({ dir: hubDir.dir });
  const pty = new PtyPair(work.dir);
  const sticks: DeviceProcess[] = [];
  const agents: AgentRunner[] = [];
  t.after(async () => {
    for (const agent of agents) await agent.stop().catch(() => undefined);
    for (const stick of sticks) await stick.kill();
    await pty.unplug();
    await hub.stop();
    hubDir.cleanup();
  });

  const secret = await hub.addAgent(AGENT, 'gym-ant');
  await hub.start();
  await pty.plug();
  const pageLog = join(work.dir, 'pages.jsonl');
  const stick = new DeviceProcess('ant-stick.ts', pty.simulatorPath, ['--sensors', String(SENSORS), '--key', TEST_NETWORK_KEY, '--pages', String(PAGES_PER_SENSOR), '--page-log', pageLog]);
  sticks.push(stick);
  await stick.ready();

  const agent = new AgentRunner({
    dir: work.dir,
    id: AGENT,
    secret,
    mqttUrl: hub.mqttUrl,
    config: {
      sources: {
        simulator: { enabled: false },
        ant: { enabled: true, transport: 'uart', path: pty.devicePath, networkKey: TEST_NETWORK_KEY, permitJoinSeconds: 600 },
      },
    },
  });
  agents.push(agent);
  try {
    await agent.start();
    await waitFor('the stick to send every sensor its pages', () => stick.has('pagesDone') || undefined, 60_000, 250);
    await agent.settled('ant');

    const { perSeries: expected, pagesPerSensor } = expectedReadings(pageLog);
    const health = await agent.health();
    assert.equal(health.sources.ant?.state, 'running');
    assert.equal(pagesPerSensor.size, SENSORS);
    for (const [sensor, pages] of pagesPerSensor) assert.equal(pages, PAGES_PER_SENSOR, `pages logged for ${sensor}`);
    const expectedTotal = [...expected.values()].reduce((a, b) => a + b, 0);
    assert.equal(health.sources.ant?.readings, expectedTotal, 'readings the agent decoded');

    const stored = await hub.storedSeries(AGENT);
    const storedSensors = new Set([...stored.keys()].map((k) => k.split(' ')[0]));
    assert.deepEqual([...storedSensors].sort(), [...expectedSensorIds(SENSORS)].sort());
    assert.deepEqual(Object.fromEntries([...stored].sort()), Object.fromEntries([...expected].sort()));
    t.diagnostic(`${SENSORS} sensors x ${PAGES_PER_SENSOR} pages -> ${expectedTotal} readings in ${expected.size} series, all stored`);

    const appended = await agent.stop();
    assert.equal(appended, expectedTotal);
  } catch (err) {
    console.error(agent.log().split('\n').slice(-40).join('\n'));
    throw err;
  }
});
