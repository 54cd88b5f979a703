/**
 * Whatever an agent (or someone holding its credentials) publishes, the decoders answer with a value or a
 * ProtocolError: never another exception, whatever the nesting, the integer width or the array sizes.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Packr } from 'msgpackr';
import { MAX_DATE_MS, MAX_SEQUENCE, ProtocolError, decodeBatch, decodeJsonMessage, encodeBatch, type ReadingBatch } from '../src/index.ts';

const T0 = 1_764_072_000_000;
const packr = new Packr({ useRecords: false });
const recordPackr = new Packr({ useRecords: true });

const batch = (over: Partial<ReadingBatch> = {}): ReadingBatch => ({
  agent: 'box-1',
  stream: 's1',
  first: 0,
  last: 2,
  floor: 0,
  clockUnsynced: false,
  series: [{ sensor: 'ble:hr-1', metric: 'heart_rate', ts: [T0, T0 + 1000, T0 + 2000], values: [60, 61, 62] }],
  ...over,
});

/** The wire array of a valid batch with some fields replaced. */
const wire = (fields: Partial<Record<0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8, unknown>>): Buffer => {
  const fields0: unknown[] = [1, 'box-1', 's1', 0, 2, 0, 0, T0, [['ble:hr-1', [[1, [0, 1000, 0], [60, 1, 1]]]]]];
  for (const [i, v] of Object.entries(fields)) fields0[Number(i)] = v;
  return packr.pack(fields0);
};

/** The same with the field at `at` given as raw MessagePack bytes: nesting deeper than the encoder can go. */
const wireWithRaw = (at: number, raw: Buffer): Buffer => {
  const fields: unknown[] = [1, 'box-1', 's1', 0, 2, 0, 0, T0, [['ble:hr-1', [[1, [0, 1000, 0], [60, 1, 1]]]]]];
  return Buffer.concat([Buffer.from([0x99]), ...fields.map((f, i) => (i === at ? raw : packr.pack(f)))]);
};

function refusal(payload: Uint8Array): ProtocolError {
  try {
    decodeBatch(payload);
  } catch (err) {
    assert.ok(err instanceof ProtocolError, `expected a ProtocolError, got ${String(err)}`);
    return err;
  }
  assert.fail('the payload was accepted');
}

const nested = (depth: number, leaf: unknown): unknown => {
  let v = leaf;
  for (let i = 0; i < depth; i++) v = [v];
  return v;
};

test('sequence numbers up to MAX_SEQUENCE are accepted; beyond it the batch is refused as invalid, with its range when exact', () => {
  const top = decodeBatch(encodeBatch(batch({ first: MAX_SEQUENCE - 2, last: MAX_SEQUENCE, floor: MAX_SEQUENCE })));
  assert.deepEqual([top.first, top.last, top.floor], [MAX_SEQUENCE - 2, MAX_SEQUENCE, MAX_SEQUENCE]);
  for (const [first, last, floor] of [
    [MAX_SEQUENCE - 1, MAX_SEQUENCE + 1, 0],
    [0, 2, MAX_SEQUENCE + 1],
    [2 ** 52, 2 ** 52 + 2, 0],
  ] as const) {
    const err = refusal(encodeBatch(batch({ first, last, floor })));
    assert.equal(err.code, 'invalid', `${first}..${last} floor ${floor}`);
    assert.deepEqual(err.batch, { stream: 's1', first, last });
  }
  const beyondExact = refusal(encodeBatch(batch({ first: 2 ** 53, last: 2 ** 53 + 2 })));
  assert.equal(beyondExact.code, 'invalid');
  assert.equal(beyondExact.batch, undefined, 'a range that is not exact is not echoed in an ack');
});

test('times a JavaScript Date cannot hold are refused as out_of_range; the last representable millisecond is accepted', () => {
  const last = decodeBatch(encodeBatch(batch({ first: 0, last: 0, series: [{ sensor: 's', metric: 'heart_rate', ts: [MAX_DATE_MS], values: [60] }] })));
  assert.deepEqual(last.series[0]?.ts, [MAX_DATE_MS]);
  for (const ts of [MAX_DATE_MS + 1, 2 ** 53 - 1, -1]) {
    assert.throws(
      () => encodeBatch(batch({ first: 0, last: 0, series: [{ sensor: 's', metric: 'heart_rate', ts: [ts], values: [60] }] })),
      (err: unknown) => err instanceof ProtocolError && err.code === 'out_of_range',
      'an agent cannot encode what the hub would refuse',
    );
    assert.equal(refusal(wire({ 4: 0, 7: ts, 8: [['s', [[1, [0], [60]]]]] })).code, ts < 0 ? 'invalid' : 'out_of_range');
  }
  assert.equal(refusal(wire({ 8: [['s', [[1, [0, 2 ** 52, 2 ** 52], [60, 0, 0]]]]] })).code, 'out_of_range', 'deltas that add up past the limit');
});

