/**
 * Encoders for the messages a stick driver sends. Each returns a complete frame, checksum included.
 * Arguments come from our own driver and configuration, so an out-of-range one is a bug: it throws
 * `AntCodecError` rather than sending a frame the stick would misread.
 */
import { AntCodecError, AntMessageId, encodeFrame } from './frame.ts';

/** Channel types of Assign Channel (0x42). */
export const AntChannelType = {
  bidirectionalSlave: 0x00,
  bidirectionalMaster: 0x10,
  sharedBidirectionalSlave: 0x20,
  sharedBidirectionalMaster: 0x30,
  receiveOnlySlave: 0x40,
} as const;

/** Lib Config (0x6E) flags: which blocks the stick appends to received data. */
export const AntLibConfig = {
  channelId: 0x80,
  rssi: 0x40,
  rxTimestamp: 0x20,
} as const;

/** The ANT+ channel parameters shared by every profile: RF channel 57 = 2457 MHz. */
export const ANT_PLUS_RF_CHANNEL = 57;
export const ANT_NETWORK_KEY_LENGTH = 8;
/** Search timeout unit is 2.5 s; 0xFF never times out. */
export const ANT_SEARCH_TIMEOUT_INFINITE = 0xff;

function byte(name: string, value: number, max = 0xff): number {
  if (!Number.isInteger(value) || value < 0 || value > max) throw new AntCodecError('invalid_argument', `${name} ${value} is outside 0..${max}`);
  return value;
}

export function resetSystem(): Uint8Array {
  return encodeFrame(AntMessageId.resetSystem, [0x00]);
}

/** Asks the stick to send message `messageId` (e.g. capabilities, channel status, channel id). */
export function requestMessage(channel: number, messageId: number): Uint8Array {
  return encodeFrame(AntMessageId.requestMessage, [byte('channel', channel), byte('message id', messageId)]);
}

export function requestCapabilities(): Uint8Array {
  return requestMessage(0, AntMessageId.capabilities);
}

export function setNetworkKey(network: number, key: Uint8Array): Uint8Array {
  if (key.length !== ANT_NETWORK_KEY_LENGTH) throw new AntCodecError('invalid_argument', `network key must be ${ANT_NETWORK_KEY_LENGTH} bytes, got ${key.length}`);
  return encodeFrame(AntMessageId.setNetworkKey, [byte('network', network), ...key]);
}

export function assignChannel(channel: number, channelType: number, network: number): Uint8Array {
  return encodeFrame(AntMessageId.assignChannel, [byte('channel', channel), byte('channel type', channelType), byte('network', network)]);
}

export function unassignChannel(channel: number): Uint8Array {
  return encodeFrame(AntMessageId.unassignChannel, [byte('channel', channel)]);
}

export interface ChannelIdSearch {
  /** 16-bit device number; 0 is the wildcard that pairs with the first device found. */
  deviceNumber: number;
  /** 7-bit device type; 0 is the wildcard. */
  deviceType: number;
  /** Transmission type; 0 is the wildcard. */
  transmissionType: number;
  pairing?: boolean;
}

export function setChannelId(channel: number, id: ChannelIdSearch): Uint8Array {
  const deviceNumber = byte('device number', id.deviceNumber, 0xffff);
  const deviceType = byte('device type', id.deviceType, 0x7f) | (id.pairing ? 0x80 : 0);
  return encodeFrame(AntMessageId.channelId, [byte('channel', channel), deviceNumber & 0xff, deviceNumber >> 8, deviceType, byte('transmission type', id.transmissionType)]);
}

/** Period in 1/32768 s: the profile's message rate is 32768 / period. */
export function setChannelPeriod(channel: number, period: number): Uint8Array {
  const value = byte('channel period', period, 0xffff);
  return encodeFrame(AntMessageId.channelPeriod, [byte('channel', channel), value & 0xff, value >> 8]);
}

export function setSearchTimeout(channel: number, timeout: number): Uint8Array {
  return encodeFrame(AntMessageId.searchTimeout, [byte('channel', channel), byte('search timeout', timeout)]);
}

/** RF channel n is 2400 + n MHz. */
export function setRfFrequency(channel: number, rfChannel: number): Uint8Array {
  return encodeFrame(AntMessageId.rfFrequency, [byte('channel', channel), byte('RF channel', rfChannel, 124)]);
}

export function openChannel(channel: number): Uint8Array {
  return encodeFrame(AntMessageId.openChannel, [byte('channel', channel)]);
}

export function closeChannel(channel: number): Uint8Array {
  return encodeFrame(AntMessageId.closeChannel, [byte('channel', channel)]);
}

/**
 * Continuous scanning on channel 0: the stick receives every device on the frequency. Needs channel 0
 * assigned as a receive slave first, and extended messages on so each message names its device.
 */
export function openRxScanMode(): Uint8Array {
  return encodeFrame(AntMessageId.openRxScanMode, [0x00]);
}

/** Legacy switch (0x66) that makes the stick append the channel id to received data. */
export function enableExtendedMessages(enable: boolean): Uint8Array {
  return encodeFrame(AntMessageId.enableExtendedMessages, [0x00, enable ? 0x01 : 0x00]);
}

/** Newer sticks: choose which extension blocks (channel id, RSSI, timestamp) received data carries. */
export function setLibConfig(flags: number): Uint8Array {
  return encodeFrame(AntMessageId.libConfig, [0x00, byte('lib config', flags)]);
}
