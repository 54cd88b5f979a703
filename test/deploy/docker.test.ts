/**
 * deploy/docker: Docker is not installed here, so the images are checked by what they are made of. Both
 * Dockerfiles are multi-stage, run as non-root, build native modules on the target platform and carry a health
 * check; then each runtime stage's COPY lines are replayed into an empty folder standing for the image (bundle
 * from `npm run build`, node_modules as `npm ci --omit=dev --workspace <ws>` leaves them) and run there with the
 * image's ENTRYPOINT, CMD, ENV and HEALTHCHECK: the hub enrolls an agent, serves it, the agent streams to it,
 * both health checks pass, and both stop cleanly on SIGTERM.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { until } from '@pulsebridge/runtime';
import { all, copies, envOf, execForm, installProduction, last, parseDockerfile, productionClosure, replayCopies, workdir, type Stage } from './dockerfile.ts';
import { loadHubConfig } from '../../hub/src/config.ts';
import { stopTimeoutMs } from './hub-settings.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const IMAGES = [
  { file: 'Dockerfile.hub', workspace: 'hub' },
  { file: 'Dockerfile.agent', workspace: 'edge-agent' },
] as const;
const versionOf = (app: string): string => (JSON.parse(readFileSync(join(ROOT, app, 'package.json'), 'utf8')) as { version: string }).version;
const stagesOf = (file: string): Stage[] => parseDockerfile(readFileSync(join(ROOT, 'deploy/docker', file), 'utf8'));
const runtimeOf = (file: string): Stage => stagesOf(file).at(-1)!;

const temporary: string[] = [];
const children: ChildProcess[] = [];

before(() => {
  const build = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/build.ts'], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  assert.equal(build.status, 0, build.stderr);
});

after(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const dir of temporary) rmSync(dir, { recursive: true, force: true });
});

for (const { file, workspace } of IMAGES) {
  test(`${file}: the bundle is built on the builder's platform and node_modules installed for the target's, production only`, () => {
    const stages = stagesOf(file);
    assert.ok(stages.length >= 3, 'build, deps and runtime stages');
    const build = stages.find((s) => all(s, 'RUN').some((run) => run.includes('npm run build')));
    assert.equal(build?.platform, '$BUILDPLATFORM', 'plain JavaScript: no emulation needed for the bundle');
    const deps = stages.find((s) => all(s, 'RUN').some((run) => run.includes('npm ci --omit=dev')));
    assert.ok(deps, 'a stage installs production node_modules');
    assert.equal(deps.platform, undefined, 'the deps stage runs on the target platform, so native modules are built for it');
    assert.match(all(deps, 'RUN').join(' '), new RegExp(`--workspace ${workspace}\\b`));
    assert.ok(!all(deps, 'RUN').join(' ').includes('--ignore-scripts'), 'native modules need their install scripts');
    const runtime = stages.at(-1)!;
    assert.ok(
      copies(runtime).every((c) => c.from !== undefined),
      'the runtime stage takes only built files from the other stages',
    );
  });

  test(`${file}: the runtime runs as non-root, in exec form, stops on SIGTERM and has a health check`, () => {
    const runtime = runtimeOf(file);
    const user = last(runtime, 'USER');
    assert.ok(user !== undefined && !/^(root|0)(:|$)/.test(user), `USER ${user}`);
    assert.equal(last(runtime, 'STOPSIGNAL'), 'SIGTERM');
    assert.ok(last(runtime, 'ENTRYPOINT')?.startsWith('['), 'exec form: node is PID 1 and gets the signal itself');
    const health = last(runtime, 'HEALTHCHECK') ?? '';
    assert.ok(health.includes(' CMD ['), 'an exec-form health check');
    assert.match(health, /--interval=\d+s/);
    assert.match(health, /--timeout=\d+s/);
    assert.match(runtime.image, /^(gcr\.io\/distroless\/nodejs20-debian12:nonroot|node:20-bookworm-slim)$/, 'a small Node 20 base');
  });

  test(`${file}: every package the bundle imports is installed by the deps stage`, () => {
    const bundle = readFileSync(join(ROOT, workspace, 'dist/main.mjs'), 'utf8');
    // esbuild writes every import with double quotes: `from "x";`, `import("x")`, and createRequire's `require("x")`.
    const specifiers = new Set([...bundle.matchAll(/(?:\bfrom "|\bimport\("|\brequire\(")([^"./][^"]*)"/g)].map((m) => m[1]!));
    const packages = [...specifiers].filter((s) => !s.startsWith('node:')).map((s) => (s.startsWith('@') ? s.split('/').slice(0, 2).join('/') : s.split('/')[0]!));
    assert.ok(packages.includes('better-sqlite3'), 'native modules stay external');
    const installed = new Set(productionClosure(ROOT, workspace).map((location) => location.slice(location.lastIndexOf('node_modules/') + 'node_modules/'.length)));
    for (const name of packages) assert.ok(installed.has(name), `${name} is imported by ${workspace}/dist/main.mjs but not a production dependency`);
  });
}

test('the agent image starts node with the flags of the systemd unit', () => {
  const entrypoint = execForm(last(runtimeOf('Dockerfile.agent'), 'ENTRYPOINT')!);
  const unit = /^ExecStart=(.*)$/m.exec(readFileSync(join(ROOT, 'deploy/systemd/pulsebridge-agent.service'), 'utf8'))![1]!.split(' ');
  const flags = (words: string[]): string[] =>
    words.slice(
      1,
      words.findIndex((w) => w.endsWith('/edge-agent/dist/main.mjs')),
    );
  assert.deepEqual(flags(entrypoint), flags(unit));
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

interface Image {
  root: string;
  stage: Stage;
  /** Paths the image holds (COPY destinations): image paths under them are rewritten to `root`. */
  copied: string[];
}

