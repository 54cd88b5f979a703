import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ANT_PLUS_RF_CHANNEL,
  AntChannelType,
  AntLibConfig,
  assignChannel,
  closeChannel,
  enableExtendedMessages,
  openChannel,
  openRxScanMode,
  requestCapabilities,
  resetSystem,
  setChannelId,
  setChannelPeriod,
  setLibConfig,
  setNetworkKey,
  setRfFrequency,
  setSearchTimeout,
  unassignChannel,
} from '../../../src/sources/ant/codec/commands.ts';
import { antChecksum, AntCodecError, AntFrameReader, encodeFrame, type AntFrame } from '../../../src/sources/ant/codec/frame.ts';
import { antSensorId, decodeAntMessage, type AntMessage } from '../../../src/sources/ant/codec/messages.ts';
import { bytes } from './fixtures.ts';

const ANT_5 = 'A4 14 4E 00 50 FF FF FF 82 00 23 00 E0 F4 ED 0B 05 10 00 68 00 AD 1C CE';
const ANT_6 = 'A4 14 4E 00 10 19 FD 25 9D 27 00 35 E0 67 12 11 05 10 00 68 00 48 86';
const PWR_5 = 'A4 09 4E 00 10 EC FF 00 BE 4E 00 00 10';
const FE_2 = 'A4 09 4E 00 10 19 18 19 1A 41 00 30 80';

function decodeFrame(hex: string): AntMessage {
  const frames = new AntFrameReader().push(bytes(hex));
  assert.equal(frames.length, 1);
  const result = decodeAntMessage(frames[0] as AntFrame);
  if (!result.ok) return assert.fail(result.reason);
  return result.message;
}

test('encoders produce the sourced channel-open sequence byte for byte (ANT-3)', () => {
  assert.deepEqual(assignChannel(0, AntChannelType.bidirectionalSlave, 0), bytes('A4 03 42 00 00 00 E5'));
  assert.deepEqual(setChannelId(0, { deviceNumber: 4711, deviceType: 0x11, transmissionType: 0 }), bytes('A4 05 51 00 67 12 11 00 94'));
  assert.deepEqual(setSearchTimeout(0, 0xff), bytes('A4 02 44 00 FF 1D'));
  assert.deepEqual(setRfFrequency(0, ANT_PLUS_RF_CHANNEL), bytes('A4 02 45 00 39 DA'));
  assert.deepEqual(setChannelPeriod(0, 8192), bytes('A4 03 43 00 00 20 C4'));
  assert.deepEqual(setLibConfig(AntLibConfig.channelId | AntLibConfig.rssi | AntLibConfig.rxTimestamp), bytes('A4 02 6E 00 E0 28'));
  assert.deepEqual(openChannel(0), bytes('A4 01 4B 00 EE'));
  assert.deepEqual(closeChannel(0), bytes('A4 01 4C 00 E9'));
  assert.deepEqual(unassignChannel(0), bytes('A4 01 41 00 E4'));
});

test('encoders match the captured power channel period (ANTIFIER) and set the pairing bit', () => {
  assert.deepEqual(setChannelPeriod(0, 8182), bytes('A4 03 43 00 F6 1F 0D'));
  const pairing = setChannelId(1, { deviceNumber: 0, deviceType: 120, transmissionType: 0, pairing: true });
  assert.equal(pairing[6], 120 | 0x80);
});

test('every encoder yields a frame whose bytes XOR to zero and that the reader accepts', () => {
  const frames = [
    resetSystem(),
    requestCapabilities(),
    setNetworkKey(0, new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8])),
    openRxScanMode(),
    enableExtendedMessages(true),
    enableExtendedMessages(false),
  ];
  assert.deepEqual(resetSystem(), bytes('A4 01 4A 00 EF'));
  assert.deepEqual(requestCapabilities(), bytes('A4 02 4D 00 54 BF'));
  assert.deepEqual(openRxScanMode(), bytes('A4 01 5B 00 FE'));
  assert.deepEqual(enableExtendedMessages(true), bytes('A4 02 66 00 01 C1'));
  const reader = new AntFrameReader();
  for (const frame of frames) {
    assert.equal(antChecksum(frame), 0);
    assert.equal(reader.push(frame).length, 1);
  }
  assert.equal(reader.stats().badChecksums, 0);
});

test('checksum is a plain XOR even when the running value passes through 0xFF', () => {
  // Running XOR: A4 ^ 02 = A6, ^ 4D = EB, ^ 00 = EB, ^ 14 = FF — a modulo-0xFF checksum would zero it here.
  const frame = encodeFrame(0x4d, [0x00, 0x14]);
  assert.equal(frame[frame.length - 1], 0xa4 ^ 0x02 ^ 0x4d ^ 0x00 ^ 0x14);
  assert.equal(antChecksum(frame), 0);
});

