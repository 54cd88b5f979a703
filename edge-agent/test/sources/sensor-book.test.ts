import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import pino from 'pino';
import type { MetricId, Reading } from '@pulsebridge/protocol';
import { MAX_INVENTORY_METRICS, SensorBook, type SensorBookOptions } from '../../src/sources/sensor-book.ts';
import { RecordingSink } from './recording-sink.ts';

const silent = pino({ level: 'silent' });

function book<Device = undefined>(options: Partial<SensorBookOptions<Device>> = {}): { book: SensorBook<Device>; sink: RecordingSink; clock: { now: number } } {
  const clock = { now: 1_000_000 };
  const b = new SensorBook<Device>({ source: 'test', now: () => clock.now, log: silent, coalesceMs: 0, ...options });
  const sink = new RecordingSink();
  b.attach(sink);
  return { book: b, sink, clock };
}

test('admission: allowed ids pass, others are refused and counted once per sensor, a join window admits them for good', () => {
  const { book: b, clock } = book({ admission: { allow: ['a'] } });
  assert.equal(b.admit('a'), true);
  assert.equal(b.admit('x'), false);
  assert.equal(b.admit('x'), false);
  assert.equal(b.admit('y'), false);
  assert.deepEqual([b.stats().ignoredMessages, b.stats().ignoredSensors], [3, 2]);
  assert.equal(b.permitJoin(10), true);
  assert.equal(b.joinOpen, true);
  assert.equal(b.admit('x'), true);
  clock.now += 11_000;
  assert.equal(b.joinOpen, false);
  assert.equal(b.admit('x'), true, 'a joined sensor stays admitted after the window closes');
  assert.equal(b.admit('z'), false);
  assert.equal(b.knows('z'), false);
  assert.deepEqual(b.stats().admission, { allowed: 1, joined: 1, joinRefused: 0 });
  assert.equal(b.permitJoin(-1), false, 'a negative window is refused');
});

test('admission: a book without an allowlist admits every sensor and has no join window', () => {
  const { book: b } = book();
  assert.equal(b.admit('anything'), true);
  assert.equal(b.knows('anything'), true);
  assert.equal(b.permitJoin(5), false);
  assert.equal(b.joinOpen, false);
});

test('emit stamps the sensor id and the receive time plus each offset, and counts per sensor and in total', () => {
  const { book: b, sink } = book();
  const hr = b.add('hr', { kind: 'heart_rate', device: undefined });
  const emitted = b.emit(
    hr,
    [
      { metric: 'heart_rate', value: 61 },
      { metric: 'rr_interval', value: 980, offsetMs: -20.4 },
    ],
    5_000.4,
  );
  assert.equal(emitted, 2);
  assert.deepEqual(sink.readings, [
    { sensor: 'hr', metric: 'heart_rate', ts: 5_000, value: 61 },
    { sensor: 'hr', metric: 'rr_interval', ts: 4_980, value: 980 },
  ]);
  assert.equal(hr.readings, 2);
  assert.equal(hr.lastSeen, 5_000.4);
  assert.deepEqual([...hr.metrics], ['heart_rate', 'rr_interval']);
  assert.equal(b.stats().readings, 2);
});

test('emit rejects a value that is not a finite number and hands the others on', () => {
  const { book: b, sink } = book();
  const s = b.add('s', { kind: 'bike', device: undefined });
  assert.equal(
    b.emit(s, [
      { metric: 'power', value: Number.NaN },
      { metric: 'cadence', value: Infinity },
      { metric: 'speed', value: 3 },
    ]),
    1,
  );
  assert.deepEqual(
    sink.readings.map((r) => r.metric),
    ['speed'],
  );
  assert.equal(s.rejected, 2);
  assert.equal(b.health('running').rejected, 2);
});

test('a sink that throws loses only that reading; the reading still counts and the next ones arrive', () => {
  const { book: b } = book();
  const received: Reading[] = [];
  let calls = 0;
  b.attach({
    reading(reading) {
      if (++calls === 1) throw new Error('sink refused');
      received.push(reading);
    },
    inventory() {
      throw new Error('inventory refused');
    },
  });
  const s = b.add('s', { kind: 'bike', device: undefined });
  b.emit(s, [
    { metric: 'power', value: 100 },
    { metric: 'power', value: 101 },
  ]);
  assert.deepEqual(
    received.map((r) => r.value),
    [101],
  );
  assert.equal(b.stats().readings, 2);
  assert.equal(b.stats().sinkErrors, 1);
});

