/**
 * The ATT server of one connection (Core Spec v5.3 Vol 3 Part F): one request at a time, answers exactly
 * as the spec says, including the error responses, so noble's gatt.js is exercised on its real paths.
 * Per-connection state: negotiated MTU, CCCD values, the prepare-write queue and the indication in flight.
 */
import { GattUuid, uuidFromBytes, uuidToBytes, type Attribute, type CharacteristicEntry, type GattDatabase } from './gatt.ts';

export const AttOpcode = {
  errorResponse: 0x01,
  exchangeMtuRequest: 0x02,
  exchangeMtuResponse: 0x03,
  findInformationRequest: 0x04,
  findInformationResponse: 0x05,
  findByTypeValueRequest: 0x06,
  findByTypeValueResponse: 0x07,
  readByTypeRequest: 0x08,
  readByTypeResponse: 0x09,
  readRequest: 0x0a,
  readResponse: 0x0b,
  readBlobRequest: 0x0c,
  readBlobResponse: 0x0d,
  readByGroupTypeRequest: 0x10,
  readByGroupTypeResponse: 0x11,
  writeRequest: 0x12,
  writeResponse: 0x13,
  prepareWriteRequest: 0x16,
  prepareWriteResponse: 0x17,
  executeWriteRequest: 0x18,
  executeWriteResponse: 0x19,
  handleValueNotification: 0x1b,
  handleValueIndication: 0x1d,
  handleValueConfirmation: 0x1e,
  writeCommand: 0x52,
  signedWriteCommand: 0xd2,
} as const;

export const AttError = {
  invalidHandle: 0x01,
  readNotPermitted: 0x02,
  writeNotPermitted: 0x03,
  invalidPdu: 0x04,
  requestNotSupported: 0x06,
  invalidOffset: 0x07,
  prepareQueueFull: 0x09,
  attributeNotFound: 0x0a,
  invalidAttributeValueLength: 0x0d,
  unsupportedGroupType: 0x10,
  valueNotAllowed: 0x13,
  /** Profile-defined (Core Spec Supplement 1.2): a control point written without indications enabled. */
  cccdImproperlyConfigured: 0xfd,
} as const;

export const DEFAULT_ATT_MTU = 23;
const MAX_PREPARE_QUEUE = 64;
const MAX_QUEUED_INDICATIONS = 32;
const CCCD_NOTIFY = 0x0001;
const CCCD_INDICATE = 0x0002;

export interface AttServerOptions {
  database: GattDatabase;
  /** The server's receive MTU, sent in the Exchange MTU response. */
  serverMtu: number;
  /** Hands a PDU to L2CAP; false when the link lost it (the central never sees it). */
  send: (pdu: Buffer) => boolean;
  connectionHandle: number;
  adapterId: number;
  onSubscriptionChange?: (entry: CharacteristicEntry, cccdValue: number) => void;
  /** A value write the ATT layer accepted; returns an ATT (or application) error code to refuse it. */
  onValueWrite?: (entry: CharacteristicEntry, data: Buffer, context: { withResponse: boolean; subscription: number }) => number | void;
  /** Something the client sent that a server cannot act on, for counters. */
  onProtocolError?: (reason: string) => void;
}

export class AttServer {
  /** The ATT_MTU in force: 23 until the client exchanges MTUs. */
  mtu = DEFAULT_ATT_MTU;
  private readonly cccd = new Map<number, number>();
  private prepareQueue: { handle: number; offset: number; value: Buffer }[] = [];
  private indicationInFlight = false;
  private readonly indicationQueue: Buffer[] = [];

  constructor(private readonly options: AttServerOptions) {}

  /** The CCCD value this connection wrote for a characteristic (0 when never written). */
  subscription(entry: CharacteristicEntry): number {
    return entry.cccdHandle === undefined ? 0 : (this.cccd.get(entry.cccdHandle) ?? 0);
  }

