/**
 * HCI wire format (Core Spec v5.3, Vol 4 Part E) as far as the fake controller needs it: packet types,
 * the opcodes and events noble's Linux stack uses, status codes, and builders for the packets a controller
 * sends to the host. Everything here is bytes in, bytes out; state lives in controller.ts.
 */

export const PacketType = {
  command: 0x01,
  acl: 0x02,
  event: 0x04,
} as const;

export const EventCode = {
  disconnectionComplete: 0x05,
  encryptionChange: 0x08,
  commandComplete: 0x0e,
  commandStatus: 0x0f,
  numberOfCompletedPackets: 0x13,
  leMeta: 0x3e,
} as const;

export const LeSubevent = {
  connectionComplete: 0x01,
  advertisingReport: 0x02,
  connectionUpdateComplete: 0x03,
  enhancedConnectionComplete: 0x0a,
  extendedAdvertisingReport: 0x0d,
} as const;

/** Bits of the LE event mask (LE Set Event Mask) that gate the LE meta events above. */
export const LeEventMaskBit = {
  connectionComplete: 1n << 0n,
  advertisingReport: 1n << 1n,
  connectionUpdateComplete: 1n << 2n,
  enhancedConnectionComplete: 1n << 9n,
  extendedAdvertisingReport: 1n << 12n,
} as const;

/** The LE event mask a controller starts with after power-on or HCI Reset. */
export const DEFAULT_LE_EVENT_MASK = 0x1fn;

export function opcode(ogf: number, ocf: number): number {
  return (ogf << 10) | ocf;
}

export const Opcode = {
  disconnect: opcode(0x01, 0x0006),
  setEventMask: opcode(0x03, 0x0001),
  reset: opcode(0x03, 0x0003),
  readLeHostSupported: opcode(0x03, 0x006c),
  writeLeHostSupported: opcode(0x03, 0x006d),
  readLocalVersion: opcode(0x04, 0x0001),
  readLocalSupportedCommands: opcode(0x04, 0x0002),
  readLocalSupportedFeatures: opcode(0x04, 0x0003),
  readBufferSize: opcode(0x04, 0x0005),
  readBdAddr: opcode(0x04, 0x0009),
  readRssi: opcode(0x05, 0x0005),
  leSetEventMask: opcode(0x08, 0x0001),
  leReadBufferSize: opcode(0x08, 0x0002),
  leReadLocalSupportedFeatures: opcode(0x08, 0x0003),
  leSetRandomAddress: opcode(0x08, 0x0005),
  leSetScanParameters: opcode(0x08, 0x000b),
  leSetScanEnable: opcode(0x08, 0x000c),
  leCreateConnection: opcode(0x08, 0x000d),
  leCreateConnectionCancel: opcode(0x08, 0x000e),
  leConnectionUpdate: opcode(0x08, 0x0013),
  leStartEncryption: opcode(0x08, 0x0019),
  leSetDefaultPhy: opcode(0x08, 0x0031),
  leSetExtendedScanParameters: opcode(0x08, 0x0041),
  leSetExtendedScanEnable: opcode(0x08, 0x0042),
  leExtendedCreateConnection: opcode(0x08, 0x0043),
} as const;

const OPCODE_NAMES = new Map<number, string>(Object.entries(Opcode).map(([name, code]) => [code, name]));

export function opcodeName(code: number): string {
  return OPCODE_NAMES.get(code) ?? `0x${code.toString(16).padStart(4, '0')}`;
}

/** HCI error codes (Core Spec Vol 1 Part F) the fake controller answers with. */
export const HciStatus = {
  success: 0x00,
  unknownCommand: 0x01,
  unknownConnectionId: 0x02,
  connectionTimeout: 0x08,
  connectionLimitExceeded: 0x09,
  commandDisallowed: 0x0c,
  invalidParameters: 0x12,
  remoteUserTerminated: 0x13,
  localHostTerminated: 0x16,
  unsupportedRemoteFeature: 0x1a,
} as const;

/** Disconnect reasons a host may pass to HCI Disconnect (Vol 4 Part E 7.1.6). */
export const ALLOWED_DISCONNECT_REASONS: ReadonlySet<number> = new Set([0x05, 0x13, 0x14, 0x15, 0x1a, 0x29, 0x3b]);

/** Legacy advertising PDU types as they appear in LE Advertising Report events. */
export const AdvertisingEventType = {
  ADV_IND: 0x00,
  ADV_DIRECT_IND: 0x01,
  ADV_SCAN_IND: 0x02,
  ADV_NONCONN_IND: 0x03,
  SCAN_RSP: 0x04,
} as const;