test('encoders throw a typed error for arguments out of range', () => {
  assert.throws(
    () => setNetworkKey(0, new Uint8Array(7)),
    (e: unknown) => e instanceof AntCodecError && e.code === 'invalid_argument',
  );
  assert.throws(() => setChannelPeriod(0, 0x10000), AntCodecError);
  assert.throws(() => setChannelId(0, { deviceNumber: 1, deviceType: 0x80, transmissionType: 0 }), AntCodecError);
  assert.throws(() => setRfFrequency(0, 125), AntCodecError);
  assert.throws(() => openChannel(-1), AntCodecError);
  assert.throws(() => encodeFrame(0x4e, [256]), AntCodecError);
});

test('reader frames a byte stream delivered one byte at a time, with USB zero padding', () => {
  const reader = new AntFrameReader();
  const stream = bytes(`${PWR_5} 00 00 ${FE_2} 00 00 00`);
  const frames: AntFrame[] = [];
  for (const b of stream) frames.push(...reader.push(Uint8Array.of(b)));
  assert.equal(frames.length, 2);
  assert.deepEqual(
    frames.map((f) => f.id),
    [0x4e, 0x4e],
  );
  assert.deepEqual(frames[0]?.payload, bytes('00 10 EC FF 00 BE 4E 00 00'));
  assert.deepEqual(reader.stats(), { frames: 2, badChecksums: 0, garbageBytes: 0, paddingBytes: 5 });
  assert.equal(reader.buffered, 0);
});

test('reader frames by length: a 0xA4 inside a payload is data', () => {
  const frame = encodeFrame(0x4e, [0x00, 0xa4, 0xa4, 0x03, 0x40, 0x00, 0x46, 0x00, 0xa1]);
  const frames = new AntFrameReader().push(frame);
  assert.equal(frames.length, 1);
  assert.deepEqual(frames[0]?.payload, frame.subarray(3, -1));
});

test('reader skips garbage, drops a bad checksum with a count and resyncs to the next frame', () => {
  const reader = new AntFrameReader();
  const corrupted = bytes(PWR_5);
  corrupted[8] = 0x00; // flip accumulated power: checksum no longer matches
  const frames = reader.push(bytes(`13 37 FF ${Buffer.from(corrupted).toString('hex')} ${FE_2}`));
  assert.equal(frames.length, 1);
  assert.deepEqual(frames[0]?.payload, bytes('00 10 19 18 19 1A 41 00 30'));
  const stats = reader.stats();
  assert.equal(stats.badChecksums, 1);
  assert.equal(stats.frames, 1);
  // 3 leading garbage bytes plus the rest of the refused frame after its sync byte (12 bytes, 3 of them zero).
  assert.equal(stats.garbageBytes + stats.paddingBytes, 3 + 12);
});

test('reader refuses the truncated ANT-6 frame and recovers the frame that follows it', () => {
  const reader = new AntFrameReader();
  assert.deepEqual(reader.push(bytes(ANT_6)), [], 'ANT-6 is one byte short of its length: wait');
  const frames = reader.push(bytes(FE_2));
  assert.equal(frames.length, 1);
  assert.deepEqual(frames[0]?.payload, bytes('00 10 19 18 19 1A 41 00 30'));
  assert.equal(reader.stats().badChecksums, 1);
});

test('reader treats a sync byte with an impossible length as garbage, and never throws on random bytes', () => {
  const reader = new AntFrameReader();
  assert.deepEqual(reader.push(bytes(`A4 FF 4E ${FE_2}`)).length, 1);
  assert.equal(reader.stats().garbageBytes, 3);

  let seed = 7;
  const random = new Uint8Array(20_000).map(() => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % 7 === 0 ? 0xa4 : seed & 0xff;
  });
  const fuzz = new AntFrameReader();
  for (let i = 0; i < random.length; i += 37) fuzz.push(random.subarray(i, i + 37));
  assert.ok(fuzz.buffered <= 45, 'a partial frame never grows past the largest frame');
  const valid = fuzz.push(bytes(`${'00'.repeat(50)} ${FE_2}`));
  assert.equal(valid.at(-1)?.id, 0x4e, 'the reader still finds a real frame after noise');
});

test('reader reset forgets a partial frame', () => {
  const reader = new AntFrameReader();
  reader.push(bytes('A4 09 4E 00 10'));
  assert.equal(reader.buffered, 5);
  reader.reset();
  assert.equal(reader.push(bytes(FE_2)).length, 1);
});

test('decodes a command response (ANT-1) and an RF event (ANT-2)', () => {
  assert.deepEqual(decodeFrame('A4 03 40 00 46 00 A1'), { kind: 'response', channel: 0, messageId: 0x46, code: 0, name: 'noError', ok: true });
  assert.deepEqual(decodeFrame('A4 03 40 00 01 02 E4'), { kind: 'event', channel: 0, code: 2, name: 'rxFail' });
});

