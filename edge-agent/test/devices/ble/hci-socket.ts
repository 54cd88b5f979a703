/**
 * The fake `BluetoothHciSocket`: the same methods and events as @abandonware/bluetooth-hci-socket's native
 * Linux socket (index.d.ts, src/BluetoothHciSocket.cpp), bound to a FakeAdapter of the started world
 * instead of an AF_BLUETOOTH socket. Errors look like the native ones: errno exceptions from bind, an
 * 'error' event from write and setFilter.
 */
import { EventEmitter } from 'node:events';
import type { FakeAdapter, HostSocket } from './controller.ts';
import { EventCode, PacketType } from './hci.ts';
import { fakeBleRegistry } from './registry.ts';

export interface HciDevice {
  devId: number | null;
  devUp: boolean | null;
  idVendor: number | null;
  idProduct: number | null;
  busNumber: number | null;
  deviceAddress: number | null;
}

const ERRNO: Record<string, { errno: number; text: string }> = {
  ENODEV: { errno: 19, text: 'No such device' },
  EBUSY: { errno: 16, text: 'Device or resource busy' },
  EINVAL: { errno: 22, text: 'Invalid argument' },
  EBADFD: { errno: 77, text: 'File descriptor in bad state' },
  ENETDOWN: { errno: 100, text: 'Network is down' },
};

/** Shaped like node's ErrnoException, which the native addon throws and emits. */
/** Shaped like Node's own system errors (code, errno, syscall), which is what noble's bindings expect. */
export class HciSocketError extends Error {
  readonly errno: number;

  constructor(
    readonly code: keyof typeof ERRNO,
    readonly syscall: string,
  ) {
    const known = ERRNO[code] ?? { errno: 0, text: code };
    super(`${code}, ${known.text}`);
    this.errno = known.errno;
  }
}

interface SocketFilter {
  typeMask: number;
  eventMask: bigint;
  opcode: number;
}

type Channel = 'raw' | 'user' | 'control';

export class FakeHciSocket extends EventEmitter implements HostSocket {
  private adapter: FakeAdapter | undefined;
  private channel: Channel | undefined;
  private running = false;
  private filter: SocketFilter = { typeMask: 0, eventMask: 0n, opcode: 0 };

  getDeviceList(): HciDevice[] {
    return (fakeBleRegistry().activeWorld?.adapters() ?? []).map((adapter) => ({
      devId: adapter.id,
      devUp: adapter.isUp(),
      idVendor: null,
      idProduct: null,
      busNumber: null,
      deviceAddress: null,
    }));
  }

  isDevUp(): boolean {
    return this.adapter?.isUp() ?? false;
  }

  bindRaw(devId?: number): number {
    return this.bind('raw', devId);
  }

  bindUser(devId?: number): number {
    return this.bind('user', devId);
  }

  bindControl(): void {
    this.channel = 'control';
  }

  setFilter(filter: Buffer): void {
    if (filter.length < 14) {
      this.emit('error', new HciSocketError('EINVAL', 'setsockopt'));
      return;
    }
    this.filter = {
      typeMask: filter.readUInt32LE(0),
      eventMask: filter.readBigUInt64LE(4),
      opcode: filter.readUInt16LE(12),
    };
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.adapter?.attach(this);
  }

  stop(): void {
    this.running = false;
    this.adapter?.detach(this);
  }

  write(data: Buffer): void {
    const adapter = this.adapter;
    if (adapter === undefined || this.channel === 'control') {
      this.emit('error', new HciSocketError('EBADFD', 'write'));
      return;
    }
    if (data.length < 4) {
      this.emit('error', new HciSocketError('EINVAL', 'write'));
      return;
    }
    if (!adapter.isUp()) {
      this.emit('error', new HciSocketError('ENETDOWN', 'write'));
      return;
    }
    adapter.fromHost(Buffer.from(data), this);
  }

  /** Called by the adapter for every packet the kernel would queue on this socket. */
  deliver(packet: Buffer): void {
    if (!this.running || !this.accepts(packet)) return;
    this.emit('data', packet);
  }

  private bind(channel: 'raw' | 'user', devId: number | undefined): number {
    const world = fakeBleRegistry().activeWorld;
    // Like the addon's devIdFor(): no id means the first adapter that is up (raw) or down (user channel).
    const wantUp = channel === 'raw';
    const adapter =
      devId === undefined || devId === null ? (world?.adapters().find((candidate) => candidate.isUp() === wantUp) ?? world?.lookupAdapter(0)) : world?.lookupAdapter(devId);
    if (adapter === undefined) throw new HciSocketError('ENODEV', 'bind');
    if (this.running) this.adapter?.detach(this);
    this.adapter = adapter;
    this.channel = channel;
    if (this.running) adapter.attach(this);
    return adapter.id;
  }

  /** The kernel's raw-socket filter (hci_sock.c is_filtered_packet); user channel sockets get everything. */
  private accepts(packet: Buffer): boolean {
    if (this.channel === 'user') return true;
    if (this.channel !== 'raw') return false;
    const type = packet[0] ?? 0;
    if ((this.filter.typeMask & (1 << (type & 31))) === 0) return false;
    if (type !== PacketType.event) return true;
    const event = packet[1] ?? 0;
    if ((this.filter.eventMask & (1n << BigInt(event & 63))) === 0n) return false;
    if (this.filter.opcode === 0) return true;
    if (event === EventCode.commandComplete) return packet.readUInt16LE(4) === this.filter.opcode;
    if (event === EventCode.commandStatus) return packet.readUInt16LE(5) === this.filter.opcode;
    return true;
  }
}
