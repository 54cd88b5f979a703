/**
 * ANT USB sticks (Dynastream/Garmin USB2 0fcf:1008, USB-m 0fcf:1009) through `usb` 3 (WebUSB API on libusb).
 *
 * Kept thin on purpose: it cannot be tested without a stick, so it only opens the device, claims its one
 * interface and moves bytes between the bulk endpoints; framing, resync and recovery live above it.
 * `usb` is a native module: it is imported on open, inside a guard, so a box without it reports
 * "ant: unavailable (...)" instead of crashing.
 */
import { errorMessage } from '@pulsebridge/runtime';
import { AntTransportError, type AntTransport, type AntTransportHandlers } from './transport.ts';

export interface UsbTransportOptions {
  vendorId: number;
  productIds: readonly number[];
}

/** USB full-speed bulk packets are 64 bytes; the stick never sends more at once. */
const READ_LENGTH = 64;
const INTERFACE_NUMBER = 0;

// The device as the parts of WebUSB used here see it; `usb`'s own type extends the DOM's USBDevice.
interface StickDevice {
  vendorId: number;
  productId: number;
  configuration: { interfaces: { interfaceNumber: number; alternate: { endpoints: { endpointNumber: number; direction: string; type: string }[] } }[] } | null | undefined;
  open(): Promise<void>;
  close(): Promise<void>;
  selectConfiguration(value: number): Promise<void>;
  claimInterface(value: number): Promise<void>;
  releaseInterface(value: number): Promise<void>;
  detachKernelDriver?(value: number): Promise<void>;
  transferIn(endpoint: number, length: number): Promise<{ data?: DataView | undefined; status?: string | undefined }>;
  transferOut(endpoint: number, data: Uint8Array): Promise<{ status?: string | undefined }>;
}

const hex4 = (n: number): string => n.toString(16).padStart(4, '0');

export class UsbTransport implements AntTransport {
  description: string;
  private readonly options: UsbTransportOptions;
  private device: StickDevice | undefined;
  private outEndpoint = 0;
  private closing = false;

  constructor(options: UsbTransportOptions) {
    this.options = options;
    this.description = `usb ${hex4(options.vendorId)}:${options.productIds.map(hex4).join('|')}`;
  }

  async open(handlers: AntTransportHandlers): Promise<void> {
    let usbModule: { usb: { findDeviceByIds(vid: number, pid: number): Promise<unknown> } };
    try {
      usbModule = (await import('usb')) as unknown as typeof usbModule;
    } catch (error) {
      throw new AntTransportError('unavailable', `usb cannot be loaded: ${errorMessage(error)}`, { cause: error });
    }
    let device: StickDevice | undefined;
    for (const productId of this.options.productIds) {
      device = (await usbModule.usb.findDeviceByIds(this.options.vendorId, productId).catch(() => undefined)) as StickDevice | undefined;
      if (device) break;
    }
    if (!device) throw new AntTransportError('not_found', `no ANT USB stick (${this.description}) is plugged in`);
    this.description = `usb ${hex4(device.vendorId)}:${hex4(device.productId)}`;
    try {
      await device.open();
      if (!device.configuration) await device.selectConfiguration(1);
      // A kernel serial driver may have bound the stick; without detaching it the claim fails.
      await device.detachKernelDriver?.(INTERFACE_NUMBER).catch(() => undefined);
      await device.claimInterface(INTERFACE_NUMBER);
    } catch (error) {
      await device.close().catch(() => undefined);
      throw new AntTransportError('open_failed', `cannot open ${this.description}: ${errorMessage(error)}`, { cause: error });
    }
    const endpoints = device.configuration?.interfaces.find((i) => i.interfaceNumber === INTERFACE_NUMBER)?.alternate.endpoints ?? [];
    const inEndpoint = endpoints.find((e) => e.direction === 'in' && e.type === 'bulk');
    const outEndpoint = endpoints.find((e) => e.direction === 'out' && e.type === 'bulk');
    if (!inEndpoint || !outEndpoint) {
      await device.close().catch(() => undefined);
      throw new AntTransportError('open_failed', `${this.description} has no bulk in/out endpoints on interface ${INTERFACE_NUMBER}`);
    }
    this.device = device;
    this.outEndpoint = outEndpoint.endpointNumber;
    this.closing = false;
    void this.readLoop(device, inEndpoint.endpointNumber, handlers);
  }

  private async readLoop(device: StickDevice, endpoint: number, handlers: AntTransportHandlers): Promise<void> {
    // An unplugged stick fails the pending transfer: that failure is how the loss is noticed.
    while (this.device === device) {
      try {
        const result = await device.transferIn(endpoint, READ_LENGTH);
        if (result.data && result.data.byteLength > 0) handlers.data(new Uint8Array(result.data.buffer, result.data.byteOffset, result.data.byteLength));
      } catch (error) {
        if (this.device !== device || this.closing) return;
        this.device = undefined;
        await device.close().catch(() => undefined);
        handlers.lost(`${this.description}: ${errorMessage(error)}`);
        return;
      }
    }
  }

  async write(frame: Uint8Array): Promise<void> {
    const device = this.device;
    if (!device) throw new AntTransportError('not_open', `${this.description} is not open`);
    try {
      await device.transferOut(this.outEndpoint, frame);
    } catch (error) {
      throw new AntTransportError('write_failed', `write to ${this.description} failed: ${errorMessage(error)}`, { cause: error });
    }
  }

  async close(): Promise<void> {
    const device = this.device;
    this.device = undefined;
    this.closing = true;
    if (!device) return;
    await device.releaseInterface(INTERFACE_NUMBER).catch(() => undefined);
    await device.close().catch(() => undefined);
  }
}
