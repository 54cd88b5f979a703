/**
 * The live board of one class run. Cheap at 60 tiles a second: events go through applyBoardEvent, which keeps
 * every unchanged tile object, so each TileView (keyed by tile) skips rendering unless its own tile changed;
 * the order is computed once per state; the numerals are tabular and tiles sit in fixed grid cells with CSS
 * containment, so a changed number repaints its tile and moves nothing else.
 */
import type { ComponentChildren } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import type { Api } from '../lib/api.ts';
import type { Language, Translate } from '../i18n/index.ts';
import { gridColumns, groupByZone, sortTiles, SORT_ORDERS, type BoardView, type SortOrder, type ZoneGroupKey } from './arrange.ts';
import { BoardConnection, type ConnectionStatus } from './connection.ts';
import { applyBoardEvent, EMPTY_BOARD, type BoardState, type BoardTile } from './tiles.ts';
import { TileView, zoneLabel } from './tile-view.tsx';
import { zoneColour } from './zones.ts';

export interface LiveBoardProps {
  api: Api;
  t: Translate;
  language: Language;
  run: string;
  className: string;
  sort: SortOrder;
  view: BoardView;
  onSort(sort: SortOrder): void;
  onView(view: BoardView): void;
  /** The run ended or cannot be shown: back to the choice. */
  onLeave(reason: 'ended' | 'failed' | 'chosen'): void;
  /** Header extras from the app (the language switch). */
  controls?: ComponentChildren;
}

const SORT_KEYS = { name: 'boardSortName', effort: 'boardSortEffort', percent: 'boardSortPercent', kcal: 'boardSortKcal' } as const;
const STATUS_KEYS = {
  connecting: 'boardConnectionConnecting',
  live: 'boardConnectionLive',
  reconnecting: 'boardConnectionReconnecting',
  ended: 'boardConnectionEnded',
  failed: 'boardConnectionFailed',
} as const;

export function LiveBoard(props: LiveBoardProps) {
  const { api, t, run, onLeave } = props;
  const [board, setBoard] = useState<BoardState>(EMPTY_BOARD);
  const [status, setStatus] = useState<ConnectionStatus>('connecting');
  const nowMs = useClock(board);
  const aspect = useAspect();

  useEffect(() => {
    setBoard(EMPTY_BOARD);
    const connection = new BoardConnection({
      open: (onEvent, signal) => api.stream(`/class-runs/${encodeURIComponent(run)}/board`, onEvent, signal),
      onEvent: (event) => {
        if (event.event !== 'board' && event.event !== 'tiles' && event.event !== 'ended') return;
        setBoard((before) => {
          try {
            return applyBoardEvent(before, event.event as 'board' | 'tiles' | 'ended', event.data);
          } catch {
            // A garbled event changes nothing; the next `board` event (at most a second away) has every tile.
            return before;
          }
        });
      },
      onStatus: setStatus,
    });
    connection.start();
    return () => connection.stop();
  }, [api, run]);

  useEffect(() => {
    if (status === 'ended' || status === 'failed') onLeave(status);
  }, [status, onLeave]);

  const collator = useMemo(() => new Intl.Collator(props.language, { sensitivity: 'base' }), [props.language]);
  const sorted = useMemo(() => sortTiles(board.tiles.values(), props.sort, collator), [board.tiles, props.sort, collator]);

  return (
    <div class="board-live">
      <header class="board-header">
        <h1 class="board-header__title">{props.className}</h1>
        <span class="board-header__count">{t('boardAthletes', { count: board.tiles.size })}</span>
        <span class={`board-status board-status--${status}`} role="status" aria-label={t('boardConnection')}>
          <span class="board-status__dot" aria-hidden="true" />
          {t(STATUS_KEYS[status])}
        </span>
        <div class="board-controls">
          <label>
            {t('boardSort')}{' '}
            <select value={props.sort} onChange={(e) => props.onSort((e.currentTarget as HTMLSelectElement).value as SortOrder)}>
              {SORT_ORDERS.map((order) => (
                <option key={order} value={order}>
                  {t(SORT_KEYS[order])}
                </option>
              ))}
            </select>
          </label>
          <div role="group" aria-label={t('boardView')}>
            <button type="button" aria-pressed={props.view === 'tiles'} onClick={() => props.onView('tiles')}>
              {t('boardViewTiles')}
            </button>
            <button type="button" aria-pressed={props.view === 'team'} onClick={() => props.onView('team')}>
              {t('boardViewTeam')}
            </button>
          </div>
          <button type="button" onClick={() => onLeave('chosen')}>
            {t('boardChangeClass')}
          </button>
          {props.controls}
        </div>
      </header>
      <main class="board-main">
        {sorted.length === 0 ? (
          <p class="board-message">{status === 'live' ? t('boardEmpty') : t(STATUS_KEYS[status])}</p>
        ) : props.view === 'team' ? (
          <TeamView tiles={sorted} t={t} nowMs={nowMs} />
        ) : (
          <ul class="board-grid" style={{ '--columns': gridColumns(sorted.length, aspect) }}>
            {sorted.map((tile) => (
              <TileView key={tile.tile} tile={tile} t={t} nowMs={tile.quiet ? nowMs : 0} />
            ))}
          </ul>
        )}
      </main>
    </div>
  );
}

