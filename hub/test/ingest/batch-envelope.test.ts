import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Packr } from 'msgpackr';
import { peekBatchEnvelope } from '../../src/ingest/batch-envelope.ts';
import { makeBatch } from './fakes.ts';

const packr = new Packr({ useRecords: false, variableMapSize: true });

test('reads the head of a real batch', () => {
  assert.deepEqual(peekBatchEnvelope(makeBatch({ agent: 'gym-a_1', stream: 'outbox-7', first: 300, count: 20 })), {
    version: 1,
    agent: 'gym-a_1',
    stream: 'outbox-7',
    first: 300,
    last: 319,
  });
});

test('reads sequence numbers in every integer width the encoder uses, float64 above 2^32 included', () => {
  for (const [first, last] of [
    [0, 127],
    [128, 255],
    [256, 65_535],
    [65_536, 2 ** 32 - 1],
    [2 ** 32, 2 ** 40],
    [2 ** 52, Number.MAX_SAFE_INTEGER],
  ]) {
    const payload = packr.pack([1, 'a', 's', first, last, 0, 0, 0, []]);
    assert.deepEqual(peekBatchEnvelope(payload), { version: 1, agent: 'a', stream: 's', first, last }, `${first}..${last}`);
  }
});

test('reads the head of a batch whose body is garbage or cut off', () => {
  const whole = packr.pack([2, 'a', 's', 10, 12, 0, 0, 0, [['x', 'not series']]]);
  assert.deepEqual(peekBatchEnvelope(whole), { version: 2, agent: 'a', stream: 's', first: 10, last: 12 });
  assert.deepEqual(peekBatchEnvelope(whole.subarray(0, 9)), { version: 2, agent: 'a', stream: 's', first: 10, last: 12 });
});

test('gives up, without throwing, on anything that does not name a stream and range', () => {
  const cases: [string, Uint8Array][] = [
    ['empty', new Uint8Array()],
    ['reserved byte', Uint8Array.of(0xc1, 0xff, 0x00)],
    ['a map', packr.pack({ stream: 's', first: 1, last: 2 })],
    ['short array', packr.pack([1, 'a', 's', 1])],
    ['string version', packr.pack(['1', 'a', 's', 1, 2, 0, 0, 0, []])],
    ['numeric agent', packr.pack([1, 7, 's', 1, 2, 0, 0, 0, []])],
    ['empty stream', packr.pack([1, 'a', '', 1, 2, 0, 0, 0, []])],
    ['stream too long', packr.pack([1, 'a', 'x'.repeat(33), 1, 2, 0, 0, 0, []])],
    ['negative first', packr.pack([1, 'a', 's', -1, 2, 0, 0, 0, []])],
    ['fractional last', packr.pack([1, 'a', 's', 1, 2.5, 0, 0, 0, []])],
    ['reversed range', packr.pack([1, 'a', 's', 9, 2, 0, 0, 0, []])],
    ['cut inside the stream id', packr.pack([1, 'a', 'stream', 1, 2, 0, 0, 0, []]).subarray(0, 6)],
    ['array32 header then nothing', Uint8Array.of(0xdd, 0, 0, 0, 9)],
  ];
  for (const [name, payload] of cases) assert.equal(peekBatchEnvelope(payload), undefined, name);
});

test('survives random bytes', () => {
  let seed = 12345;
  const random = (): number => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  for (let i = 0; i < 5000; i++) {
    const bytes = new Uint8Array(Math.floor(random() * 64));
    for (let j = 0; j < bytes.length; j++) bytes[j] = Math.floor(random() * 256);
    // Random heads that look like an array are the interesting ones.
    if (bytes.length > 0 && random() < 0.5) bytes[0] = 0x99;
    const envelope = peekBatchEnvelope(bytes);
    if (envelope) assert.ok(envelope.first <= envelope.last && envelope.stream.length > 0);
  }
});
