/**
 * ANT+ from the air to the hub's store: a simulated stick on a socat pseudo-terminal, a real agent process
 * reading it through its UART transport, a real hub. The stick sends a bounded number of pages per sensor
 * and logs each one; replaying that log through the agent's own profile decoders says exactly which
 * readings the hub must hold.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { DEFAULT_WHEEL_CIRCUMFERENCE_M } from '../edge-agent/src/sources/ant/profiles/page.ts';
import { antProfileFor } from '../edge-agent/src/sources/ant/profiles/index.ts';
import { parseAntSensorId } from '../edge-agent/src/sources/ant/config.ts';
import { expectedSensorIds } from '../edge-agent/test/devices/ant-stick-sensors.ts';
import { DeviceProcess, PtyPair, SOCAT_MISSING } from '../edge-agent/test/devices/simulator-process.ts';
import { TEST_NETWORK_KEY } from '../edge-agent/test/sources/ant/source/harness.ts';
import { until } from '@pulsebridge/runtime';
import { cleanupStack, hubWithAgent, jsonLines, showLogsOnFailure, sum, tally, tempDir } from './harness.ts';
import { missingService } from './services.ts';

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
  for (const { sensor, page } of jsonLines<{ sensor: string; page: string }>(pageLogFile)) {
    const channelId = parseAntSensorId(sensor);
    const profile = channelId && antProfileFor(channelId.deviceType);
    assert.ok(channelId && profile, `the stick logged a sensor no profile decodes: ${sensor}`);
    tally(pagesPerSensor, sensor);
    const result = profile.decode(Buffer.from(page, 'hex'), states.get(sensor), { deviceNumber: channelId.deviceNumber, wheelCircumferenceM: DEFAULT_WHEEL_CIRCUMFERENCE_M });
    if (!result.ok) continue;
    states.set(sensor, result.state);
    for (const m of result.measurements) tally(perSeries, `${sensor} ${m.metric}`);
  }
  return { perSeries, pagesPerSensor };
}

test(
  '30 ANT+ sensors through a simulated stick, the agent and the hub: the hub stores each reading the decoders make of the sent pages, once',
  { skip: missingService(SOCAT_MISSING), timeout: 120_000 },
  async (t) => {
    const defer = cleanupStack(t);
    const hubDir = tempDir('ant-e2e-hub');
    defer(() => hubDir.cleanup());
    const pty = new PtyPair(work.dir);
    const { hub, agent } = await hubWithAgent(
      { dir: hubDir.dir },
      {
        dir: work.dir,
        id: AGENT,
        config: {
          sources: {
            simulator: { enabled: false },
            ant: { enabled: true, transport: 'uart', path: pty.devicePath, networkKey: TEST_NETWORK_KEY, permitJoinSeconds: 600 },
          },
        },
      },
      'gym-ant',
    );
    defer(() => hub.stop());
    defer(() => pty.unplug());
    await pty.plug();
    const pageLog = join(work.dir, 'pages.jsonl');
    const stick = new DeviceProcess('ant-stick.ts', pty.simulatorPath, [
      '--sensors',
      String(SENSORS),
      '--key',
      TEST_NETWORK_KEY,
      '--pages',
      String(PAGES_PER_SENSOR),
      '--page-log',
      pageLog,
    ]);
    defer(() => stick.kill());
    await stick.ready();
    defer(() => agent.stop());
    await showLogsOnFailure([hub, agent], async () => {
      await agent.start();
      // The stick is a simulated device, not a process under test: it says on its own output when it is done.
      await until('the stick to send every sensor its pages', () => stick.has('pagesDone'), 60_000, 250);
      await agent.settled('ant');

      const { perSeries: expected, pagesPerSensor } = expectedReadings(pageLog);
      const health = await agent.health();
      assert.equal(health.sources.ant?.state, 'running');
      assert.equal(pagesPerSensor.size, SENSORS);
      for (const [sensor, pages] of pagesPerSensor) assert.equal(pages, PAGES_PER_SENSOR, `pages logged for ${sensor}`);
      const expectedTotal = sum(expected);
      assert.equal(health.sources.ant?.readings, expectedTotal, 'readings the agent decoded');
      assert.equal(health.outbox.appended, expectedTotal, 'readings the agent accepted');

      const stored = await hub.storedSeriesChecked(AGENT);
      const storedSensors = new Set([...stored.keys()].map((k) => k.split(' ')[0]));
      assert.deepEqual([...storedSensors].sort(), [...expectedSensorIds(SENSORS)].sort());
      assert.deepEqual(Object.fromEntries([...stored].sort()), Object.fromEntries([...expected].sort()));
      t.diagnostic(`${SENSORS} sensors x ${PAGES_PER_SENSOR} pages -> ${expectedTotal} readings in ${expected.size} series, all stored`);
    });
  },
);
