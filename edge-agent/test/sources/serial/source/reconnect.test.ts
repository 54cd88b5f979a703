import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import pino from 'pino';
import { ConfigError } from '@pulsebridge/runtime';
import { SerialSource, serialSourceConfig, sensorKey } from '../../../../src/sources/serial/serial-source.ts';
import { RecordingSink, serialRig, waitUntil } from './harness.ts';
import { SOCAT_MISSING, type DeviceProcess } from '../../../devices/simulator-process.ts';
import { missingService } from '../../../../../test/services.ts';

const silent = pino({ level: 'silent' });
const pollResponses = (device: DeviceProcess): number => device.of('response').filter((e) => e.kind === 'poll').length;

test('unplug and replug: the loss is reported, the port comes back, no reading is duplicated or replayed', { skip: missingService(SOCAT_MISSING), timeout: 40_000 }, async (t) => {
  const rig = serialRig(t);
  await rig.pty.plug();
  let machine = rig.device('csafe-machine.ts');
  await machine.ready();
  const source = rig.source({
    ports: [{ path: rig.pty.devicePath, protocol: 'csafe' }],
    csafe: { pollIntervalMs: 50, responseTimeoutMs: 200, concept2: true },
    reconnect: { initialDelayMs: 50, maxDelayMs: 200 },
  });
  const sink = new RecordingSink();
  await source.start(sink);
  const sensor = 'serial:csafe:431234567';
  await waitUntil(() => pollResponses(machine) >= 5, 10_000, 'five poll responses before the unplug');

  await machine.kill();
  await rig.pty.unplug();
  const firstRun = pollResponses(machine);
  await waitUntil(() => source.health().state === 'degraded', 5_000, 'the loss to show in health');
  assert.match(source.health().detail ?? '', /lost: .*dev (disconnected|closed)/);
  assert.deepEqual(sink.inventories.at(-1), [], 'the unplugged sensor left the inventory');
  assert.equal(source.ports()[0]?.losses, 1);
  // While unplugged the retries fail on a path that no longer exists: still degraded, never thrown.
  await waitUntil(() => /retry [2-9]/.test(source.health().detail ?? ''), 5_000, 'a failed retry while unplugged');
  const readingsWhileUnplugged = sink.readings.length;

  const replugged = performance.now();
  await rig.pty.plug();
  machine = rig.device('csafe-machine.ts');
  await machine.ready();
  const answering = performance.now();
  await waitUntil(() => sink.readings.length > readingsWhileUnplugged, 10_000, 'the first reading after the replug');
  const firstReading = sink.receivedAt[readingsWhileUnplugged] as number;
  t.diagnostic(`replug to first reading: ${(firstReading - replugged).toFixed(0)} ms, of which machine answering to first reading: ${(firstReading - answering).toFixed(0)} ms`);
  await waitUntil(() => pollResponses(machine) >= 5, 10_000, 'five poll responses after the replug');
  await waitUntil(() => sink.values(sensor, 'energy').length === firstRun + pollResponses(machine), 2_000, 'the readings of both sessions');

  assert.equal(source.health().state, 'running');
  assert.deepEqual([...new Set(sink.readings.map((r) => r.sensor))], [sensor], 'the machine keeps its serial-number id across the replug');
  assert.deepEqual(
    sink.inventories.at(-1)?.map((s) => s.id),
    [sensor],
  );
  assert.deepEqual(sink.duplicates(), []);
  // Exactly one distance reading per answered poll over both sessions: nothing replayed, nothing doubled.
  assert.equal(sink.values(sensor, 'distance').length, firstRun + pollResponses(machine));
  const ts = sink.readings.filter((r) => r.sensor === sensor && r.metric === 'distance').map((r) => r.ts);
  assert.deepEqual(
    ts,
    [...ts].sort((a, b) => a - b),
    'timestamps only move forward',
  );
});

test('a port that does not exist: start resolves, health is degraded with the reason, retries do not throw', { timeout: 10_000 }, async () => {
  const path = join('/nonexistent-dir', 'ttyUSB9');
  const source = new SerialSource({
    ...serialSourceConfig({ ports: [{ path, protocol: 'nmea' }], reconnect: { initialDelayMs: 20, maxDelayMs: 40 } }),
    now: Date.now,
    log: silent,
  });
  const sink = new RecordingSink();
  await source.start(sink);
  const health = source.health();
  assert.equal(health.state, 'degraded');
  assert.match(health.detail ?? '', /nmea \/nonexistent-dir\/ttyUSB9: cannot open \/nonexistent-dir\/ttyUSB9: No such file or directory; retry 1 in \d+ ms$/);
  await waitUntil(() => /retry 4/.test(source.health().detail ?? ''), 3_000, 'three more failed attempts');
  assert.deepEqual(sink.inventories, [[]]);
  assert.equal(sink.readings.length, 0);
  await source.stop();
  assert.equal(source.health().state, 'stopped');
});

