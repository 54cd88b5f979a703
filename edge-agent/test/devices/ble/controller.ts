// Over 500 lines on purpose: one controller's HCI state machine (commands, scanning, connections, ACL flow
// control) shares per-connection state that a split would have every part reach into.
/**
 * One fake Bluetooth LE controller (an hciN adapter): answers the HCI commands noble's Linux stack sends,
 * scans, initiates and keeps connections, and moves ACL data with the flow control it advertised.
 *
 * Raw HCI sockets bound to the adapter all see every event and ACL packet, and each sees copies of what the
 * other sockets sent, as the Linux kernel delivers them to HCI_CHANNEL_RAW sockets (hci_send_to_sock).
 */
import type { Logger } from 'pino';
import {
  aclPacket,
  AclBoundary,
  addressFromBytes,
  AdvertisingEventType,
  ALLOWED_DISCONNECT_REASONS,
  commandComplete,
  commandStatus,
  DEFAULT_LE_EVENT_MASK,
  disconnectionComplete,
  EventCode,
  eventPacket,
  HciStatus,
  leAdvertisingReport,
  leConnectionComplete,
  leConnectionUpdateComplete,
  leEnhancedConnectionComplete,
  LeEventMaskBit,
  leExtendedAdvertisingReport,
  normalizeAddress,
  numberOfCompletedPackets,
  Opcode,
  opcodeName,
  PacketType,
  type AddressType,
  type AdvertisingPduType,
  type ConnectionParameters,
} from './hci.ts';
import { Link, type LinkHost } from './link.ts';
import type { SimulatedPeripheral } from './peripheral.ts';
import type { TimerSet, Cancelable } from './timers.ts';

export interface AdapterOptions {
  /** HCI device id: 0 for hci0. */
  id: number;
  /** BD_ADDR reported by Read BD_ADDR; derived from the id when omitted. */
  address?: string;
  /** Simultaneous LE connections the controller supports (default 8). */
  connectionLimit?: number;
  /**
   * Command Status for an LE Create Connection beyond the limit. Default 0x09 Connection Limit Exceeded,
   * what e.g. Broadcom and Realtek controllers answer; some CSR parts answer 0x07 Memory Capacity Exceeded.
   */
  connectionLimitStatus?: number;
  /** LE ACL data packet length from LE Read Buffer Size (default 27, the LE 4.0 minimum). */
  aclPacketLength?: number;
  /** LE ACL buffers from LE Read Buffer Size (default 8). */
  aclPacketCount?: number;
  /** Report no dedicated LE buffers, so the host falls back to HCI Read Buffer Size (shared BR/EDR pool). */
  sharedBufferPool?: boolean;
  /** From the peripheral being found to LE Connection Complete (default 2 ms). */
  connectDelayMs?: number;
  /**
   * How long an LE Create Connection may stay pending: the Linux kernel cancels it after le_conn_timeout
   * (20 s) and the controller then reports LE Connection Complete with 0x02 Unknown Connection Identifier.
   */
  connectTimeoutMs?: number;
  /** Delay before Number Of Completed Packets for host ACL data (default 1 ms). */
  aclCompletionDelayMs?: number;
  /** HCI version from Read Local Version Information (default 0x09, Bluetooth 5.0; noble needs >= 0x06). */
  hciVersion?: number;
  /** Advertising reports the duplicate filter remembers; real controllers keep a small table (default 512). */
  duplicateFilterCapacity?: number;
}

export interface AdapterCounters {
  commands: number;
  unknownCommands: number;
  commandsIgnoredWhileWedged: number;
  resets: number;
  /** LE Create Connection commands (and extended ones), whatever their outcome. */
  connectionsAttempted: number;
  connectionsEstablished: number;
  connectionLimitRejections: number;
  connectionTimeouts: number;
  advertisingReports: number;
  aclPacketsFromHost: number;
  aclPacketsToHost: number;
  /** Host ACL packets sent while all advertised buffers were in use: the host broke flow control. */
  aclBufferOverruns: number;
  /** Host ACL packets longer than the advertised ACL data packet length. */
  aclOversizedPackets: number;
  /** Malformed or unexpected traffic from the host (L2CAP, ATT, SMP, HCI framing). */
  protocolErrors: number;
}

export interface CommandLogEntry {
  opcode: number;
  name: string;
  timeMs: number;
}

