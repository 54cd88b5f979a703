import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import pino from 'pino';
import type { SourceSink } from '../../../src/sources/source.ts';
import { SimulatorSource, simulatorConfig, type SimulatorConfig } from '../../../src/sources/simulator/index.ts';
import { RecordingSink } from '../recording-sink.ts';
import { until } from '@pulsebridge/runtime';

const T0 = Date.UTC(2025, 0, 6, 18, 0, 0);

function captureLog(): { log: pino.Logger; lines: () => { level: number; msg: string }[] } {
  const written: string[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => void written.push(line) });
  return { log, lines: () => written.map((l) => JSON.parse(l) as { level: number; msg: string }) };
}

/** A simulator on a fake wall clock, with node:test's mocked setInterval driving its tick. */
function fakeTimeSimulator(t: TestContext, config: Partial<SimulatorConfig> = {}) {
  t.mock.timers.enable({ apis: ['setInterval'] });
  const clock = { now: T0 };
  const { log, lines } = captureLog();
  const sim = new SimulatorSource({ ...simulatorConfig(config), now: () => clock.now, log });
  const { tickMs } = simulatorConfig(config);
  return {
    sim,
    clock,
    lines,
    /** Moves the wall clock and the timers forward together, one tick at a time. */
    advance(ms: number) {
      for (let left = ms; left > 0; left -= tickMs) {
        const step = Math.min(tickMs, left);
        clock.now += step;
        t.mock.timers.tick(step);
      }
    },
  };
}

test('start reports the inventory, then emits exactly what generate() gives for the same time', async (t) => {
  const { sim, advance } = fakeTimeSimulator(t, { athletes: 6 });
  const sink = new RecordingSink();
  assert.equal(sim.health().state, 'stopped');
  await sim.start(sink);
  assert.deepEqual(sink.inventories, [sim.sensors()]);
  assert.equal(sim.health().state, 'running');
  assert.equal(sim.health().sensors, 12);
  advance(10_000);
  await sim.stop();
  const expected = new SimulatorSource({ ...simulatorConfig({ athletes: 6 }), now: () => 0, log: pino({ level: 'silent' }) }).generate(T0, T0 + 10_001);
  assert.ok(expected.length > 300);
  assert.deepEqual(sink.readings, expected);
  assert.equal(sim.health().readings, expected.length);
  assert.equal(sim.health().state, 'stopped');
});

test('start twice does not double the output', async (t) => {
  const { sim, advance } = fakeTimeSimulator(t, { athletes: 2 });
  const sink = new RecordingSink();
  await sim.start(sink);
  await sim.start(sink);
  advance(5_000);
  await sim.stop();
  const keys = sink.readings.map((r) => `${r.sensor} ${r.metric} ${r.ts}`);
  assert.equal(new Set(keys).size, keys.length);
});

test('maxReadings: exactly that many, then the source stops emitting and says why', async (t) => {
  const { sim, advance, lines } = fakeTimeSimulator(t, { athletes: 20, maxReadings: 1_234 });
  const sink = new RecordingSink();
  await sim.start(sink);
  advance(60_000);
  assert.equal(sink.readings.length, 1_234);
  assert.equal(sim.health().readings, 1_234);
  assert.equal(sim.health().state, 'stopped');
  assert.match(sim.health().detail ?? '', /maxReadings/);
  // The first 1234 readings in time order: nothing skipped before the cut.
  const generated = sim.generate(T0, T0 + 60_001);
  assert.deepEqual(sink.readings, generated.slice(0, 1_234));
  assert.equal(lines().filter((l) => /maxReadings/.test(l.msg)).length, 1);
  advance(10_000);
  assert.equal(sink.readings.length, 1_234);
  await sim.stop();
});

test('maxReadings 0 emits nothing but still reports the sensors', async (t) => {
  const { sim, advance } = fakeTimeSimulator(t, { athletes: 3, maxReadings: 0 });
  const sink = new RecordingSink();
  await sim.start(sink);
  advance(5_000);
  assert.equal(sink.readings.length, 0);
  assert.equal(sink.inventories.length, 1);
  assert.equal(sink.inventories[0]!.length, 6);
  await sim.stop();
});

