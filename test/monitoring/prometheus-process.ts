/**
 * Debian's Prometheus, run by a test: a free loopback port, a temporary config and data folder, stopped at
 * the end. Queries go through its HTTP API, as Grafana's would.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, createWriteStream, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { settlesWithin, until } from '@pulsebridge/runtime';
import { stringify as toYaml } from 'yaml';
import { freePort } from '../harness.ts';

export const PROMETHEUS = process.env['PROMETHEUS_BIN'] ?? '/usr/bin/prometheus';
export const PROMTOOL = process.env['PROMTOOL_BIN'] ?? '/usr/bin/promtool';
export const AMTOOL = process.env['AMTOOL_BIN'] ?? '/usr/bin/amtool';

function missing(path: string, what: string, pkg = 'prometheus'): string | false {
  try {
    accessSync(path, constants.X_OK);
    return false;
  } catch {
    return `${what} is not installed at ${path} (scripts/test-services.sh installs Debian's ${pkg} package)`;
  }
}

export const promtoolMissing = (): string | false => missing(PROMTOOL, 'promtool');
export const prometheusMissing = (): string | false => missing(PROMETHEUS, 'Prometheus');
export const amtoolMissing = (): string | false => missing(AMTOOL, 'amtool', 'prometheus-alertmanager');

const run = promisify(execFile);

/** Runs one of the Prometheus command-line tools (promtool, amtool): whether it succeeded, and all it printed. */
export async function runTool(tool: string, args: string[], cwd?: string): Promise<{ ok: boolean; output: string }> {
  try {
    const { stdout, stderr } = await run(tool, args, { cwd, timeout: 30_000 });
    return { ok: true, output: stdout + stderr };
  } catch (err) {
    const failed = err as { stdout?: string; stderr?: string; message: string };
    return { ok: false, output: `${failed.stdout ?? ''}${failed.stderr ?? ''}${failed.message}` };
  }
}

export interface ScrapeJob {
  job: string;
  targets: string[];
  labels?: Record<string, string>;
}

export interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}

type QueryAnswer = { status: 'success'; data: { resultType: string; result: PromSample[] } } | { status: 'error'; errorType: string; error: string };

export class PrometheusProcess {
  port = 0;
  private child: ChildProcess | undefined;
  private exited: Promise<unknown> = Promise.resolve();
  private readonly logFile: string;

  constructor(
    private readonly dir: string,
    private readonly jobs: ScrapeJob[],
    private readonly ruleFiles: string[] = [],
  ) {
    this.logFile = join(dir, 'prometheus.log');
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.port = await freePort();
    const config = {
      // One second, so a test sees a new value within a few seconds instead of the production 15.
      global: { scrape_interval: '1s', scrape_timeout: '900ms', evaluation_interval: '1s' },
      rule_files: this.ruleFiles,
      scrape_configs: this.jobs.map((j) => ({ job_name: j.job, metrics_path: '/metrics', static_configs: [{ targets: j.targets, labels: j.labels ?? {} }] })),
    };
    const configFile = join(this.dir, 'prometheus.yml');
    writeFileSync(configFile, toYaml(config));
    const out = createWriteStream(this.logFile);
    this.child = spawn(
      PROMETHEUS,
      [
        `--config.file=${configFile}`,
        `--storage.tsdb.path=${join(this.dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${this.port}`,
        '--storage.tsdb.retention.time=1h',
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child.stdout?.pipe(out);
    this.child.stderr?.pipe(out);
    const child = this.child;
    this.exited = new Promise((resolve) => child.once('exit', resolve));
    // A failed test must not leave Prometheus behind it.
    process.once('exit', () => child.kill('SIGKILL'));
    await until(
      `Prometheus to be ready at ${this.url}`,
      async () => {
        if (child.exitCode !== null) throw new Error(`Prometheus exited early:\n${this.log()}`);
        try {
          return (await fetch(`${this.url}/-/ready`)).ok;
        } catch {
          return false;
        }
      },
      15_000,
      100,
    );
  }

  /** An instant query; throws with Prometheus's own error when it refuses the expression. */
  async query(expr: string): Promise<PromSample[]> {
    const res = await fetch(`${this.url}/api/v1/query?${new URLSearchParams({ query: expr })}`);
    const answer = (await res.json()) as QueryAnswer;
    if (answer.status !== 'success') throw new Error(`Prometheus refused ${expr}: ${answer.errorType}: ${answer.error}`);
    return answer.data.result;
  }

  /** The value of a query answering one sample, or undefined while it answers none. */
  async scalar(expr: string): Promise<number | undefined> {
    const [first] = await this.query(expr);
    return first === undefined ? undefined : Number(first.value[1]);
  }

  async get<T>(path: string): Promise<T> {
    return (await (await fetch(`${this.url}${path}`)).json()) as T;
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    child.kill('SIGTERM');
    if (!(await settlesWithin(this.exited, 10_000))) child.kill('SIGKILL');
    await this.exited;
  }

  log(): string {
    try {
      return readFileSync(this.logFile, 'utf8');
    } catch {
      return '';
    }
  }
}
