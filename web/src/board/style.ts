/**
 * The board's styles, always dark. Sizes come from the viewport (clamp with vw) for the page and from each
 * tile's own box (container query units, cqh/cqw) for what is inside a tile, so 6 or 60 tiles read across a
 * room at 1080p and 4K alike. Tiles are size-contained and numerals tabular: a changing number repaints its
 * tile only.
 */
export const BOARD_CSS = `
html.board-page, html.board-page body { margin: 0; height: 100%; background: #0b0d10; color: #f2f4f7; color-scheme: dark;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif; overflow: hidden; }
.board-page button, .board-page select { font: inherit; color: #f2f4f7; background: #1f242c; border: 0.15em solid #8a94a3;
  border-radius: 0.4em; padding: 0.2em 0.6em; cursor: pointer; }
.board-page button[aria-pressed="true"] { background: #f2f4f7; color: #0b0d10; border-color: #f2f4f7; }
.board-page :focus-visible { outline: 0.25em solid #ffd84d; outline-offset: 0.15em; }
.board-message { font-size: clamp(1.25rem, 2.4vw, 5rem); text-align: center; margin: 4vh 2vw; }

.board-live { display: grid; grid-template-rows: auto minmax(0, 1fr); height: 100vh; }
.board-header { display: flex; flex-wrap: wrap; align-items: center; gap: 0.6em 1.4em; padding: 0.5em 1em;
  font-size: clamp(0.9rem, 1.4vw, 3.2rem); border-bottom: 0.12em solid #2c323c; }
.board-header__title { font-size: 1.8em; margin: 0; font-weight: 800; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; max-width: 45vw; }
.board-header__count { font-size: 1.3em; font-weight: 700; font-variant-numeric: tabular-nums; }
.board-status { display: inline-flex; align-items: center; gap: 0.4em; }
.board-status__dot { width: 0.8em; height: 0.8em; border-radius: 50%; background: #8a94a3; }
.board-status--live .board-status__dot { background: #009e73; }
.board-status--reconnecting .board-status__dot, .board-status--connecting .board-status__dot { background: #e69f00; }
.board-status--failed .board-status__dot { background: #d55e00; }
.board-controls { display: flex; flex-wrap: wrap; align-items: center; gap: 0.6em; margin-left: auto; }
.board-controls [role="group"] { display: inline-flex; gap: 0.2em; }
.board-main { min-height: 0; padding: 0.6vw; }

.board-grid { list-style: none; margin: 0; padding: 0; height: 100%; display: grid; gap: 0.6vw;
  grid-template-columns: repeat(var(--columns, 6), minmax(0, 1fr)); grid-auto-rows: minmax(0, 1fr); }
.board-tile { container-type: size; contain: strict; border-radius: 0.6vw; padding: 4cqh 5cqw; box-sizing: border-box;
  display: flex; flex-direction: column; justify-content: space-between; overflow: hidden; font-variant-numeric: tabular-nums; }
.board-tile__top { display: flex; justify-content: space-between; align-items: baseline; gap: 3cqw; }
.board-tile__name { font-size: 14cqh; font-weight: 700; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.board-tile__zone { font-size: 11cqh; font-weight: 800; white-space: nowrap; border: 0.8cqh solid currentColor; border-radius: 2cqh; padding: 0 2cqw; }
.board-tile__main { display: flex; align-items: baseline; justify-content: space-between; gap: 3cqw; line-height: 1; }
.board-tile__hr { font-size: 40cqh; font-weight: 800; }
.board-tile__percent { font-size: 26cqh; font-weight: 700; }
.board-tile small { font-size: 0.4em; font-weight: 600; margin-left: 0.15em; }
.board-tile__more { display: flex; flex-wrap: wrap; gap: 0 6cqw; font-size: 12cqh; font-weight: 700; }
.board-tile__figure small { font-size: 0.75em; }
.board-tile--quiet { border: 1.2cqh dashed #6b7480; }
.board-tile__quiet { display: flex; align-items: center; gap: 4cqw; font-size: 13cqh; font-weight: 700; line-height: 1.15; }
.board-tile__quiet small { font-size: 0.85em; margin: 0; }
.board-tile__icon { width: 30cqh; height: 30cqh; flex: none; }

.board-team { height: 100%; display: grid; gap: 0.6vw; grid-template-columns: repeat(var(--lanes, 1), minmax(0, 1fr)); }
.board-lane { display: flex; flex-direction: column; min-height: 0; gap: 0.4vw; }
.board-lane__title { margin: 0; font-size: clamp(1rem, 1.7vw, 4rem); padding: 0.2em 0.4em; border-radius: 0.3em; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.board-lane__tiles { list-style: none; margin: 0; padding: 0; flex: 1; min-height: 0; display: grid; gap: 0.3vw;
  grid-template-rows: repeat(var(--lane-rows, 8), minmax(0, 1fr)); }
.board-tile--compact { flex-direction: row; align-items: center; padding: 0 4cqw; border-radius: 0.4vw; }
.board-tile--compact .board-tile__top { flex: 1; min-width: 0; }
.board-tile--compact .board-tile__name { font-size: 45cqh; }
.board-tile--compact .board-tile__zone { display: none; }
.board-tile--compact .board-tile__main { flex: none; }
.board-tile--compact .board-tile__hr { font-size: 55cqh; }
.board-tile--compact .board-tile__percent { display: none; }
.board-tile--compact .board-tile__quiet { font-size: 30cqh; }
.board-tile--compact .board-tile__quiet br, .board-tile--compact .board-tile__icon { display: none; }

.board-signin, .board-choice { min-height: 100vh; box-sizing: border-box; padding: 4vh 4vw; display: flex; flex-direction: column;
  align-items: center; justify-content: center; text-align: center; gap: 2vh; }
.board-signin h1, .board-choice h1 { font-size: clamp(2rem, 4vw, 9rem); margin: 0; }
.board-signin__step, .board-signin__note, .board-signin__complete { font-size: clamp(1.25rem, 2.4vw, 5.5rem); margin: 0; max-width: 80vw; }
.board-signin__uri { color: #ffd84d; word-break: break-all; }
.board-signin__complete { font-size: clamp(1rem, 1.6vw, 3.5rem); color: #c3cad5; word-break: break-all; }
.board-signin__code { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: clamp(3rem, 12vw, 28rem); font-weight: 800;
  letter-spacing: 0.08em; margin: 0; line-height: 1.1; }
.board-choice__list { list-style: none; margin: 0; padding: 0; display: grid; gap: 1.5vh; width: min(90vw, 60em); }
.board-choice__list button { width: 100%; font-size: clamp(1.5rem, 3vw, 7rem); padding: 0.5em 0.8em; text-align: left; }
.board-choice__list small { font-size: 0.6em; color: #c3cad5; margin-left: 0.5em; }
`;
