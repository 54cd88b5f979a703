/**
 * The transport under the serial drivers: opening a device by path or by USB ids through `serialport`.
 * `serialport` is a native module, imported lazily: a box where it cannot load reports the serial source
 * unavailable instead of failing to start.
 */
import { PulsebridgeError, errorMessage } from '@pulsebridge/runtime';

export type SerialPortErrorCode = 'binding_unavailable' | 'list_failed' | 'not_found' | 'open_failed';

export class SerialPortError extends PulsebridgeError<SerialPortErrorCode> {}

/** What `SerialPort.list()` returns, reduced to what matching needs. */
export interface ListedPort {
  path: string;
  vendorId?: string | undefined;
  productId?: string | undefined;
  serialNumber?: string | undefined;
}

export type ListPorts = () => Promise<ListedPort[]>;

/** An open port as the drivers see it. */
export interface OpenPort {
  write(bytes: Uint8Array): void;
  close(): Promise<void>;
}

export interface OpenPortHandlers {
  data(chunk: Buffer): void;
  /** The port went away (unplugged, or closed by the other end); not called for close(). */
  lost(reason: string): void;
}

type SerialPortModule = typeof import('serialport');
let loading: Promise<SerialPortModule> | undefined;

async function serialPortModule(): Promise<SerialPortModule> {
  loading ??= import('serialport');
  try {
    return await loading;
  } catch (error) {
    loading = undefined;
    throw new SerialPortError('binding_unavailable', `serialport cannot load: ${errorMessage(error)}`);
  }
}

export const listSystemPorts: ListPorts = async () => {
  const { SerialPort } = await serialPortModule();
  try {
    return await SerialPort.list();
  } catch (error) {
    throw new SerialPortError('list_failed', `cannot list serial ports: ${errorMessage(error)}`);
  }
};

const sameHexId = (a: string | undefined, b: string): boolean => a !== undefined && a.toLowerCase() === b.toLowerCase();

/** The first listed port with these USB ids, or a not_found error naming them. */
export async function findUsbPort(listPorts: ListPorts, usb: { vendorId: string; productId: string }): Promise<ListedPort> {
  let ports: ListedPort[];
  try {
    ports = await listPorts();
  } catch (error) {
    if (error instanceof SerialPortError) throw error;
    throw new SerialPortError('list_failed', `cannot list serial ports: ${errorMessage(error)}`);
  }
  const found = ports.find((port) => sameHexId(port.vendorId, usb.vendorId) && sameHexId(port.productId, usb.productId));
  if (!found) throw new SerialPortError('not_found', `no serial port with USB id ${usb.vendorId}:${usb.productId} (${ports.length} ports listed)`);
  return found;
}

export async function openSerialPort(path: string, baudRate: number, handlers: OpenPortHandlers): Promise<OpenPort> {
  const { SerialPort } = await serialPortModule();
  const port = new SerialPort({ path, baudRate, autoOpen: false });
  await new Promise<void>((resolve, reject) => {
    // serialport's messages read "Error: No such file or directory, cannot open <path>": keep only the cause.
    port.open((error) =>
      error ? reject(new SerialPortError('open_failed', `cannot open ${path}: ${error.message.replace(/^Error: /, '').replace(/, cannot open .*$/, '')}`)) : resolve(),
    );
  });
  let closing = false;
  port.on('data', (chunk: Buffer) => handlers.data(chunk));
  // Errors on an open port (a failed write, EIO after unplug) end in 'close' with the reason; logging them
  // here would report each loss twice.
  port.on('error', () => undefined);
  port.on('close', (error: (Error & { disconnected?: boolean }) | null) => {
    if (!closing) handlers.lost(error ? `${path} ${error.disconnected ? 'disconnected' : 'closed'}: ${error.message}` : `${path} closed`);
  });
  return {
    write: (bytes) => {
      if (port.isOpen) port.write(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    },
    close: () =>
      new Promise<void>((resolve) => {
        closing = true;
        if (!port.isOpen) return resolve();
        port.close(() => resolve());
      }),
  };
}