/** The image as an empty folder filled only by the runtime stage's COPY lines. */
function replayImage(file: string, workspace: string): Image {
  const stages = stagesOf(file);
  const root = mkdtempSync(join(tmpdir(), 'pb-image-'));
  const deps = mkdtempSync(join(tmpdir(), 'pb-deps-'));
  temporary.push(root, deps);
  installProduction(ROOT, workspace, deps);
  const depsStage = stages.find((s) => all(s, 'RUN').some((run) => run.includes('npm ci --omit=dev')))!.name;
  const copied = replayCopies(stages, root, (stage) => (stage === depsStage ? deps : ROOT));
  return { root, stage: stages.at(-1)!, copied };
}

/** An image path (or any other word) as the replayed folder has it; `node` is this node. */
function local(image: Image, word: string): string {
  if (word === 'node' || word.endsWith('/bin/node')) return process.execPath;
  if (word.startsWith('/') && image.copied.some((path) => word === path || word.startsWith(`${path}/`))) return join(image.root, word);
  return word;
}

function imageEnv(image: Image, extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(envOf(image.stage)).map(([key, value]) => [key, local(image, value)]));
  return { PATH: process.env['PATH'], HOME: image.root, ...env, ...extra };
}

interface Running {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

/** `docker run <image> [args]`: ENTRYPOINT, then args or CMD, in WORKDIR, with ENV. */
function run(image: Image, args: string[] | undefined, env: Record<string, string>): Running {
  const entrypoint = execForm(last(image.stage, 'ENTRYPOINT')!).map((w) => local(image, w));
  const cmd = args ?? execForm(last(image.stage, 'CMD') ?? '[]');
  const child = spawn(entrypoint[0]!, [...entrypoint.slice(1), ...cmd], { cwd: join(image.root, workdir(image.stage)), env: imageEnv(image, env) });
  children.push(child);
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

/** The image's HEALTHCHECK command, run as Docker does (inside the container: its ENV). */
function healthCheck(image: Image, env: Record<string, string>): number | null {
  const command = execForm(last(image.stage, 'HEALTHCHECK')!.split(' CMD ')[1]!).map((w) => local(image, w));
  return spawnSync(command[0]!, command.slice(1), { env: imageEnv(image, env), timeout: 10_000 }).status;
}

async function exitsWithin(running: Running, ms: number): Promise<number | null> {
  const timer = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), ms).unref());
  const code = await Promise.race([running.exited, timer]);
  assert.notEqual(code, 'timeout', `no exit within ${ms} ms:\n${running.output()}`);
  return code as number | null;
}