/** Something that transmits advertising PDUs: a simulated peripheral or one of a flood's advertisers. */
export interface Advertiser {
  readonly address: string;
  readonly addressType: AddressType;
  readonly advertisingPdu: AdvertisingPduType;
  advertisingData(): Buffer;
  /** Undefined for a PDU type that cannot be scanned. */
  scanResponseData(): Buffer | undefined;
  rssiAt(adapterId: number): number;
  /** Told when one of its adverts reached the host through this adapter. */
  advertDelivered?(adapterId: number): void;
}

/** What the adapter needs from the world around it. */
export interface AdapterEnvironment {
  timers: TimerSet;
  logger: Logger;
  /** The peripheral with this address (and address type) within radio range of the adapter. */
  findPeripheral(adapterId: number, address: string, addressType: AddressType): SimulatedPeripheral | undefined;
}

/** The socket side the adapter delivers to (implemented by FakeHciSocket). */
export interface HostSocket {
  deliver(packet: Buffer): void;
}

interface PendingConnection {
  address: string;
  addressType: AddressType;
  parameters: ConnectionParameters;
  timeout: Cancelable;
  attempt: Cancelable | undefined;
}

/** Kernel (BlueZ) event mask in force before the host changes it; the same value noble writes. */
const KERNEL_EVENT_MASK = 0x3dbff807fffbffffn;
/** Spec default after HCI Reset (Vol 4 Part E 7.3.1): no LE Meta events until the host enables them. */
const RESET_EVENT_MASK = 0x00001fffffffffffn;
const EVENT_MASK_DISCONNECTION_COMPLETE = 1n << 4n;
const EVENT_MASK_ENCRYPTION_CHANGE = 1n << 7n;
const EVENT_MASK_LE_META = 1n << 61n;
const FIRST_CONNECTION_HANDLE = 0x0040;
const MAX_CONNECTION_HANDLE = 0x0eff;
const COMMAND_LOG_LIMIT = 2000;

export class FakeAdapter implements LinkHost {
  readonly id: number;
  readonly address: string;
  readonly counters: AdapterCounters = {
    commands: 0,
    unknownCommands: 0,
    commandsIgnoredWhileWedged: 0,
    resets: 0,
    connectionsAttempted: 0,
    connectionsEstablished: 0,
    connectionLimitRejections: 0,
    connectionTimeouts: 0,
    advertisingReports: 0,
    aclPacketsFromHost: 0,
    aclPacketsToHost: 0,
    aclBufferOverruns: 0,
    aclOversizedPackets: 0,
    protocolErrors: 0,
  };
  /** Every HCI command received, oldest first (bounded). */
  readonly commandLog: CommandLogEntry[] = [];

  private readonly connectionLimit: number;
  private readonly connectionLimitStatus: number;
  private readonly aclPacketLength: number;
  private readonly aclPacketCount: number;
  private readonly sharedBufferPool: boolean;
  private readonly connectDelayMs: number;
  private readonly connectTimeoutMs: number;
  private readonly aclCompletionDelayMs: number;
  private readonly hciVersion: number;
  private readonly duplicateFilterCapacity: number;

  private readonly sockets = new Set<HostSocket>();
  private outbox: { packet: Buffer; origin: HostSocket | undefined }[] = [];
  private drainScheduled = false;

  private powered = true;
  private wedged = false;
  private closed = false;
  private eventMask = KERNEL_EVENT_MASK;
  private leEventMask = DEFAULT_LE_EVENT_MASK;
  private leHostSupported = true;
  private scan = { enabled: false, active: false, filterDuplicates: false, extended: false };
  private readonly duplicateFilter = new Map<string, true>();
  private pending: PendingConnection | undefined;
  private readonly links = new Map<number, Link>();
  private nextHandle = FIRST_CONNECTION_HANDLE;
  private buffersInUse = 0;
  private readonly awaitingCompletion = new Map<number, number>();
  private completionTimer: Cancelable | undefined;

  constructor(
    options: AdapterOptions,
    private readonly environment: AdapterEnvironment,
  ) {
    this.id = options.id;
    this.address = normalizeAddress(options.address ?? `00:1a:7d:da:71:${(0x10 + options.id).toString(16).padStart(2, '0')}`);
    this.connectionLimit = options.connectionLimit ?? 8;
    this.connectionLimitStatus = options.connectionLimitStatus ?? HciStatus.connectionLimitExceeded;
    this.aclPacketLength = options.aclPacketLength ?? 27;
    this.aclPacketCount = options.aclPacketCount ?? 8;
    this.sharedBufferPool = options.sharedBufferPool ?? false;
    this.connectDelayMs = options.connectDelayMs ?? 2;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 20_000;
    this.aclCompletionDelayMs = options.aclCompletionDelayMs ?? 1;
    this.hciVersion = options.hciVersion ?? 0x09;
    this.duplicateFilterCapacity = options.duplicateFilterCapacity ?? 512;
  }