test('a sink that throws on every reading is logged once, with the failures counted in full', () => {
  const lines: { msg: string; failed: number }[] = [];
  const log = pino({ level: 'error' }, { write: (line: string) => void lines.push(JSON.parse(line) as { msg: string; failed: number }) });
  const b = new SensorBook<undefined>({ source: 'test', now: () => 1_000_000, log, coalesceMs: 0 });
  b.attach({
    reading() {
      throw new Error('disk full');
    },
    inventory() {},
  });
  const s = b.add('s', { kind: 'bike', device: undefined });
  for (let i = 0; i < 2_500; i++) b.emit(s, [{ metric: 'power', value: i % 1000 }]);
  assert.equal(b.stats().sinkErrors, 2_500);
  assert.deepEqual(
    lines.map((l) => [l.msg, l.failed]),
    [['test sink threw on readings', 1]],
  );
});

test('deliver takes readings stamped by the source for sensors in the book only', () => {
  const { book: b, sink } = book();
  const s = b.add('sim', { kind: 'rower', device: undefined, metrics: ['power'] });
  assert.equal(b.deliver({ sensor: 'sim', metric: 'power', ts: 42, value: 150 }), true);
  assert.equal(b.deliver({ sensor: 'other', metric: 'power', ts: 42, value: 150 }), false);
  assert.deepEqual(sink.readings, [{ sensor: 'sim', metric: 'power', ts: 42, value: 150 }]);
  assert.equal(s.lastSeen, 42);
});

test('inventory: declared metrics first, new metrics added as they come, capped per sensor', () => {
  const { book: b, sink } = book();
  const s = b.add('s', { kind: 'gps', name: 'GPS', rateHz: 1, device: undefined, metrics: ['latitude'] });
  b.emit(s, [{ metric: 'longitude', value: 13 }]);
  assert.deepEqual(sink.inventories.at(-1), [{ id: 's', kind: 'gps', source: 'test', name: 'GPS', rateHz: 1, metrics: ['latitude', 'longitude'] }]);
  const many = b.add('many', { kind: 'x', device: undefined });
  for (let i = 0; i < MAX_INVENTORY_METRICS + 10; i++) b.emit(many, [{ metric: `m${i}` as MetricId, value: i }]);
  assert.equal(many.metrics.size, MAX_INVENTORY_METRICS);
  assert.equal(many.readings, MAX_INVENTORY_METRICS + 10, 'readings past the cap are still emitted');
});

test('inventory: changes within the coalescing time are published once, and an unchanged inventory not again', (t: TestContext) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const { book: b, sink } = book({ coalesceMs: 100 });
  b.add('a', { kind: 'heart_rate', device: undefined });
  b.add('b', { kind: 'heart_rate', device: undefined });
  assert.equal(sink.inventories.length, 0);
  t.mock.timers.tick(100);
  assert.deepEqual(
    sink.inventories.map((inventory) => inventory.map((s) => s.id)),
    [['a', 'b']],
  );
  b.changed();
  t.mock.timers.tick(100);
  assert.equal(sink.inventories.length, 1, 'the same inventory is not published twice');
  b.detach();
  b.add('c', { kind: 'heart_rate', device: undefined });
  t.mock.timers.tick(100);
  assert.equal(sink.inventories.length, 1, 'nothing reaches a detached sink');
});

test('inventory: a batch of changes (a sensor renamed by removal and addition) is one publication', () => {
  const { book: b, sink } = book();
  b.add('old', { kind: 'rower', device: undefined });
  b.batch(() => {
    b.remove('old');
    b.add('new', { kind: 'rower', device: undefined });
  });
  assert.deepEqual(
    sink.inventories.map((inventory) => inventory.map((s) => s.id)),
    [['old'], ['new']],
  );
  assert.equal(b.remove('missing'), false);
});

test('facts: merged per sensor; only naming facts republish the inventory when the book has a list of them', () => {
  const { book: b, sink } = book<{ label: string }>({ namingFacts: new Set(['model']), nameOf: (entry) => `${entry.device.label} ${entry.facts['model'] ?? ''}`.trim() });
  const s = b.add('s', { kind: 'bike', device: { label: 'Trainer' } });
  assert.equal(sink.inventories.length, 1);
  b.mergeFacts(s, { battery: 90 });
  assert.equal(sink.inventories.length, 1, 'battery does not name the sensor');
  b.mergeFacts(s, { model: 'K2' });
  assert.equal(sink.inventories.at(-1)?.[0]?.name, 'Trainer K2');
  b.mergeFacts(s, { model: 'K2' });
  assert.equal(sink.inventories.length, 2);
  assert.deepEqual(s.facts, { battery: 90, model: 'K2' });
});

