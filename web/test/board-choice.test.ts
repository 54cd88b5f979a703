import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gymToOpen, readPreferences, rememberPreferences, runToOpen, type BoardStorage } from '../src/board/choice.ts';

function memoryStorage(): BoardStorage & { values: Map<string, string> } {
  const values = new Map<string, string>();
  return { values, getItem: (k) => values.get(k) ?? null, setItem: (k, v) => void values.set(k, v), removeItem: (k) => void values.delete(k) };
}

const run = (id: string) => ({ id, class: id.split('@')[0]!, startedAt: '2026-12-03T19:00:00.000Z' });

test('preferences come back as saved; a run forgotten is gone', () => {
  const storage = memoryStorage();
  rememberPreferences(storage, { gym: 'g1', run: 'c1@1', sort: 'effort', view: 'team' });
  assert.deepEqual(readPreferences(storage), { gym: 'g1', run: 'c1@1', sort: 'effort', view: 'team' });
  rememberPreferences(storage, { run: undefined });
  assert.equal(readPreferences(storage).run, undefined);
});

test('without storage or with unknown values the board sorts by name in the tile view', () => {
  assert.deepEqual(readPreferences(undefined), { sort: 'name', view: 'tiles' });
  const storage = memoryStorage();
  storage.setItem('pulsebridge.board.sort', 'shoe size');
  storage.setItem('pulsebridge.board.view', 'map');
  assert.deepEqual(readPreferences(storage), { sort: 'name', view: 'tiles' });
});

test('the remembered run opens while it runs; otherwise the only running run; with several the screen asks', () => {
  assert.equal(runToOpen([run('a@1'), run('b@2')], 'b@2'), 'b@2');
  assert.equal(runToOpen([run('a@1')], 'b@2'), 'a@1');
  assert.equal(runToOpen([run('a@1'), run('c@3')], 'b@2'), undefined);
  assert.equal(runToOpen([], 'b@2'), undefined);
});

test('a run that just ended is never reopened, even while the list still says it runs', () => {
  assert.equal(runToOpen([run('a@1'), run('b@2')], 'a@1', 'a@1'), 'b@2');
  assert.equal(runToOpen([run('a@1')], 'a@1', 'a@1'), undefined);
});

test('the remembered gym opens if the user still has it, else their only gym', () => {
  assert.equal(gymToOpen([{ id: 'g1' }, { id: 'g2' }], 'g2'), 'g2');
  assert.equal(gymToOpen([{ id: 'g1' }], 'gone'), 'g1');
  assert.equal(gymToOpen([{ id: 'g1' }, { id: 'g2' }], undefined), undefined);
});