  get adapterId(): number {
    return this.id;
  }

  /** What HCIGETDEVINFO reports as HCI_UP. */
  isUp(): boolean {
    return this.powered && !this.closed;
  }

  get isWedged(): boolean {
    return this.wedged;
  }

  get activeConnections(): number {
    return this.links.size;
  }

  get isScanning(): boolean {
    return this.scan.enabled && this.isOperational();
  }

  /** Connected links, for tests that want to look at one. */
  connections(): Link[] {
    return [...this.links.values()];
  }

  attach(socket: HostSocket): void {
    this.sockets.add(socket);
  }

  detach(socket: HostSocket): void {
    this.sockets.delete(socket);
  }

  /**
   * The controller stops producing anything (adverts, events, data) and ignores every command but HCI
   * Reset, as BlueZ adapters do after hours in the field. Links stay up on the controller's books.
   */
  wedge(): void {
    this.wedged = true;
    this.environment.logger.debug({ adapter: this.id }, 'adapter wedged');
  }

  /** hciconfig hciN down/up: the host sees isDevUp() change; going down drops every link silently. */
  setPowered(on: boolean): void {
    if (on === this.powered) return;
    if (!on) {
      this.clearControllerState();
      this.powered = false;
      return;
    }
    this.powered = true;
    this.eventMask = KERNEL_EVENT_MASK;
  }

  close(): void {
    this.clearControllerState();
    this.closed = true;
    this.outbox = [];
  }

  // ---- host side -------------------------------------------------------------------------------

  /** A packet a socket wrote; `origin` does not get the kernel's copy of it. */
  fromHost(packet: Buffer, origin: HostSocket): void {
    const type = packet[0];
    if (type === PacketType.command) this.commandFromHost(packet, origin);
    else if (type === PacketType.acl) this.aclFromHost(packet, origin);
    else this.protocolError(`packet type 0x${(type ?? 0).toString(16)} from the host`);
  }

  protocolError(reason: string): void {
    this.counters.protocolErrors++;
    this.environment.logger.debug({ adapter: this.id, reason }, 'protocol error');
  }

  private commandFromHost(packet: Buffer, origin: HostSocket): void {
    if (packet.length < 4) return this.protocolError('HCI command shorter than its header');
    const op = packet.readUInt16LE(1);
    const parameters = packet.subarray(4);
    if (parameters.length !== packet.readUInt8(3)) return this.protocolError(`${opcodeName(op)}: parameter length mismatch`);
    this.echo(packet, origin);
    this.counters.commands++;
    this.commandLog.push({ opcode: op, name: opcodeName(op), timeMs: Date.now() });
    if (this.commandLog.length > COMMAND_LOG_LIMIT) this.commandLog.shift();
    if (this.wedged && op !== Opcode.reset) {
      this.counters.commandsIgnoredWhileWedged++;
      return;
    }
    this.command(op, parameters);
  }

