/**
 * What the Docker tests need without Docker: a Dockerfile read into stages and instructions, and the runtime
 * stage's COPY lines replayed into an empty folder standing for the image's root. The build stage's files are
 * the repository's own after `npm run build`; the deps stage's `npm ci --omit=dev --workspace <ws>` is replayed
 * from package-lock.json: exactly the packages that command installs for this platform, copied from the
 * repository's node_modules (no registry needed).
 */
import { cpSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, posix, relative, sep } from 'node:path';

export interface Instruction {
  keyword: string;
  /** The text after the keyword, continuation lines joined. */
  args: string;
}

export interface Stage {
  name: string;
  image: string;
  platform?: string;
  instructions: Instruction[];
}

export function parseDockerfile(text: string): Stage[] {
  const logical: string[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    if (pending === '' && (line.trim() === '' || line.trim().startsWith('#'))) continue;
    if (pending !== '' && line.trim().startsWith('#')) continue;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    logical.push((pending + line).trim());
    pending = '';
  }
  const stages: Stage[] = [];
  // ARGs before the first FROM, with their defaults: what FROM lines may use.
  const globalArgs = new Map<string, string>();
  for (const line of logical) {
    const match = /^(\w+)\s+([\s\S]*)$/.exec(line);
    if (!match) throw new Error(`cannot read the Dockerfile line: ${line}`);
    const keyword = match[1]!.toUpperCase();
    const args = match[2]!.replace(/\s+/g, ' ').trim();
    if (keyword === 'ARG' && stages.length === 0) {
      const [name, value = ''] = args.split('=');
      globalArgs.set(name!, value);
    } else if (keyword === 'FROM') {
      const words = args.replace(/\$\{(\w+)\}/g, (whole, name: string) => globalArgs.get(name) ?? whole).split(' ');
      const platform = words.find((w) => w.startsWith('--platform='))?.slice('--platform='.length);
      const rest = words.filter((w) => !w.startsWith('--'));
      const asAt = rest.findIndex((w) => w.toUpperCase() === 'AS');
      stages.push({ name: asAt >= 0 ? rest[asAt + 1]! : String(stages.length), image: rest[0]!, ...(platform ? { platform } : {}), instructions: [] });
    } else if (stages.length > 0) {
      stages.at(-1)!.instructions.push({ keyword, args });
    }
  }
  return stages;
}

export const all = (stage: Stage, keyword: string): string[] => stage.instructions.filter((i) => i.keyword === keyword).map((i) => i.args);
export const last = (stage: Stage, keyword: string): string | undefined => all(stage, keyword).at(-1);

export interface Copy {
  from?: string;
  chown?: string;
  sources: string[];
  destination: string;
}

export function copies(stage: Stage): Copy[] {
  return all(stage, 'COPY').map((args) => {
    const words = args.split(' ');
    const flags = Object.fromEntries(words.filter((w) => w.startsWith('--')).map((w) => w.slice(2).split('=') as [string, string]));
    const paths = words.filter((w) => !w.startsWith('--'));
    return { ...(flags['from'] ? { from: flags['from'] } : {}), ...(flags['chown'] ? { chown: flags['chown'] } : {}), sources: paths.slice(0, -1), destination: paths.at(-1)! };
  });
}

/** `ENV a=b c=d` lines of a stage, as a map (the `ENV a b` form is not used here). */
export function envOf(stage: Stage): Record<string, string> {
  const env: Record<string, string> = {};
  for (const args of all(stage, 'ENV')) for (const pair of args.split(' ')) if (pair.includes('=')) env[pair.slice(0, pair.indexOf('='))] = pair.slice(pair.indexOf('=') + 1);
  return env;
}

/** The exec-form (JSON array) argument of ENTRYPOINT, CMD or HEALTHCHECK ... CMD. */
export function execForm(args: string): string[] {
  const json = args.slice(args.indexOf('['));
  return JSON.parse(json) as string[];
}

export const workdir = (stage: Stage): string => last(stage, 'WORKDIR') ?? '/';