test('the replayed images run: the hub enrolls and serves an agent, health checks pass, SIGTERM stops both cleanly', { timeout: 180_000 }, async () => {
  const hub = replayImage('Dockerfile.hub', 'hub');
  const agent = replayImage('Dockerfile.agent', 'edge-agent');
  assert.ok(
    hub.copied.every((path) => path.startsWith('/app/') || path.startsWith('/var/lib/pulsebridge')),
    hub.copied.join(' '),
  );

  const hubEnv = { PB_HUB_HTTP__PORT: String(await freePort()), PB_HUB_MQTT__PORT: String(await freePort()), PB_HUB_HTTP__HOST: '127.0.0.1', PB_HUB_MQTT__HOST: '127.0.0.1' };
  assert.notEqual(healthCheck(hub, hubEnv), 0, 'the health check fails while nothing answers');

  const add = run(hub, ['agent', 'add', 'box-1', '--gym', 'gym-1', '--json'], hubEnv);
  assert.equal(await exitsWithin(add, 30_000), 0, add.output());
  const enrolled = JSON.parse(add.output().trim().split('\n').at(-1)!) as { secret: string; mqttUrl: string };

  const hubRun = run(hub, undefined, hubEnv);
  await until('the hub health check to pass', () => healthCheck(hub, hubEnv) === 0 || hubRun.child.exitCode !== null, 60_000, 250);
  assert.equal(hubRun.child.exitCode, null, hubRun.output());
  const web = await fetch(`http://127.0.0.1:${hubEnv.PB_HUB_HTTP__PORT}/app/`);
  assert.equal(web.status, 200, 'the web app the image copies is served');
  const openapi = (await (await fetch(`http://127.0.0.1:${hubEnv.PB_HUB_HTTP__PORT}/api/v1/openapi.json`)).json()) as { info: { version: string } };
  assert.equal(openapi.info.version, versionOf('hub'), 'the bundle finds hub/package.json');

  const agentEnv = {
    PB_AGENT_AGENT__ID: 'box-1',
    PB_AGENT_HUB__URL: `mqtt://127.0.0.1:${hubEnv.PB_HUB_MQTT__PORT}`,
    PB_AGENT_HUB__PASSWORD: '{"env":"AGENT_SECRET"}',
    AGENT_SECRET: enrolled.secret,
    PB_AGENT_HEALTH__PORT: String(await freePort()),
    PB_AGENT_SOURCES__SIMULATOR__ATHLETES: '2',
  };
  assert.notEqual(healthCheck(agent, agentEnv), 0, 'the health check fails while nothing answers');
  const agentRun = run(agent, undefined, agentEnv);
  await until('the agent health check to pass', () => healthCheck(agent, agentEnv) === 0 || agentRun.child.exitCode !== null, 60_000, 250);
  assert.equal(agentRun.child.exitCode, null, agentRun.output());
  const health = (await (await fetch(`http://127.0.0.1:${agentEnv.PB_AGENT_HEALTH__PORT}/healthz`)).json()) as { version: string };
  assert.equal(health.version, versionOf('edge-agent'), 'the bundle finds edge-agent/package.json');
  let stored = 0;
  await until(
    'the hub to store readings from the agent',
    async () => {
      const metrics = await (await fetch(`http://127.0.0.1:${hubEnv.PB_HUB_HTTP__PORT}/metrics`)).text();
      stored = Number(/^pb_hub_ingest_readings_total (\d+)/m.exec(metrics)?.[1] ?? 0);
      return stored > 0;
    },
    60_000,
    250,
  );

  agentRun.child.kill('SIGTERM');
  assert.equal(await exitsWithin(agentRun, stopTimeoutMs(ROOT, 'edge-agent') + 5_000), 0, agentRun.output());
  assert.match(agentRun.output(), /"msg":"stop requested"/);
  hubRun.child.kill('SIGTERM');
  assert.equal(await exitsWithin(hubRun, loadHubConfig({ env: {} }).shutdown.gracePeriodMs + 5_000), 0, hubRun.output());
  assert.match(hubRun.output(), /"msg":"stop requested"/);
  assert.doesNotMatch(hubRun.output(), /"level":(50|60)/, 'no error while stopping');
  assert.ok(posix.isAbsolute(workdir(hub.stage)));
});
