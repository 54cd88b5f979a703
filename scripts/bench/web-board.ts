/**
 * The class board in Chromium: main-thread time per update with 60 athletes (the board gets one `board` event
 * a second). Bundles web/src/board/bench-page.ts with esbuild, serves it on loopback and loads it in Debian's
 * Chromium (headless, `--dump-dom`); the page times each update from receiving the event to the layout of what
 * it changed (parse, apply, render, style, layout; painting is left to the compositor) and writes percentiles
 * into the DOM. Cases: every tile changed (the worst second), 10 of 60 changed, none changed (the hub's
 * once-a-second full board when nothing moved). One JSON line per case; no `limit` (a frame is 16.7 ms, an
 * update a second apart).
 *
 *   node --import tsx scripts/bench/web-board.ts [--athletes 60] [--rounds 300] [--chromium /usr/bin/chromium]
 *
 * Without Chromium it says so on standard error and prints nothing.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import { printFigure } from './figures.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const { values } = parseArgs({
  options: {
    athletes: { type: 'string', default: '60' },
    rounds: { type: 'string', default: '300' },
    chromium: { type: 'string', default: process.env['CHROMIUM'] ?? '/usr/bin/chromium' },
  },
});
const athletes = Number(values.athletes);
const rounds = Number(values.rounds);

if (!existsSync(values.chromium)) {
  console.error(`web-board: no Chromium at ${values.chromium} (apt-get install chromium, or --chromium PATH); skipped`);
  process.exit(0);
}

const dir = mkdtempSync(join(tmpdir(), 'pb-web-board-'));
try {
  await build({
    entryPoints: [join(root, 'web/src/board/bench-page.ts')],
    bundle: true,
    minify: true,
    format: 'esm',
    outdir: dir,
    entryNames: 'page',
    tsconfig: join(root, 'web/tsconfig.json'),
    logLevel: 'warning',
  });
  writeFileSync(
    join(dir, 'index.html'),
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><link rel="stylesheet" href="page.css"></head><body><div id="root"></div><script type="module" src="page.js"></script></body></html>',
  );
  const types: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css' };
  const server = createServer((req, res) => {
    const file = join(dir, new URL(req.url ?? '/', 'http://x').pathname.replace(/^\/$/, '/index.html'));
    if (!file.startsWith(dir) || !existsSync(file)) return void res.writeHead(404).end();
    res.writeHead(200, { 'Content-Type': types[extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  try {
    for (const changed of [athletes, Math.min(10, athletes), 0]) {
      const result = await measure(`http://127.0.0.1:${port}/index.html?n=${athletes}&rounds=${rounds}&changed=${changed}`);
      printFigure(`class board update in Chromium, ${athletes} athletes, ${changed} changed`, round2(result.p50), 'ms', {
        p95: round2(result.p95),
        max: round2(result.max),
        script_p50: round2(result.scriptP50),
        rounds,
      });
    }
  } finally {
    server.close();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

function measure(url: string): Promise<{ p50: number; p95: number; max: number; scriptP50: number }> {
  const args = ['--headless', '--no-sandbox', '--disable-gpu', '--window-size=1920,1080', '--dump-dom', url];
  return new Promise((resolve, reject) => {
    execFile(values.chromium, args, { timeout: 120_000, maxBuffer: 64 * 1024 * 1024 }, (error, stdout) => {
      const found = /data-result="([^"]*)"/.exec(stdout);
      if (found === null) return reject(error ?? new Error('the bench page wrote no result'));
      resolve(JSON.parse(found[1]!.replaceAll('&quot;', '"')) as { p50: number; p95: number; max: number; scriptP50: number });
    });
  });
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}
