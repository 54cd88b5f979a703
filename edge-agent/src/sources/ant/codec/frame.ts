/**
 * ANT serial framing, as spoken by USB sticks and UART modules:
 *
 *   A4 | LEN | MSG_ID | payload[LEN] | CHK      CHK = XOR of every preceding byte, sync included
 *
 * There is no escaping: 0xA4 may appear inside a payload, so frames are cut by LEN, never by scanning for
 * the sync byte. USB transfers pad with zeros after the checksum.
 */
import { PulsebridgeError } from '@pulsebridge/runtime';

export const ANT_SYNC = 0xa4;

/** Message ids used by the codec; names follow the ANT message protocol document. */
export const AntMessageId = {
  channelEvent: 0x40,
  unassignChannel: 0x41,
  assignChannel: 0x42,
  channelPeriod: 0x43,
  searchTimeout: 0x44,
  rfFrequency: 0x45,
  setNetworkKey: 0x46,
  resetSystem: 0x4a,
  openChannel: 0x4b,
  closeChannel: 0x4c,
  requestMessage: 0x4d,
  broadcastData: 0x4e,
  acknowledgedData: 0x4f,
  burstData: 0x50,
  channelId: 0x51,
  channelStatus: 0x52,
  capabilities: 0x54,
  openRxScanMode: 0x5b,
  enableExtendedMessages: 0x66,
  libConfig: 0x6e,
  startupMessage: 0x6f,
} as const;

/**
 * The longest payload a stick sends (advanced burst aside, which this codec does not enable). A length
 * byte above it cannot start a real frame, so the reader treats that 0xA4 as noise instead of waiting for
 * up to 255 bytes that will never form a valid frame.
 */
export const ANT_MAX_PAYLOAD = 41;

export type AntCodecErrorCode = 'invalid_argument';

/** Raised by encoders for arguments our own code got wrong; decoding never throws. */
export class AntCodecError extends PulsebridgeError<AntCodecErrorCode> {}

export interface AntFrame {
  id: number;
  payload: Uint8Array;
}

/** Plain XOR: running it through a modulo (as one popular npm package does) corrupts some checksums. */
export function antChecksum(bytes: Uint8Array, end = bytes.length): number {
  let sum = 0;
  for (let i = 0; i < end; i++) sum ^= bytes[i] ?? 0;
  return sum;
}

export function encodeFrame(id: number, payload: ArrayLike<number>): Uint8Array {
  if (!Number.isInteger(id) || id < 0 || id > 0xff) throw new AntCodecError('invalid_argument', `message id ${id} is not a byte`);
  if (payload.length > ANT_MAX_PAYLOAD) throw new AntCodecError('invalid_argument', `payload of ${payload.length} bytes exceeds ${ANT_MAX_PAYLOAD}`);
  const frame = new Uint8Array(payload.length + 4);
  frame[0] = ANT_SYNC;
  frame[1] = payload.length;
  frame[2] = id;
  for (let i = 0; i < payload.length; i++) {
    const byte = payload[i] ?? -1;
    if (!Number.isInteger(byte) || byte < 0 || byte > 0xff) throw new AntCodecError('invalid_argument', `payload byte ${i} (${byte}) is not a byte`);
    frame[3 + i] = byte;
  }
  frame[frame.length - 1] = antChecksum(frame, frame.length - 1);
  return frame;
}

export interface AntFrameReaderStats {
  frames: number;
  /** Frames whose length fit but whose checksum did not: the reader resynchronised after each. */
  badChecksums: number;
  /** Non-zero bytes skipped while looking for a frame start. */
  garbageBytes: number;
  /** Zero bytes skipped between frames (USB padding): expected, counted apart from garbage. */
  paddingBytes: number;
}

/**
 * Cuts frames out of a byte stream delivered in arbitrary chunks. Never throws: garbage is skipped and
 * counted, a frame with a bad checksum is dropped and counted, and the search restarts one byte after its
 * sync so a real frame hidden behind a false sync byte is still found.
 */
export class AntFrameReader {
  private pending: Uint8Array = new Uint8Array(0);
  private readonly counters: AntFrameReaderStats = { frames: 0, badChecksums: 0, garbageBytes: 0, paddingBytes: 0 };

  push(chunk: Uint8Array): AntFrame[] {
    const buffer = this.pending.length === 0 ? chunk : concat(this.pending, chunk);
    const frames: AntFrame[] = [];
    let start = 0;
    while (start < buffer.length) {
      const first = buffer[start];
      if (first !== ANT_SYNC) {
        if (first === 0) this.counters.paddingBytes++;
        else this.counters.garbageBytes++;
        start++;
        continue;
      }
      const length = buffer[start + 1];
      if (length === undefined) break;
      if (length > ANT_MAX_PAYLOAD) {
        this.counters.garbageBytes++;
        start++;
        continue;
      }
      const end = start + length + 4;
      if (end > buffer.length) break;
      if (antChecksum(buffer.subarray(start, end)) !== 0) {
        this.counters.badChecksums++;
        start++;
        continue;
      }
      frames.push({ id: buffer[start + 2] ?? 0, payload: buffer.slice(start + 3, end - 1) });
      this.counters.frames++;
      start = end;
    }
    // Copy so that the caller may reuse its chunk buffer.
    this.pending = buffer.slice(start);
    return frames;
  }

  /** Bytes held back waiting for the rest of a frame. */
  get buffered(): number {
    return this.pending.length;
  }

  stats(): AntFrameReaderStats {
    return { ...this.counters };
  }

  /** Forget a partial frame, e.g. after the transport reopened. */
  reset(): void {
    this.pending = new Uint8Array(0);
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const joined = new Uint8Array(a.length + b.length);
  joined.set(a, 0);
  joined.set(b, a.length);
  return joined;
}
