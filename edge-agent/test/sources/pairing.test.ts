import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import pino from 'pino';
import { Admission } from '../../src/sources/admission.ts';
import { PAIRING_FILE_NAME, loadPairingFile, savePairingFile } from '../../src/sources/pairing-file.ts';
import { MAX_HEARD_SENSORS, PairingState } from '../../src/sources/pairing-state.ts';
import { SensorBook } from '../../src/sources/sensor-book.ts';
import { SimulatorSource, simulatorConfig } from '../../src/sources/simulator/index.ts';
import { RecordingSink } from './recording-sink.ts';

const T0 = Date.UTC(2026, 0, 6, 18, 0, 0);
const silent = pino({ level: 'silent' });
const STRAP_1 = 'ble:c4-7f-51-00-00-01';
const STRAP_2 = 'ble:c4-7f-51-00-00-02';
const CONFIGURED = 'ble:c4-7f-51-00-00-99';

function captureLog(): { log: pino.Logger; messages: () => string[] } {
  const written: string[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => void written.push(line) });
  return { log, messages: () => written.map((l) => (JSON.parse(l) as { msg: string }).msg) };
}

function rig(allow: string[] = []) {
  const clock = { now: T0 };
  const pairing = new PairingState({ now: () => clock.now });
  const admission = new Admission({ allow, pairing, now: () => clock.now, log: silent, radio: 'BLE' });
  return { clock, pairing, admission };
}

test("the hub's list admits its sensors at once, the configured list stays an override, and a removed sensor stops being admitted", () => {
  const { pairing, admission } = rig(['BLE:C4:7F:51:00:00:99']);
  assert.equal(admission.isAdmitted(STRAP_1), false);
  assert.equal(admission.isAdmitted(CONFIGURED), true, 'configured ids are compared in the canonical form');
  assert.equal(pairing.apply({ version: 1, allow: [STRAP_1, 'BLE:C4:7F:51:00:00:02'], updatedAt: T0 }), true);
  assert.equal(admission.isAdmitted(STRAP_1), true);
  assert.equal(admission.isAdmitted(STRAP_2), true, 'hub ids are written in the canonical form too');
  assert.deepEqual([...admission.allowed].sort(), [STRAP_1, STRAP_2, CONFIGURED].sort());
  assert.equal(pairing.apply({ version: 2, allow: [STRAP_2, CONFIGURED], updatedAt: T0 }), true);
  assert.equal(admission.isAdmitted(STRAP_1), false);
  assert.equal(pairing.apply({ version: 3, allow: [], updatedAt: T0 }), true);
  assert.equal(admission.isAdmitted(CONFIGURED), true, 'a configured sensor stays admitted when the hub drops it');
  assert.equal(admission.isAdmitted(STRAP_2), false);
});

test('a list not newer than the applied one is ignored', () => {
  const { pairing, admission } = rig();
  assert.equal(pairing.apply({ version: 5, allow: [STRAP_1], updatedAt: T0 }), true);
  assert.equal(pairing.apply({ version: 4, allow: [STRAP_2], updatedAt: T0 }), false);
  assert.equal(pairing.apply({ version: 5, allow: [STRAP_2], updatedAt: T0 }), false);
  assert.equal(pairing.version, 5);
  assert.equal(admission.isAdmitted(STRAP_1), true);
  assert.equal(admission.isAdmitted(STRAP_2), false);
});

test("the hub's join window admits new sensors until it closes, and a new list forgets joined sensors it does not name", () => {
  const { clock, pairing, admission } = rig();
  pairing.openWindow({ until: T0 + 10_000, permitJoin: true, discover: false });
  assert.equal(admission.joinOpen, true);
  assert.equal(admission.isAdmitted(STRAP_1), true);
  assert.equal(admission.isAdmitted(STRAP_2), true);
  clock.now = T0 + 10_000;
  assert.equal(admission.joinOpen, false);
  assert.equal(admission.knows(STRAP_1), true, 'joined sensors stay admitted after the window');
  pairing.apply({ version: 1, allow: [STRAP_1], updatedAt: clock.now });
  assert.equal(admission.knows(STRAP_1), true);
  assert.equal(admission.knows(STRAP_2), false, 'the unpaired joined sensor is forgotten');
  assert.equal(admission.stats().joined, 1);
});