  private command(op: number, p: Buffer): void {
    const ok = HciStatus.success;
    switch (op) {
      case Opcode.reset:
        return this.reset();
      case Opcode.setEventMask:
        if (p.length !== 8) return this.complete(op, HciStatus.invalidParameters);
        this.eventMask = p.readBigUInt64LE(0);
        return this.complete(op, ok);
      case Opcode.leSetEventMask:
        if (p.length !== 8) return this.complete(op, HciStatus.invalidParameters);
        this.leEventMask = p.readBigUInt64LE(0);
        return this.complete(op, ok);
      case Opcode.readLocalVersion: {
        const version = Buffer.alloc(8);
        version.writeUInt8(this.hciVersion, 0);
        version.writeUInt16LE(0x0100, 1);
        version.writeUInt8(this.hciVersion, 3);
        version.writeUInt16LE(0x05f1, 4); // company: The Linux Foundation
        version.writeUInt16LE(0x0001, 6);
        return this.complete(op, ok, version);
      }
      case Opcode.readLocalSupportedCommands:
        return this.complete(op, ok, supportedCommands());
      case Opcode.readLocalSupportedFeatures:
        // Byte 4: bit 5 BR/EDR not supported, bit 6 LE supported (controller).
        return this.complete(op, ok, Buffer.from([0, 0, 0, 0, 0x60, 0, 0, 0]));
      case Opcode.leReadLocalSupportedFeatures:
        return this.complete(op, ok, Buffer.from([0x01, 0, 0, 0, 0, 0, 0, 0])); // LE encryption
      case Opcode.readLeHostSupported:
        return this.complete(op, ok, Buffer.from([this.leHostSupported ? 1 : 0, 0]));
      case Opcode.writeLeHostSupported:
        if (p.length !== 2) return this.complete(op, HciStatus.invalidParameters);
        this.leHostSupported = p[0] === 1;
        return this.complete(op, ok);
      case Opcode.readBdAddr:
        return this.complete(op, ok, Buffer.from(this.address.split(':').reverse().join(''), 'hex'));
      case Opcode.leReadBufferSize: {
        const size = Buffer.alloc(3);
        if (!this.sharedBufferPool) {
          size.writeUInt16LE(this.aclPacketLength, 0);
          size.writeUInt8(this.aclPacketCount, 2);
        }
        return this.complete(op, ok, size);
      }
      case Opcode.readBufferSize: {
        const size = Buffer.alloc(7);
        size.writeUInt16LE(this.aclPacketLength, 0);
        size.writeUInt8(0, 2); // no SCO
        size.writeUInt16LE(this.aclPacketCount, 3);
        size.writeUInt16LE(0, 5);
        return this.complete(op, ok, size);
      }
      case Opcode.leSetRandomAddress:
        return this.complete(op, p.length === 6 ? ok : HciStatus.invalidParameters);
      case Opcode.leSetDefaultPhy:
        return this.complete(op, p.length === 3 ? ok : HciStatus.invalidParameters);
      case Opcode.leSetScanParameters:
        if (p.length !== 7) return this.complete(op, HciStatus.invalidParameters);
        if (this.scan.enabled) return this.complete(op, HciStatus.commandDisallowed);
        this.scan.active = p[0] === 0x01;
        return this.complete(op, ok);
      case Opcode.leSetExtendedScanParameters:
        if (p.length < 8) return this.complete(op, HciStatus.invalidParameters);
        if (this.scan.enabled) return this.complete(op, HciStatus.commandDisallowed);
        this.scan.active = p[3] === 0x01;
        return this.complete(op, ok);
      case Opcode.leSetScanEnable:
        if (p.length !== 2 || (p[0] ?? 2) > 1 || (p[1] ?? 2) > 1) return this.complete(op, HciStatus.invalidParameters);
        this.setScanEnable(p[0] === 1, p[1] === 1, false);
        return this.complete(op, ok);
      case Opcode.leSetExtendedScanEnable:
        if (p.length !== 6 || (p[0] ?? 2) > 1 || (p[1] ?? 3) > 2) return this.complete(op, HciStatus.invalidParameters);
        this.setScanEnable(p[0] === 1, p[1] !== 0, true);
        return this.complete(op, ok);
      case Opcode.leCreateConnection:
        return this.createConnection(op, parseCreateConnection(p));
      case Opcode.leExtendedCreateConnection:
        return this.createConnection(op, parseExtendedCreateConnection(p));
      case Opcode.leCreateConnectionCancel:
        return this.cancelConnection();
      case Opcode.disconnect:
        return this.disconnectCommand(p);
      case Opcode.readRssi:
        return this.readRssi(p);
      case Opcode.leConnectionUpdate:
        return this.connectionUpdate(p);
      case Opcode.leStartEncryption:
        return this.startEncryption(p);
      default:
        this.counters.unknownCommands++;
        return this.complete(op, HciStatus.unknownCommand);
    }
  }

  private reset(): void {
    this.counters.resets++;
    this.wedged = false;
    this.clearControllerState();
    this.eventMask = RESET_EVENT_MASK;
    this.complete(Opcode.reset, HciStatus.success);
  }

  /** What HCI Reset and power-down both do: links vanish without Disconnection Complete events. */
  private clearControllerState(): void {
    this.pending?.timeout.cancel();
    this.pending?.attempt?.cancel();
    this.pending = undefined;
    for (const link of [...this.links.values()]) this.closeLink(link, { reasonToHost: undefined, reasonForPeer: HciStatus.connectionTimeout });
    this.scan = { enabled: false, active: false, filterDuplicates: false, extended: false };
    this.duplicateFilter.clear();
    this.leEventMask = DEFAULT_LE_EVENT_MASK;
    this.buffersInUse = 0;
    this.awaitingCompletion.clear();
    this.completionTimer?.cancel();
    this.completionTimer = undefined;
  }