interface LockEntry {
  link?: boolean;
  resolved?: string;
  optional?: boolean;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

/**
 * The package-lock locations `npm ci --omit=dev --workspace <workspace>` installs: the workspace's dependencies,
 * the workspaces it links and theirs, resolved as Node does (nearest node_modules upwards). Optional packages
 * for other platforms (not in the repository's node_modules) are left out, as npm does on this one.
 */
export function productionClosure(root: string, workspace: string): string[] {
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  const packages = lock.packages;
  const parent = (location: string): string => (location.includes('/node_modules/') ? location.slice(0, location.lastIndexOf('/node_modules/')) : '');
  const resolve = (from: string, name: string): string | undefined => {
    for (let base = from; ; base = parent(base)) {
      const candidate = `${base ? `${base}/` : ''}node_modules/${name}`;
      if (packages[candidate]) return candidate;
      if (base === '') return undefined;
    }
  };
  const installed = new Set<string>();
  const queue = [workspace];
  while (queue.length > 0) {
    const location = queue.pop()!;
    if (installed.has(location)) continue;
    installed.add(location);
    const entry = packages[location]!;
    const optional = new Set([
      ...Object.keys(entry.optionalDependencies ?? {}),
      ...Object.entries(entry.peerDependenciesMeta ?? {})
        .filter(([, meta]) => meta.optional)
        .map(([name]) => name),
    ]);
    const names = new Set([...Object.keys(entry.dependencies ?? {}), ...Object.keys(entry.optionalDependencies ?? {}), ...Object.keys(entry.peerDependencies ?? {})]);
    for (const name of names) {
      const found = resolve(location, name);
      if (found === undefined) {
        if (optional.has(name)) continue;
        throw new Error(`${location} needs ${name}, which package-lock.json does not resolve`);
      }
      const target = packages[found]!;
      if (target.link) {
        installed.add(found);
        queue.push(target.resolved!);
      } else if (existsSync(join(root, found))) {
        queue.push(found);
      } else if (!optional.has(name) && !target.optional) {
        throw new Error(`${found} is in package-lock.json but not installed`);
      }
    }
  }
  return [...installed].filter((location) => location.includes('node_modules/') && !packages[location]!.link).sort();
}

/**
 * Writes into `into` the node_modules folders the deps stage leaves behind: the production closure, each
 * package without the nested node_modules of packages outside it, and `<workspace>/node_modules` (empty when npm
 * nests nothing there, as the Dockerfile's `mkdir -p` makes it).
 */
export function installProduction(root: string, workspace: string, into: string): void {
  mkdirSync(join(into, 'node_modules'), { recursive: true });
  mkdirSync(join(into, workspace, 'node_modules'), { recursive: true });
  for (const location of productionClosure(root, workspace)) {
    const from = join(root, location);
    cpSync(from, join(into, location), {
      recursive: true,
      verbatimSymlinks: true,
      filter: (path) => !relative(from, path).split(sep).includes('node_modules'),
    });
  }
}

/**
 * Replays the COPY lines of the Dockerfile's last stage into `imageRoot` (the image's `/`). `stageRoot(stage)`
 * gives the folder standing for a stage's WORKDIR; paths a stage makes outside it with `install -d` or
 * `mkdir -p` in a RUN line are made empty. Returns the destinations written, as absolute image paths.
 */
export function replayCopies(stages: Stage[], imageRoot: string, stageRoot: (stage: string) => string): string[] {
  const runtime = stages.at(-1)!;
  const cwd = workdir(runtime);
  const written: string[] = [];
  for (const copy of copies(runtime)) {
    if (copy.from === undefined) throw new Error(`COPY without --from in the runtime stage: ${copy.sources.join(' ')}`);
    const source = stages.find((s) => s.name === copy.from);
    if (!source) throw new Error(`COPY --from=${copy.from}: no such stage`);
    const sourceCwd = workdir(source);
    for (const path of copy.sources) {
      const absolute = posix.resolve(sourceCwd, path);
      const destination = posix.resolve(cwd, copy.destination);
      const target = join(imageRoot, destination);
      if (absolute === sourceCwd || absolute.startsWith(`${sourceCwd}/`)) {
        const from = join(stageRoot(source.name), posix.relative(sourceCwd, absolute));
        if (!existsSync(from)) throw new Error(`COPY --from=${copy.from} ${path}: ${from} does not exist`);
        mkdirSync(dirname(target), { recursive: true });
        cpSync(from, target, { recursive: true, verbatimSymlinks: true });
      } else if (all(source, 'RUN').some((run) => new RegExp(`(install -d|mkdir -p)[^&]*\\s${absolute.replace(/[/.]/g, '\\$&')}(/|\\s|$)`).test(run))) {
        mkdirSync(join(target, posix.relative(absolute, absolute)), { recursive: true });
        // The stage made deeper folders under it too (e.g. /var/lib/pulsebridge/hub): make them as well.
        for (const run of all(source, 'RUN'))
          for (const made of run.match(new RegExp(`${absolute.replace(/[/.]/g, '\\$&')}[^\\s&]*`, 'g')) ?? [])
            mkdirSync(join(target, posix.relative(absolute, made)), { recursive: true });
      } else {
        throw new Error(`COPY --from=${copy.from} ${path}: neither under ${sourceCwd} nor made by a RUN line`);
      }
      written.push(destination);
    }
  }
  return written;
}
