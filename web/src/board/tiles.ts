/**
 * The live board's state and how the stream's events change it (GET /api/v1/class-runs/:id/board, see
 * hub/src/api/board-operations.ts). A tile object is replaced only when one of its fields changed: the hub sends
 * the whole board once a second, and keeping the unchanged objects lets the memoised tiles skip rendering.
 */

/** One athlete's tile, as the API sends it (BoardTileSchema). */
export interface BoardTile {
  tile: string;
  athlete?: string;
  name: string;
  heartRateBpm?: number;
  percentOfMax?: number;
  /** 0 (below 50 % of max) to 5. */
  zone?: number;
  effortPoints?: number;
  kcal?: number;
  powerW?: number;
  cadenceRpm?: number;
  quiet: boolean;
  lastSeenAt?: string;
}

export interface BoardState {
  /** By tile key, in the order the hub sent them. */
  tiles: ReadonlyMap<string, BoardTile>;
  /** The run ended: the board has nothing more to show. */
  ended: boolean;
  /** Events applied; a view that only counts updates reads it. */
  version: number;
}

export const EMPTY_BOARD: BoardState = { tiles: new Map(), ended: false, version: 0 };

export type BoardEventName = 'board' | 'tiles' | 'ended';

const FIELDS = ['athlete', 'name', 'heartRateBpm', 'percentOfMax', 'zone', 'effortPoints', 'kcal', 'powerW', 'cadenceRpm', 'quiet', 'lastSeenAt'] as const;

export function sameTile(a: BoardTile, b: BoardTile): boolean {
  return FIELDS.every((field) => a[field] === b[field]);
}

/** The tiles of an event's data (the snapshot JSON); what is not a tile is left out rather than shown broken. */
export function tilesOf(data: string): BoardTile[] {
  const parsed: unknown = JSON.parse(data);
  const tiles = (parsed as { tiles?: unknown } | null)?.tiles;
  if (!Array.isArray(tiles)) throw new Error('board event without tiles');
  return tiles.filter(isTile);
}

function isTile(value: unknown): value is BoardTile {
  if (typeof value !== 'object' || value === null) return false;
  const tile = value as Record<string, unknown>;
  return typeof tile['tile'] === 'string' && typeof tile['name'] === 'string' && typeof tile['quiet'] === 'boolean';
}

/**
 * The state after one stream event. `board` holds every tile (tiles missing from it are gone: an athlete who
 * left or hid), `tiles` only the changed ones, `ended` ends the board. The same state object comes back when
 * nothing changed, and every tile that did not change keeps its object.
 */
export function applyBoardEvent(state: BoardState, event: BoardEventName, data: string): BoardState {
  if (event === 'ended') return { tiles: state.tiles, ended: true, version: state.version + 1 };
  const incoming = tilesOf(data);
  if (event === 'board') {
    let changed = incoming.length !== state.tiles.size;
    const tiles = new Map<string, BoardTile>();
    for (const tile of incoming) {
      const before = state.tiles.get(tile.tile);
      if (before !== undefined && sameTile(before, tile)) tiles.set(tile.tile, before);
      else {
        tiles.set(tile.tile, tile);
        changed = true;
      }
    }
    if (!changed && !state.ended) return state;
    return { tiles, ended: false, version: state.version + 1 };
  }
  let tiles: Map<string, BoardTile> | undefined;
  for (const tile of incoming) {
    const before = state.tiles.get(tile.tile);
    if (before !== undefined && sameTile(before, tile)) continue;
    tiles ??= new Map(state.tiles);
    tiles.set(tile.tile, tile);
  }
  return tiles === undefined ? state : { tiles, ended: state.ended, version: state.version + 1 };
}
