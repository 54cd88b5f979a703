#!/usr/bin/env -S node --import tsx
/**
 * pulsebridge-hub: the command line of the hub.
 *
 *   pulsebridge-hub [serve] [--config FILE] [--print-config]    run the hub
 *   pulsebridge-hub agent add <id> --gym <gym>                   enroll an agent; prints its secret once
 *   pulsebridge-hub agent list [--json]
 *   pulsebridge-hub agent remove <id>
 *   pulsebridge-hub admin create --email <email>                 the first platform admin; prints its password once
 *   pulsebridge-hub keys rotate                                  a new token-signing key; the old one keeps verifying
 *   pulsebridge-hub backup <dir>                                 a consistent copy of every SQLite file, while the hub runs
 *
 * Exit codes: 0 after a clean stop (SIGINT/SIGTERM) or a successful command, 2 for usage and configuration
 * problems (every one printed), 1 when the hub failed or could not stop in time, 130 on a second interrupt.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { stringify as toYaml } from 'yaml';
import {
  ConfigError,
  EXIT_CONFIG,
  PulsebridgeError,
  errorMessage,
  EXIT_FAILURE,
  EXIT_OK,
  createLogger,
  processIo,
  runService,
  runWhenInvoked,
  settlesWithin,
  startTracing,
  type CliIo,
} from '@pulsebridge/runtime';
import { mosquittoPasswordLine } from './broker/mosquitto-password.ts';
import { BackupError, backupSqliteFiles, sqliteFilesOf } from './backup.ts';
import { instrumentPostgres } from './telemetry/postgres-spans.ts';
import { instrumentRedis } from './telemetry/redis-spans.ts';
import { ENV_PREFIX, loadAdminToolConfig, loadAgentToolConfig, loadHubConfig, redactConfig } from './config.ts';
import { createPlatformAdmin, type NewPlatformAdmin } from './identity/bootstrap.ts';
import { IdentityStoreError } from './identity/identity-store.ts';
import { createIdentityStore } from './identity/index.ts';
import { rotateSigningKey } from './oidc/keys.ts';
import { agentMqttUrl, defaultSecretFile, enrollmentText } from './enrollment.ts';
import { Hub } from './hub.ts';
import { RegistryError } from './registry/agent-credentials.ts';
import { createStateStores } from './registry/state-stores.ts';
import type { AgentRecord } from './registry/agent-registry.ts';

export { EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_OK } from '@pulsebridge/runtime';
/** Usage and configuration problems share the configuration's exit status. */
export const EXIT_USAGE = EXIT_CONFIG;

export const USAGE = `Usage:
  pulsebridge-hub [serve] [--config FILE] [--print-config]
  pulsebridge-hub agent add <id> --gym <gym> [--mqtt-url URL] [--secret-file PATH] [--json] [--config FILE]
  pulsebridge-hub agent list [--json] [--config FILE]
  pulsebridge-hub agent remove <id> [--config FILE]
  pulsebridge-hub admin create --email EMAIL [--name NAME] [--password-file PATH] [--reset] [--config FILE]
  pulsebridge-hub keys rotate [--json] [--config FILE]
  pulsebridge-hub backup <dir> [--json] [--config FILE]

Runs the Pulsebridge hub: MQTT broker (or external broker client), ingest, storage and API.

Options:
  -c, --config FILE   YAML configuration (see hub/hub.example.yaml); default: $PB_HUB_CONFIG, else none
      --print-config  print the effective configuration, inline secrets masked, and exit
      --gym GYM       agent add: the gym the agent belongs to
      --mqtt-url URL  agent add: how the agent reaches the broker (default: mqtt.publicUrl, else the
                      embedded broker's listener as this configuration sets it)
      --secret-file PATH
                      agent add: the file the printed agent configuration reads its secret from
                      (default: <id>.secret, relative to the agent's working directory)
      --json          agent add, agent list, admin create, backup: machine-readable output
      --email EMAIL   admin create: the platform admin's sign-in
      --name NAME     admin create: the name shown for them (default: Platform admin)
      --password-file PATH
                      admin create: read the password from this file (first line) instead of
                      generating one; a generated password is printed once
      --reset         admin create: when the email exists, make it a platform admin with a new password
  -h, --help          print this help and exit

Environment:
  ${ENV_PREFIX}<PATH>   overrides one setting; levels joined by "__", e.g.
                      ${ENV_PREFIX}HTTP__PORT=9090  ${ENV_PREFIX}MQTT__MODE=external
                      ${ENV_PREFIX}API__ADMIN_TOKEN='{"env":"ADMIN_TOKEN"}'  ${ENV_PREFIX}LOG__LEVEL=debug

Signals: SIGINT or SIGTERM stop the hub cleanly within shutdown.gracePeriodMs (readiness fails at once,
no new batches are taken, HTTP answers for shutdown.endpointDelayMs more, what is queued is stored and
acknowledged, live streams end, agents are disconnected, stores closed); a second one exits at once.
`;

