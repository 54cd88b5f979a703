import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConnectionSlots } from '../../../src/sources/ble/connection-slots.ts';

test('room counts links and waiting sensors together against maxConnections', () => {
  const slots = new ConnectionSlots<string>(2);
  assert.equal(slots.room, 2);
  slots.enqueue('a');
  slots.enqueue('b');
  assert.equal(slots.room, 0);
  slots.enqueue('c');
  assert.equal(slots.room, -1, 'a full adapter ranks by how far over it would be');
  assert.deepEqual(slots.queued(), ['a', 'b', 'c']);
});

test('one attempt at a time: the next may start once the link layer of the current one is up', () => {
  const slots = new ConnectionSlots<string>(3);
  slots.enqueue('a');
  slots.enqueue('b');
  assert.equal(slots.takeFirst(), 'a');
  slots.begin('a', 'link-a');
  assert.equal(slots.readyToConnect, false);
  assert.equal(slots.connected('b'), false, 'only the attempt in flight can complete');
  assert.equal(slots.connected('a'), true);
  assert.equal(slots.readyToConnect, true);
  assert.equal(slots.connected('a'), false, 'an attempt completes once');
  assert.deepEqual([slots.linkCount, slots.queuedCount], [1, 1]);
});

test('a full adapter starts no attempt until a link is released; a stale link does not free a newer one', () => {
  const slots = new ConnectionSlots<string>(1);
  slots.begin('a', 'link-a1');
  slots.connected('a');
  assert.equal(slots.readyToConnect, false, 'the one slot is taken');
  slots.release('a', 'link-a0');
  assert.equal(slots.linkCount, 1, 'an older link of the same sensor does not hold the slot');
  slots.release('a', 'link-a1');
  assert.equal(slots.readyToConnect, true);
});

test('releasing a failed attempt frees the attempt; clear drops links, queue and attempt', () => {
  const slots = new ConnectionSlots<string>(2);
  slots.begin('a', 'link-a');
  slots.release('a', 'link-a');
  assert.deepEqual([slots.readyToConnect, slots.linkCount], [true, 0]);
  slots.begin('b', 'link-b');
  slots.enqueue('c');
  assert.equal(slots.dequeue('c'), true);
  assert.equal(slots.dequeue('c'), false);
  slots.enqueue('d');
  slots.clear();
  assert.deepEqual([slots.readyToConnect, slots.linkCount, slots.queuedCount, slots.takeFirst()], [true, 0, 0, undefined]);
});
