/** A CliIo that captures what a command prints, for tests of `pulsebridge-hub` commands run in-process. */
import type { CliIo } from '@pulsebridge/runtime';

export function capturingIo(env: Record<string, string>): CliIo & { out: string; err: string } {
  const captured = {
    out: '',
    err: '',
    env,
    stdout: (text: string) => void (captured.out += text),
    stderr: (text: string) => void (captured.err += text),
    stdoutIsTTY: false,
    stopSignal: () => new Promise<string>(() => undefined),
  };
  return captured;
}
