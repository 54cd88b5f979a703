/**
 * ANT over a serial line: UART modules (nRF24AP2 and successors) and any device that presents the stick
 * as a tty. `serialport` carries a native binding, so it is imported on open, inside a guard.
 */
import type { SerialPort as SerialPortType } from 'serialport';
import { errorMessage } from '@pulsebridge/runtime';
import { AntTransportError, type AntTransport, type AntTransportHandlers } from './transport.ts';

export interface UartTransportOptions {
  path: string;
  baudRate: number;
}

export class UartTransport implements AntTransport {
  readonly description: string;
  private readonly options: UartTransportOptions;
  private port: SerialPortType | undefined;
  private closing = false;

  constructor(options: UartTransportOptions) {
    this.options = options;
    this.description = `uart ${options.path}@${options.baudRate}`;
  }

  async open(handlers: AntTransportHandlers): Promise<void> {
    if (this.port) throw new AntTransportError('open_failed', `${this.description} is already open`);
    let SerialPort: typeof SerialPortType;
    try {
      ({ SerialPort } = await import('serialport'));
    } catch (error) {
      throw new AntTransportError('unavailable', `serialport cannot be loaded: ${errorMessage(error)}`, { cause: error });
    }
    const port = new SerialPort({ path: this.options.path, baudRate: this.options.baudRate, autoOpen: false });
    await new Promise<void>((resolve, reject) => {
      port.open((error) => {
        if (!error) return resolve();
        const code = /ENOENT|No such file/i.test(error.message) ? 'not_found' : 'open_failed';
        reject(new AntTransportError(code, `cannot open ${this.description}: ${error.message}`, { cause: error }));
      });
    });
    this.closing = false;
    this.port = port;
    port.on('data', (chunk: Buffer) => handlers.data(chunk));
    // A vanished tty shows up as a read error followed by close; report it once, from whichever comes first.
    let reported = false;
    const lost = (reason: string): void => {
      if (reported || this.closing) return;
      reported = true;
      this.port = undefined;
      handlers.lost(reason);
    };
    port.on('error', (error: Error) => {
      lost(`${this.description}: ${error.message}`);
      if (port.isOpen) port.close(() => undefined);
    });
    port.on('close', (error: (Error & { disconnected?: boolean }) | null) => lost(`${this.description} closed${error ? `: ${error.message}` : ''}`));
  }

  async write(frame: Uint8Array): Promise<void> {
    const port = this.port;
    if (!port) throw new AntTransportError('not_open', `${this.description} is not open`);
    await new Promise<void>((resolve, reject) => {
      port.write(Buffer.from(frame), (error) => {
        if (error) reject(new AntTransportError('write_failed', `write to ${this.description} failed: ${error.message}`, { cause: error }));
        else resolve();
      });
    });
  }

  async close(): Promise<void> {
    const port = this.port;
    this.port = undefined;
    this.closing = true;
    if (!port?.isOpen) return;
    await new Promise<void>((resolve) => port.close(() => resolve()));
  }
}
