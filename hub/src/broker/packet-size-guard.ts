/**
 * aedes has no packet size limit: its parser buffers whatever length a fixed header announces. The guard reads
 * only MQTT fixed headers (type byte + remaining length) of the bytes aedes reads and destroys the connection
 * as soon as a header announces a packet above the limit, before its body arrives. MQTT 3.1.1 has no way to
 * tell the client why; closing is what the spec allows.
 *
 * It watches rather than wraps: aedes reads with 'readable' + read(), and a 'data' listener added beside it
 * is called by read() with exactly the chunk read() returns, before aedes parses it (Node stream docs,
 * "Choose one API style"). A wrapping Duplex cost 60 % of the broker's throughput; this costs a header walk.
 */
import type { Duplex } from 'node:stream';

/** A remaining-length field has at most 4 bytes (MQTT 3.1.1, 2.2.3). */
const MAX_LENGTH_BYTES = 4;

export type GuardRejection = { reason: 'oversized'; bytes: number } | { reason: 'malformed' };

export interface PacketSizeGuardOptions {
  maxPacketBytes: number;
  onReject: (rejection: GuardRejection) => void;
}

export class PacketSizeGuard {
  /** Set once the guard has refused the connection. */
  rejected = false;
  private readonly stream: Duplex;
  private readonly maxPacketBytes: number;
  private readonly onReject: (rejection: GuardRejection) => void;
  /** Bytes of the current packet body still to pass unread. */
  private bodyLeft = 0;
  /** Inside a fixed header: how many remaining-length bytes have been read, -1 before the type byte. */
  private lengthBytes = -1;
  private length = 0;
  private multiplier = 1;

  constructor(stream: Duplex, options: PacketSizeGuardOptions) {
    this.stream = stream;
    this.maxPacketBytes = options.maxPacketBytes;
    this.onReject = options.onReject;
  }

  /** Call after aedes has attached its 'readable' listener, so the stream stays in paused mode. */
  watch(): this {
    this.stream.on('data', (chunk: Buffer) => {
      if (!this.rejected) this.inspect(chunk);
    });
    return this;
  }

  /** Walks the packet boundaries in the chunk; refuses the connection at the first header over the limit. */
  private inspect(chunk: Buffer): void {
    let i = 0;
    while (i < chunk.length) {
      if (this.bodyLeft > 0) {
        const take = Math.min(this.bodyLeft, chunk.length - i);
        this.bodyLeft -= take;
        i += take;
        continue;
      }
      const byte = chunk[i++]!;
      if (this.lengthBytes < 0) {
        this.lengthBytes = 0;
        this.length = 0;
        this.multiplier = 1;
        continue;
      }
      this.length += (byte & 0x7f) * this.multiplier;
      this.multiplier *= 128;
      this.lengthBytes++;
      if (byte & 0x80) {
        if (this.lengthBytes >= MAX_LENGTH_BYTES) {
          this.reject({ reason: 'malformed' });
          return;
        }
        continue;
      }
      const total = 1 + this.lengthBytes + this.length;
      if (total > this.maxPacketBytes) {
        this.reject({ reason: 'oversized', bytes: total });
        return;
      }
      this.bodyLeft = this.length;
      this.lengthBytes = -1;
    }
  }

  private reject(rejection: GuardRejection): void {
    this.rejected = true;
    this.onReject(rejection);
    this.stream.destroy();
  }
}
