/**
 * The page scripts/bench/web-board.ts loads in Chromium: the live board of `n` athletes fed `rounds` `board`
 * events in which `changed` tiles changed, each timed from receiving the event to the layout of what it changed
 * (parse, apply, render, style, layout; painting is the compositor's). Rendering and effects are synchronous
 * here so the whole run ends before the load event, where `chromium --dump-dom` reads `data-result`. Not part
 * of the board's bundle.
 */
import { h, options, render } from 'preact';
import { boardTranslator as translator } from '../i18n/board.ts';
import type { ServerEvent } from '../lib/api.ts';
import type { SortOrder } from './arrange.ts';
import { LiveBoard } from './live-board.tsx';
import './board.css';

options.debounceRendering = (flush) => flush();
(options as { requestAnimationFrame?: (callback: () => void) => void }).requestAnimationFrame = (callback) => callback();
document.documentElement.classList.add('board-page');

const query = new URLSearchParams(location.search);
const athletes = Number(query.get('n') ?? '60');
const rounds = Number(query.get('rounds') ?? '300');
const changed = Math.min(athletes, Number(query.get('changed') ?? String(athletes)));
const sort = (query.get('sort') ?? 'name') as SortOrder;

function tilesAt(round: number) {
  return Array.from({ length: athletes }, (_, i) => {
    const step = i < changed ? round : 0;
    const percent = 50 + ((i * 7 + step) % 50);
    return {
      tile: `t${i}`,
      name: `Athlete ${i}`,
      quiet: false,
      heartRateBpm: 100 + ((i + step) % 80),
      percentOfMax: percent,
      zone: Math.min(5, Math.floor((percent - 50) / 10) + 1),
      effortPoints: i + step / 60,
      kcal: i * 7 + step / 10,
    };
  });
}

let emit: (event: ServerEvent) => void = () => {};
const api = {
  stream: (_path: string, onEvent: (event: ServerEvent) => void) => {
    emit = onEvent;
    onEvent({ event: 'board', data: JSON.stringify({ tiles: tilesAt(0) }) });
    return new Promise<void>(() => {});
  },
};
const noop = (): void => {};
render(
  h(LiveBoard, { api: api as never, t: translator('en'), language: 'en', run: 'bench', className: 'Bench', sort, view: 'tiles', onSort: noop, onView: noop, onLeave: noop }),
  document.getElementById('root')!,
);

const grid = document.querySelector<HTMLElement>('.board-grid')!;
void grid.offsetHeight;
const times: number[] = [];
// The script's share (parse, apply, render into the DOM) apart from the style and layout it causes.
const scriptTimes: number[] = [];
for (let round = 1; round <= rounds; round++) {
  const data = JSON.stringify({ tiles: tilesAt(round) });
  const started = performance.now();
  emit({ event: 'board', data });
  const rendered = performance.now();
  // Reading a size forces the style and layout the update needs, inside the measured time.
  void grid.offsetHeight;
  times.push(performance.now() - started);
  scriptTimes.push(rendered - started);
}
const at = (values: number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
};
document.body.setAttribute(
  'data-result',
  JSON.stringify({ athletes, changed, rounds, p50: at(times, 0.5), p95: at(times, 0.95), max: at(times, 1), scriptP50: at(scriptTimes, 0.5) }),
);
