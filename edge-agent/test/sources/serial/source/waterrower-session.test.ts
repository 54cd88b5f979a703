import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RecordingSink, serialRig, waitUntil } from './harness.ts';
import { SOCAT_MISSING } from '../../../devices/simulator-process.ts';
import { missingService } from '../../../../../test/services.ts';

test(
  'WaterRower session over a pty: USB handshake, then memory reads become distance, speed, strokes, heart rate and energy',
  { skip: missingService(SOCAT_MISSING), timeout: 30_000 },
  async (t) => {
    const rig = serialRig(t);
    await rig.pty.plug();
    const monitor = rig.device('waterrower.ts');
    await monitor.ready();
    const source = rig.source({
      ports: [{ path: rig.pty.devicePath, protocol: 'waterrower' }],
      waterrower: { pollIntervalMs: 200, handshakeTimeoutMs: 1_000, silenceTimeoutMs: 3_000 },
    });
    const sink = new RecordingSink();
    await source.start(sink);

    await waitUntil(() => monitor.of('round').length >= 8, 15_000, '8 rounds of memory reads');
    const sensor = source.ports()[0]?.sensorId as string;
    assert.match(sensor, /^serial:waterrower:[A-Za-z0-9:._-]+$/);
    assert.ok(!sensor.includes('/'));
    await waitUntil(() => sink.values(sensor, 'energy').length >= 8, 2_000, 'energy of round 8');

    const rounds = monitor.of('round') as unknown as Array<{ values: Record<string, number> }>;
    const decodedRounds = sink.values(sensor, 'energy').length;
    for (const metric of ['distance', 'stroke_count', 'speed', 'heart_rate', 'energy']) {
      assert.deepEqual(
        sink.values(sensor, metric).slice(0, decodedRounds),
        rounds.slice(0, decodedRounds).map((r) => r.values[metric]),
        metric,
      );
    }
    const [status] = source.ports();
    assert.equal(status?.driver['handshakes'], 1, 'one handshake: the monitor answered _WR_ the first time');
    assert.equal(status?.driver['handshakeTimeouts'], 0);
    assert.equal(source.health().state, 'running');
    assert.equal(source.health().rejected, 0, 'PING, SS, SE and the model answer are valid packets');
    assert.deepEqual(
      sink.inventories.at(-1)?.map((s) => [s.id, s.kind, [...s.metrics].sort()]),
      [[sensor, 'rower', ['distance', 'energy', 'heart_rate', 'speed', 'stroke_count']]],
    );
    assert.deepEqual(sink.duplicates(), []);
  },
);

test('WaterRower that never answers the handshake: degraded with what it waited for, handshake retried', { skip: missingService(SOCAT_MISSING), timeout: 30_000 }, async (t) => {
  const rig = serialRig(t);
  await rig.pty.plug();
  // Nothing on the far end: the pty is open but mute, like a monitor that is switched off.
  const source = rig.source({
    ports: [{ path: rig.pty.devicePath, protocol: 'waterrower' }],
    waterrower: { pollIntervalMs: 100, handshakeTimeoutMs: 100, silenceTimeoutMs: 1_000 },
  });
  const sink = new RecordingSink();
  await source.start(sink);
  await waitUntil(() => (source.ports()[0]?.driver['handshakeTimeouts'] ?? 0) >= 2, 5_000, 'two handshake timeouts');
  const health = source.health();
  assert.equal(health.state, 'degraded');
  assert.match(health.detail ?? '', /timed out after 100 ms waiting for the _WR_ answer to the USB handshake from the WaterRower monitor/);
  assert.equal(sink.readings.length, 0);
});
