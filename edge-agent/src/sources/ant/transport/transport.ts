/**
 * The byte pipe under the stick driver. A transport knows nothing of ANT framing: it opens a device,
 * hands over whatever bytes arrive, writes frames, and says when the device went away.
 */
import { PulsebridgeError } from '@pulsebridge/runtime';

export interface AntTransportHandlers {
  data(chunk: Uint8Array): void;
  /** The device went away on its own (unplugged, read error); not called after our own `close()`. */
  lost(reason: string): void;
}

export interface AntTransport {
  /** e.g. "uart /dev/ttyUSB0" or "usb 0fcf:1008 1-1.2", for logs and health. */
  readonly description: string;
  open(handlers: AntTransportHandlers): Promise<void>;
  write(frame: Uint8Array): Promise<void>;
  close(): Promise<void>;
}

export type AntTransportErrorCode =
  /** The library behind the transport (serialport, usb) cannot be loaded on this machine. */
  | 'unavailable'
  /** No device where the configuration says: not plugged in, wrong path, no permission. */
  | 'not_found'
  | 'open_failed'
  | 'write_failed'
  | 'not_open';

export class AntTransportError extends PulsebridgeError<AntTransportErrorCode> {}