  private setScanEnable(enable: boolean, filterDuplicates: boolean, extended: boolean): void {
    if (enable && !this.scan.enabled) this.duplicateFilter.clear();
    this.scan.enabled = enable;
    this.scan.filterDuplicates = filterDuplicates;
    this.scan.extended = extended;
  }

  private createConnection(op: number, request: ParsedCreateConnection | undefined): void {
    this.counters.connectionsAttempted++;
    if (request === undefined) return this.status(op, HciStatus.invalidParameters);
    if (this.pending !== undefined) return this.status(op, HciStatus.commandDisallowed);
    if (this.links.size >= this.connectionLimit) {
      this.counters.connectionLimitRejections++;
      return this.status(op, this.connectionLimitStatus);
    }
    this.status(op, HciStatus.success);
    const pending: PendingConnection = {
      address: request.address,
      addressType: request.addressType,
      parameters: request.parameters,
      timeout: this.environment.timers.timeout(() => {
        this.counters.connectionTimeouts++;
        this.failPending(HciStatus.unknownConnectionId);
      }, this.connectTimeoutMs),
      attempt: undefined,
    };
    this.pending = pending;
    const peripheral = this.environment.findPeripheral(this.id, request.address, request.addressType);
    if (peripheral?.acceptsConnection()) {
      pending.attempt = this.environment.timers.timeout(() => this.establish(peripheral), this.connectDelayMs);
    }
    // Otherwise the connection completes at the peripheral's next connectable advertising event.
  }

  private cancelConnection(): void {
    if (this.pending === undefined) return this.complete(Opcode.leCreateConnectionCancel, HciStatus.commandDisallowed);
    this.complete(Opcode.leCreateConnectionCancel, HciStatus.success);
    this.failPending(HciStatus.unknownConnectionId);
  }

  private failPending(status: number): void {
    const pending = this.pending;
    if (pending === undefined) return;
    pending.timeout.cancel();
    pending.attempt?.cancel();
    this.pending = undefined;
    this.emitConnectionComplete({
      status,
      handle: 0,
      peerAddress: pending.address,
      peerAddressType: pending.addressType,
      intervalUnits: 0,
      latency: 0,
      supervisionTimeoutUnits: 0,
    });
  }

  private establish(peripheral: SimulatedPeripheral): void {
    const pending = this.pending;
    if (pending === undefined || !this.isOperational() || !peripheral.acceptsConnection()) {
      if (pending !== undefined) pending.attempt = undefined;
      return;
    }
    pending.timeout.cancel();
    this.pending = undefined;
    const handle = this.allocateHandle();
    const link = new Link(this, handle, peripheral, pending.parameters);
    this.links.set(handle, link);
    this.counters.connectionsEstablished++;
    this.emitConnectionComplete({
      status: HciStatus.success,
      handle,
      peerAddress: peripheral.address,
      peerAddressType: peripheral.addressType,
      ...pending.parameters,
    });
    peripheral.connected(link);
  }

  private emitConnectionComplete(fields: Parameters<typeof leConnectionComplete>[0]): void {
    if ((this.leEventMask & LeEventMaskBit.enhancedConnectionComplete) !== 0n) {
      this.emitLeEvent(leEnhancedConnectionComplete(fields));
    } else if ((this.leEventMask & LeEventMaskBit.connectionComplete) !== 0n) {
      this.emitLeEvent(leConnectionComplete(fields));
    }
  }

  private allocateHandle(): number {
    for (;;) {
      const handle = this.nextHandle;
      this.nextHandle = handle >= MAX_CONNECTION_HANDLE ? FIRST_CONNECTION_HANDLE : handle + 1;
      if (!this.links.has(handle)) return handle;
    }
  }

