#!/usr/bin/env -S node --import tsx
/**
 * pulsebridge-agent: the command line of the edge agent.
 *
 * Exit codes: 0 after a clean stop (SIGINT/SIGTERM) or --help/--print-config, 2 for configuration problems
 * (every one printed) and for an outbox that another agent id recorded or another agent process holds, 1 when the agent failed or could not stop in time, 130 on a second interrupt.
 */
import { parseArgs } from 'node:util';
import { ConfigError, EXIT_CONFIG, EXIT_OK, createLogger, processIo, runService, runWhenInvoked, settlesWithin, startTracing, type CliIo } from '@pulsebridge/runtime';
import { AGENT_VERSION, Agent } from './agent.ts';
import { isOwnershipConflict } from './outbox/errors.ts';
import { configToYaml, ENV_PREFIX, loadAgentConfig, type AgentConfig } from './config.ts';
import { enrollCommand } from './enroll.ts';

export { EXIT_CONFIG, EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_OK } from '@pulsebridge/runtime';
/** Sources, the outbox flush and the goodbye to the hub each have their own budgets; this bounds them all. */
export const STOP_TIMEOUT_MS = 15_000;

export const USAGE = `Usage: pulsebridge-agent [--config FILE] [--print-config] [--help]
       pulsebridge-agent enroll --hub URL --code CODE [...]   (enroll --help for its options)

Reads gym sensors, keeps every reading in a local outbox and forwards it to the Pulsebridge hub.

Options:
  -c, --config FILE   YAML configuration (see agent.example.yaml); without it, defaults and environment only
      --print-config  print the effective configuration, secrets redacted, and exit
  -v, --version       print the version and exit
  -h, --help          print this help and exit

Environment:
  ${ENV_PREFIX}<PATH>   overrides one setting; levels joined by "__", e.g.
                      ${ENV_PREFIX}AGENT__ID=gym-berlin-1  ${ENV_PREFIX}HUB__URL=mqtts://hub.example:8883
                      ${ENV_PREFIX}HUB__PASSWORD='{"env":"PB_SECRET"}'  ${ENV_PREFIX}LOG__LEVEL=debug

Signals: SIGINT or SIGTERM stop the agent cleanly (flush the outbox, tell the hub, close).
`;

function configProblems(io: CliIo, err: ConfigError): number {
  io.stderr(`pulsebridge-agent: ${err.message}\n`);
  return EXIT_CONFIG;
}

type Prepared = { exit: number } | { config: AgentConfig };

/** Everything before running: arguments, help, configuration. */
export function prepare(argv: readonly string[], io: CliIo): Prepared {
  let values: { config?: string | undefined; 'print-config'?: boolean | undefined; help?: boolean | undefined; version?: boolean | undefined };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        config: { type: 'string', short: 'c' },
        'print-config': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    io.stderr(`pulsebridge-agent: ${(err as Error).message}\n\n${USAGE}`);
    return { exit: EXIT_CONFIG };
  }
  if (values.help) {
    io.stdout(USAGE);
    return { exit: EXIT_OK };
  }
  if (values.version) {
    io.stdout(`${AGENT_VERSION}\n`);
    return { exit: EXIT_OK };
  }
  let config: AgentConfig;
  try {
    config = loadAgentConfig({ file: values.config, env: io.env, stdoutIsTTY: io.stdoutIsTTY });
  } catch (err) {
    if (err instanceof ConfigError) return { exit: configProblems(io, err) };
    throw err;
  }
  if (values['print-config']) {
    io.stdout(configToYaml(config));
    return { exit: EXIT_OK };
  }
  return { config };
}

export async function main(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  if (argv[0] === 'enroll') return enrollCommand(argv.slice(1), io);
  const prepared = prepare(argv, io);
  if ('exit' in prepared) return prepared.exit;
  const { config } = prepared;
  const log = createLogger({ name: 'pulsebridge-agent', level: config.log.level, pretty: config.log.pretty });
  // Before the agent is built: its components take their tracers when they are constructed.
  const tracing = startTracing(config.telemetry, { name: 'pulsebridge-agent', version: AGENT_VERSION });
  try {
    return await runAgent(config, log, io);
  } finally {
    if (!(await settlesWithin(tracing.shutdown(), TRACES_FLUSH_MS).catch(() => true))) log.warn('traces not all exported before exit');
  }
}

/** Spans still buffered at exit get this long to reach the collector. */
const TRACES_FLUSH_MS = 5_000;

async function runAgent(config: AgentConfig, log: ReturnType<typeof createLogger>, io: CliIo): Promise<number> {
  let agent: Agent;
  try {
    agent = new Agent(config, { log, env: io.env });
  } catch (err) {
    if (err instanceof ConfigError) return configProblems(io, err);
    throw err;
  }
  return runService({
    name: 'pulsebridge-agent',
    what: 'agent',
    service: agent,
    log,
    io,
    stopTimeoutMs: STOP_TIMEOUT_MS,
    // An outbox of another agent id, or in use by another agent: only the operator can resolve it.
    isConfigProblem: isOwnershipConflict,
  });
}

runWhenInvoked(import.meta.url, 'pulsebridge-agent', main);