test(
  'USB lookup: a failing port list is reported, an unknown id is reported, a listed id opens its path and names the sensor by serial number',
  { skip: missingService(SOCAT_MISSING), timeout: 30_000 },
  async (t) => {
    const rig = serialRig(t);
    await rig.pty.plug();
    const failing = rig.source({
      ports: [{ usb: { vendorId: '17A4', productId: '0001' }, protocol: 'csafe' }],
      listPorts: () => Promise.reject(new Error('spawn udevadm ENOENT')),
    });
    await failing.start(new RecordingSink());
    assert.equal(failing.health().state, 'degraded');
    assert.match(failing.health().detail ?? '', /csafe usb 17A4:0001: cannot list serial ports: spawn udevadm ENOENT/);

    const absent = rig.source({ ports: [{ usb: { vendorId: '17a4', productId: '0001' }, protocol: 'csafe' }], listPorts: async () => [{ path: '/dev/ttyS0' }] });
    await absent.start(new RecordingSink());
    assert.match(absent.health().detail ?? '', /no serial port with USB id 17a4:0001 \(1 ports listed\)/);

    const receiver = rig.device('gps-receiver.ts', ['--laps', '0.1', '--speedup', '20', '--start-delay-ms', '500']);
    const found = rig.source({
      ports: [{ usb: { vendorId: '1546', productId: '01A8' }, protocol: 'nmea' }],
      listPorts: async () => [
        { path: '/dev/ttyS0', vendorId: '0403', productId: '6001' },
        { path: rig.pty.devicePath, vendorId: '1546', productId: '01a8', serialNumber: 'u-blox/7 #42' },
      ],
    });
    const sink = new RecordingSink();
    await found.start(sink);
    await receiver.ready();
    await waitUntil(() => sink.readings.some((r) => r.metric === 'latitude'), 10_000, 'a position from the USB-found receiver');
    assert.equal(sink.readings[0]?.sensor, 'gps:nmea:u-blox_7_42');
    assert.equal(found.ports()[0]?.path, rig.pty.devicePath);
  },
);

test('config: defaults filled, every problem reported at once with its path', () => {
  const config = serialSourceConfig({ ports: [{ path: '/dev/ttyACM0', protocol: 'csafe' }] });
  assert.equal(config.csafe.pollIntervalMs, 500);
  assert.equal(config.reconnect.maxDelayMs, 10_000);
  assert.throws(
    () =>
      serialSourceConfig({
        ports: [
          { path: '/dev/ttyACM0', protocol: 'modbus' },
          { usb: { vendorId: 'xyz', productId: '0001' }, protocol: 'nmea' },
        ],
        extra: 1,
      }),
    (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.equal(error.code, 'config');
      assert.match(error.message, /\/ports\/0/);
      assert.match(error.message, /\/ports\/1/);
      assert.match(error.message, /extra|additional/i);
      return true;
    },
  );
  assert.throws(() => serialSourceConfig({ ports: [{ path: '', protocol: 'csafe' }] }), /\/ports\/0\/path/);
  assert.throws(
    () => serialSourceConfig({ ports: [{ path: '/dev/ttyACM0', usb: { vendorId: '04d8', productId: '000a' }, protocol: 'csafe' }, { protocol: 'nmea' }] }),
    (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.deepEqual(error.problems, ['/ports/0: give path or usb, not both', '/ports/1: needs a path or usb ids (vendorId, productId)']);
      return true;
    },
  );
});

test('no ports configured: unavailable, with the reason', async () => {
  const source = new SerialSource({ ...serialSourceConfig({}), now: Date.now, log: silent });
  await source.start(new RecordingSink());
  assert.deepEqual(source.health(), { state: 'unavailable', detail: 'no serial ports configured', sensors: 0, readings: 0, rejected: 0 });
  await source.stop();
});

test('sensor keys: no slash, only id characters, no ~, bounded length, distinct for long distinct paths', () => {
  assert.equal(sensorKey('/dev/ttyUSB0', 40), 'ttyUSB0');
  assert.equal(sensorKey('/dev/serial/by-id/usb-Concept2 PM5~x', 60), 'serial_by-id_usb-Concept2_PM5_x');
  const a = sensorKey(`/dev/serial/by-id/${'a'.repeat(80)}-if00`, 45);
  const b = sensorKey(`/dev/serial/by-id/${'b'.repeat(80)}-if00`, 45);
  for (const key of [a, b]) {
    assert.ok(key.length <= 45);
    assert.match(key, /^[A-Za-z0-9:._-]+$/);
  }
  assert.notEqual(a, b);
  assert.match(sensorKey('///', 20), /^port-[0-9a-f]{8}$/);
});