  private disconnectCommand(p: Buffer): void {
    const op = Opcode.disconnect;
    if (p.length !== 3) return this.status(op, HciStatus.invalidParameters);
    const handle = p.readUInt16LE(0) & 0x0fff;
    const reason = p.readUInt8(2);
    const link = this.links.get(handle);
    if (link === undefined) return this.status(op, HciStatus.unknownConnectionId);
    if (!ALLOWED_DISCONNECT_REASONS.has(reason)) return this.status(op, HciStatus.invalidParameters);
    this.status(op, HciStatus.success);
    // The local controller reports 0x16 to its own host whatever reason went to the peer.
    this.environment.timers.timeout(() => this.closeLink(link, { reasonToHost: HciStatus.localHostTerminated, reasonForPeer: reason }), 1);
  }

  private readRssi(p: Buffer): void {
    const op = Opcode.readRssi;
    if (p.length !== 2) return this.complete(op, HciStatus.invalidParameters, Buffer.alloc(3));
    const handle = p.readUInt16LE(0) & 0x0fff;
    const link = this.links.get(handle);
    const result = Buffer.alloc(3);
    result.writeUInt16LE(handle, 0);
    if (link === undefined) return this.complete(op, HciStatus.unknownConnectionId, result);
    result.writeInt8(Math.max(-127, Math.min(20, Math.round(link.peripheral.rssiAt(this.id)))), 2);
    this.complete(op, HciStatus.success, result);
  }

  private connectionUpdate(p: Buffer): void {
    const op = Opcode.leConnectionUpdate;
    if (p.length !== 14) return this.status(op, HciStatus.invalidParameters);
    const handle = p.readUInt16LE(0) & 0x0fff;
    const link = this.links.get(handle);
    if (link === undefined) return this.status(op, HciStatus.unknownConnectionId);
    this.status(op, HciStatus.success);
    const parameters: ConnectionParameters = {
      intervalUnits: p.readUInt16LE(4),
      latency: p.readUInt16LE(6),
      supervisionTimeoutUnits: p.readUInt16LE(8),
    };
    this.environment.timers.timeout(() => {
      if (this.links.get(handle) !== link) return;
      link.parameters = parameters;
      if ((this.leEventMask & LeEventMaskBit.connectionUpdateComplete) !== 0n) {
        this.emitLeEvent(leConnectionUpdateComplete(handle, parameters));
      }
    }, this.connectDelayMs);
  }

  private startEncryption(p: Buffer): void {
    const op = Opcode.leStartEncryption;
    if (p.length !== 28) return this.status(op, HciStatus.invalidParameters);
    const handle = p.readUInt16LE(0) & 0x0fff;
    if (!this.links.has(handle)) return this.status(op, HciStatus.unknownConnectionId);
    this.status(op, HciStatus.success);
    // The sensor has no key for this central: LL_REJECT_IND, Encryption Change 0x06 PIN or Key Missing.
    const change = Buffer.alloc(4);
    change.writeUInt8(0x06, 0);
    change.writeUInt16LE(handle, 1);
    change.writeUInt8(0, 3);
    if ((this.eventMask & EVENT_MASK_ENCRYPTION_CHANGE) !== 0n) this.enqueue(eventPacket(EventCode.encryptionChange, change));
  }

  private aclFromHost(packet: Buffer, origin: HostSocket): void {
    if (packet.length < 5) return this.protocolError('ACL packet shorter than its header');
    const field = packet.readUInt16LE(1);
    const handle = field & 0x0fff;
    const boundary = (field >> 12) & 0x03;
    const data = packet.subarray(5);
    if (data.length !== packet.readUInt16LE(3)) return this.protocolError('ACL length field does not match the packet');
    this.echo(packet, origin);
    if (this.wedged || !this.isOperational()) return;
    this.counters.aclPacketsFromHost++;
    if (data.length > this.aclPacketLength) this.counters.aclOversizedPackets++;
    const link = this.links.get(handle);
    if (link === undefined) {
      // Typically data the host queued just before Disconnection Complete reached it: flushed, no completion.
      return this.protocolError(`ACL data for unknown handle 0x${handle.toString(16)}`);
    }
    if (this.buffersInUse >= this.aclPacketCount) this.counters.aclBufferOverruns++;
    this.buffersInUse++;
    this.awaitingCompletion.set(handle, (this.awaitingCompletion.get(handle) ?? 0) + 1);
    link.receiveAcl(boundary !== AclBoundary.continuation, data);
    this.scheduleCompletions();
  }

