/**
 * Bundles the agent and the hub into one ESM file each (edge-agent/dist/main.mjs, hub/dist/main.mjs) so
 * production runs plain `node` without a TypeScript loader: on a Raspberry Pi that loader alone costs
 * about 45 MB of memory. npm packages stay external and load from node_modules as usual. Then the web app
 * (scripts/build-web.ts) into web/dist, which the hub serves.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { build, type Plugin } from 'esbuild';
import { buildWeb } from './build-web.ts';

const externalPackages: Plugin = {
  name: 'external-packages',
  setup(b) {
    // Our own workspaces are TypeScript and get bundled; everything else from node_modules stays a plain import.
    b.onResolve({ filter: /^[^./]/ }, (args) => (args.path.startsWith('@pulsebridge/') ? undefined : { path: args.path, external: true }));
  },
};

for (const app of ['edge-agent', 'hub']) {
  await build({
    entryPoints: [`${app}/src/main.ts`],
    outfile: `${app}/dist/main.mjs`,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    sourcemap: true,
    plugins: [externalPackages],
    logLevel: 'warning',
  });
  // The sources' shebang asks for the TypeScript loader; the bundle needs plain node.
  const out = `${app}/dist/main.mjs`;
  writeFileSync(out, readFileSync(out, 'utf8').replace(/^#!.*\n/, '#!/usr/bin/env node\n'));
  console.log(`built ${out}`);
}

// The web app the hub serves (web/dist), so one `npm run build` gives everything production runs.
await buildWeb();
console.log('built web/dist');
