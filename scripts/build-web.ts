/**
 * Bundles the web app the hub serves into web/dist/: the app (web/src/app/main.tsx -> web/dist/app/) and the
 * class board (web/src/board/main.tsx -> web/dist/board/, a bundle of its own so a wall screen loads only the
 * board). Each gets its HTML page, its CSS, hashed file names (cached for a year by the hub) and a metafile.
 * Sizes (raw and gzip) go to stderr and to web/dist/sizes.json. No CDN, no external fonts: everything the
 * pages load comes from the hub.
 *
 *   npm run build:web
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const WEB_DIST = join(ROOT, 'web', 'dist');

export interface BundleSize {
  bundle: 'app' | 'board';
  /** Bytes of the page's JavaScript and CSS, minified. */
  bytes: number;
  gzipBytes: number;
}

const BUNDLES = [
  { bundle: 'app', entry: 'web/src/app/main.tsx', title: 'Pulsebridge', className: '' },
  { bundle: 'board', entry: 'web/src/board/main.tsx', title: 'Pulsebridge class board', className: 'board' },
] as const;

function page(title: string, className: string, script: string, css: string | undefined): string {
  // `data-theme` is set by the app before the first paint it controls; the board is always dark.
  return [
    '<!doctype html>',
    `<html lang="en"${className === 'board' ? ' data-theme="dark"' : ''}>`,
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${title}</title>`,
    ...(css === undefined ? [] : [`<link rel="stylesheet" href="${css}">`]),
    `<script type="module" src="${script}"></script>`,
    '</head>',
    `<body${className === '' ? '' : ` class="${className}"`}><div id="root"></div></body>`,
    '</html>',
    '',
  ].join('\n');
}

/** Builds both bundles into `outDir` (default web/dist) and answers their sizes. */
export async function buildWeb(options: { outDir?: string; quiet?: boolean } = {}): Promise<BundleSize[]> {
  const outDir = options.outDir ?? WEB_DIST;
  rmSync(outDir, { recursive: true, force: true });
  const sizes: BundleSize[] = [];
  for (const { bundle, entry, title, className } of BUNDLES) {
    const dir = join(outDir, bundle);
    mkdirSync(dir, { recursive: true });
    const result = await build({
      entryPoints: [join(ROOT, entry)],
      outdir: dir,
      entryNames: '[name]-[hash]',
      assetNames: '[name]-[hash]',
      bundle: true,
      minify: true,
      sourcemap: true,
      format: 'esm',
      platform: 'browser',
      target: ['chrome110', 'firefox110', 'safari16'],
      jsx: 'automatic',
      jsxImportSource: 'preact',
      tsconfig: join(ROOT, 'web', 'tsconfig.json'),
      metafile: true,
      absWorkingDir: ROOT,
      // Fonts and images are bundled as files next to the page, never fetched from elsewhere.
      loader: { '.woff2': 'file', '.svg': 'file', '.png': 'file' },
      logLevel: 'warning',
    });
    writeFileSync(join(dir, 'meta.json'), JSON.stringify(result.metafile));
    const outputs = Object.keys(result.metafile.outputs).filter((file) => !file.endsWith('.map'));
    const script = outputs.find((file) => file.endsWith('.js'));
    const css = outputs.find((file) => file.endsWith('.css'));
    if (script === undefined) throw new Error(`${entry}: esbuild wrote no script`);
    const url = (file: string) => `/${bundle}/${basename(file)}`;
    writeFileSync(join(dir, 'index.html'), page(title, className, url(script), css === undefined ? undefined : url(css)));
    let bytes = 0;
    let gzipBytes = 0;
    for (const file of [script, ...(css === undefined ? [] : [css])]) {
      const content = readFileSync(join(ROOT, file));
      const gzipped = gzipSync(content, { level: 9 });
      // The hub sends this copy to browsers that accept gzip (hub/src/web/web-app.ts).
      writeFileSync(join(ROOT, `${file}.gz`), gzipped);
      bytes += content.length;
      gzipBytes += gzipped.length;
    }
    sizes.push({ bundle, bytes, gzipBytes });
    if (options.quiet !== true) process.stderr.write(`web: ${relative(ROOT, dir)} ${(bytes / 1024).toFixed(1)} KiB, ${(gzipBytes / 1024).toFixed(1)} KiB gzip\n`);
  }
  writeFileSync(join(outDir, 'sizes.json'), `${JSON.stringify(sizes, null, 2)}\n`);
  return sizes;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  await buildWeb();
}
