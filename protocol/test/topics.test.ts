import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MESSAGE_KIND_NAMES, ProtocolError, Topics, decodeJsonMessage, encodeJsonMessage } from '../src/index.ts';

test('topics are built and parsed back for every kind', () => {
  const topics = new Topics('gyms/eu');
  for (const kind of MESSAGE_KIND_NAMES) {
    const topic = topics.of('box-7', kind);
    assert.equal(topic, `gyms/eu/v1/box-7/${kind}`);
    assert.deepEqual(topics.parse(topic), { agent: 'box-7', kind });
  }
  assert.equal(topics.subscription('readings'), 'gyms/eu/v1/+/readings');
  assert.equal(topics.subscription('readings', 'hub'), '$share/hub/gyms/eu/v1/+/readings');
});

test('foreign, malformed and wildcard topics do not parse; bad ids do not build', () => {
  const topics = new Topics();
  for (const t of ['pb/v2/a/readings', 'pb/v1/a/unknown', 'pb/v1/a/b/readings', 'pb/v1/+/readings', 'other/v1/a/status', 'pb/v1//status']) {
    assert.equal(topics.parse(t), undefined, t);
  }
  for (const id of ['', 'a/b', '+', '#', 'x'.repeat(65), '-lead']) assert.throws(() => topics.of(id, 'status'));
  assert.throws(() => new Topics('pb/+'));
});

test('JSON messages are validated against their schema', () => {
  const ack = { stream: 's', first: 1, last: 9, result: 'stored' as const };
  assert.deepEqual(decodeJsonMessage('ack', encodeJsonMessage('ack', ack)), ack);
  const cases: [Buffer, ProtocolError['code']][] = [
    [Buffer.from('not json'), 'malformed'],
    [Buffer.from(JSON.stringify({ ...ack, result: 'maybe' })), 'invalid'],
    [Buffer.from(JSON.stringify({ stream: 's', first: -1, last: 0, result: 'stored' })), 'invalid'],
    [Buffer.alloc(300 * 1024, 0x20), 'too_large'],
  ];
  for (const [payload, code] of cases) {
    assert.throws(
      () => decodeJsonMessage('ack', payload),
      (e: unknown) => e instanceof ProtocolError && e.code === code,
    );
  }
  assert.throws(() => decodeJsonMessage('cmd', Buffer.from(JSON.stringify({ type: 'reboot' }))), ProtocolError);
});
