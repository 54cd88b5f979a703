import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gridColumns, groupByZone, sortTiles } from '../src/board/arrange.ts';
import type { BoardTile } from '../src/board/tiles.ts';

const collator = new Intl.Collator('en');
const tile = (key: string, name: string, fields: Partial<BoardTile> = {}): BoardTile => ({ tile: key, name, quiet: false, ...fields });
const names = (tiles: BoardTile[]): string[] => tiles.map((t) => t.name);

const tiles = [
  tile('t1', 'Olga', { effortPoints: 12, percentOfMax: 80, kcal: 100, zone: 3 }),
  tile('t2', 'anna', { effortPoints: 30, percentOfMax: 95, kcal: 90, zone: 5 }),
  tile('t3', 'Boris', { percentOfMax: 70, zone: 2 }),
  tile('t4', 'Dan', { effortPoints: 12, percentOfMax: 99, kcal: 140, zone: 5, quiet: true }),
];

test('by name sorts alphabetically in the language, ignoring case', () => {
  assert.deepEqual(names(sortTiles(tiles, 'name', collator)), ['anna', 'Boris', 'Dan', 'Olga']);
});

test('by a figure sorts highest first, ties by name, tiles without the figure last', () => {
  assert.deepEqual(names(sortTiles(tiles, 'effort', collator)), ['anna', 'Dan', 'Olga', 'Boris']);
  assert.deepEqual(names(sortTiles(tiles, 'kcal', collator)), ['Dan', 'Olga', 'anna', 'Boris']);
});

test('by % of max a quiet strap counts as without a figure: its last value is stale', () => {
  assert.deepEqual(names(sortTiles(tiles, 'percent', collator)), ['anna', 'Olga', 'Boris', 'Dan']);
});

test('equal names keep a stable order by tile key', () => {
  const twins = [tile('t9', 'Sam'), tile('t2', 'Sam')];
  assert.deepEqual(
    sortTiles(twins, 'name', collator).map((t) => t.tile),
    ['t2', 't9'],
  );
});

test('the team view groups by zone hardest first, quiet straps and tiles without a zone apart, empty groups left out', () => {
  const groups = groupByZone(sortTiles([...tiles, tile('t5', 'Eve'), tile('t6', 'Fay', { zone: 0 }), tile('t7', 'Gus', { zone: 9 })], 'name', collator));
  assert.deepEqual(
    groups.map((g) => [g.key, names(g.tiles)]),
    [
      [5, ['anna']],
      [3, ['Olga']],
      [2, ['Boris']],
      [0, ['Fay']],
      ['none', ['Eve', 'Gus']],
      ['quiet', ['Dan']],
    ],
  );
});

test('grid columns fit every tile on the screen: 60 tiles on a 16:9 screen in about 10 columns, one tile alone', () => {
  assert.equal(gridColumns(0, 16 / 9), 1);
  assert.equal(gridColumns(1, 16 / 9), 1);
  const columns = gridColumns(60, 16 / 9);
  assert.ok(columns >= 8 && columns <= 12, `got ${columns}`);
  assert.ok(Math.ceil(60 / columns) * columns >= 60);
  assert.ok(gridColumns(4, 16 / 9) <= 4);
});