interface Args {
  config?: string | undefined;
  'print-config'?: boolean | undefined;
  help?: boolean | undefined;
  gym?: string | undefined;
  'mqtt-url'?: string | undefined;
  'secret-file'?: string | undefined;
  json?: boolean | undefined;
  email?: string | undefined;
  name?: string | undefined;
  'password-file'?: string | undefined;
  reset?: boolean | undefined;
}

class UsageError extends PulsebridgeError<'usage'> {
  constructor(message: string) {
    super('usage', message);
  }
}

function parse(argv: readonly string[]): { values: Args; positionals: string[] } {
  try {
    return parseArgs({
      args: [...argv],
      options: {
        config: { type: 'string', short: 'c' },
        'print-config': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        gym: { type: 'string' },
        'mqtt-url': { type: 'string' },
        'secret-file': { type: 'string' },
        json: { type: 'boolean' },
        email: { type: 'string' },
        name: { type: 'string' },
        'password-file': { type: 'string' },
        reset: { type: 'boolean' },
      },
      strict: true,
      allowPositionals: true,
    });
  } catch (err) {
    throw new UsageError(errorMessage(err));
  }
}

export async function main(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  try {
    const { values, positionals } = parse(argv);
    if (values.help) {
      io.stdout(USAGE);
      return EXIT_OK;
    }
    const file = values.config ?? io.env['PB_HUB_CONFIG'];
    const [command = 'serve', ...rest] = positionals;
    if (command === 'serve') {
      if (rest.length > 0) throw new UsageError(`unexpected arguments: ${rest.join(' ')}`);
      return await serve(file, values, io);
    }
    if (command === 'agent') return await agentCommand(rest, file, values, io);
    if (command === 'admin') return await adminCommand(rest, file, values, io);
    if (command === 'keys') return await keysCommand(rest, file, values, io);
    if (command === 'backup') return await backupCommand(rest, file, values, io);
    throw new UsageError(`unknown command "${command}"`);
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr(`pulsebridge-hub: ${err.message}\n\n${USAGE}`);
      return EXIT_USAGE;
    }
    if (err instanceof ConfigError) {
      io.stderr(`pulsebridge-hub: ${err.message}\n`);
      return EXIT_USAGE;
    }
    throw err;
  }
}

/** Refuses admin create's options on the other commands, so a misplaced option is not silently ignored. */
function refuseAdminOptions(values: Args, command: string): void {
  const given = ADMIN_OPTIONS.filter((option) => values[option] !== undefined);
  if (given.length > 0) throw new UsageError(`${given.map((o) => `--${o}`).join(', ')} belong${given.length === 1 ? 's' : ''} to admin create, not ${command}`);
}

async function serve(file: string | undefined, values: Args, io: CliIo): Promise<number> {
  refuseAdminOptions(values, 'serve');
  if (values.gym !== undefined || values['mqtt-url'] !== undefined || values['secret-file'] !== undefined || values.json)
    throw new UsageError('--gym, --mqtt-url, --secret-file and --json belong to the agent commands');
  const config = loadHubConfig({ file, env: io.env });
  if (values['print-config']) {
    io.stdout(toYaml(redactConfig(config)));
    return EXIT_OK;
  }
  const log = createLogger({ name: 'pulsebridge-hub', level: config.log.level, pretty: config.log.pretty });
  // Before the hub is built: its components take their tracers when they are constructed.
  const tracing = startTracing(config.telemetry, { name: 'pulsebridge-hub' });
  if (tracing.enabled) {
    instrumentPostgres();
    instrumentRedis();
  }
  try {
    const hub = new Hub(config, { log, env: io.env });
    return await runService({ name: 'pulsebridge-hub', what: 'hub', service: hub, log, io, stopTimeoutMs: config.shutdown.gracePeriodMs });
  } finally {
    if (!(await settlesWithin(tracing.shutdown(), TRACES_FLUSH_MS).catch(() => true))) log.warn('traces not all exported before exit');
  }
}

/** Spans still buffered at exit get this long to reach the collector. */
const TRACES_FLUSH_MS = 5_000;

const ADMIN_OPTIONS = ['email', 'name', 'password-file', 'reset'] as const;