  /** Sends a notification if this connection enabled them; returns whether it went out. */
  notify(entry: CharacteristicEntry, value: Uint8Array): boolean {
    if ((this.subscription(entry) & CCCD_NOTIFY) === 0) return false;
    return this.sendValuePdu(AttOpcode.handleValueNotification, entry, value);
  }

  /** Sends (or queues behind the unconfirmed one) an indication if this connection enabled them. */
  indicate(entry: CharacteristicEntry, value: Uint8Array): boolean {
    if ((this.subscription(entry) & CCCD_INDICATE) === 0) return false;
    const pdu = this.valuePdu(AttOpcode.handleValueIndication, entry, value);
    if (this.indicationInFlight) {
      if (this.indicationQueue.length >= MAX_QUEUED_INDICATIONS) return false;
      this.indicationQueue.push(pdu);
      return true;
    }
    this.indicationInFlight = true;
    return this.options.send(pdu);
  }

  /** A notification regardless of the CCCD, for scenarios with a misbehaving sensor. */
  notifyUnsolicited(entry: CharacteristicEntry, value: Uint8Array): boolean {
    return this.sendValuePdu(AttOpcode.handleValueNotification, entry, value);
  }

  handle(pdu: Buffer): void {
    const op = pdu[0];
    if (op === undefined) {
      this.options.onProtocolError?.('empty ATT PDU');
      return;
    }
    switch (op) {
      case AttOpcode.exchangeMtuRequest:
        return this.exchangeMtu(pdu);
      case AttOpcode.findInformationRequest:
        return this.findInformation(pdu);
      case AttOpcode.findByTypeValueRequest:
        return this.findByTypeValue(pdu);
      case AttOpcode.readByTypeRequest:
        return this.readByType(pdu);
      case AttOpcode.readRequest:
        return this.read(pdu);
      case AttOpcode.readBlobRequest:
        return this.readBlob(pdu);
      case AttOpcode.readByGroupTypeRequest:
        return this.readByGroupType(pdu);
      case AttOpcode.writeRequest:
        return this.write(pdu, true);
      case AttOpcode.writeCommand:
        return this.write(pdu, false);
      case AttOpcode.prepareWriteRequest:
        return this.prepareWrite(pdu);
      case AttOpcode.executeWriteRequest:
        return this.executeWrite(pdu);
      case AttOpcode.handleValueConfirmation:
        return this.confirmIndication();
      case AttOpcode.signedWriteCommand:
        // Signed writes need a CSRK from bonding, which this server never has: ignore as commands are.
        return;
      default:
        if ((op & 0x40) !== 0) {
          this.options.onProtocolError?.(`unknown ATT command 0x${op.toString(16)}`);
        } else if (op % 2 === 1) {
          // A response, notification or indication from the client side: the server sent no request.
          this.options.onProtocolError?.(`unexpected ATT PDU 0x${op.toString(16)} at the server`);
        } else {
          this.error(op, 0x0000, AttError.requestNotSupported);
        }
    }
  }

  private exchangeMtu(pdu: Buffer): void {
    if (pdu.length !== 3) return this.error(pdu[0] ?? 0, 0, AttError.invalidPdu);
    const clientMtu = pdu.readUInt16LE(1);
    this.mtu = Math.max(DEFAULT_ATT_MTU, Math.min(clientMtu, this.options.serverMtu));
    const response = Buffer.alloc(3);
    response.writeUInt8(AttOpcode.exchangeMtuResponse, 0);
    response.writeUInt16LE(this.options.serverMtu, 1);
    this.options.send(response);
  }

  private findInformation(pdu: Buffer): void {
    const op = AttOpcode.findInformationRequest;
    if (pdu.length !== 5) return this.error(op, 0, AttError.invalidPdu);
    const start = pdu.readUInt16LE(1);
    const end = pdu.readUInt16LE(3);
    if (!this.validRange(op, start, end)) return;
    const found = this.options.database.range(start, end);
    const first = found[0];
    if (first === undefined) return this.error(op, start, AttError.attributeNotFound);
    const uuidLength = uuidToBytes(first.type).length;
    const entries: Buffer[] = [];
    let size = 2;
    for (const attribute of found) {
      const uuid = uuidToBytes(attribute.type);
      if (uuid.length !== uuidLength || size + 2 + uuidLength > this.mtu) break;
      const entry = Buffer.alloc(2);
      entry.writeUInt16LE(attribute.handle, 0);
      entries.push(entry, uuid);
      size += 2 + uuidLength;
    }
    const format = uuidLength === 2 ? 0x01 : 0x02;
    this.options.send(Buffer.concat([Buffer.from([AttOpcode.findInformationResponse, format]), ...entries]));
  }

