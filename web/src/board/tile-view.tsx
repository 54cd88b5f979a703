/** @jsxRuntime automatic @jsxImportSource preact */
// The pragma: unit tests load this file through tsx with the root tsconfig, which has no JSX settings.
/**
 * One athlete's tile. A class component with shouldComponentUpdate rather than preact/compat's memo (one less
 * module in the board's bundle): it renders again only when its tile object changed (tiles.ts keeps unchanged
 * ones) or, for a quiet strap, when the second shown in "seen N s ago" changed.
 */
import { Component } from 'preact';
import type { Translate } from '../i18n/index.ts';
import { lastSeen } from './last-seen.ts';
import type { BoardTile } from './tiles.ts';
import { zoneColour } from './zones.ts';

export interface TileViewProps {
  tile: BoardTile;
  t: Translate;
  /** The clock for the quiet text; the board passes 0 to tiles that are not quiet so the clock does not re-render them. */
  nowMs: number;
  compact?: boolean;
}

export function zoneLabel(t: Translate, zone: number | undefined): string {
  if (zone === undefined) return t('boardZoneNone');
  return zone === 0 ? t('boardZoneRest') : t('boardZone', { zone: String(zone) });
}

export class TileView extends Component<TileViewProps> {
  override shouldComponentUpdate(next: TileViewProps): boolean {
    const { tile, t, nowMs, compact } = this.props;
    if (next.tile !== tile || next.t !== t || next.compact !== compact) return true;
    return next.tile.quiet && Math.floor(next.nowMs / 1000) !== Math.floor(nowMs / 1000);
  }

  override render() {
    const { tile, t, nowMs, compact } = this.props;
    const colour = zoneColour(tile.zone, tile.quiet);
    const style = { background: colour.background, color: colour.text };
    const className = `board-tile${tile.quiet ? ' board-tile--quiet' : ''}${compact ? ' board-tile--compact' : ''}`;
    return (
      <li class={className} style={style} aria-label={tile.name}>
        <div class="board-tile__body">
          <div class="board-tile__top">
            <span class="board-tile__name">{tile.name}</span>
            {!tile.quiet && <span class="board-tile__zone">{zoneLabel(t, tile.zone)}</span>}
          </div>
          {tile.quiet ? <QuietState tile={tile} t={t} nowMs={nowMs} /> : <Figures tile={tile} t={t} compact={compact === true} />}
        </div>
      </li>
    );
  }
}

function Figures(props: { tile: BoardTile; t: Translate; compact: boolean }) {
  const { tile, t } = props;
  return (
    <>
      <div class="board-tile__main">
        <span class="board-tile__hr" title={t('boardHeartRate')}>
          {tile.heartRateBpm ?? '–'}
          <small>{t('boardBpm')}</small>
        </span>
        {tile.percentOfMax !== undefined && (
          <span class="board-tile__percent" title={t('boardPercentOfMax')}>
            {tile.percentOfMax}
            <small>%</small>
          </span>
        )}
      </div>
      {!props.compact && (
        <div class="board-tile__more">
          {tile.effortPoints !== undefined && <Figure value={Math.floor(tile.effortPoints)} unit={t('boardEffort')} />}
          {tile.kcal !== undefined && <Figure value={Math.round(tile.kcal)} unit={t('boardKcal')} />}
          {tile.powerW !== undefined && <Figure value={tile.powerW} unit={t('boardPower')} />}
          {tile.cadenceRpm !== undefined && <Figure value={tile.cadenceRpm} unit={t('boardCadence')} />}
        </div>
      )}
    </>
  );
}

function Figure(props: { value: number; unit: string }) {
  return (
    <span class="board-tile__figure">
      {props.value} <small>{props.unit}</small>
    </span>
  );
}

function QuietState(props: { tile: BoardTile; t: Translate; nowMs: number }) {
  const seen = lastSeen(props.tile.lastSeenAt, props.nowMs);
  return (
    <div class="board-tile__quiet">
      <svg class="board-tile__icon" viewBox="0 0 24 24" aria-hidden="true" focusable="false">
        <path d="M2 9a15 15 0 0 1 20 0M5.5 12.5a10 10 0 0 1 13 0M9 16a5 5 0 0 1 6 0M3 3l18 18" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" />
      </svg>
      <span class="board-tile__quiet-text">
        <span class="board-tile__quiet-label">{props.t('boardQuiet')}</span>
        <small>{seen.key === 'boardNeverSeen' ? props.t(seen.key) : props.t(seen.key, { count: seen.count })}</small>
      </span>
    </div>
  );
}