async function adminCommand(args: string[], file: string | undefined, values: Args, io: CliIo): Promise<number> {
  const [sub, ...extra] = args;
  if (sub !== 'create') throw new UsageError(sub ? `unknown admin command "${sub}"` : 'admin needs a command: create');
  if (extra.length > 0) throw new UsageError(`unexpected arguments: ${extra.join(' ')}`);
  if (values.email === undefined) throw new UsageError('admin create needs --email <email>');
  if (values['print-config'] || values.gym !== undefined || values['mqtt-url'] !== undefined || values['secret-file'] !== undefined)
    throw new UsageError('--print-config, --gym, --mqtt-url and --secret-file do not belong to admin create');
  const config = loadAdminToolConfig({ file, env: io.env });
  let password: string | undefined;
  if (values['password-file'] !== undefined) {
    try {
      password = readFileSync(values['password-file'], 'utf8').split(/\r?\n/)[0];
    } catch (err) {
      io.stderr(`pulsebridge-hub: cannot read the password file: ${errorMessage(err)}\n`);
      return EXIT_USAGE;
    }
  }
  const store = createIdentityStore(config.identity.store, { dataDir: config.hub.dataDir, env: io.env });
  await store.start();
  try {
    const admin: NewPlatformAdmin = { email: values.email };
    if (values.name !== undefined) admin.displayName = values.name;
    if (password !== undefined) admin.password = password;
    const created = await createPlatformAdmin(store, admin, { resetExisting: values.reset === true });
    const shown = created.generated ? created.password : undefined;
    if (values.json) io.stdout(`${JSON.stringify({ id: created.user.id, email: created.user.email, ...(shown ? { password: shown } : {}) })}\n`);
    else {
      io.stdout(`Platform admin ${created.user.email} (user ${created.user.id}) can sign in now.\n`);
      if (shown) io.stdout(`Password, shown this once: ${shown}\n`);
    }
    return EXIT_OK;
  } catch (err) {
    if (err instanceof IdentityStoreError && (err.code === 'conflict' || err.code === 'invalid_input')) {
      io.stderr(`pulsebridge-hub: ${err.message}${err.code === 'conflict' ? ' (--reset gives it the role and a new password)' : ''}\n`);
      return err.code === 'conflict' ? EXIT_FAILURE : EXIT_USAGE;
    }
    if (err instanceof PulsebridgeError && (err.code === 'password_too_short' || err.code === 'password_too_long')) {
      io.stderr(`pulsebridge-hub: ${err.message}\n`);
      return EXIT_USAGE;
    }
    throw err;
  } finally {
    await store.stop();
  }
}

/**
 * A new signing key in the identity store. Replicas sign with it from their next start; tokens signed with the
 * old key keep verifying, because the old key stays in the JWKS until the longest of them has expired.
 */
async function keysCommand(args: string[], file: string | undefined, values: Args, io: CliIo): Promise<number> {
  const [sub, ...extra] = args;
  if (sub !== 'rotate') throw new UsageError(sub ? `unknown keys command "${sub}"` : 'keys needs a command: rotate');
  if (extra.length > 0) throw new UsageError(`unexpected arguments: ${extra.join(' ')}`);
  refuseAdminOptions(values, 'keys rotate');
  const config = loadAdminToolConfig({ file, env: io.env });
  const store = createIdentityStore(config.identity.store, { dataDir: config.hub.dataDir, env: io.env });
  await store.start();
  try {
    const key = await rotateSigningKey(store);
    if (values.json) io.stdout(`${JSON.stringify({ kid: key.kid, alg: key.alg })}\n`);
    else io.stdout(`New signing key ${key.kid} (${key.alg}). Restart the hub (every replica) to sign with it; tokens signed before keep verifying until they expire.\n`);
    return EXIT_OK;
  } finally {
    await store.stop();
  }
}