/** Rows a lane is divided into at least, so a lane of two is not two giant rows. */
const MIN_LANE_ROWS = 8;

function TeamView(props: { tiles: BoardTile[]; t: Translate; nowMs: number }) {
  const { t, nowMs } = props;
  const groups = groupByZone(props.tiles);
  const longest = Math.max(1, ...groups.map((g) => g.tiles.length));
  return (
    <div class="board-team" style={{ '--lanes': groups.length, '--lane-rows': Math.max(longest, MIN_LANE_ROWS) }}>
      {groups.map((group) => (
        <section key={String(group.key)} class="board-lane" aria-label={groupLabel(t, group.key)}>
          <h2 class="board-lane__title" style={laneStyle(group.key)}>
            {groupLabel(t, group.key)} · {group.tiles.length}
          </h2>
          <ul class="board-lane__tiles">
            {group.tiles.map((tile) => (
              <TileView key={tile.tile} tile={tile} t={t} nowMs={tile.quiet ? nowMs : 0} compact />
            ))}
          </ul>
        </section>
      ))}
    </div>
  );
}

function groupLabel(t: Translate, key: ZoneGroupKey): string {
  if (key === 'quiet') return t('boardGroupQuiet');
  return zoneLabel(t, key === 'none' ? undefined : key);
}

function laneStyle(key: ZoneGroupKey) {
  const colour = zoneColour(typeof key === 'number' ? key : undefined, key === 'quiet');
  return { background: colour.background, color: colour.text };
}

/** A clock that ticks once a second only while some strap is quiet (only quiet tiles show a time). */
function useClock(board: BoardState): number {
  const [now, setNow] = useState(() => Date.now());
  let anyQuiet = false;
  for (const tile of board.tiles.values()) if (tile.quiet) anyQuiet = true;
  useEffect(() => {
    if (!anyQuiet) return;
    setNow(Date.now());
    const timer = setInterval(() => setNow(Date.now()), 1_000);
    return () => clearInterval(timer);
  }, [anyQuiet]);
  return now;
}

/** The board area's width over height, for the grid's columns. */
function useAspect(): number {
  const measure = (): number => (typeof window === 'undefined' ? 16 / 9 : window.innerWidth / Math.max(1, window.innerHeight * 0.88));
  const [aspect, setAspect] = useState(measure);
  useEffect(() => {
    const onResize = (): void => setAspect(measure());
    window.addEventListener('resize', onResize);
    return () => window.removeEventListener('resize', onResize);
  }, []);
  return aspect;
}
