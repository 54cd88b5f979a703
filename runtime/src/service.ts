/**
 * The one service runner of both processes' `serve` commands: start, wait for SIGINT or SIGTERM, stop
 * within a bounded time, and turn the outcome into an exit status. A second signal exits at once.
 *
 * Exit statuses: 0 after a clean stop, 1 when the service failed or could not stop in time, 2 for a
 * configuration problem found at start (its message goes to standard error), 130 on a second signal.
 */
import type { Logger } from 'pino';
import type { CliIo } from './cli.ts';
import { ConfigError } from './config.ts';
import { TimeoutError, errorMessage } from './errors.ts';
import { settlesWithin } from './timeout.ts';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_CONFIG = 2;
export const EXIT_INTERRUPTED = 130;

export interface Service {
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface RunServiceOptions {
  /** The process name, e.g. `pulsebridge-hub`: prefixes what goes to standard error. */
  name: string;
  /** What the log lines call it, e.g. `hub`. */
  what: string;
  service: Service;
  log: Logger;
  io: CliIo;
  /** How long a stop may take before the process gives up on it and exits with status 1. */
  stopTimeoutMs: number;
  /** Start failures that are the operator's configuration, besides ConfigError. */
  isConfigProblem?: (err: unknown) => boolean;
  /** Ends the process on a second stop signal; injected by tests. */
  exit?: (code: number) => void;
}

export async function runService(options: RunServiceOptions): Promise<number> {
  const { service, log, io, what } = options;
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const signal = io.stopSignal(() => {
    log.warn('second stop signal: exiting without a clean stop');
    exit(EXIT_INTERRUPTED);
  });
  try {
    await service.start();
  } catch (err) {
    const isConfig = err instanceof ConfigError || options.isConfigProblem?.(err) === true;
    log.fatal({ err }, `${what} failed to start`);
    if (isConfig) io.stderr(`${options.name}: ${errorMessage(err)}\n`);
    // Release what did start (ports, files) before exiting.
    await settlesWithin(service.stop(), options.stopTimeoutMs).catch(() => false);
    return isConfig ? EXIT_CONFIG : EXIT_FAILURE;
  }
  const name = await signal;
  log.info({ signal: name }, 'stop requested');
  try {
    if (await settlesWithin(service.stop(), options.stopTimeoutMs)) return EXIT_OK;
    log.error(new TimeoutError(`the ${what} to stop`, options.stopTimeoutMs).message);
  } catch (err) {
    log.error({ err }, `${what} failed to stop cleanly`);
  }
  return EXIT_FAILURE;
}