  private scheduleCompletions(): void {
    if (this.completionTimer !== undefined) return;
    this.completionTimer = this.environment.timers.timeout(() => {
      this.completionTimer = undefined;
      for (const [handle, count] of [...this.awaitingCompletion]) {
        const link = this.links.get(handle);
        // A peer out of range never acknowledges: the packets stay in the buffers until the link closes.
        if (link === undefined || link.state !== 'open') continue;
        this.awaitingCompletion.delete(handle);
        this.buffersInUse -= count;
        this.enqueue(numberOfCompletedPackets(handle, count));
      }
    }, this.aclCompletionDelayMs);
  }

  // ---- link side -------------------------------------------------------------------------------

  sendL2capToHost(link: Link, pdu: Buffer): boolean {
    if (!this.isOperational() || this.links.get(link.handle) !== link) return false;
    for (let offset = 0; offset < pdu.length; offset += this.aclPacketLength) {
      const boundary = offset === 0 ? AclBoundary.firstFlushable : AclBoundary.continuation;
      this.enqueue(aclPacket(link.handle, boundary, pdu.subarray(offset, offset + this.aclPacketLength)));
      this.counters.aclPacketsToHost++;
    }
    return true;
  }

  /** The peripheral ended the connection (LL_TERMINATE_IND), e.g. 0x13 remote user terminated. */
  remoteDisconnect(link: Link, reason: number): void {
    this.environment.timers.timeout(() => this.closeLink(link, { reasonToHost: reason, reasonForPeer: reason }), 1);
  }

  /** The peer went silent: after the supervision timeout the controller reports 0x08 Connection Timeout. */
  loseLink(link: Link, detectAfterMs: number): void {
    if (this.links.get(link.handle) !== link || link.state !== 'open') return;
    link.state = 'lost';
    this.environment.timers.timeout(() => this.closeLink(link, { reasonToHost: HciStatus.connectionTimeout, reasonForPeer: HciStatus.connectionTimeout }), detectAfterMs);
  }

  private closeLink(link: Link, reasons: { reasonToHost: number | undefined; reasonForPeer: number }): void {
    if (this.links.get(link.handle) !== link) return;
    this.links.delete(link.handle);
    link.state = 'closed';
    this.buffersInUse -= this.awaitingCompletion.get(link.handle) ?? 0;
    this.awaitingCompletion.delete(link.handle);
    if (reasons.reasonToHost !== undefined && (this.eventMask & EVENT_MASK_DISCONNECTION_COMPLETE) !== 0n) {
      this.enqueue(disconnectionComplete(link.handle, reasons.reasonToHost));
    }
    link.peripheral.disconnected(link, reasons.reasonForPeer);
  }

  // ---- radio side ------------------------------------------------------------------------------

  /** One advertising event of an advertiser in range. */
  advertisingEvent(advertiser: Advertiser, peripheral?: SimulatedPeripheral): void {
    if (!this.isOperational()) return;
    const pending = this.pending;
    if (
      pending !== undefined &&
      pending.attempt === undefined &&
      peripheral !== undefined &&
      peripheral.address === pending.address &&
      peripheral.addressType === pending.addressType &&
      peripheral.acceptsConnection()
    ) {
      // The initiator answers this PDU with CONNECT_IND instead of scanning it.
      this.establish(peripheral);
      return;
    }
    if (!this.scan.enabled) return;
    const type = AdvertisingEventType[advertiser.advertisingPdu];
    this.report(advertiser, type, advertiser.advertisingData());
    if (this.scan.active && type !== AdvertisingEventType.ADV_NONCONN_IND) {
      const response = advertiser.scanResponseData();
      if (response !== undefined) this.report(advertiser, AdvertisingEventType.SCAN_RSP, response);
    }
  }

  private report(advertiser: Advertiser, eventType: number, data: Buffer): void {
    const extended = this.scan.extended;
    const maskBit = extended ? LeEventMaskBit.extendedAdvertisingReport : LeEventMaskBit.advertisingReport;
    if ((this.leEventMask & maskBit) === 0n) return;
    if (this.scan.filterDuplicates) {
      // Duplicates are judged per address and PDU type, not per payload, like most controllers do.
      const key = `${advertiser.address}/${advertiser.addressType}/${eventType}`;
      if (this.duplicateFilter.has(key)) return;
      this.duplicateFilter.set(key, true);
      if (this.duplicateFilter.size > this.duplicateFilterCapacity) {
        const oldest = this.duplicateFilter.keys().next().value;
        if (oldest !== undefined) this.duplicateFilter.delete(oldest);
      }
    }
    const fields = {
      eventType,
      address: advertiser.address,
      addressType: advertiser.addressType,
      data,
      rssi: advertiser.rssiAt(this.id),
    };
    if (!this.emitLeEvent(extended ? leExtendedAdvertisingReport(fields) : leAdvertisingReport(fields))) return;
    this.counters.advertisingReports++;
    advertiser.advertDelivered?.(this.id);
  }