  private findByTypeValue(pdu: Buffer): void {
    const op = AttOpcode.findByTypeValueRequest;
    if (pdu.length < 7) return this.error(op, 0, AttError.invalidPdu);
    const start = pdu.readUInt16LE(1);
    const end = pdu.readUInt16LE(3);
    if (!this.validRange(op, start, end)) return;
    const type = uuidFromBytes(pdu.subarray(5, 7));
    const wanted = pdu.subarray(7);
    const entries: Buffer[] = [];
    for (const attribute of this.options.database.range(start, end)) {
      if (attribute.type !== type || !attribute.readable) continue;
      if (!this.readValue(attribute).equals(wanted)) continue;
      if (1 + (entries.length + 1) * 4 > this.mtu) break;
      const entry = Buffer.alloc(4);
      entry.writeUInt16LE(attribute.handle, 0);
      entry.writeUInt16LE(attribute.groupEnd ?? attribute.handle, 2);
      entries.push(entry);
    }
    if (entries.length === 0) return this.error(op, start, AttError.attributeNotFound);
    this.options.send(Buffer.concat([Buffer.from([AttOpcode.findByTypeValueResponse]), ...entries]));
  }

  private readByType(pdu: Buffer): void {
    const op = AttOpcode.readByTypeRequest;
    if (pdu.length !== 7 && pdu.length !== 21) return this.error(op, 0, AttError.invalidPdu);
    const start = pdu.readUInt16LE(1);
    const end = pdu.readUInt16LE(3);
    if (!this.validRange(op, start, end)) return;
    const type = uuidFromBytes(pdu.subarray(5));
    const found = this.options.database.range(start, end).filter((attribute) => attribute.type === type);
    const first = found[0];
    if (first === undefined) return this.error(op, start, AttError.attributeNotFound);
    if (!first.readable) return this.error(op, first.handle, AttError.readNotPermitted);
    const maxValue = Math.min(this.mtu - 4, 253);
    const entries: Buffer[] = [];
    let valueLength = -1;
    let size = 2;
    for (const attribute of found) {
      if (!attribute.readable) break;
      const value = this.readValue(attribute).subarray(0, maxValue);
      if (valueLength === -1) valueLength = value.length;
      if (value.length !== valueLength || size + 2 + value.length > this.mtu) break;
      const handle = Buffer.alloc(2);
      handle.writeUInt16LE(attribute.handle, 0);
      entries.push(handle, value);
      size += 2 + value.length;
    }
    this.options.send(Buffer.concat([Buffer.from([AttOpcode.readByTypeResponse, valueLength + 2]), ...entries]));
  }

  private read(pdu: Buffer): void {
    const op = AttOpcode.readRequest;
    if (pdu.length !== 3) return this.error(op, 0, AttError.invalidPdu);
    const handle = pdu.readUInt16LE(1);
    const attribute = this.options.database.get(handle);
    if (attribute === undefined) return this.error(op, handle, AttError.invalidHandle);
    if (!attribute.readable) return this.error(op, handle, AttError.readNotPermitted);
    const value = this.readValue(attribute).subarray(0, this.mtu - 1);
    this.options.send(Buffer.concat([Buffer.from([AttOpcode.readResponse]), value]));
  }