test('a book stops the readings of a sensor the hub unpairs, whatever its source still holds', () => {
  const clock = { now: T0 };
  const pairing = new PairingState({ now: () => clock.now });
  const book = new SensorBook({ source: 'ble', now: () => clock.now, log: silent, coalesceMs: 0, admission: { allow: [], pairing } });
  const sink = new RecordingSink();
  book.attach(sink);
  pairing.apply({ version: 1, allow: [STRAP_1], updatedAt: T0 });
  assert.equal(book.admit(STRAP_1), true);
  const entry = book.add(STRAP_1, { kind: 'heart_rate', device: undefined });
  assert.equal(book.emit(entry, [{ metric: 'heart_rate', value: 120 }]), 1);
  pairing.apply({ version: 2, allow: [], updatedAt: T0 });
  assert.equal(book.emit(entry, [{ metric: 'heart_rate', value: 121 }]), 0);
  assert.equal(book.deliver({ sensor: STRAP_1, metric: 'heart_rate', ts: T0, value: 122 }), true);
  assert.deepEqual(
    sink.readings.map((r) => r.value),
    [120],
  );
  assert.equal(book.stats().ignoredMessages, 2);
});

test('a discovery window collects refused sensors with their strongest signal, reports them strongest first, bounded, and stops when it closes', () => {
  const clock = { now: T0 };
  const pairing = new PairingState({ now: () => clock.now });
  const book = new SensorBook({ source: 'ble', now: () => clock.now, log: silent, admission: { allow: [], pairing } });
  book.admit(STRAP_1, { kind: 'heart_rate', rssi: -70 });
  assert.deepEqual(pairing.nearby(), [], 'nothing is collected before a window');
  pairing.openWindow({ until: T0 + 30_000, permitJoin: false, discover: true });
  book.admit(STRAP_1, { kind: 'heart_rate', rssi: -70 });
  book.admit(STRAP_1, { kind: 'heart_rate', rssi: -50 });
  book.admit(STRAP_1, { kind: 'heart_rate', rssi: -80 });
  book.admit(STRAP_2, { kind: 'heart_rate', rssi: -60 });
  book.admit('ant:120:7:1', { kind: 'heart_rate' });
  assert.deepEqual(pairing.nearby(), [
    { id: STRAP_1, kind: 'heart_rate', rssi: -50 },
    { id: STRAP_2, kind: 'heart_rate', rssi: -60 },
    { id: 'ant:120:7:1', kind: 'heart_rate' },
  ]);
  pairing.apply({ version: 1, allow: [STRAP_1], updatedAt: T0 });
  assert.deepEqual(
    pairing.nearby().map((s) => s.id),
    [STRAP_2, 'ant:120:7:1'],
    'a sensor paired meanwhile is no longer nearby',
  );
  for (let i = 0; i < MAX_HEARD_SENSORS + 100; i++) pairing.heard(`ble:x${i}`, 'heart_rate', -90);
  assert.equal(pairing.nearby().length, 64);
  clock.now = T0 + 30_000;
  pairing.heard('ble:late', 'heart_rate', 0);
  assert.equal(
    pairing.nearby().some((s) => s.id === 'ble:late'),
    false,
  );
});

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'pb-pairing-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('the saved list round-trips, is replaced atomically, and a missing file is no list', (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'state', PAIRING_FILE_NAME);
  const { log, messages } = captureLog();
  assert.equal(loadPairingFile(path, log), undefined);
  assert.deepEqual(messages(), [], 'a first start without a saved list is not worth a line');
  savePairingFile(path, { version: 1, allow: [STRAP_1], updatedAt: T0 });
  savePairingFile(path, { version: 2, allow: [STRAP_1, STRAP_2], updatedAt: T0 + 1 });
  assert.deepEqual(loadPairingFile(path, log), { version: 2, allow: [STRAP_1, STRAP_2], updatedAt: T0 + 1 });
  assert.deepEqual(readdirSync(join(dir, 'state')), [PAIRING_FILE_NAME], 'no temporary file is left behind');
});