  // ---- output ----------------------------------------------------------------------------------

  private isOperational(): boolean {
    return this.powered && !this.wedged && !this.closed;
  }

  private complete(op: number, status: number, parameters?: Buffer): void {
    this.enqueue(commandComplete(op, status, parameters));
  }

  private status(op: number, status: number): void {
    this.enqueue(commandStatus(op, status));
  }

  private emitLeEvent(packet: Buffer): boolean {
    if ((this.eventMask & EVENT_MASK_LE_META) === 0n) return false;
    return this.enqueue(packet);
  }

  /** The kernel's copy of a host packet for the other raw sockets. */
  private echo(packet: Buffer, origin: HostSocket): void {
    if (this.sockets.size > 1 && !this.closed) this.pushOutbox(Buffer.from(packet), origin);
  }

  private enqueue(packet: Buffer): boolean {
    if (!this.isOperational()) return false;
    this.pushOutbox(packet, undefined);
    return true;
  }

  private pushOutbox(packet: Buffer, origin: HostSocket | undefined): void {
    this.outbox.push({ packet, origin });
    if (this.drainScheduled) return;
    this.drainScheduled = true;
    this.environment.timers.immediate(() => this.drain());
  }

  private drain(): void {
    this.drainScheduled = false;
    const batch = this.outbox;
    this.outbox = [];
    for (const { packet, origin } of batch) {
      for (const socket of this.sockets) {
        if (socket !== origin) socket.deliver(packet);
      }
    }
  }
}

interface ParsedCreateConnection {
  address: string;
  addressType: AddressType;
  parameters: ConnectionParameters;
}

function parseCreateConnection(p: Buffer): ParsedCreateConnection | undefined {
  return p.length === 25 ? connectionTarget(p, 5, 15) : undefined;
}

function parseExtendedCreateConnection(p: Buffer): ParsedCreateConnection | undefined {
  if (p.length < 10) return undefined;
  const phys = p.readUInt8(9) & 0x07;
  const count = [0, 1, 2, 3].filter((bit) => (phys & (1 << bit)) !== 0).length;
  if (count === 0 || p.length !== 10 + 16 * count) return undefined;
  return connectionTarget(p, 2, 16);
}

/** Peer address type, then the address; interval, latency and supervision timeout follow each other. */
function connectionTarget(p: Buffer, addressTypeAt: number, intervalAt: number): ParsedCreateConnection {
  return {
    addressType: p[addressTypeAt] === 0x01 ? 'random' : 'public',
    address: addressFromBytes(p.subarray(addressTypeAt + 1, addressTypeAt + 7)),
    parameters: {
      intervalUnits: p.readUInt16LE(intervalAt),
      latency: p.readUInt16LE(intervalAt + 2),
      supervisionTimeoutUnits: p.readUInt16LE(intervalAt + 4),
    },
  };
}

/** Supported Commands bitmap (Vol 4 Part E 6.27) for what this controller implements. */
function supportedCommands(): Buffer {
  const bits = Buffer.alloc(64);
  const set = (octet: number, bit: number): void => {
    bits[octet] = (bits[octet] ?? 0) | (1 << bit);
  };
  set(0, 5); // Disconnect
  set(5, 6); // Set Event Mask
  set(5, 7); // Reset
  set(14, 3); // Read Local Version Information
  set(14, 5); // Read Local Supported Features
  set(14, 7); // Read Buffer Size
  set(15, 1); // Read BD_ADDR
  set(15, 5); // Read RSSI
  set(24, 5); // Read LE Host Support
  set(24, 6); // Write LE Host Support
  for (const bit of [0, 1, 2, 4]) set(25, bit); // LE Set Event Mask, Read Buffer Size, Local Features, Random Address
  for (const bit of [2, 3, 4, 5]) set(26, bit); // LE Set Scan Parameters/Enable, Create Connection (Cancel)
  set(27, 2); // LE Connection Update
  set(28, 0); // LE Start Encryption
  set(35, 5); // LE Set Default PHY
  for (const bit of [5, 6, 7]) set(37, bit); // LE extended scan parameters/enable, extended create connection
  return bits;
}