async function agentCommand(args: string[], file: string | undefined, values: Args, io: CliIo): Promise<number> {
  const [sub, id, ...extra] = args;
  if (values['print-config']) throw new UsageError('--print-config belongs to serve');
  refuseAdminOptions(values, 'agent');
  if (extra.length > 0) throw new UsageError(`unexpected arguments: ${extra.join(' ')}`);
  if (sub !== 'add' && sub !== 'list' && sub !== 'remove') throw new UsageError(sub ? `unknown agent command "${sub}"` : 'agent needs a command: add, list or remove');
  if (sub === 'list' && id !== undefined) throw new UsageError('agent list takes no id');
  if (sub !== 'list' && id === undefined) throw new UsageError(`agent ${sub} needs an agent id`);
  if (sub !== 'add' && (values.gym !== undefined || values['mqtt-url'] !== undefined || values['secret-file'] !== undefined))
    throw new UsageError('--gym, --mqtt-url and --secret-file belong to agent add');
  if (sub === 'add' && values.gym === undefined) throw new UsageError('agent add needs --gym <gym>');

  const config = loadAgentToolConfig({ file, env: io.env });
  const log = createLogger({ name: 'pulsebridge-hub', level: 'warn', pretty: false, destination: { write: (line: string) => io.stderr(line) } });
  // The hub's own state store: hub.db, or the PostgreSQL its replicas share.
  const state = createStateStores(config.state, { dataDir: config.hub.dataDir, log, env: io.env, flushIntervalMs: 0 });
  await state.start();
  const registry = state.registry;
  try {
    if (sub === 'list') return listAgents(await registry.list(), values.json === true, io);
    if (sub === 'remove') {
      if (await registry.remove(id!)) {
        io.stdout(`removed agent ${id}; it can no longer connect (a connection it holds now stays open until it drops)\n`);
        return EXIT_OK;
      }
      io.stderr(`pulsebridge-hub: no agent "${id}"\n`);
      return EXIT_FAILURE;
    }
    let created: Awaited<ReturnType<typeof registry.create>>;
    try {
      created = await registry.create(id!, values.gym!);
    } catch (err) {
      if (err instanceof RegistryError) {
        io.stderr(`pulsebridge-hub: ${err.message}\n`);
        return err.code === 'exists' ? EXIT_FAILURE : EXIT_USAGE;
      }
      throw err;
    }
    const url = values['mqtt-url'] !== undefined ? { url: values['mqtt-url'] } : agentMqttUrl(config);
    const passwordLine = config.mqtt.mode === 'external' ? mosquittoPasswordLine(created.agent.id, created.secret) : undefined;
    if (values.json) {
      const { id, gym } = created.agent;
      io.stdout(
        `${JSON.stringify({ id, gym, secret: created.secret, mqttUrl: url.url, topicRoot: config.topicRoot, ...(passwordLine ? { mosquittoPasswordLine: passwordLine } : {}) })}\n`,
      );
    } else {
      const secretFile = values['secret-file'] ?? defaultSecretFile(created.agent.id);
      io.stdout(
        enrollmentText({
          agentId: created.agent.id,
          gym: created.agent.gym,
          secret: created.secret,
          secretFile,
          url,
          topicRoot: config.topicRoot,
          mosquittoPasswordLine: passwordLine,
        }),
      );
    }
    return EXIT_OK;
  } finally {
    await state.stop();
  }
}

function listAgents(agents: AgentRecord[], json: boolean, io: CliIo): number {
  if (json) {
    // Without `online`: the state database cannot know it (only a running hub does, through its API).
    io.stdout(`${JSON.stringify(agents.map(({ online: _online, ...stored }) => stored))}\n`);
    return EXIT_OK;
  }
  if (agents.length === 0) {
    io.stdout('no agents\n');
    return EXIT_OK;
  }
  const rows = [
    // Read from the state database, not a running hub: whether an agent is online now is the API's to say.
    ['ID', 'GYM', 'LAST STATUS', 'LAST SEEN', 'VERSION'],
    ...agents.map((a) => [a.id, a.gym, a.status?.state ?? '-', a.lastSeen === undefined ? '-' : new Date(a.lastSeen).toISOString(), a.status?.version ?? '-']),
  ];
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  io.stdout(
    `${rows
      .map((row) =>
        row
          .map((cell, column) => cell.padEnd(widths[column]!))
          .join('  ')
          .trimEnd(),
      )
      .join('\n')}\n`,
  );
  return EXIT_OK;
}

runWhenInvoked(import.meta.url, 'pulsebridge-hub', main);

/** Copies every SQLite file of the configuration into `dir`; safe while the hub runs (see backup.ts). */
async function backupCommand(args: string[], file: string | undefined, values: Args, io: CliIo): Promise<number> {
  const [dir, ...extra] = args;
  refuseAdminOptions(values, 'backup');
  if (values['print-config'] || values.gym !== undefined || values['mqtt-url'] !== undefined || values['secret-file'] !== undefined)
    throw new UsageError('backup takes only <dir>, --json and --config');
  if (dir === undefined) throw new UsageError('backup needs a folder: backup <dir>');
  if (extra.length > 0) throw new UsageError(`unexpected arguments: ${extra.join(' ')}`);
  const config = loadHubConfig({ file, env: io.env });
  const { files, elsewhere } = sqliteFilesOf(config);
  try {
    const report = backupSqliteFiles(files, dir, elsewhere);
    if (values.json) {
      io.stdout(`${JSON.stringify(report)}\n`);
    } else {
      for (const f of report.files) io.stdout(`${f.name}: ${f.path} -> ${f.copy} (${f.bytes} bytes, ${f.ms} ms, integrity ok)\n`);
      for (const store of report.elsewhere) io.stdout(`not a SQLite file here, back it up with its own tools: ${store}\n`);
      io.stdout(`manifest: ${dir}/manifest.json\n`);
    }
    return EXIT_OK;
  } catch (err) {
    if (err instanceof BackupError) {
      io.stderr(`pulsebridge-hub: ${err.message}\n`);
      return EXIT_FAILURE;
    }
    throw err;
  }
}