test('64-bit integers decoded as BigInt anywhere in a batch are refused with a ProtocolError', () => {
  const big = 2n ** 60n;
  const cases: [string, Buffer][] = [
    ['version', wire({ 0: big })],
    ['first', wire({ 3: big })],
    ['last', wire({ 4: big })],
    ['floor', wire({ 5: big })],
    ['flags', wire({ 6: big })],
    ['t0', wire({ 7: big })],
    ['a time delta', wire({ 8: [['ble:hr-1', [[1, [0, big, 0], [60, 1, 1]]]]] })],
    ['a value delta', wire({ 8: [['ble:hr-1', [[1, [0, 1000, 0], [60, -big, 1]]]]] })],
    ['a metric code', wire({ 8: [['ble:hr-1', [[big, [0, 1000, 0], [60, 1, 1]]]]] })],
  ];
  for (const [where, payload] of cases) {
    const err = refusal(payload);
    assert.ok(['invalid', 'unsupported_version'].includes(err.code), `${where}: ${err.code} ${err.message}`);
  }
});

test('deep nesting, huge array headers, records and extension types are refused as ProtocolErrors', () => {
  // A deep array is a few bytes per level: 200 000 levels exhaust the decoder's stack.
  const deep = Buffer.concat([Buffer.alloc(200_000, 0x91), Buffer.from([0x01])]);
  assert.equal(refusal(deep).code, 'malformed');
  assert.equal(refusal(Buffer.concat([Buffer.from([0x99, 0x91]), deep.subarray(0, 50_000)])).code, 'malformed');
  for (const at of [0, 1, 3, 7, 8]) {
    assert.ok(refusal(wire({ [at]: nested(500, 1) })) instanceof ProtocolError);
    assert.equal(refusal(wireWithRaw(at, deep)).code, 'malformed');
  }
  assert.equal(refusal(Buffer.from([0xdd, 0xff, 0xff, 0xff, 0xff, 0x01])).code, 'malformed', 'array32 header claiming 4 billion items');
  assert.equal(refusal(Buffer.from([0xdf, 0xff, 0xff, 0xff, 0xff, 0x01])).code, 'malformed', 'map32 header claiming 4 billion entries');
  assert.equal(refusal(wire({ 8: [['s', [[1, new Array(100_001).fill(0), new Array(100_001).fill(0)]]]] })).code, 'invalid', 'series over MAX_READINGS_PER_SERIES');
  assert.ok(refusal(recordPackr.pack([{ a: 1 }, { a: 2 }])) instanceof ProtocolError);
  assert.ok(refusal(wire({ 8: recordPackr.pack([{ a: 1 }]) })) instanceof ProtocolError);
  assert.ok(refusal(wire({ 7: new Date(T0) })) instanceof ProtocolError);
  assert.equal(refusal(Buffer.from([0xd4, 0x05, 0x01])).code, 'malformed', 'unknown extension type');
  assert.ok(refusal(wire({ 1: { __proto__: { polluted: true } } })) instanceof ProtocolError);
  assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
});