  private readBlob(pdu: Buffer): void {
    const op = AttOpcode.readBlobRequest;
    if (pdu.length !== 5) return this.error(op, 0, AttError.invalidPdu);
    const handle = pdu.readUInt16LE(1);
    const offset = pdu.readUInt16LE(3);
    const attribute = this.options.database.get(handle);
    if (attribute === undefined) return this.error(op, handle, AttError.invalidHandle);
    if (!attribute.readable) return this.error(op, handle, AttError.readNotPermitted);
    const value = this.readValue(attribute);
    if (offset > value.length) return this.error(op, handle, AttError.invalidOffset);
    const part = value.subarray(offset, offset + this.mtu - 1);
    this.options.send(Buffer.concat([Buffer.from([AttOpcode.readBlobResponse]), part]));
  }

  private readByGroupType(pdu: Buffer): void {
    const op = AttOpcode.readByGroupTypeRequest;
    if (pdu.length !== 7 && pdu.length !== 21) return this.error(op, 0, AttError.invalidPdu);
    const start = pdu.readUInt16LE(1);
    const end = pdu.readUInt16LE(3);
    if (!this.validRange(op, start, end)) return;
    const type = uuidFromBytes(pdu.subarray(5));
    if (type !== GattUuid.primaryService && type !== GattUuid.secondaryService) {
      return this.error(op, start, AttError.unsupportedGroupType);
    }
    const found = this.options.database.range(start, end).filter((attribute) => attribute.type === type);
    const first = found[0];
    if (first === undefined) return this.error(op, start, AttError.attributeNotFound);
    const entries: Buffer[] = [];
    let entryLength = -1;
    let size = 2;
    for (const attribute of found) {
      const value = this.readValue(attribute);
      const length = 4 + value.length;
      if (entryLength === -1) entryLength = length;
      if (length !== entryLength || size + length > this.mtu) break;
      const handles = Buffer.alloc(4);
      handles.writeUInt16LE(attribute.handle, 0);
      handles.writeUInt16LE(attribute.groupEnd ?? attribute.handle, 2);
      entries.push(handles, value);
      size += length;
    }
    this.options.send(Buffer.concat([Buffer.from([AttOpcode.readByGroupTypeResponse, entryLength]), ...entries]));
  }

  private write(pdu: Buffer, withResponse: boolean): void {
    const op = withResponse ? AttOpcode.writeRequest : AttOpcode.writeCommand;
    if (pdu.length < 3) {
      if (withResponse) this.error(op, 0, AttError.invalidPdu);
      else this.options.onProtocolError?.('short ATT Write Command');
      return;
    }
    const handle = pdu.readUInt16LE(1);
    const status = this.applyWrite(handle, pdu.subarray(3), withResponse);
    if (!withResponse) {
      if (status !== 0) this.options.onProtocolError?.(`Write Command to 0x${handle.toString(16)} refused (0x${status.toString(16)})`);
      return;
    }
    if (status !== 0) return this.error(op, handle, status);
    this.options.send(Buffer.from([AttOpcode.writeResponse]));
  }

  /** Returns 0 when the write took effect, else the ATT error code. */
  private applyWrite(handle: number, data: Buffer, withResponse: boolean): number {
    const attribute = this.options.database.get(handle);
    if (attribute === undefined) return AttError.invalidHandle;
    if (!attribute.writable) return AttError.writeNotPermitted;
    const entry = attribute.characteristic;
    if (attribute.kind === 'cccd' && entry !== undefined) {
      if (data.length !== 2) return AttError.invalidAttributeValueLength;
      const value = data.readUInt16LE(0);
      const supported = (entry.propertyBits & 0x10 ? CCCD_NOTIFY : 0) | (entry.propertyBits & 0x20 ? CCCD_INDICATE : 0);
      if ((value & ~supported) !== 0) return AttError.valueNotAllowed;
      this.cccd.set(handle, value);
      this.options.onSubscriptionChange?.(entry, value);
      return 0;
    }
    if (attribute.kind === 'value' && entry !== undefined) {
      const property = withResponse ? 'write' : 'writeWithoutResponse';
      if (!entry.definition.properties.includes(property)) return AttError.writeNotPermitted;
      return this.options.onValueWrite?.(entry, Buffer.from(data), { withResponse, subscription: this.subscription(entry) }) || 0;
    }
    return AttError.writeNotPermitted;
  }