export type AdvertisingPduType = 'ADV_IND' | 'ADV_SCAN_IND' | 'ADV_NONCONN_IND';

/** Event_Type bits of an LE Extended Advertising Report for the legacy PDUs (Vol 4 Part E 7.7.65.13). */
export function extendedEventType(legacyType: number): number {
  const LEGACY = 0x10;
  switch (legacyType) {
    case AdvertisingEventType.ADV_IND:
      return LEGACY | 0x03;
    case AdvertisingEventType.ADV_SCAN_IND:
      return LEGACY | 0x02;
    case AdvertisingEventType.ADV_NONCONN_IND:
      return LEGACY;
    case AdvertisingEventType.SCAN_RSP:
      // A scan response to ADV_IND: connectable, scannable, scan response, legacy.
      return LEGACY | 0x08 | 0x03;
    default:
      return LEGACY;
  }
}

export type AddressType = 'public' | 'random';

export function addressTypeCode(type: AddressType): number {
  return type === 'random' ? 0x01 : 0x00;
}

const ADDRESS_PATTERN = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

export function normalizeAddress(address: string): string {
  const lower = address.toLowerCase();
  if (!ADDRESS_PATTERN.test(lower)) throw new RangeError(`not a Bluetooth device address: ${address}`);
  return lower;
}

/** 'aa:bb:cc:dd:ee:ff' to the 6 little-endian bytes HCI carries. */
export function addressToBytes(address: string): Buffer {
  return Buffer.from(normalizeAddress(address).split(':').reverse().join(''), 'hex');
}

export function addressFromBytes(bytes: Uint8Array): string {
  return Buffer.from(bytes).reverse().toString('hex').match(/../g)?.join(':') ?? '';
}

export function eventPacket(code: number, parameters: Uint8Array): Buffer {
  if (parameters.length > 255) throw new RangeError(`HCI event 0x${code.toString(16)} parameters too long: ${parameters.length}`);
  return Buffer.concat([Buffer.from([PacketType.event, code, parameters.length]), parameters]);
}

export function commandComplete(op: number, status: number, returnParameters: Uint8Array = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(4);
  header.writeUInt8(1, 0); // Num_HCI_Command_Packets: the host may send one more command
  header.writeUInt16LE(op, 1);
  header.writeUInt8(status, 3);
  return eventPacket(EventCode.commandComplete, Buffer.concat([header, returnParameters]));
}

export function commandStatus(op: number, status: number): Buffer {
  const parameters = Buffer.alloc(4);
  parameters.writeUInt8(status, 0);
  parameters.writeUInt8(1, 1);
  parameters.writeUInt16LE(op, 2);
  return eventPacket(EventCode.commandStatus, parameters);
}

export function disconnectionComplete(handle: number, reason: number): Buffer {
  const parameters = Buffer.alloc(4);
  parameters.writeUInt8(HciStatus.success, 0);
  parameters.writeUInt16LE(handle, 1);
  parameters.writeUInt8(reason, 3);
  return eventPacket(EventCode.disconnectionComplete, parameters);
}

/**
 * One handle per event on purpose: the spec lays the parameters out as two arrays (all handles, then all
 * counts) while noble's hci.js reads them interleaved, so only a single-handle event means the same to both.
 */
export function numberOfCompletedPackets(handle: number, count: number): Buffer {
  const parameters = Buffer.alloc(5);
  parameters.writeUInt8(1, 0);
  parameters.writeUInt16LE(handle, 1);
  parameters.writeUInt16LE(count, 3);
  return eventPacket(EventCode.numberOfCompletedPackets, parameters);
}

export function leMetaEvent(subevent: number, body: Uint8Array): Buffer {
  return eventPacket(EventCode.leMeta, Buffer.concat([Buffer.from([subevent]), body]));
}

export interface ConnectionParameters {
  intervalUnits: number;
  latency: number;
  supervisionTimeoutUnits: number;
}

export interface ConnectionCompleteFields extends ConnectionParameters {
  status: number;
  handle: number;
  peerAddress: string;
  peerAddressType: AddressType;
}

