/**
 * Decoding of the messages a stick sends: received data (with its extension blocks) and channel
 * events / command responses. Bad input becomes `{ ok: false, reason }`, never an exception.
 */
import { AntMessageId, type AntFrame } from './frame.ts';

export interface AntChannelId {
  /** 20-bit device number: the 16-bit field extended by the transmission type's upper nibble. */
  deviceNumber: number;
  deviceType: number;
  transmissionType: number;
  pairing: boolean;
}

export interface AntRssi {
  dBm: number;
  thresholdDbm: number;
}

export interface AntDataMessage {
  kind: 'data';
  channel: number;
  acknowledged: boolean;
  /** The 8-byte ANT+ data page. */
  page: Uint8Array;
  channelId?: AntChannelId;
  rssi?: AntRssi;
  /** Receive time stamp in 1/32768 s, wraps at 65536 (2 s). */
  rxTimestamp?: number;
}

/** RF events carry message id 0x01 in place of the command they answer. */
export const AntChannelEventCode = {
  rxSearchTimeout: 0x01,
  rxFail: 0x02,
  tx: 0x03,
  transferRxFailed: 0x04,
  transferTxCompleted: 0x05,
  transferTxFailed: 0x06,
  channelClosed: 0x07,
  rxFailGoToSearch: 0x08,
  channelCollision: 0x09,
} as const;

export const AntResponseCode = {
  noError: 0x00,
  channelInWrongState: 0x15,
  channelNotOpened: 0x16,
  channelIdNotSet: 0x18,
  closeAllChannels: 0x19,
  transferInProgress: 0x1f,
  invalidMessage: 0x28,
  invalidNetworkNumber: 0x29,
  invalidListId: 0x30,
  invalidScanTxChannel: 0x31,
} as const;

const EVENT_NAMES = invert(AntChannelEventCode);
const RESPONSE_NAMES = invert(AntResponseCode);

export interface AntChannelEvent {
  kind: 'event';
  channel: number;
  code: number;
  /** e.g. 'rxFail'; `unknown_0x..` for a code this codec does not name. */
  name: string;
}

export interface AntCommandResponse {
  kind: 'response';
  channel: number;
  /** The message id of the command being answered. */
  messageId: number;
  code: number;
  name: string;
  ok: boolean;
}

export interface AntCapabilities {
  kind: 'capabilities';
  maxChannels: number;
  maxNetworks: number;
  standardOptions: number;
  advancedOptions: number;
}

export interface AntStartup {
  kind: 'startup';
  /** Bit field; 0 is a power-on reset, 0x20 a reset command. */
  reason: number;
}

/** A well-formed message this codec does not interpret (channel status, burst...). */
export interface AntOtherMessage {
  kind: 'other';
  id: number;
  payload: Uint8Array;
}

export type AntMessage = AntDataMessage | AntChannelEvent | AntCommandResponse | AntCapabilities | AntStartup | AntOtherMessage;

export type AntMessageResult = { ok: true; message: AntMessage } | { ok: false; reason: string };

const DATA_LENGTH = 9;
const EXTENSION_FLAG = { channelId: 0x80, rssi: 0x40, rxTimestamp: 0x20 } as const;
const RSSI_MEASUREMENT_DBM = 0x20;

export function decodeAntMessage(frame: AntFrame): AntMessageResult {
  const { id, payload } = frame;
  switch (id) {
    case AntMessageId.broadcastData:
    case AntMessageId.acknowledgedData:
      return decodeData(payload, id === AntMessageId.acknowledgedData);
    case AntMessageId.channelEvent:
      return decodeChannelEvent(payload);
    case AntMessageId.capabilities:
      if (payload.length < 4) return refuse(`capabilities need 4 bytes, got ${payload.length}`);
      return {
        ok: true,
        message: { kind: 'capabilities', maxChannels: at(payload, 0), maxNetworks: at(payload, 1), standardOptions: at(payload, 2), advancedOptions: at(payload, 3) },
      };
    case AntMessageId.startupMessage:
      if (payload.length !== 1) return refuse(`startup message needs 1 byte, got ${payload.length}`);
      return { ok: true, message: { kind: 'startup', reason: at(payload, 0) } };
    default:
      return { ok: true, message: { kind: 'other', id, payload } };
  }
}

