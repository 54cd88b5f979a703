/**
 * The ANT source against a simulated stick in its own process, through socat pseudo-terminals and the real
 * serialport UART transport.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, describe, test } from 'node:test';
import { pino } from 'pino';
import { AntSource } from '../../../../src/sources/ant/ant-source.ts';
import { antSourceConfig } from '../../../../src/sources/ant/config.ts';
import { expectedSensorIds } from '../../../devices/ant-stick-sensors.ts';
import { DeviceProcess, PtyPair, SOCAT_MISSING } from '../../../devices/simulator-process.ts';
import { RecordingSink, TEST_NETWORK_KEY, until } from './harness.ts';
import { missingService } from '../../../../../test/services.ts';

const log = pino({ level: process.env.ANT_TEST_LOG ?? 'silent' });
const skip = missingService(SOCAT_MISSING);

const dirs: string[] = [];
let cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  cleanups = [];
});
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

interface Rig {
  pty: PtyPair;
  stick: DeviceProcess;
  source: AntSource;
  sink: RecordingSink;
}

async function rig(stickArgs: string[], config: Record<string, unknown>): Promise<Rig> {
  const dir = mkdtempSync(join(tmpdir(), 'pb-ant-'));
  dirs.push(dir);
  const pty = new PtyPair(dir);
  await pty.plug();
  cleanups.push(() => pty.unplug());
  const stick = new DeviceProcess('ant-stick.ts', pty.simulatorPath, stickArgs);
  cleanups.push(() => stick.kill());
  await stick.ready();
  const source = new AntSource({
    ...antSourceConfig({ transport: 'uart', path: pty.devicePath, networkKey: TEST_NETWORK_KEY, reopenInitialMs: 100, reopenMaxMs: 400, ...config }),
    now: Date.now,
    log,
  });
  const sink = new RecordingSink();
  cleanups.push(() => source.stop());
  return { pty, stick, source, sink };
}

describe('ANT source over a socat pseudo-terminal', { skip, timeout: 120_000 }, () => {
  test('startup: init sequence runs and the stick receives the configured network key', async () => {
    const { stick, source, sink } = await rig(['--sensors', '4', '--key', TEST_NETWORK_KEY], { permitJoinSeconds: 60 });
    await source.start(sink);
    assert.equal(source.health().state, 'running');
    // The simulator reports what it saw from its own process, so its log may trail the source by a moment.
    await until('the stick to be reset', () => stick.has('reset'), 3_000);
    await until('the right key on network 0', () => stick.has('networkKey', (e) => e.ok === true && e.network === 0), 3_000);
    await until('extended data (channel id + RSSI) requested', () => stick.has('libConfig', (e) => e.flags === 0xc0), 3_000);
    await until('scan mode opened', () => stick.has('scanOpen'), 3_000);
    assert.equal(source.stats().mode, 'scan');
    await until('a reading', () => sink.readings.length > 0, 5_000);
  });

  test('a wrong network key is sent as configured: the stick hears nothing and no reading appears', async () => {
    const { stick, source, sink } = await rig(['--sensors', '4', '--key', 'ffffffffffffffff'], { permitJoinSeconds: 60 });
    await source.start(sink);
    await until('the wrong key to reach the stick', () => stick.has('networkKey', (e) => e.ok === false), 3_000);
    // A stick with the right key sends pages from the moment its scan opens; this one never does.
    await until('the scan to open', () => stick.has('scanOpen'), 3_000);
    assert.equal(source.health().state, 'running');
    assert.equal(sink.readings.length, 0);
    assert.equal(source.health().sensors, 0);
  });

  test('scan mode with 30 sensors of mixed profiles: readings from all 30, with the right ids and metrics', async () => {
    const { source, sink } = await rig(['--sensors', '30', '--key', TEST_NETWORK_KEY], { permitJoinSeconds: 600 });
    await source.start(sink);
    const expected = expectedSensorIds(30);
    await until('readings from all 30 sensors', () => sink.sensorsWithReadings().size >= 30, 10_000);
    assert.deepEqual([...sink.sensorsWithReadings()].sort(), [...expected].sort());
    // 20-bit device numbers (every fifth sensor) carry the transmission type's upper nibble.
    assert.ok(expected.includes('ant:11:198126:53'), 'a 20-bit device number id is expected');
    await until('the inventory to list all 30', () => sink.lastInventory.length === 30, 3_000);
    for (const info of sink.lastInventory) assert.equal(info.source, 'ant');

    const metricsOf = (type: number): Set<string> => new Set(sink.readings.filter((r) => r.sensor.startsWith(`ant:${type}:`)).map((r) => r.metric));
    await until('derived metrics from counters', () => metricsOf(121).has('speed') && metricsOf(121).has('cadence') && metricsOf(120).has('rr_interval'), 5_000);
    assert.ok(metricsOf(120).has('heart_rate'));
    assert.ok(metricsOf(11).has('power'));
    assert.ok(metricsOf(17).has('power') && metricsOf(17).has('speed'));

    // Sensor 0 is a strap at 110 bpm; its RR intervals sit in the past of the message (offsetMs).
    const strap = expected[0] ?? '';
    await until('RR intervals from strap 0', () => sink.readings.some((r) => r.sensor === strap && r.metric === 'rr_interval'), 5_000);
    const heartRates = sink.readings.filter((r) => r.sensor === strap && r.metric === 'heart_rate').map((r) => r.value);
    assert.ok(heartRates.length > 0 && heartRates.every((v) => v === 110), `strap heart rate ${heartRates.join(',')}`);
    const rr = sink.readings.filter((r) => r.sensor === strap && r.metric === 'rr_interval').map((r) => r.value);
    assert.ok(rr.length > 0 && rr.every((v) => Math.abs(v - 60_000 / 110) < 3), `RR near 545 ms: ${rr.join(',')}`);
    const power = sink.readings.filter((r) => r.sensor === expected[2] && r.metric === 'power').map((r) => r.value);
    assert.ok(power.length > 0 && power.every((v) => v === 156), `power meter 2 sends 156 W: ${power.join(',')}`);

    const health = source.health();
    assert.equal(health.state, 'running');
    assert.equal(health.sensors, 30);
    assert.equal(health.rejected, 0);
    assert.equal(health.readings, sink.readings.length);
  });

  test('battery and manufacturer pages become sensor metadata in the inventory name', async () => {
    const { source, sink } = await rig(['--sensors', '3', '--key', TEST_NETWORK_KEY], { permitJoinSeconds: 600 });
    await source.start(sink);
    // The strap sends manufacturer page 2 every 33rd message (~8 s at 4 Hz); the power meter page 0x50 every 61st.
    await until('the strap named with its manufacturer', () => sink.lastInventory.some((s) => s.id === 'ant:120:1000:1' && /manufacturer 1/.test(s.name ?? '')), 15_000);
    const strap = sink.lastInventory.find((s) => s.id === 'ant:120:1000:1');
    assert.match(strap?.name ?? '', /serial \d+/);
    assert.equal(strap?.kind, 'heart_rate');
  });

  test('allowlist admits only listed sensors; permitJoin(seconds) admits the rest and they stay admitted', async () => {
    const ids = expectedSensorIds(8);
    const allowedId = ids[1] ?? '';
    const { source, sink } = await rig(['--sensors', '8', '--key', TEST_NETWORK_KEY], { allow: [allowedId] });
    await source.start(sink);
    await until('readings from the allowed sensor', () => sink.sensorsWithReadings().has(allowedId), 5_000);
    await until('the 7 others heard and ignored', () => source.stats().ignoredSensors === 7, 5_000);
    assert.deepEqual([...sink.sensorsWithReadings()], [allowedId]);
    assert.ok(source.stats().ignoredMessages > 7);

    source.permitJoin(1);
    await until('all 8 sensors admitted', () => sink.sensorsWithReadings().size === 8, 5_000);
    await until('the join window to close', () => !source.joinOpen, 2_000);
    const afterClose = Date.now();
    await until('readings from joined sensors after the window closed', () => sink.sensorsWithReadings(afterClose + 300).size === 8, 5_000);
    await until('inventory of 8', () => sink.lastInventory.length === 8, 2_000);
  });

  test('per-channel mode on a stick without scan: a search timeout is reported and the channel reopened', async () => {
    const ids = expectedSensorIds(4);
    const strap = ids[0] ?? '';
    const powerMeter = ids[2] ?? '';
    const { stick, source, sink } = await rig(['--sensors', '4', '--key', TEST_NETWORK_KEY, '--no-scan', '--search-timeout-channel', '0'], {
      allow: [strap, powerMeter],
      channelReopenDelayMs: 100,
    });
    await source.start(sink);
    assert.equal(source.stats().mode, 'channels');
    // The simulator reports what it saw from its own process, so its log may trail the source by a moment.
    await until('channel 0 opened for the strap', () => stick.has('channelOpen', (e) => e.channel === 0 && e.deviceNumber === 1000 && e.deviceType === 120), 3_000);
    await until('channel 1 opened for the power meter', () => stick.has('channelOpen', (e) => e.channel === 1 && e.deviceType === 11), 3_000);
    await until('the search timeout', () => stick.has('searchTimeout'), 3_000);
    await until('channel 0 reopened', () => stick.has('channelOpen', (e) => e.channel === 0 && e.opens === 2), 3_000);
    await until('the search timeout counted', () => source.stats().searchTimeouts >= 1, 2_000);
    await until('reopen counted', () => source.stats().channelReopens >= 1, 2_000);
    await until('readings from both sensors', () => sink.sensorsWithReadings().has(strap) && sink.sensorsWithReadings().has(powerMeter), 5_000);
    assert.deepEqual([...sink.sensorsWithReadings()].sort(), [strap, powerMeter].sort());
    assert.equal(source.health().state, 'running');
  });

  test('per-channel mode joining: wildcard channels find sensors, name them from extended data and admit them', async () => {
    // Four sensors, one of each simulated profile; the pairing types cover all four.
    const ids = expectedSensorIds(4);
    const { stick, source, sink } = await rig(['--sensors', '4', '--key', TEST_NETWORK_KEY, '--no-scan', '--max-channels', '4'], { permitJoinSeconds: 60 });
    await source.start(sink);
    assert.equal(source.stats().mode, 'channels');
    await until('extended data switched on for wildcard channels', () => stick.has('libConfig', (e) => (Number(e.flags) & 0x80) !== 0), 3_000);
    await until('four wildcard channels opened', () => [0, 1, 2, 3].every((n) => stick.has('channelOpen', (e) => e.channel === n && e.deviceNumber === 0)), 3_000);
    await until('readings from all four sensors', () => sink.sensorsWithReadings().size === 4, 8_000);
    assert.deepEqual([...sink.sensorsWithReadings()].sort(), [...ids].sort());
    await until('inventory of the four joined sensors', () => sink.lastInventory.length === 4, 2_000);
    assert.equal(source.stats().unattributedMessages, 0);
  });

  test('garbage bytes and bad checksums are counted, the reader resyncs and readings continue', async () => {
    const { source, sink } = await rig(['--sensors', '12', '--key', TEST_NETWORK_KEY, '--garbage-ms', '40', '--bad-checksum-every', '7'], { permitJoinSeconds: 600 });
    await source.start(sink);
    await until('readings from all 12 sensors', () => sink.sensorsWithReadings().size === 12, 10_000);
    const before = sink.readings.length;
    await until('more than 10 bad checksums and 10 garbage bytes counted', () => source.stats().badChecksums > 10 && source.stats().garbageBytes > 10, 5_000);
    await until('readings to continue past the bad frames', () => sink.readings.length > before + 20, 5_000);
    const stats = source.stats();
    assert.ok(source.health().rejected >= stats.badChecksums);
    assert.equal(source.health().state, 'running');
  });

  test('unplug (socat and stick killed) is reported; replug recovers and readings resume', async (t) => {
    const { pty, stick, source, sink } = await rig(['--sensors', '6', '--key', TEST_NETWORK_KEY], { permitJoinSeconds: 600 });
    await source.start(sink);
    await until('readings from all 6', () => sink.sensorsWithReadings().size === 6, 5_000);

    await stick.kill();
    await pty.unplug();
    await until('the loss to show in health', () => source.health().state === 'degraded', 3_000);
    assert.match(source.health().detail ?? '', /stick lost/);
    assert.equal(source.stats().stickLosses, 1);
    await until('a reopen attempt to fail while unplugged', () => /stick lost: cannot open/.test(source.health().detail ?? ''), 3_000);
    assert.equal(source.health().state, 'degraded', 'still degraded while unplugged: reopen attempts fail');

    const replugAt = Date.now();
    await pty.plug();
    const replugged = new DeviceProcess('ant-stick.ts', pty.simulatorPath, ['--sensors', '6', '--key', TEST_NETWORK_KEY]);
    cleanups.push(() => replugged.kill());
    await replugged.ready();
    const stickReadyAt = Date.now();
    await until('a reading after replug', () => sink.readings.some((r) => r.ts >= replugAt), 10_000);
    const firstAfter = Math.min(...sink.readings.filter((r) => r.ts >= replugAt).map((r) => r.ts));
    const recoveryMs = firstAfter - replugAt;
    t.diagnostic(`replug to first reading: ${recoveryMs} ms, of which ${firstAfter - stickReadyAt} ms after the simulated stick was up`);
    assert.equal(source.health().state, 'running');
    assert.equal(source.stats().recoveries, 1);
    assert.ok(
      replugged.has('networkKey', (e) => e.ok === true),
      'init sequence re-ran with the key',
    );
    await until('all 6 sensors again', () => sink.sensorsWithReadings(replugAt).size === 6, 5_000);
  });
});

test('without a network key the source is unavailable, says where the key comes from, and opens nothing', async () => {
  let opened = false;
  const source = new AntSource({
    ...antSourceConfig({ transport: 'uart', path: '/nonexistent/ant' }),
    now: Date.now,
    log,
    createTransport: () => {
      opened = true;
      throw new Error('must not be called');
    },
  });
  await source.start(new RecordingSink());
  const health = source.health();
  assert.equal(health.state, 'unavailable');
  assert.match(health.detail ?? '', /network key/);
  assert.match(health.detail ?? '', /thisisant\.com/);
  assert.equal(opened, false);
  await source.stop();
});

test('a key from a missing environment variable makes the source unavailable without leaking anything', async () => {
  const source = new AntSource({ ...antSourceConfig({ transport: 'uart', path: '/x', networkKey: { env: 'PB_TEST_ANT_KEY_UNSET' } }), now: Date.now, log });
  await source.start(new RecordingSink());
  assert.equal(source.health().state, 'unavailable');
  assert.match(source.health().detail ?? '', /PB_TEST_ANT_KEY_UNSET is not set/);
  await source.stop();
});

test('a malformed key read from its file is refused with its length, never its content', async () => {
  // A key written in the configuration itself is checked when the configuration loads (config.test.ts).
  const dir = mkdtempSync(join(tmpdir(), 'pb-ant-key-'));
  dirs.push(dir);
  const keyFile = join(dir, 'ant.key');
  writeFileSync(keyFile, 'deadbeefzz\n');
  const source = new AntSource({ ...antSourceConfig({ transport: 'uart', path: '/x', networkKey: { file: keyFile } }), now: Date.now, log });
  await source.start(new RecordingSink());
  assert.equal(source.health().state, 'unavailable');
  assert.doesNotMatch(source.health().detail ?? '', /deadbeef/);
  await source.stop();
});

test('a missing serial device leaves the source degraded and retrying, not crashed', async () => {
  const source = new AntSource({
    ...antSourceConfig({ transport: 'uart', path: join(tmpdir(), 'pb-ant-no-such-device'), networkKey: TEST_NETWORK_KEY, reopenInitialMs: 50, reopenMaxMs: 100 }),
    now: Date.now,
    log,
  });
  await source.start(new RecordingSink());
  assert.equal(source.health().state, 'degraded');
  assert.match(source.health().detail ?? '', /no stick: .*pb-ant-no-such-device/);
  await source.stop();
  assert.equal(source.health().state, 'stopped');
});
