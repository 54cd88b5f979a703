/**
 * Incremental reader of ASCII lines for the line-based serial protocols (WaterRower, NMEA 0183). Lines end
 * with CR LF; a lone CR or LF also ends one, because adapters and receivers are not all strict about it.
 * Over-long lines and lines holding non-ASCII bytes (baud-rate mismatch, line noise) are dropped and
 * counted, never returned.
 */

export interface LineReaderCounters {
  lines: number;
  tooLong: number;
  notAscii: number;
}

export class AsciiLineReader {
  readonly counters: LineReaderCounters = { lines: 0, tooLong: 0, notAscii: 0 };
  private readonly maxLength: number;
  private readonly buffer: Uint8Array;
  private length = 0;
  private overflowed = false;
  private sawNonAscii = false;

  /** `maxLength` excludes the line ending. */
  constructor(options: { maxLength: number }) {
    this.maxLength = options.maxLength;
    this.buffer = new Uint8Array(options.maxLength);
  }

  push(chunk: Uint8Array): string[] {
    const lines: string[] = [];
    for (const byte of chunk) {
      if (byte === 0x0d || byte === 0x0a) {
        this.endLine(lines);
        continue;
      }
      if (this.overflowed) continue;
      if (this.length === this.maxLength) {
        this.overflowed = true;
        continue;
      }
      if (byte < 0x20 || byte > 0x7e) this.sawNonAscii = true;
      this.buffer[this.length++] = byte;
    }
    return lines;
  }

  reset(): void {
    this.length = 0;
    this.overflowed = false;
    this.sawNonAscii = false;
  }

  private endLine(lines: string[]): void {
    if (this.overflowed) this.counters.tooLong++;
    else if (this.sawNonAscii) this.counters.notAscii++;
    else if (this.length > 0) {
      this.counters.lines++;
      lines.push(String.fromCharCode(...this.buffer.subarray(0, this.length)));
    }
    this.reset();
  }
}