export function leConnectionComplete(fields: ConnectionCompleteFields): Buffer {
  const body = Buffer.alloc(18);
  body.writeUInt8(fields.status, 0);
  body.writeUInt16LE(fields.handle, 1);
  body.writeUInt8(0x00, 3); // role: central
  body.writeUInt8(addressTypeCode(fields.peerAddressType), 4);
  addressToBytes(fields.peerAddress).copy(body, 5);
  body.writeUInt16LE(fields.intervalUnits, 11);
  body.writeUInt16LE(fields.latency, 13);
  body.writeUInt16LE(fields.supervisionTimeoutUnits, 15);
  body.writeUInt8(0x00, 17); // central clock accuracy: 500 ppm
  return leMetaEvent(LeSubevent.connectionComplete, body);
}

export function leEnhancedConnectionComplete(fields: ConnectionCompleteFields): Buffer {
  const body = Buffer.alloc(30);
  body.writeUInt8(fields.status, 0);
  body.writeUInt16LE(fields.handle, 1);
  body.writeUInt8(0x00, 3);
  body.writeUInt8(addressTypeCode(fields.peerAddressType), 4);
  addressToBytes(fields.peerAddress).copy(body, 5);
  // Local and peer resolvable private addresses stay zero: no privacy in use.
  body.writeUInt16LE(fields.intervalUnits, 23);
  body.writeUInt16LE(fields.latency, 25);
  body.writeUInt16LE(fields.supervisionTimeoutUnits, 27);
  body.writeUInt8(0x00, 29);
  return leMetaEvent(LeSubevent.enhancedConnectionComplete, body);
}

export function leConnectionUpdateComplete(handle: number, parameters: ConnectionParameters): Buffer {
  const body = Buffer.alloc(9);
  body.writeUInt8(HciStatus.success, 0);
  body.writeUInt16LE(handle, 1);
  body.writeUInt16LE(parameters.intervalUnits, 3);
  body.writeUInt16LE(parameters.latency, 5);
  body.writeUInt16LE(parameters.supervisionTimeoutUnits, 7);
  return leMetaEvent(LeSubevent.connectionUpdateComplete, body);
}

export interface AdvertisingReportFields {
  eventType: number;
  address: string;
  addressType: AddressType;
  data: Uint8Array;
  rssi: number;
}

/** One report per event, as most controllers send them (noble parses multi-report events non-conformantly). */
export function leAdvertisingReport(report: AdvertisingReportFields): Buffer {
  const body = Buffer.alloc(11 + report.data.length);
  body.writeUInt8(1, 0);
  body.writeUInt8(report.eventType, 1);
  body.writeUInt8(addressTypeCode(report.addressType), 2);
  addressToBytes(report.address).copy(body, 3);
  body.writeUInt8(report.data.length, 9);
  Buffer.from(report.data).copy(body, 10);
  body.writeInt8(clampRssi(report.rssi), 10 + report.data.length);
  return leMetaEvent(LeSubevent.advertisingReport, body);
}

export function leExtendedAdvertisingReport(report: AdvertisingReportFields): Buffer {
  const body = Buffer.alloc(25 + report.data.length);
  body.writeUInt8(1, 0);
  body.writeUInt16LE(extendedEventType(report.eventType), 1);
  body.writeUInt8(addressTypeCode(report.addressType), 3);
  addressToBytes(report.address).copy(body, 4);
  body.writeUInt8(0x01, 10); // primary PHY: LE 1M
  body.writeUInt8(0x00, 11); // no secondary PHY (legacy PDU)
  body.writeUInt8(0xff, 12); // no advertising set id
  body.writeInt8(0x7f, 13); // TX power not available
  body.writeInt8(clampRssi(report.rssi), 14);
  body.writeUInt16LE(0, 15); // no periodic advertising
  body.writeUInt8(0, 17);
  // direct address (6 bytes at 18) stays zero
  body.writeUInt8(report.data.length, 24);
  Buffer.from(report.data).copy(body, 25);
  return leMetaEvent(LeSubevent.extendedAdvertisingReport, body);
}

function clampRssi(rssi: number): number {
  return Math.max(-127, Math.min(20, Math.round(rssi)));
}

/** ACL packet boundary flags (bits 12-13 of the handle field). */
export const AclBoundary = {
  firstNonFlushable: 0b00,
  continuation: 0b01,
  firstFlushable: 0b10,
} as const;

export function aclPacket(handle: number, boundary: number, data: Uint8Array): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt8(PacketType.acl, 0);
  header.writeUInt16LE((handle & 0x0fff) | (boundary << 12), 1);
  header.writeUInt16LE(data.length, 3);
  return Buffer.concat([header, data]);
}