/** A small seeded generator: the same payloads on every run, so a failure can be replayed. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('fuzz: thousands of mutated and random batches decode or throw ProtocolError, nothing else', () => {
  const random = prng(13);
  const int = (n: number): number => Math.floor(random() * n);
  const valid = encodeBatch(
    batch({
      first: 10,
      last: 15,
      series: [
        { sensor: 'ble:hr-1', metric: 'heart_rate', ts: [T0, T0 + 1000, T0 + 2000], values: [60, 61, 62] },
        { sensor: 'ant:pwr:1', metric: 'power', ts: [T0 + 5, T0 + 250, T0 + 500], values: [200, 210, -3] },
      ],
    }),
  );
  const atoms: unknown[] = [
    0,
    1,
    -1,
    255,
    65_536,
    2 ** 32,
    2 ** 53,
    -(2 ** 53),
    2n ** 63n - 1n,
    -(2n ** 63n),
    1.5,
    Number.NaN,
    Infinity,
    '',
    'x'.repeat(40),
    null,
    true,
    new Date(0),
    Buffer.from([1, 2]),
  ];
  const randomValue = (depth: number): unknown => {
    const pick = int(depth > 4 ? 1 : 3);
    if (pick === 0) return atoms[int(atoms.length)];
    if (pick === 1) return Array.from({ length: int(5) }, () => randomValue(depth + 1));
    return Object.fromEntries(Array.from({ length: int(3) }, (_, i) => [`k${i}`, randomValue(depth + 1)]));
  };
  let accepted = 0;
  for (let i = 0; i < 4_000; i++) {
    let payload: Buffer;
    const kind = i % 4;
    if (kind === 0) {
      payload = Buffer.from(valid);
      for (let flips = 1 + int(4); flips > 0; flips--) payload[int(payload.length)] = int(256);
    } else if (kind === 1) {
      payload = valid.subarray(0, int(valid.length));
    } else if (kind === 2) {
      const cut = int(valid.length);
      payload = Buffer.concat([valid.subarray(0, cut), Buffer.from(Array.from({ length: int(12) }, () => int(256))), valid.subarray(cut)]);
    } else {
      const fields: Partial<Record<number, unknown>> = {};
      for (let n = 1 + int(3); n > 0; n--) fields[int(9)] = randomValue(0);
      payload = wire(fields);
    }
    try {
      decodeBatch(payload);
      accepted++;
    } catch (err) {
      assert.ok(err instanceof ProtocolError, `payload ${i} (${payload.toString('hex').slice(0, 120)}) threw ${String(err)}`);
    }
  }
  assert.ok(accepted < 4_000, 'most mutations are refused');
});

test('JSON messages: unknown properties, however deep, are dropped; deep or huge values in known ones are refused', () => {
  const deepArray = '['.repeat(30_000) + ']'.repeat(30_000);
  const status = decodeJsonMessage('status', Buffer.from(`{"state":"online","extra":${deepArray},"more":{"a":${deepArray}}}`));
  assert.deepEqual(status, { state: 'online' });
  assert.doesNotThrow(() => JSON.stringify(status));
  const withSources = decodeJsonMessage('status', Buffer.from(`{"state":"online","sources":{"ble":{"state":"running","x":${deepArray}}}}`));
  assert.deepEqual(withSources, { state: 'online', sources: { ble: { state: 'running' } } });
  const event = decodeJsonMessage('events', Buffer.from(`{"at":1,"type":"t","deep":${deepArray}}`));
  assert.deepEqual(event, { at: 1, type: 't' });
  const inventory = decodeJsonMessage('inventory', Buffer.from(`{"sensors":[{"id":"s1","kind":"hr","source":"ble","metrics":[],"x":${deepArray}}]}`));
  assert.deepEqual(inventory, { sensors: [{ id: 's1', kind: 'hr', source: 'ble', metrics: [] }] });

  const refused = (kind: 'status' | 'inventory' | 'events', text: string | Buffer): string => {
    try {
      decodeJsonMessage(kind, Buffer.from(text));
    } catch (err) {
      assert.ok(err instanceof ProtocolError, String(err));
      return err.code;
    }
    assert.fail(`accepted ${String(text).slice(0, 80)}`);
  };
  assert.equal(refused('status', `{"state":${deepArray}}`), 'invalid');
  assert.equal(refused('inventory', `{"sensors":[${Array.from({ length: 5_000 }, () => '{}').join(',')}]}`), 'invalid');
  assert.equal(refused('events', '{"at":1e999,"type":"t"}'), 'invalid', 'JSON has no BigInt: a huge number is Infinity');
  assert.deepEqual(decodeJsonMessage('events', Buffer.from('{"at":1,"type":"t","__proto__":{"polluted":1}}')), { at: 1, type: 't' });
  const protoDeep = decodeJsonMessage('status', Buffer.from(`{"state":"online","__proto__":${deepArray},"sources":{"__proto__":{"state":"running","x":${deepArray}}}}`));
  assert.doesNotThrow(() => JSON.stringify(protoDeep));
  assert.deepEqual(Object.keys(protoDeep), ['state', 'sources']);
  assert.equal(refused('status', Buffer.alloc(300 * 1024, 0x20)), 'too_large');
  assert.equal(refused('status', Buffer.from([0xff, 0xfe, 0x00])), 'malformed');
  assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
});

test('fuzz: mutated JSON messages decode or throw ProtocolError, nothing else', () => {
  const random = prng(7);
  const int = (n: number): number => Math.floor(random() * n);
  const samples: ['status' | 'inventory' | 'events', string][] = [
    [
      'status',
      JSON.stringify({
        state: 'online',
        mono: 1.5,
        sentAt: T0,
        outbox: { readings: 1, bytes: 2, oldestAgeMs: 3, dropped: 0 },
        sources: { ble: { state: 'running', detail: 'ok' } },
      }),
    ],
    ['inventory', JSON.stringify({ sensors: [{ id: 'ble:hr-1', kind: 'heart_rate', source: 'ble', metrics: ['heart_rate'], rateHz: 1 }] })],
    ['events', JSON.stringify({ at: T0, type: 'source_failed', detail: 'x' })],
  ];
  const inserts = ['[', ']', '{', '}', ',', ':', '"', '1e999', '-0', '"__proto__"', '[[[[[[[[', 'null', '99999999999999999999'];
  for (let i = 0; i < 3_000; i++) {
    const [kind, text] = samples[i % samples.length]!;
    const at = int(text.length);
    const mutated =
      i % 2 === 0 ? text.slice(0, at) + inserts[int(inserts.length)]! + text.slice(at + int(3)) : text.slice(0, at) + String.fromCharCode(int(128)) + text.slice(at + 1);
    try {
      const message = decodeJsonMessage(kind, Buffer.from(mutated));
      assert.doesNotThrow(() => JSON.stringify(message));
    } catch (err) {
      assert.ok(err instanceof ProtocolError, `${kind} ${mutated} threw ${String(err)}`);
    }
  }
});
