/**
 * Reads only the head of a readings batch — `[version, agent, stream, first, last, ...]` in MessagePack —
 * without decoding the rest. When a batch is refused for good (too large, corrupt readings, wrong version),
 * this is what lets the hub still tell the agent which stream and range to drop: without a 'rejected' ack
 * the agent would resend the same bad batch forever.
 *
 * It looks at a few dozen bytes at most, so it is safe on payloads refused for being too large, and it never
 * throws: anything it cannot read yields undefined.
 */

export interface BatchEnvelope {
  version: number;
  agent: string;
  stream: string;
  first: number;
  last: number;
}

const MAX_STREAM_CHARS = 32;
const MAX_AGENT_CHARS = 64;

class Cursor {
  private pos = 0;
  constructor(private readonly bytes: Uint8Array) {}

  private take(n: number): number | undefined {
    if (this.pos + n > this.bytes.byteLength) return undefined;
    const at = this.pos;
    this.pos += n;
    return at;
  }

  private uint(n: 1 | 2 | 4 | 8): number | undefined {
    const at = this.take(n);
    if (at === undefined) return undefined;
    let v = 0;
    for (let i = 0; i < n; i++) v = v * 256 + this.bytes[at + i]!;
    return v;
  }

  arrayLength(): number | undefined {
    const b = this.uint(1);
    if (b === undefined) return undefined;
    if (b >= 0x90 && b <= 0x9f) return b & 0x0f;
    if (b === 0xdc) return this.uint(2);
    if (b === 0xdd) return this.uint(4);
    return undefined;
  }

  /** A non-negative safe integer, however the encoder chose to write it. */
  integer(): number | undefined {
    const b = this.uint(1);
    if (b === undefined) return undefined;
    if (b <= 0x7f) return b;
    let v: number | undefined;
    switch (b) {
      case 0xcc:
        v = this.uint(1);
        break;
      case 0xcd:
        v = this.uint(2);
        break;
      case 0xce:
        v = this.uint(4);
        break;
      case 0xcf:
        v = this.uint(8);
        break;
      case 0xcb: {
        // msgpackr writes integers above 2^32 as float64.
        const at = this.take(8);
        if (at === undefined) return undefined;
        v = new DataView(this.bytes.buffer, this.bytes.byteOffset + at, 8).getFloat64(0);
        break;
      }
      default:
        return undefined;
    }
    return v !== undefined && Number.isSafeInteger(v) && v >= 0 ? v : undefined;
  }

  string(maxChars: number): string | undefined {
    const b = this.uint(1);
    if (b === undefined) return undefined;
    let n: number | undefined;
    if (b >= 0xa0 && b <= 0xbf) n = b & 0x1f;
    else if (b === 0xd9) n = this.uint(1);
    else if (b === 0xda) n = this.uint(2);
    else if (b === 0xdb) n = this.uint(4);
    // UTF-8 takes at most 4 bytes a character: a longer field cannot be a valid id, and is not worth reading.
    if (n === undefined || n > maxChars * 4) return undefined;
    const at = this.take(n);
    if (at === undefined) return undefined;
    return Buffer.from(this.bytes.buffer, this.bytes.byteOffset + at, n).toString('utf8');
  }
}

/** The head of a readings batch, or undefined when it is not readable enough to name a stream and range. */
export function peekBatchEnvelope(payload: Uint8Array): BatchEnvelope | undefined {
  const c = new Cursor(payload);
  const length = c.arrayLength();
  if (length === undefined || length < 5) return undefined;
  const version = c.integer();
  const agent = c.string(MAX_AGENT_CHARS);
  const stream = c.string(MAX_STREAM_CHARS);
  if (version === undefined || agent === undefined || stream === undefined) return undefined;
  if (stream.length === 0 || stream.length > MAX_STREAM_CHARS) return undefined;
  const first = c.integer();
  const last = c.integer();
  if (first === undefined || last === undefined || last < first) return undefined;
  return { version, agent, stream, first, last };
}
