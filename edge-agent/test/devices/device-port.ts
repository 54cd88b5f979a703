/**
 * What every device simulator shares: flags from argv, the far end of the pseudo-terminal opened through
 * the real `serialport`, and one JSON object per line on stdout so a test can follow what the device sent.
 */
import { parseArgs } from 'node:util';
import { SerialPort } from 'serialport';

export type Flags = Record<string, string | boolean | undefined>;

export function flags(options: Record<string, { type: 'string' | 'boolean' }>): Flags {
  const { values } = parseArgs({ options: { port: { type: 'string' }, ...options }, strict: true });
  if (typeof values['port'] !== 'string') {
    process.stderr.write('--port <path> is required\n');
    process.exit(2);
  }
  return values as Flags;
}

export function numberFlag(values: Flags, name: string, fallback: number): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (typeof raw !== 'string' || !Number.isFinite(value)) {
    process.stderr.write(`--${name} needs a number, got ${String(raw)}\n`);
    process.exit(2);
  }
  return value;
}

export function report(event: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

export async function openDevicePort(path: string, baudRate: number): Promise<SerialPort> {
  const port = new SerialPort({ path, baudRate, autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((error) => (error ? reject(error) : resolve())));
  // The simulator ends with its line: unplugging kills both.
  port.on('close', () => process.exit(0));
  port.on('error', (error) => {
    process.stderr.write(`port error: ${error.message}\n`);
    process.exit(1);
  });
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => process.exit(0));
  return port;
}
