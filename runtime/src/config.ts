/**
 * One way to configure every Pulsebridge process: a YAML file, then environment overrides, checked against
 * the app's schema. Every problem is reported at once, each with its path.
 *
 * Environment overrides: `<PREFIX>` + the path in upper case with `__` between levels, e.g.
 * `PB_HUB_HTTP__PORT=9090` sets `http.port`; a camelCase option takes `_` between its words, e.g.
 * `PB_AGENT_UPLINK__LIVE_BATCH_DELAY_MS` sets `uplink.liveBatchDelayMs` (names are case-insensitive, so the
 * run-together `LIVEBATCHDELAYMS` cannot be told apart from a lower-case word). Values are parsed as JSON when
 * they parse, else taken as text; a list is given whole, as JSON.
 *
 * Secrets are never written into the file itself when avoidable: a `SecretRef` names an environment
 * variable or a file that holds the value.
 */
import { readFileSync } from 'node:fs';
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { parse as parseYaml } from 'yaml';
import { PulsebridgeError } from './errors.ts';

/** Every problem of a configuration at once, each with its path; the processes exit with status 2. */
export class ConfigError extends PulsebridgeError<'config'> {
  readonly problems: string[];

  constructor(problems: string[]) {
    super('config', `invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.problems = problems;
  }
}

export const SecretRef = Type.Union(
  [
    Type.String({ description: 'the secret itself (avoid in files that are shared)' }),
    Type.Object({ env: Type.String({ description: 'name of an environment variable that holds the secret' }) }, { additionalProperties: false }),
    Type.Object({ file: Type.String({ description: 'path of a file that holds the secret' }) }, { additionalProperties: false }),
  ],
  { description: 'A secret, or where to read it from' },
);
export type SecretRef = Static<typeof SecretRef>;

export function resolveSecret(ref: SecretRef, env: NodeJS.ProcessEnv = process.env): string {
  if (typeof ref === 'string') return ref;
  if ('env' in ref) {
    const value = env[ref.env];
    if (value === undefined || value === '') throw new ConfigError([`secret: environment variable ${ref.env} is not set`]);
    return value;
  }
  try {
    return readFileSync(ref.file, 'utf8').trim();
  } catch (err) {
    throw new ConfigError([`secret: cannot read ${ref.file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`]);
  }
}

export interface LoadConfigOptions {
  /** YAML file; missing means defaults and environment only. */
  file?: string | undefined;
  env?: NodeJS.ProcessEnv;
  /** e.g. `PB_AGENT_` */
  envPrefix: string;
  /** Applied last, for tests and CLI flags. */
  overrides?: Record<string, unknown>;
}

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1]!] = value;
}

function toCamel(segment: string): string {
  return segment.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

const UNKNOWN_OPTION = 'Unexpected property';

/** Names the environment variable behind a problem; an unknown option from one is most often a camelCase name run together. */
function fromOverride(envPaths: Map<string, string>, path: string, message: string): string {
  for (const [envPath, name] of envPaths) {
    if (path !== envPath && !path.startsWith(`${envPath}/`)) continue;
    const hint = path === envPath && message === UNKNOWN_OPTION ? '; a camelCase option takes "_" between its words, e.g. UPLINK__LIVE_BATCH_DELAY_MS' : '';
    return ` (from ${name}${hint})`;
  }
  return '';
}

function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] =
      v && typeof v === 'object' && !Array.isArray(v) && b && typeof b === 'object' && !Array.isArray(b)
        ? deepMerge(b as Record<string, unknown>, v as Record<string, unknown>)
        : v;
  }
  return out;
}

export function loadConfig<T extends TSchema>(schema: T, options: LoadConfigOptions): Static<T> {
  const problems: string[] = [];
  let fromFile: Record<string, unknown> = {};
  if (options.file) {
    try {
      const parsed: unknown = parseYaml(readFileSync(options.file, 'utf8'));
      if (parsed !== null && parsed !== undefined) {
        if (typeof parsed !== 'object' || Array.isArray(parsed)) problems.push(`${options.file}: the top level must be a mapping`);
        else fromFile = parsed as Record<string, unknown>;
      }
    } catch (err) {
      problems.push(`${options.file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (err as Error).message}`);
    }
  }
  const fromEnv: Record<string, unknown> = {};
  /** JSON-pointer path each override set, so a problem there names the variable to fix. */
  const envPaths = new Map<string, string>();
  for (const [name, raw] of Object.entries(options.env ?? process.env)) {
    if (!name.startsWith(options.envPrefix) || raw === undefined) continue;
    const path = name.slice(options.envPrefix.length).split('__').map(toCamel);
    envPaths.set(`/${path.join('/')}`, name);
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      // plain text
    }
    setPath(fromEnv, path, value);
  }
  let merged: unknown = deepMerge(deepMerge(fromFile, fromEnv), options.overrides ?? {});
  merged = Value.Default(schema, merged);
  merged = Value.Convert(schema, merged);
  for (const e of Value.Errors(schema, merged)) problems.push(`${e.path || '/'}: ${e.message}${fromOverride(envPaths, e.path, e.message)}`);
  if (problems.length > 0) throw new ConfigError(problems);
  return merged as Static<T>;
}
