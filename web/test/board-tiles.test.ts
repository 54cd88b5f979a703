import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyBoardEvent, EMPTY_BOARD, type BoardTile } from '../src/board/tiles.ts';

const tile = (key: string, fields: Partial<BoardTile> = {}): BoardTile => ({ tile: key, name: `Athlete ${key}`, quiet: false, heartRateBpm: 120, zone: 2, ...fields });
const data = (tiles: unknown[]): string => JSON.stringify({ run: 'c1@1', state: 'running', at: '2026-12-03T20:00:00.000Z', tiles });

test('a board event holds every tile: tiles missing from it leave the board', () => {
  let state = applyBoardEvent(EMPTY_BOARD, 'board', data([tile('t1'), tile('t2')]));
  assert.deepEqual([...state.tiles.keys()], ['t1', 't2']);
  state = applyBoardEvent(state, 'board', data([tile('t2')]));
  assert.deepEqual([...state.tiles.keys()], ['t2']);
});

test('an unchanged board event keeps the state and every tile object, so nothing re-renders', () => {
  const first = applyBoardEvent(EMPTY_BOARD, 'board', data([tile('t1'), tile('t2')]));
  const again = applyBoardEvent(first, 'board', data([tile('t1'), tile('t2')]));
  assert.equal(again, first);
  const oneChanged = applyBoardEvent(first, 'board', data([tile('t1'), tile('t2', { heartRateBpm: 150 })]));
  assert.notEqual(oneChanged, first);
  assert.equal(oneChanged.tiles.get('t1'), first.tiles.get('t1'));
  assert.notEqual(oneChanged.tiles.get('t2'), first.tiles.get('t2'));
  assert.equal(oneChanged.tiles.get('t2')!.heartRateBpm, 150);
  assert.equal(oneChanged.version, first.version + 1);
});

test('a tiles event replaces only its tiles by key and keeps the others', () => {
  const first = applyBoardEvent(EMPTY_BOARD, 'board', data([tile('t1'), tile('t2')]));
  const next = applyBoardEvent(first, 'tiles', data([tile('t2', { quiet: true, zone: undefined })]));
  assert.equal(next.tiles.get('t1'), first.tiles.get('t1'));
  assert.equal(next.tiles.get('t2')!.quiet, true);
  assert.equal(next.tiles.get('t2')!.zone, undefined);
  assert.equal(applyBoardEvent(next, 'tiles', data([tile('t2', { quiet: true, zone: undefined })])), next);
});

test('a tiles event may bring an athlete who joined late', () => {
  const first = applyBoardEvent(EMPTY_BOARD, 'board', data([tile('t1')]));
  assert.deepEqual([...applyBoardEvent(first, 'tiles', data([tile('t3')])).tiles.keys()], ['t1', 't3']);
});

test('ended ends the board and a later board event (a new connection) opens it again', () => {
  const first = applyBoardEvent(EMPTY_BOARD, 'board', data([tile('t1')]));
  const ended = applyBoardEvent(first, 'ended', data([]));
  assert.equal(ended.ended, true);
  assert.equal(applyBoardEvent(ended, 'board', data([tile('t1')])).ended, false);
});

test('malformed tiles are left out and an event without tiles is refused', () => {
  const state = applyBoardEvent(EMPTY_BOARD, 'board', data([tile('t1'), { tile: 't2' }, null, 'x', { tile: 3, name: 'n', quiet: false }]));
  assert.deepEqual([...state.tiles.keys()], ['t1']);
  assert.throws(() => applyBoardEvent(state, 'tiles', '{"run":"x"}'), /without tiles/);
  assert.throws(() => applyBoardEvent(state, 'board', 'not json'), SyntaxError);
});
