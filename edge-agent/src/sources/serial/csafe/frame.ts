/**
 * CSAFE framing: standard frames `F1 contents CHK F2` and extended frames `F0 dst src contents CHK F2`.
 * CHK is the XOR of the contents before stuffing. Any byte F0..F3 inside the contents or the checksum is
 * sent as `F3, byte & 0x03`, so a start or stop flag never appears inside a frame and a reader can resync
 * on the next flag after garbage.
 */
import { PulsebridgeError } from '@pulsebridge/runtime';

export const FRAME_START = 0xf1;
export const EXTENDED_FRAME_START = 0xf0;
export const FRAME_STOP = 0xf2;
export const STUFF_FLAG = 0xf3;

/** Concept2 PMs accept at most 96 bytes between the flags (PYROW); larger reads are garbage or a lost stop flag. */
export const MAX_STUFFED_FRAME_BYTES = 256;

/** Raised by encoders for arguments our own code got wrong; decoding never throws. */
export class CsafeEncodeError extends PulsebridgeError<'invalid_argument'> {}

export function checksum(contents: Uint8Array): number {
  let xor = 0;
  for (const byte of contents) xor ^= byte;
  return xor;
}

function pushStuffed(out: number[], byte: number): void {
  if (byte >= EXTENDED_FRAME_START && byte <= STUFF_FLAG) out.push(STUFF_FLAG, byte & 0x03);
  else out.push(byte);
}

/** A standard frame around `contents`; the checksum is stuffed like the contents (PYROW forgets this). */
export function encodeFrame(contents: Uint8Array): Uint8Array {
  const out: number[] = [FRAME_START];
  for (const byte of contents) pushStuffed(out, byte);
  pushStuffed(out, checksum(contents));
  out.push(FRAME_STOP);
  if (out.length > MAX_STUFFED_FRAME_BYTES) throw new CsafeEncodeError('invalid_argument', `frame of ${out.length} bytes exceeds ${MAX_STUFFED_FRAME_BYTES}`);
  return Uint8Array.from(out);
}

export interface CsafeFrame {
  /** Unstuffed contents without addresses and checksum. */
  contents: Uint8Array;
  /** Present for extended frames only. */
  address?: { destination: number; source: number };
}

export type FrameRejection = 'bad_checksum' | 'bad_stuffing' | 'truncated' | 'too_long' | 'empty';

export interface FrameReaderCounters {
  frames: number;
  /** Bytes outside any frame: USB-HID report ids and zero padding, line noise. */
  discardedBytes: number;
  rejected: Record<FrameRejection, number>;
}

/** Unstuffs a frame body (between the flags); undefined if an escape is not followed by 00..03. */
export function unstuff(body: Uint8Array): Uint8Array | undefined {
  const out = new Uint8Array(body.length);
  let length = 0;
  for (let i = 0; i < body.length; i++) {
    const byte = body[i] as number;
    if (byte !== STUFF_FLAG) {
      out[length++] = byte;
      continue;
    }
    const next = body[++i];
    if (next === undefined || next > 0x03) return undefined;
    out[length++] = EXTENDED_FRAME_START | next;
  }
  return out.subarray(0, length);
}

/**
 * Checks one complete wire frame (start flag to stop flag) and returns its contents, or why it was refused.
 * The incremental reader uses the same rules.
 */
export function parseFrame(wire: Uint8Array): CsafeFrame | FrameRejection {
  const first = wire[0];
  if (wire.length < 2 || (first !== FRAME_START && first !== EXTENDED_FRAME_START) || wire[wire.length - 1] !== FRAME_STOP) return 'truncated';
  return checkBody(first === EXTENDED_FRAME_START, wire.subarray(1, wire.length - 1));
}

function checkBody(extended: boolean, body: Uint8Array): CsafeFrame | FrameRejection {
  const unstuffed = unstuff(body);
  if (!unstuffed) return 'bad_stuffing';
  const headerLength = extended ? 2 : 0;
  if (unstuffed.length < headerLength + 1) return 'empty';
  // The extended frame's checksum covers the contents only, like the standard frame's: the addresses are
  // framing, not contents. No public vector covers extended frames; Concept2 PMs never send them.
  const contents = unstuffed.subarray(headerLength, unstuffed.length - 1);
  if (checksum(contents) !== unstuffed[unstuffed.length - 1]) return 'bad_checksum';
  const frame: CsafeFrame = { contents: Uint8Array.from(contents) };
  if (extended) frame.address = { destination: unstuffed[0] as number, source: unstuffed[1] as number };
  return frame;
}

/**
 * Incremental frame reader: feed it whatever the transport delivers; it returns the complete frames and
 * counts what it skipped. A start flag inside a frame means the stop flag was lost: the partial frame is
 * dropped and reading restarts at the new flag. Never throws.
 */
export class CsafeFrameReader {
  readonly counters: FrameReaderCounters = {
    frames: 0,
    discardedBytes: 0,
    rejected: { bad_checksum: 0, bad_stuffing: 0, truncated: 0, too_long: 0, empty: 0 },
  };
  private readonly body = new Uint8Array(MAX_STUFFED_FRAME_BYTES);
  private bodyLength = 0;
  /** undefined while between frames. */
  private extended: boolean | undefined;
  /** Set after an over-long frame: skip to the next start flag without counting each byte again. */
  private skippingOverlong = false;

  push(chunk: Uint8Array): CsafeFrame[] {
    const frames: CsafeFrame[] = [];
    for (const byte of chunk) {
      if (byte === FRAME_START || byte === EXTENDED_FRAME_START) {
        if (this.extended !== undefined) this.counters.rejected.truncated++;
        this.extended = byte === EXTENDED_FRAME_START;
        this.bodyLength = 0;
        this.skippingOverlong = false;
        continue;
      }
      if (this.extended === undefined) {
        if (!this.skippingOverlong) this.counters.discardedBytes++;
        continue;
      }
      if (byte === FRAME_STOP) {
        const result = checkBody(this.extended, this.body.subarray(0, this.bodyLength));
        this.extended = undefined;
        if (typeof result === 'string') this.counters.rejected[result]++;
        else {
          this.counters.frames++;
          frames.push(result);
        }
        continue;
      }
      if (this.bodyLength === this.body.length) {
        this.counters.rejected.too_long++;
        this.extended = undefined;
        this.skippingOverlong = true;
        continue;
      }
      this.body[this.bodyLength++] = byte;
    }
    return frames;
  }

  /** Forget a partial frame, e.g. after the port was reopened. */
  reset(): void {
    this.extended = undefined;
    this.bodyLength = 0;
    this.skippingOverlong = false;
  }
}
