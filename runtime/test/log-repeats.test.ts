import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { pino, type Logger } from 'pino';
import { LogRepeats } from '../src/log-repeats.ts';

interface Line {
  level: number;
  msg: string;
  [field: string]: unknown;
}

function capture(): { log: Logger; lines: Line[] } {
  const lines: Line[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const text of chunk.toString('utf8').split('\n')) if (text.length > 0) lines.push(JSON.parse(text) as Line);
      callback();
    },
  });
  return { log: pino({ level: 'debug' }, sink), lines };
}

const WARN = 40;
const ERROR = 50;

test('the first occurrence is written at once, repeats are counted into one summary line per interval', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const { log, lines } = capture();
  const repeats = new LogRepeats(log, { intervalMs: 10_000 });
  for (let i = 0; i < 250; i++) repeats.error('flush', { what: 'commit', attempt: i }, 'outbox storage operation failed');
  assert.equal(lines.length, 1, 'one line for 250 identical errors');
  assert.deepEqual({ level: lines[0]!.level, msg: lines[0]!.msg, attempt: lines[0]!.attempt }, { level: ERROR, msg: 'outbox storage operation failed', attempt: 0 });

  t.mock.timers.tick(9_999);
  assert.equal(lines.length, 1, 'no summary before the interval ends');
  t.mock.timers.tick(1);
  assert.equal(lines.length, 2);
  assert.equal(lines[1]!.msg, 'outbox storage operation failed (repeated 249 times in the last 10 s)');
  assert.equal(lines[1]!.level, ERROR, 'the summary keeps the level');
  assert.equal(lines[1]!.repeated, 249);
  assert.equal(lines[1]!.periodS, 10);
  assert.equal(lines[1]!.attempt, 249, 'the summary carries the fields of the latest occurrence');

  // Still repeating: still one summary per interval, no new "first" line.
  for (let i = 0; i < 30; i++) repeats.error('flush', {}, 'outbox storage operation failed');
  t.mock.timers.tick(10_000);
  assert.equal(lines.length, 3);
  assert.equal(lines[2]!.msg, 'outbox storage operation failed (repeated 30 times in the last 10 s)');
});

test('a key quiet for a whole interval is forgotten: its next occurrence is written at once again', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const { log, lines } = capture();
  const repeats = new LogRepeats(log, { intervalMs: 1_000 });
  repeats.warn('k', {}, 'once');
  t.mock.timers.tick(1_000);
  assert.equal(lines.length, 1, 'nothing repeated, no summary');
  assert.equal(repeats.size, 0);
  repeats.warn('k', {}, 'once');
  assert.equal(lines.length, 2);
  assert.equal(lines[1]!.msg, 'once');
});

test('keys are counted apart: one noisy key does not hide another', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const { log, lines } = capture();
  const repeats = new LogRepeats(log, { intervalMs: 1_000 });
  for (let i = 0; i < 100; i++) repeats.warn('agent-a\u0000malformed', { agent: 'agent-a' }, 'readings batch rejected');
  repeats.warn('agent-b\u0000malformed', { agent: 'agent-b' }, 'readings batch rejected');
  assert.deepEqual(
    lines.map((l) => l.agent),
    ['agent-a', 'agent-b'],
  );
  t.mock.timers.tick(1_000);
  assert.deepEqual(
    lines.slice(2).map((l) => [l.agent, l.repeated]),
    [['agent-a', 99]],
  );
});

test('the summary line carries an error as its message, never a stack trace', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const { log, lines } = capture();
  const repeats = new LogRepeats(log, { intervalMs: 1_000 });
  const err = Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
  repeats.error('full', { err }, 'outbox storage operation failed');
  repeats.error('full', { err }, 'outbox storage operation failed');
  t.mock.timers.tick(1_000);
  assert.equal(lines.length, 2);
  assert.match(String((lines[0]!.err as { stack: string }).stack), /database or disk is full/, 'the first line keeps the error whole');
  assert.equal(lines[1]!.err, 'database or disk is full');
});

test('past maxKeys new keys share one key, so memory stays bounded; their summary says so', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const { log, lines } = capture();
  const repeats = new LogRepeats(log, { intervalMs: 1_000, maxKeys: 3 });
  for (let i = 0; i < 1_000; i++) repeats.warn(`agent-${i}`, { agent: `agent-${i}` }, 'MQTT connection refused');
  assert.equal(repeats.size, 4, 'three keys and the one they share past the bound');
  assert.deepEqual(
    lines.map((l) => l.agent),
    ['agent-0', 'agent-1', 'agent-2', 'agent-3'],
    'the first key past the bound is written, then counted with the rest',
  );
  t.mock.timers.tick(1_000);
  assert.equal(lines.length, 5);
  assert.equal(lines[4]!.msg, 'log lines of 3+ other kinds (repeated 996 times in the last 1 s)');
  assert.equal(repeats.size, 1, 'the quiet keys are forgotten, the shared one counts on');
});

test('flush() writes what is counted so far and forgets every key; interval 0 writes every line', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const { log, lines } = capture();
  let mono = 0;
  const repeats = new LogRepeats(log, { intervalMs: 60_000, mono: () => mono });
  for (let i = 0; i < 5; i++) repeats.warn('k', {}, 'disk full');
  repeats.warn('quiet', {}, 'once only');
  mono = 12_000;
  repeats.flush();
  assert.deepEqual(
    lines.map((l) => l.msg),
    ['disk full', 'once only', 'disk full (repeated 4 times in the last 12 s)'],
  );
  assert.equal(lines[2]!.level, WARN);
  assert.equal(repeats.size, 0);
  t.mock.timers.tick(60_000);
  assert.equal(lines.length, 3, 'no summary after flush');

  const { log: log2, lines: lines2 } = capture();
  const everyLine = new LogRepeats(log2, { intervalMs: 0 });
  for (let i = 0; i < 3; i++) everyLine.warn('k', {}, 'again');
  assert.equal(lines2.length, 3);
  assert.equal(everyLine.size, 0);
});
