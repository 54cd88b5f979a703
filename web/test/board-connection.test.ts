import assert from 'node:assert/strict';
import { mock, test } from 'node:test';
import { Backoff } from '../../runtime/src/backoff.ts';
import { BoardConnection, type ConnectionStatus, type OpenStream } from '../src/board/connection.ts';
import { ApiProblem, type ServerEvent } from '../src/lib/api.ts';

/** A stream the test drives: each open() is one connection it can feed events to, end or fail. */
function scriptedStreams() {
  const connections: { emit: (event: ServerEvent) => void; end: () => void; fail: (error: unknown) => void; signal: AbortSignal }[] = [];
  const open: OpenStream = (onEvent, signal) =>
    new Promise<void>((resolve, reject) => {
      connections.push({ emit: onEvent, end: resolve, fail: reject, signal });
      signal.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')));
    });
  return { open, connections };
}

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));
const board: ServerEvent = { event: 'board', data: '{"tiles":[]}' };

test('a dropped stream reconnects after the backoff, and the first board event makes it live again', async () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  try {
    const { open, connections } = scriptedStreams();
    const statuses: ConnectionStatus[] = [];
    const events: string[] = [];
    const connection = new BoardConnection({
      open,
      onEvent: (e) => events.push(e.event),
      onStatus: (s) => statuses.push(s),
      backoff: new Backoff({ initialMs: 1_000, maxMs: 8_000, jitter: 0 }),
    });
    connection.start();
    connections[0]!.emit(board);
    connections[0]!.end();
    await flush();
    assert.deepEqual(statuses, ['live', 'reconnecting']);
    mock.timers.tick(999);
    assert.equal(connections.length, 1);
    mock.timers.tick(1);
    assert.equal(connections.length, 2);
    connections[1]!.fail(new TypeError('network'));
    await flush();
    mock.timers.tick(1_999);
    assert.equal(connections.length, 2, 'the second wait is twice the first');
    mock.timers.tick(1);
    assert.equal(connections.length, 3);
    connections[2]!.emit(board);
    assert.deepEqual(statuses, ['live', 'reconnecting', 'live']);
    assert.deepEqual(events, ['board', 'board']);
    connection.stop();
  } finally {
    mock.timers.reset();
  }
});

test('ended stops the connection for good: no reconnect', async () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  try {
    const { open, connections } = scriptedStreams();
    const statuses: ConnectionStatus[] = [];
    const connection = new BoardConnection({ open, onEvent: () => {}, onStatus: (s) => statuses.push(s) });
    connection.start();
    connections[0]!.emit(board);
    connections[0]!.emit({ event: 'ended', data: '{"tiles":[]}' });
    assert.equal(connections[0]!.signal.aborted, true);
    await flush();
    mock.timers.tick(60_000);
    assert.equal(connections.length, 1);
    assert.deepEqual(statuses, ['live', 'ended']);
  } finally {
    mock.timers.reset();
  }
});

test('a run the hub does not know (404) fails without retrying; stop() ends a pending retry', async () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  try {
    const { open, connections } = scriptedStreams();
    const statuses: ConnectionStatus[] = [];
    const missing = new BoardConnection({ open, onEvent: () => {}, onStatus: (s) => statuses.push(s) });
    missing.start();
    connections[0]!.fail(new ApiProblem(404, { code: 'not_found' }));
    await flush();
    mock.timers.tick(60_000);
    assert.equal(connections.length, 1);
    assert.deepEqual(statuses, ['failed']);

    const stopped = new BoardConnection({ open, onEvent: () => {}, onStatus: () => {} });
    stopped.start();
    connections[1]!.end();
    await flush();
    stopped.stop();
    mock.timers.tick(60_000);
    assert.equal(connections.length, 2);
  } finally {
    mock.timers.reset();
  }
});
