import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { VNode } from 'preact';
import { TileView, type TileViewProps } from '../src/board/tile-view.tsx';
import type { BoardTile } from '../src/board/tiles.ts';
import { translator } from '../src/i18n/index.ts';

const t = translator('en');
const now = Date.parse('2026-12-03T20:00:00.000Z');
const tile = (fields: Partial<BoardTile> = {}): BoardTile => ({
  tile: 't1',
  name: 'Olga',
  quiet: false,
  heartRateBpm: 151,
  percentOfMax: 84,
  zone: 4,
  effortPoints: 12.7,
  kcal: 210.4,
  ...fields,
});

/** The text a tile shows: its render tree with the function components expanded (they have no hooks). */
function textOf(node: unknown): string {
  if (node === null || node === undefined || typeof node === 'boolean') return '';
  if (typeof node === 'string' || typeof node === 'number') return String(node);
  if (Array.isArray(node)) return node.map(textOf).join('');
  const vnode = node as VNode<Record<string, unknown>>;
  if (typeof vnode.type === 'function') return textOf((vnode.type as (p: unknown) => unknown)(vnode.props));
  return textOf(vnode.props['children']) + (vnode.type === 'br' ? ' ' : '');
}

const rendered = (props: TileViewProps): string => textOf(new TileView(props).render());

test('a tile shows name, zone as text, heart rate, % of max, effort points and calories; power and cadence only when present', () => {
  const text = rendered({ tile: tile(), t, nowMs: 0 });
  for (const part of ['Olga', 'Zone 4', '151', 'bpm', '84', '%', '12 Effort', '210 kcal']) assert.ok(text.includes(part), `${part} in ${text}`);
  assert.ok(!text.includes(' W') && !text.includes('rpm'));
  const cycling = rendered({ tile: tile({ powerW: 230, cadenceRpm: 88 }), t, nowMs: 0 });
  assert.ok(cycling.includes('230 W') && cycling.includes('88 rpm'), cycling);
  assert.ok(rendered({ tile: tile({ zone: 0 }), t, nowMs: 0 }).includes('Rest'));
});

test('a quiet tile shows no figures but the no-signal text and the time since it was last seen', () => {
  const text = rendered({ tile: tile({ quiet: true, lastSeenAt: new Date(now - 12_000).toISOString() }), t, nowMs: now });
  assert.ok(text.includes('No signal') && text.includes('seen 12 s ago'), text);
  assert.ok(!text.includes('151') && !text.includes('Zone 4'), text);
  assert.ok(rendered({ tile: tile({ quiet: true }), t, nowMs: now }).includes('not seen yet'));
});

test('a tile renders again only for a new tile object, and a quiet one also when the second changes', () => {
  const same = tile();
  const view = new TileView({ tile: same, t, nowMs: 0 });
  assert.equal(view.shouldComponentUpdate({ tile: same, t, nowMs: 0 }), false);
  assert.equal(view.shouldComponentUpdate({ tile: tile(), t, nowMs: 0 }), true);
  assert.equal(view.shouldComponentUpdate({ tile: same, t: translator('ru'), nowMs: 0 }), true);
  const quiet = tile({ quiet: true });
  const quietView = new TileView({ tile: quiet, t, nowMs: now });
  assert.equal(quietView.shouldComponentUpdate({ tile: quiet, t, nowMs: now + 999 }), false);
  assert.equal(quietView.shouldComponentUpdate({ tile: quiet, t, nowMs: now + 1_000 }), true);
});