test('decodes the ANT-4 replies: transfer in progress is a failed response, TX completed an event', () => {
  // The source strings omit the checksum; append it.
  const inProgress = decodeAntMessage({ id: 0x40, payload: bytes('00 4F 1F') });
  assert.deepEqual(inProgress, { ok: true, message: { kind: 'response', channel: 0, messageId: 0x4f, code: 0x1f, name: 'transferInProgress', ok: false } });
  const completed = decodeAntMessage({ id: 0x40, payload: bytes('00 01 05') });
  assert.deepEqual(completed, { ok: true, message: { kind: 'event', channel: 0, code: 5, name: 'transferTxCompleted' } });
  const closed = decodeAntMessage({ id: 0x40, payload: bytes('03 01 07') });
  assert.ok(closed.ok && closed.message.kind === 'event' && closed.message.name === 'channelClosed' && closed.message.channel === 3);
  const searchTimeout = decodeAntMessage({ id: 0x40, payload: bytes('00 01 01') });
  assert.ok(searchTimeout.ok && searchTimeout.message.kind === 'event' && searchTimeout.message.name === 'rxSearchTimeout');
  const unknown = decodeAntMessage({ id: 0x40, payload: bytes('00 01 77') });
  assert.ok(unknown.ok && unknown.message.kind === 'event' && unknown.message.name === 'unknown_0x77');
});

test('decodes plain broadcast data (PWR-5) without extensions', () => {
  const message = decodeFrame(PWR_5);
  assert.ok(message.kind === 'data');
  assert.equal(message.channel, 0);
  assert.equal(message.acknowledged, false);
  assert.deepEqual(message.page, bytes('10 EC FF 00 BE 4E 00 00'));
  assert.equal(message.channelId, undefined);
});

test('decodes extended data (ANT-5): channel id, opaque non-dBm RSSI block', () => {
  const message = decodeFrame(ANT_5);
  assert.ok(message.kind === 'data');
  assert.deepEqual(message.page, bytes('50 FF FF FF 82 00 23 00'));
  assert.deepEqual(message.channelId, { deviceNumber: 60916, deviceType: 11, transmissionType: 5, pairing: false });
  assert.equal(message.rssi, undefined, 'measurement type 0x10 is not dBm');
  assert.equal(antSensorId(message.channelId), 'ant:11:60916:5');
});

test('decodes RSSI and timestamp blocks, the 20-bit device number and acknowledged data', () => {
  // flags 0xE0; device 0x1234 with transmission type 0x35 -> 0x31234; RSSI -60 dBm threshold -90; time 0x1234.
  const result = decodeAntMessage({ id: 0x4f, payload: bytes('02 10 00 00 00 00 00 00 00 E0 34 12 F8 35 20 C4 A6 34 12') });
  assert.ok(result.ok && result.message.kind === 'data');
  const message = result.message;
  assert.equal(message.acknowledged, true);
  assert.equal(message.channel, 2);
  assert.deepEqual(message.channelId, { deviceNumber: 0x31234, deviceType: 0x78, transmissionType: 0x35, pairing: true });
  assert.deepEqual(message.rssi, { dBm: -60, thresholdDbm: -90 });
  assert.equal(message.rxTimestamp, 0x1234);
  assert.equal(antSensorId(message.channelId ?? assert.fail()), 'ant:120:201268:53');
  assert.doesNotMatch(antSensorId({ deviceType: 120, deviceNumber: 0xfffff, transmissionType: 255 }), /\//);
});

test('refuses truncated data, truncated channel ids and malformed events with a reason', () => {
  const cases: [AntFrame, RegExp][] = [
    [{ id: 0x4e, payload: bytes('00 10 00') }, /needs 9 bytes, got 3/],
    [{ id: 0x4e, payload: new Uint8Array(0) }, /needs 9 bytes, got 0/],
    [{ id: 0x4e, payload: bytes('00 10 00 00 00 00 00 00 00 80 34 12') }, /announce a channel id, but only 2 bytes/],
    [{ id: 0x40, payload: bytes('00 01') }, /channel event needs 3 bytes, got 2/],
    [{ id: 0x40, payload: bytes('00 01 02 03') }, /got 4/],
    [{ id: 0x54, payload: bytes('08') }, /capabilities need 4 bytes/],
    [{ id: 0x6f, payload: new Uint8Array(0) }, /startup message needs 1 byte/],
  ];
  for (const [frame, reason] of cases) {
    const result = decodeAntMessage(frame);
    assert.equal(result.ok, false, `should refuse ${Buffer.from(frame.payload).toString('hex')}`);
    if (!result.ok) assert.match(result.reason, reason);
  }
});

test('decodes capabilities and startup, and passes unknown messages through', () => {
  assert.deepEqual(decodeAntMessage({ id: 0x54, payload: bytes('08 03 00 BA 36 00') }), {
    ok: true,
    message: { kind: 'capabilities', maxChannels: 8, maxNetworks: 3, standardOptions: 0, advancedOptions: 0xba },
  });
  assert.deepEqual(decodeAntMessage({ id: 0x6f, payload: bytes('20') }), { ok: true, message: { kind: 'startup', reason: 0x20 } });
  const other = decodeAntMessage({ id: 0x52, payload: bytes('00 03') });
  assert.ok(other.ok && other.message.kind === 'other' && other.message.id === 0x52);
});