function decodeChannelEvent(payload: Uint8Array): AntMessageResult {
  if (payload.length !== 3) return refuse(`channel event needs 3 bytes, got ${payload.length}`);
  const channel = at(payload, 0);
  const messageId = at(payload, 1);
  const code = at(payload, 2);
  if (messageId === 0x01) return { ok: true, message: { kind: 'event', channel, code, name: EVENT_NAMES.get(code) ?? unknownName(code) } };
  return {
    ok: true,
    message: { kind: 'response', channel, messageId, code, name: RESPONSE_NAMES.get(code) ?? unknownName(code), ok: code === AntResponseCode.noError },
  };
}

function decodeData(payload: Uint8Array, acknowledged: boolean): AntMessageResult {
  if (payload.length < DATA_LENGTH) return refuse(`data message needs ${DATA_LENGTH} bytes, got ${payload.length}`);
  const message: AntDataMessage = { kind: 'data', channel: at(payload, 0), acknowledged, page: payload.slice(1, DATA_LENGTH) };
  if (payload.length === DATA_LENGTH) return { ok: true, message };

  const flags = at(payload, DATA_LENGTH);
  let offset = DATA_LENGTH + 1;
  if (flags & EXTENSION_FLAG.channelId) {
    // Without its channel id a scan-mode message cannot be attributed to a sensor: refuse rather than guess.
    if (payload.length < offset + 4) return refuse(`extended data flags 0x${hex(flags)} announce a channel id, but only ${payload.length - offset} bytes follow`);
    const transmissionType = at(payload, offset + 3);
    const typeByte = at(payload, offset + 2);
    message.channelId = {
      deviceNumber: at(payload, offset) | (at(payload, offset + 1) << 8) | ((transmissionType & 0xf0) << 12),
      deviceType: typeByte & 0x7f,
      pairing: (typeByte & 0x80) !== 0,
      transmissionType,
    };
    offset += 4;
  }
  // Sticks differ in what follows the channel id (some send an RSSI block of another measurement type):
  // read RSSI and time stamp only when the block is the documented one, otherwise leave the rest opaque.
  if (flags & EXTENSION_FLAG.rssi) {
    if (payload.length < offset + 3 || at(payload, offset) !== RSSI_MEASUREMENT_DBM) return { ok: true, message };
    message.rssi = { dBm: signed(at(payload, offset + 1)), thresholdDbm: signed(at(payload, offset + 2)) };
    offset += 3;
  }
  if (flags & EXTENSION_FLAG.rxTimestamp && payload.length >= offset + 2) {
    message.rxTimestamp = at(payload, offset) | (at(payload, offset + 1) << 8);
  }
  return { ok: true, message };
}

/**
 * The id a sensor goes by in readings: `ant:<device type>:<20-bit device number>:<transmission type>`.
 * The three fields together are what ANT itself uses to tell devices apart.
 */
export function antSensorId(id: Pick<AntChannelId, 'deviceType' | 'deviceNumber' | 'transmissionType'>): string {
  return `ant:${id.deviceType}:${id.deviceNumber}:${id.transmissionType}`;
}

function at(bytes: Uint8Array, index: number): number {
  // Callers check lengths first; 0 keeps the type a number without hiding a real out-of-range read.
  return bytes[index] ?? 0;
}

function signed(byte: number): number {
  return byte > 0x7f ? byte - 0x100 : byte;
}

function hex(value: number): string {
  return value.toString(16).padStart(2, '0');
}

function unknownName(code: number): string {
  return `unknown_0x${hex(code)}`;
}

function refuse(reason: string): { ok: false; reason: string } {
  return { ok: false, reason };
}

function invert(table: Record<string, number>): Map<number, string> {
  return new Map(Object.entries(table).map(([name, code]) => [code, name]));
}