test('decoded: a refusal is counted on its sensor; state is kept per key and cleared when the decoder returns none', () => {
  const { book: b, sink } = book();
  const s = b.add('s', { kind: 'bike', device: undefined });
  assert.equal(b.decoded(s, { ok: false, reason: 'too short' }, '2a63'), false);
  assert.equal(s.rejected, 1);
  assert.equal(b.decoded(s, { ok: true, measurements: [{ metric: 'power', value: 200 }], state: { revs: 3 }, facts: { battery: 80 } }, '2a63', 7_000), true);
  assert.equal(b.decoded(s, { ok: true, measurements: [], state: 'x' }, '2a5b'), true);
  assert.deepEqual(
    [...s.decoderStates],
    [
      ['2a63', { revs: 3 }],
      ['2a5b', 'x'],
    ],
  );
  b.decoded(s, { ok: true, measurements: [] }, '2a5b');
  assert.deepEqual([...s.decoderStates.keys()], ['2a63']);
  b.resetDecoders(s);
  assert.equal(s.decoderStates.size, 0);
  assert.deepEqual(sink.readings, [{ sensor: 's', metric: 'power', ts: 7_000, value: 200 }]);
  assert.equal(s.facts['battery'], 80);
});

test('quirks are counted per sensor and in total, one per deviation; a decoded result brings its own', () => {
  const { book: b, sink } = book();
  const s = b.add('s', { kind: 'treadmill', device: undefined });
  const other = b.add('o', { kind: 'rower', device: undefined });
  b.quirk(s, '2acd', 'unannounced trailing bytes');
  b.quirk(s, '2acd', 'unannounced trailing bytes', 'reserved flag bits');
  assert.equal(s.quirks, 3);
  assert.equal(b.decoded(other, { ok: true, measurements: [{ metric: 'power', value: 90 }], quirks: ['4 unannounced trailing bytes'] }, '2ad1'), true);
  assert.equal(b.decoded(other, { ok: true, measurements: [], quirks: [] }, '2ad1'), true);
  assert.equal(other.quirks, 1);
  assert.equal(other.rejected, 0, 'a quirk is not a rejection');
  assert.equal(sink.readings.length, 1, 'a record with quirks keeps its readings');
  assert.equal(b.stats().quirks, 4);
});

test('health keeps the SourceHealth shape: counts from the book, transport refusals added, devices only for sources with links', () => {
  const { book: b } = book();
  b.add('s', { kind: 'bike', device: undefined });
  b.reject(undefined, 'bad checksum');
  assert.deepEqual(b.health('degraded', 'stick lost', 3), { state: 'degraded', detail: 'stick lost', sensors: 1, readings: 0, rejected: 4 });
  assert.deepEqual(b.health('running'), { state: 'running', sensors: 1, readings: 0, rejected: 1 });
  assert.deepEqual(b.devices(), [], 'a source without links lists no devices');

  const { book: ble, clock } = book<{ state: string; rssi?: number }>({
    linkOf: (entry) => ({ state: entry.device.state, rssi: entry.device.rssi, adapter: entry.device.state === 'connected' ? 'hci0' : undefined }),
  });
  const strap = ble.add('ble:aa', { kind: 'heart_rate', device: { state: 'advertising' } });
  assert.deepEqual(ble.health('running').devices, [{ id: 'ble:aa', state: 'advertising', lastSeen: null, rssi: null, adapter: null, detail: null, quirks: 0 }]);
  ble.heard(strap);
  strap.device.state = 'connected';
  strap.device.rssi = -60;
  ble.quirk(strap, '2a37', 'reserved flag bits');
  assert.deepEqual(ble.health('running').devices, [{ id: 'ble:aa', state: 'connected', lastSeen: clock.now, rssi: -60, adapter: 'hci0', detail: null, quirks: 1 }]);
});

test('facts read once are remembered per sensor across links', () => {
  const { book: b } = book();
  const s = b.add('s', { kind: 'heart_rate', device: undefined });
  s.factsRead.add('2a29');
  b.resetDecoders(s);
  assert.ok(b.get('s')?.factsRead.has('2a29'));
  assert.equal(b.add('s', { kind: 'other', device: undefined }), s, 'adding a known sensor returns its entry unchanged');
});