  private prepareWrite(pdu: Buffer): void {
    const op = AttOpcode.prepareWriteRequest;
    if (pdu.length < 5) return this.error(op, 0, AttError.invalidPdu);
    const handle = pdu.readUInt16LE(1);
    const offset = pdu.readUInt16LE(3);
    const attribute = this.options.database.get(handle);
    if (attribute === undefined) return this.error(op, handle, AttError.invalidHandle);
    if (!attribute.writable) return this.error(op, handle, AttError.writeNotPermitted);
    if (this.prepareQueue.length >= MAX_PREPARE_QUEUE) return this.error(op, handle, AttError.prepareQueueFull);
    this.prepareQueue.push({ handle, offset, value: Buffer.from(pdu.subarray(5)) });
    const response = Buffer.from(pdu);
    response.writeUInt8(AttOpcode.prepareWriteResponse, 0);
    this.options.send(response);
  }

  private executeWrite(pdu: Buffer): void {
    const op = AttOpcode.executeWriteRequest;
    if (pdu.length !== 2 || (pdu[1] !== 0x00 && pdu[1] !== 0x01)) return this.error(op, 0, AttError.invalidPdu);
    const queue = this.prepareQueue;
    this.prepareQueue = [];
    if (pdu[1] === 0x01) {
      const assembled = new Map<number, Buffer>();
      for (const part of queue) {
        const sofar = assembled.get(part.handle) ?? Buffer.alloc(0);
        if (part.offset > sofar.length) return this.error(op, part.handle, AttError.invalidOffset);
        const tail = sofar.subarray(part.offset + part.value.length);
        assembled.set(part.handle, Buffer.concat([sofar.subarray(0, part.offset), part.value, tail]));
      }
      for (const [handle, value] of assembled) {
        const status = this.applyWrite(handle, value, true);
        if (status !== 0) return this.error(op, handle, status);
      }
    }
    this.options.send(Buffer.from([AttOpcode.executeWriteResponse]));
  }

  private confirmIndication(): void {
    if (!this.indicationInFlight) {
      this.options.onProtocolError?.('Handle Value Confirmation without an indication');
      return;
    }
    const next = this.indicationQueue.shift();
    this.indicationInFlight = next !== undefined;
    if (next !== undefined) this.options.send(next);
  }

  private readValue(attribute: Attribute): Buffer {
    if (attribute.value !== undefined) return attribute.value;
    if (attribute.kind === 'cccd') {
      const value = Buffer.alloc(2);
      value.writeUInt16LE(this.cccd.get(attribute.handle) ?? 0, 0);
      return value;
    }
    const read = attribute.characteristic?.definition.read;
    return read === undefined ? Buffer.alloc(0) : Buffer.from(read());
  }

  private validRange(op: number, start: number, end: number): boolean {
    if (start === 0 || start > end) {
      this.error(op, start, AttError.invalidHandle);
      return false;
    }
    return true;
  }

  private valuePdu(op: number, entry: CharacteristicEntry, value: Uint8Array): Buffer {
    const header = Buffer.alloc(3);
    header.writeUInt8(op, 0);
    header.writeUInt16LE(entry.valueHandle, 1);
    // ATT truncates a value that does not fit the MTU (Vol 3 Part F 3.4.7.1).
    return Buffer.concat([header, Buffer.from(value).subarray(0, this.mtu - 3)]);
  }

  private sendValuePdu(op: number, entry: CharacteristicEntry, value: Uint8Array): boolean {
    return this.options.send(this.valuePdu(op, entry, value));
  }

  private error(requestOpcode: number, handle: number, code: number): void {
    const pdu = Buffer.alloc(5);
    pdu.writeUInt8(AttOpcode.errorResponse, 0);
    pdu.writeUInt8(requestOpcode, 1);
    pdu.writeUInt16LE(handle, 2);
    pdu.writeUInt8(code, 4);
    this.options.send(pdu);
  }
}