test('a corrupt or invalid saved list is ignored with a log line', (t) => {
  const dir = tempDir(t);
  const path = join(dir, PAIRING_FILE_NAME);
  for (const content of [
    '{"version": 3, "allow": ["ble:c4-7f',
    JSON.stringify({ version: 'x', allow: [], updatedAt: 0 }),
    JSON.stringify({ version: 1, allow: ['no spaces allowed'], updatedAt: 0 }),
  ]) {
    writeFileSync(path, content);
    const { log, messages } = captureLog();
    assert.equal(loadPairingFile(path, log), undefined, content);
    assert.deepEqual(messages(), ['saved pairing list is corrupt; ignoring it']);
    assert.equal(readFileSync(path, 'utf8'), content, 'the file is left for an operator to look at');
  }
});

test('the simulator in admission mode sends only admitted sensors, each with a signal strength for discovery, and stops an unpaired one', async (t) => {
  t.mock.timers.enable({ apis: ['setInterval'] });
  const clock = { now: T0 };
  const pairing = new PairingState({ now: () => clock.now });
  const config = simulatorConfig({ athletes: 2, admission: true, equipment: { bike: 0, treadmill: 0, rower: 0, outdoor: 0 } });
  const sim = new SimulatorSource({ ...config, now: () => clock.now, log: silent, pairing });
  const [strap1, strap2] = sim.sensors().map((s) => s.id) as [string, string];
  const sink = new RecordingSink();
  await sim.start(sink);
  t.after(() => sim.stop());
  const advance = (ms: number): void => {
    for (let left = ms; left > 0; left -= config.tickMs) {
      clock.now += config.tickMs;
      t.mock.timers.tick(config.tickMs);
    }
  };
  pairing.openWindow({ until: T0 + 60_000, permitJoin: false, discover: true });
  advance(2_000);
  assert.equal(sink.readings.length, 0, 'nothing is admitted before pairing');
  const heard = pairing.nearby();
  assert.deepEqual(heard.map((s) => s.id).sort(), [strap1, strap2].sort());
  for (const sensor of heard) assert.equal(typeof sensor.rssi, 'number');
  pairing.apply({ version: 1, allow: [strap1], updatedAt: clock.now });
  advance(3_000);
  const sensorsWithReadings = new Set(sink.readings.map((r) => r.sensor));
  assert.deepEqual([...sensorsWithReadings], [strap1]);
  assert.deepEqual(
    sink.lastInventory.map((s) => s.id),
    [strap1],
  );
  pairing.apply({ version: 2, allow: [], updatedAt: clock.now });
  const before = sink.readings.length;
  advance(3_000);
  assert.equal(sink.readings.length, before, 'the unpaired strap sends nothing more');
});

test('the simulator without admission mode is unchanged: every sensor sends', async (t) => {
  t.mock.timers.enable({ apis: ['setInterval'] });
  const clock = { now: T0 };
  const config = simulatorConfig({ athletes: 2, equipment: { bike: 0, treadmill: 0, rower: 0, outdoor: 0 } });
  assert.equal(config.admission, false);
  const sim = new SimulatorSource({ ...config, now: () => clock.now, log: silent, pairing: new PairingState({ now: () => clock.now }) });
  const sink = new RecordingSink();
  await sim.start(sink);
  t.after(() => sim.stop());
  for (let i = 0; i < 40; i++) {
    clock.now += config.tickMs;
    t.mock.timers.tick(config.tickMs);
  }
  assert.equal(new Set(sink.readings.map((r) => r.sensor)).size, 2);
});
