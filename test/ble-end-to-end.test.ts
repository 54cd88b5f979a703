/**
 * BLE from the air to the hub's store: a real agent process whose noble runs its unmodified Linux stack
 * against the fake HCI controller (preloaded, with simulated peripherals on two adapters), and a real hub.
 * When the run ends the peripherals fall silent and write down every notification that reached the
 * agent; replaying those through the agent's own profile decoders says exactly which readings the hub
 * must hold: every notification sent becomes exactly one stored reading per metric.
 */
import assert from 'node:assert/strict';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { bleSensorId } from '../edge-agent/src/sources/ble/config.ts';
import { BLE_PROFILES } from '../edge-agent/src/sources/ble/profiles/index.ts';
import { until } from '@pulsebridge/runtime';
import { cleanupStack, hubWithAgent, jsonLines, showLogsOnFailure, sum, tally, tempDir } from './harness.ts';

const AGENT = 'box-ble';
const NOTIFY_INTERVAL_MS = 100;
/** Readings of its busiest series every sensor gets stored before the peripherals fall silent: about 8 s of air time. */
const READINGS_PER_SENSOR = 80;

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
  for (const delivered of jsonLines<Recorded>(recordFile)) {
    if ('uuids' in delivered) {
      if (delivered.uuids.includes('2a19')) perSeries.set(`${bleSensorId(delivered.address, undefined)} battery`, 1);
      continue;
    }
    const record = JSON.stringify(delivered);
    assert.ok(delivered.kind === 'notification' || delivered.kind === 'indication', `unexpected ${delivered.kind} record`);
    const sensor = bleSensorId(delivered.address, undefined);
    const profile = BLE_PROFILES.get(delivered.uuid);
    assert.ok(sensor && profile, `a notification no profile decodes: ${record}`);
    tally(notificationsPerSensor, sensor);
    const key = `${sensor} ${delivered.uuid}`;
    const result = profile.decode(Buffer.from(delivered.hex, 'hex'), { previous: states.get(key) });
    assert.ok(result.ok, `a simulated notification was refused: ${record}`);
    states.set(key, result.state);
    for (const m of result.measurements) tally(perSeries, `${sensor} ${m.metric}`);
  }
  return { perSeries, notificationsPerSensor };
}

/** Stored readings of each sensor's busiest series. */
function busiestSeries(stored: Map<string, number>): Map<string, number> {
  const perSensor = new Map<string, number>();
  for (const [series, n] of stored) {
    const sensor = series.split(' ')[0] ?? '';
    perSensor.set(sensor, Math.max(perSensor.get(sensor) ?? 0, n));
  }
  return perSensor;
}

test(
  '10 BLE sensors over noble and a fake HCI controller, through the agent to the hub: the hub stores each reading the decoders make of the delivered notifications, once',
  { timeout: 120_000 },
  async (t) => {
    const defer = cleanupStack(t);
    const hubDir = tempDir('ble-e2e-hub');
    defer(() => hubDir.cleanup());
    const scenarioFile = join(work.dir, 'scenario.json');
    const recordFile = join(work.dir, 'delivered.jsonl');
    writeFileSync(scenarioFile, JSON.stringify({ seed: 7, adapters: [{ id: 0 }, { id: 1 }], peripherals: PERIPHERALS }));
    const { hub, agent } = await hubWithAgent(
      { dir: hubDir.dir },
      {
        dir: work.dir,
        id: AGENT,
        nodeArgs: ['--import', './edge-agent/test/devices/ble/preload.ts'],
        env: { PB_FAKE_BLE_SCENARIO: scenarioFile, PB_FAKE_BLE_RECORD: recordFile },
        config: {
          sources: {
            simulator: { enabled: false },
            // Five links per adapter: ten sensors need both. The watchdogs stay out of the way of the final silence.
            ble: { enabled: true, adapters: [0, 1], maxConnections: 5, permitJoinSeconds: 600, silenceTimeoutMs: 60_000, adapterSilenceMs: 600_000 },
          },
        },
      },
      'gym-ble',
    );
    defer(() => hub.stop());
    defer(() => agent.stop());
    await showLogsOnFailure([hub, agent], async () => {
      await agent.start();
      await until(
        'all ten sensors connected',
        async () => {
          const devices = (await agent.health()).sources.ble?.devices ?? [];
          return devices.length === PERIPHERALS.length && devices.every((d) => d.state === 'connected');
        },
        30_000,
        250,
      );
      await until(
        `every sensor to have ${READINGS_PER_SENSOR} readings of one metric stored at the hub`,
        async () => {
          const perSensor = busiestSeries(await hub.storedSeries(AGENT));
          return perSensor.size === PERIPHERALS.length && [...perSensor.values()].every((n) => n >= READINGS_PER_SENSOR);
        },
        60_000,
        500,
      );
      // The fake controller's peripherals fall silent on this signal and write down what they delivered.
      agent.proc?.child.kill('SIGUSR2');
      await until('the peripherals to record what they delivered', () => existsSync(recordFile) && statSync(recordFile).size > 0, 10_000, 100);

      await agent.settled('ble');

      const { perSeries: expected, notificationsPerSensor } = expectedReadings(recordFile);
      assert.equal(notificationsPerSensor.size, PERIPHERALS.length, 'every sensor delivered notifications');
      // No sensor was starved of its link. Half the nominal count: a notification can carry more than one
      // reading of its busiest metric (RR intervals), so the wait above alone does not prove the count.
      for (const [sensor, n] of notificationsPerSensor) assert.ok(n >= READINGS_PER_SENSOR / 2, `${sensor} delivered only ${n} notifications`);

      const expectedTotal = sum(expected);
      const stored = await hub.storedSeriesChecked(AGENT);
      assert.deepEqual(Object.fromEntries([...stored].sort()), Object.fromEntries([...expected].sort()));

      const health = await agent.health();
      assert.equal(health.sources.ble?.state, 'running');
      assert.equal(health.sources.ble?.rejected, 0);
      assert.equal(health.sources.ble?.readings, expectedTotal, 'readings the agent decoded');
      assert.equal(health.outbox.appended, expectedTotal, 'readings the agent accepted');
      t.diagnostic(`${PERIPHERALS.length} sensors, ${sum(notificationsPerSensor)} notifications -> ${expectedTotal} readings in ${expected.size} series, all stored once`);
    });
  },
);