test('stop() stops the timer: no readings afterwards', async (t) => {
  const { sim, advance } = fakeTimeSimulator(t, { athletes: 4 });
  const sink = new RecordingSink();
  await sim.start(sink);
  advance(2_000);
  const before = sink.readings.length;
  assert.ok(before > 0);
  await sim.stop();
  advance(5_000);
  assert.equal(sink.readings.length, before);
  assert.equal(sim.health().state, 'stopped');
});

test('stop() releases the real timer', async () => {
  const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
  const baseline = timers();
  const sim = new SimulatorSource({ ...simulatorConfig({ athletes: 2 }), now: () => Date.now(), log: pino({ level: 'silent' }) });
  const sink = new RecordingSink();
  await sim.start(sink);
  assert.equal(timers(), baseline + 1, 'one timer for all sensors');
  await until('readings on the real timer', () => sink.readings.length > 0, 2_000);
  await sim.stop();
  assert.equal(timers(), baseline);
  const count = sink.readings.length;
  assert.ok(count > 0);
  // No timer is left (above), so nothing can emit once pending callbacks have run.
  await new Promise(setImmediate);
  assert.equal(sink.readings.length, count);
});

test('reaching maxReadings releases the real timer without a stop()', async () => {
  const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
  const baseline = timers();
  const sim = new SimulatorSource({ ...simulatorConfig({ athletes: 20, maxReadings: 50 }), now: () => Date.now(), log: pino({ level: 'silent' }) });
  const sink = new RecordingSink();
  await sim.start(sink);
  await until('maxReadings emitted', () => sink.readings.length >= 50, 5_000);
  // The tick that reaches maxReadings clears the timer itself: nothing can follow the 50th reading.
  assert.equal(sink.readings.length, 50);
  assert.equal(timers(), baseline);
  await sim.stop();
});

test('a clock that steps back pauses the output instead of sending a series backwards', async (t) => {
  const { sim, clock, advance, lines } = fakeTimeSimulator(t, { athletes: 3 });
  const sink = new RecordingSink();
  await sim.start(sink);
  advance(5_000);
  const before = sink.readings.length;
  clock.now -= 60_000;
  advance(30_000);
  assert.equal(sink.readings.length, before, 'silent while the clock is behind');
  assert.match(sim.health().detail ?? '', /clock stepped back/);
  assert.ok(lines().some((l) => /stepped back/.test(l.msg)));
  advance(40_000);
  assert.ok(sink.readings.length > before, 'resumes once the clock has caught up');
  assert.equal(sim.health().detail, undefined);
  const last = new Map<string, number>();
  for (const r of sink.readings) {
    const key = `${r.sensor} ${r.metric}`;
    assert.ok(r.ts > (last.get(key) ?? -Infinity), `${key} goes forward`);
    last.set(key, r.ts);
  }
  await sim.stop();
});

test('a clock jumping forward is not backfilled', async (t) => {
  const { sim, clock, advance, lines } = fakeTimeSimulator(t, { athletes: 3 });
  const sink = new RecordingSink();
  await sim.start(sink);
  advance(1_000);
  const before = sink.readings.length;
  clock.now += 3_600_000;
  advance(50);
  // One tick's worth at most (3 straps and 3 machines at <= 4 Hz plus beats), not an hour's.
  assert.ok(sink.readings.length - before < 20, `${sink.readings.length - before} readings after the jump`);
  assert.ok(lines().some((l) => /jumped forward/.test(l.msg)));
  await sim.stop();
});

test('a sink that throws is logged and does not stop the source', async (t) => {
  const { sim, advance, lines } = fakeTimeSimulator(t, { athletes: 2 });
  let calls = 0;
  const sink: SourceSink = {
    reading() {
      calls++;
      if (calls === 1) throw new Error('sink refused');
    },
    inventory() {},
  };
  await sim.start(sink);
  advance(3_000);
  assert.ok(calls > 5, `kept emitting after the failure (${calls} calls)`);
  assert.equal(sim.health().readings, calls, 'the refused reading still counts as emitted');
  assert.ok(lines().some((l) => l.msg === 'simulator sink threw on readings' && l.level === 50));
  await sim.stop();
});
