import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * What a command line needs from its process, passed in so the CLIs can be tested without one.
 */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
  stdoutIsTTY: boolean;
  /** Resolves with the name of the first stop signal; calls onSecond on the next one. */
  stopSignal: (onSecond: () => void) => Promise<string>;
}

/** SIGINT or SIGTERM asks for a clean stop; a second one means the operator is done waiting. */
function processSignals(onSecond: () => void): Promise<string> {
  return new Promise((resolve) => {
    let received = false;
    const handler = (signal: NodeJS.Signals): void => {
      if (received) {
        onSecond();
        return;
      }
      received = true;
      resolve(signal);
    };
    process.on('SIGINT', handler);
    process.on('SIGTERM', handler);
  });
}

export const processIo: CliIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
  stdoutIsTTY: process.stdout.isTTY === true,
  stopSignal: processSignals,
};

/**
 * Runs `main` and exits with its code when the module at `moduleUrl` is the script node was started with
 * (source under tsx, or the bundle), and does nothing when tests import it.
 */
export function runWhenInvoked(moduleUrl: string, name: string, main: (argv: readonly string[]) => Promise<number>): void {
  const script = process.argv[1];
  if (!script) return;
  try {
    if (realpathSync(script) !== realpathSync(fileURLToPath(moduleUrl))) return;
  } catch {
    return;
  }
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`${name}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
