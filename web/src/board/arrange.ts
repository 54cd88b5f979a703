/** How the board lays its tiles out: the sort orders, the team view's zone groups, and the grid's columns. */
import type { BoardTile } from './tiles.ts';

export const SORT_ORDERS = ['name', 'effort', 'percent', 'kcal'] as const;
export type SortOrder = (typeof SORT_ORDERS)[number];

export const VIEWS = ['tiles', 'team'] as const;
export type BoardView = (typeof VIEWS)[number];

const FIGURE: Record<Exclude<SortOrder, 'name'>, (tile: BoardTile) => number | undefined> = {
  effort: (tile) => tile.effortPoints,
  percent: (tile) => (tile.quiet ? undefined : tile.percentOfMax),
  kcal: (tile) => tile.kcal,
};

/**
 * The tiles in the chosen order: names alphabetically in the board's language; figures highest first, tiles
 * without the figure last; ties by name, then by key, so the order never flickers between updates.
 */
export function sortTiles(tiles: Iterable<BoardTile>, order: SortOrder, collator: Intl.Collator): BoardTile[] {
  const byName = (a: BoardTile, b: BoardTile): number => collator.compare(a.name, b.name) || (a.tile < b.tile ? -1 : a.tile > b.tile ? 1 : 0);
  const list = [...tiles];
  if (order === 'name') return list.sort(byName);
  const figure = FIGURE[order];
  return list.sort((a, b) => {
    const fa = figure(a);
    const fb = figure(b);
    if (fa === undefined || fb === undefined) return fa === fb ? byName(a, b) : fa === undefined ? 1 : -1;
    return fb - fa || byName(a, b);
  });
}

/** A team view group: a zone (5 first, down to 0, rest), athletes whose strap went quiet, or without a zone. */
export type ZoneGroupKey = 5 | 4 | 3 | 2 | 1 | 0 | 'none' | 'quiet';
export interface ZoneGroup {
  key: ZoneGroupKey;
  tiles: BoardTile[];
}

const GROUP_ORDER: readonly ZoneGroupKey[] = [5, 4, 3, 2, 1, 0, 'none', 'quiet'];

/**
 * The tiles grouped by zone, hardest first, each group in the given order (sort first, then group). A quiet
 * strap's zone is stale, so it goes to the quiet group; a tile without a zone (no maximum heart rate known)
 * to `none`. Empty groups are left out.
 */
export function groupByZone(sorted: readonly BoardTile[]): ZoneGroup[] {
  const groups = new Map<ZoneGroupKey, BoardTile[]>();
  for (const tile of sorted) {
    const key = groupOf(tile);
    const list = groups.get(key);
    if (list) list.push(tile);
    else groups.set(key, [tile]);
  }
  return GROUP_ORDER.flatMap((key) => {
    const tiles = groups.get(key);
    return tiles ? [{ key, tiles }] : [];
  });
}

function groupOf(tile: BoardTile): ZoneGroupKey {
  if (tile.quiet) return 'quiet';
  const zone = tile.zone;
  if (zone === undefined || !Number.isInteger(zone) || zone < 0 || zone > 5) return 'none';
  return zone as ZoneGroupKey;
}

/**
 * Columns for `count` tiles on a screen of `aspect` (width / height) so that every tile fits without
 * scrolling and tiles stay close to `tileAspect`: the fewest rows whose tiles are still wide enough.
 */
export function gridColumns(count: number, aspect: number, tileAspect = 1.6): number {
  if (count <= 1) return 1;
  let best = 1;
  let bestSize = 0;
  for (let columns = 1; columns <= count; columns++) {
    const rows = Math.ceil(count / columns);
    // The tile's size when its box is as large as the cell allows at the wanted aspect.
    const cellW = aspect / columns;
    const cellH = 1 / rows;
    const size = Math.min(cellW, cellH * tileAspect);
    if (size > bestSize) {
      bestSize = size;
      best = columns;
    }
  }
  return best;
}
